// What a newcomer meets first: a stopped jobd leaves no socket behind, a
// socket file nobody listens on is told from a silent jobd, a request over
// jobd's limit fails at once with the limit, and the README's plugin recipe
// works as written.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace jobd::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Well under the client's 800 ms handshake timeout that a stale socket used
// to cost, with room for a loaded machine.
constexpr auto kAtOnce = std::chrono::seconds(5);

std::string SocketPath(const Jobd& jobd) {
  return jobd.endpoint().substr(std::string("ipc://").size());
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(FirstContactTest, CleanStopRemovesTheSocketFile) {
  std::unique_ptr<Jobd> jobd = Jobd::Start({}, 1);
  ASSERT_NE(jobd, nullptr);
  const std::string path = SocketPath(*jobd);
  ASSERT_TRUE(Exists(path));
  ASSERT_EQ(jobd->StopWith(SIGTERM), 0);
  EXPECT_FALSE(Exists(path)) << path << " is still there";

  CommandResult r = jobd->Jobctl({"ping"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no such socket file; is jobd running?"));
}

TEST(FirstContactTest, StaleSocketFileIsToldFromASilentJobd) {
  TempDir dir;
  const std::string path = dir.path() + "/jobd.sock";
  // A socket file with nobody listening: what a jobd that was killed leaves.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  ASSERT_TRUE(Exists(path));

  CommandResult r = RunCommand({BinPath("jobctl"), "--socket", "ipc://" + path, "ping"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no jobd is listening on ipc://" + path));
  EXPECT_THAT(r.err, HasSubstr("is jobd running?"));
  EXPECT_THAT(r.err, Not(HasSubstr("no answer")));
  EXPECT_LT(r.elapsed, kAtOnce);
}

TEST(FirstContactTest, RequestOverTheLimitFailsAtOnceAndNamesIt) {
  // ZeroMQ drops anything over twice the limit unread: jobctl must not send it.
  std::unique_ptr<Jobd> jobd = Jobd::Start({"--max-message-size", "16K"}, 1);
  ASSERT_NE(jobd, nullptr);
  for (const int args : {20, 100}) {  // about 1.3 and 6.5 times the limit
    CommandResult r = jobd->Jobctl(Concat({"map", "echo"}, Repeat(std::string(1000, 'x'), args)),
                                   std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("is over jobd's limit of 16384 bytes (its --max-message-size)"))
        << args;
    EXPECT_LT(r.elapsed, kAtOnce) << args;
  }
  // What fits still runs.
  CommandResult r = jobd->Jobctl({"map", "echo", "small"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);
}

// ---- the README's plugin recipe ----------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The body of the first ``` block of `lang` after `from` in `text`.
std::string CodeBlockAfter(const std::string& text, size_t from, const std::string& lang) {
  const std::string fence = "```" + lang + "\n";
  const size_t start = text.find(fence, from);
  if (start == std::string::npos) return "";
  const size_t body = start + fence.size();
  const size_t end = text.find("```", body);
  return end == std::string::npos ? "" : text.substr(body, end - body);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(FirstContactTest, ReadmePluginRecipeWorksAsWritten) {
  const std::string readme = ReadFile(std::string(JOBD_SOURCE_DIR) + "/README.md");
  const size_t intro = readme.find("save this as `hello.c`");
  ASSERT_NE(intro, std::string::npos) << "the README no longer names the file to save";
  const std::string code = CodeBlockAfter(readme, intro, "c");
  const std::vector<std::string> steps = Lines(CodeBlockAfter(readme, intro, "sh"));
  ASSERT_FALSE(code.empty());
  ASSERT_GE(steps.size(), 4u);

  // A fresh folder standing for the repository root: hello.c and include/.
  TempDir root;
  std::ofstream(root.path() + "/hello.c") << code;
  std::filesystem::create_directory_symlink(std::string(JOBD_SOURCE_DIR) + "/include",
                                            root.path() + "/include");
  // The build line, word for word.
  ASSERT_THAT(steps[0], HasSubstr("plugins/hello.so"));
  CommandResult built = RunCommand({"/bin/bash", "-ec", "cd \"$1\" && " + steps[0], "bash",
                                    root.path()});
  ASSERT_EQ(built.exit_code, 0) << steps[0] << "\n" << built.err;

  // jobd with that folder of plugins, and the map line with its promised output.
  ASSERT_THAT(steps[1], HasSubstr("--plugin-dir plugins"));
  std::unique_ptr<Jobd> jobd = Jobd::Start({"--plugin-dir", root.path() + "/plugins"}, 1);
  ASSERT_NE(jobd, nullptr);
  const std::string map_line = steps[3];
  const size_t comment = map_line.find("# ");
  ASSERT_NE(comment, std::string::npos) << map_line;
  const std::string promised = map_line.substr(comment + 2);
  ASSERT_THAT(map_line, HasSubstr("jobctl map hello world"));
  CommandResult r = jobd->Jobctl({"map", "hello", "world"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(promised, 0), 0u) << "README promises '" << promised << "', got "
                                          << r.out;
  CommandResult tasks = jobd->Jobctl({"tasks"});
  EXPECT_THAT(tasks.out, HasSubstr("hello"));
  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);
}

}  // namespace
}  // namespace jobd::testing
