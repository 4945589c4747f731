// Access control end to end: the ipc socket's permissions, jobs owned by
// the user who submitted them (other users run jobctl through setpriv, so
// these tests need root), and CURVE on a loopback tcp:// endpoint.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace jobd::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kFast = std::chrono::seconds(5);  // "at once", with room for a loaded machine
// A second user besides nobody: one with an account, as Debian has it
// ("daemon"), since a task runs as its submitter's account.
constexpr int kOther = 1;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// The job ids of `jobctl --json jobs` output.
std::vector<uint64_t> JobIds(const std::string& out) {
  std::vector<uint64_t> ids;
  for (const nlohmann::json& line : JsonLines(out)) ids.push_back(line["job"].get<uint64_t>());
  return ids;
}

TEST(AccessTest, SocketIsReadableAndWritableByOwnerAndGroupOnly) {
  std::unique_ptr<Jobd> jobd = Jobd::Start({}, 1);
  ASSERT_NE(jobd, nullptr);
  const std::string path = jobd->endpoint().substr(std::string("ipc://").size());
  EXPECT_EQ(ModeOf(path), 0660u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, ::getegid());
  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);

  std::unique_ptr<Jobd> wide = Jobd::Start({"--socket-mode", "0666"}, 1);
  ASSERT_NE(wide, nullptr);
  EXPECT_EQ(ModeOf(wide->endpoint().substr(std::string("ipc://").size())), 0666u);
  EXPECT_THAT(wide->Stderr(), HasSubstr("every local user may connect"));
}

TEST(AccessTest, BadSocketModeIsRefusedAtStart) {
  for (const char* mode : {"0460", "rw-rw----", "01777", "660x"}) {
    TempDir dir;
    CommandResult r = RunCommand({BinPath("jobd"), "--socket", "ipc://" + dir.path() + "/j.sock",
                                  "--state-dir", dir.path() + "/state", "--log-dir",
                                  dir.path() + "/log", "--socket-mode", mode},
                                 {}, std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 2) << mode << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("--socket-mode")) << mode;
  }
}

TEST(AccessTest, UserOutsideTheSocketsGroupIsRefusedAtOnce) {
  if (std::string why = WhyNotAsOtherUsers(); !why.empty()) GTEST_SKIP() << why;
  std::unique_ptr<Jobd> jobd = Jobd::Start({}, 1);  // root:root, 0660
  ASSERT_NE(jobd, nullptr);

  // The directory keeps them out first...
  CommandResult r = JobctlAs(65534, 65534, jobd->endpoint(), {"ping"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("permission denied"));
  EXPECT_LT(r.elapsed, kFast);

  // ...then the socket's mode.
  OpenDirectory(jobd->dir());
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"ping"}, {"submit", "echo", "x"}, {"jobs"}}) {
    r = JobctlAs(65534, 65534, jobd->endpoint(), args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("permission denied: jobd's socket"));
    EXPECT_THAT(r.err, HasSubstr("mode 0660"));
    EXPECT_LT(r.elapsed, kFast) << "refused at once, not after a timeout";
  }
  // Root still gets in, and nothing was submitted.
  r = jobd->Jobctl({"--json", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(JobIds(r.out).empty());
}

TEST(AccessTest, JobsBelongToTheUserWhoSubmittedThem) {
  if (std::string why = WhyNotAsOtherUsers(); !why.empty()) GTEST_SKIP() << why;
  std::unique_ptr<Jobd> jobd = Jobd::Start({"--socket-mode", "0666", "--admin-group", "4242"}, 2);
  ASSERT_NE(jobd, nullptr);
  OpenDirectory(jobd->dir());
  const std::string endpoint = jobd->endpoint();

  // uid 65534 submits a job that keeps running, and a quick one.
  CommandResult r = JobctlAs(65534, 65534, endpoint, {"submit", "sleep", "60000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string job = r.out.substr(0, r.out.find('\n'));
  r = JobctlAs(65534, 65534, endpoint, {"--json", "map", "echo", "mine"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(JsonLines(r.out).size(), 1u);

  // Root sees it.
  r = jobd->Jobctl({"--json", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JobIds(r.out).size(), 2u);
  EXPECT_EQ(jobd->Jobctl({"status", job}).exit_code, 0);

  // Another user neither sees nor touches it, and hears why at once.
  const std::string denied = "permission denied: job " + job + " belongs to another user";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status", job}, {"watch", job}, {"results", job}, {"cancel", job}}) {
    r = JobctlAs(kOther, kOther, endpoint, args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(denied)) << args[0];
    EXPECT_LT(r.elapsed, kFast) << args[0];
  }
  r = JobctlAs(kOther, kOther, endpoint, {"--json", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(JobIds(r.out).empty()) << r.out;
  r = JobctlAs(kOther, kOther, endpoint, {"--json", "workers"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("\"job\":" + job)));
  // Its own jobs are its own.
  r = JobctlAs(kOther, kOther, endpoint, {"--json", "map", "echo", "theirs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = JobctlAs(kOther, kOther, endpoint, {"--json", "jobs"});
  EXPECT_EQ(JobIds(r.out).size(), 1u) << r.out;

  // The cancel was refused: the job still runs.
  r = jobd->Jobctl({"--json", "status", job});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonLines(r.out).at(0)["running"], 1) << r.out;

  // A member of the admin group (here by its gid) may do anything.
  r = JobctlAs(kOther, 4242, endpoint, {"--json", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JobIds(r.out).size(), 3u) << r.out;
  // The owner cancels it.
  r = JobctlAs(65534, 65534, endpoint, {"cancel", job});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ReadFile(jobd->log_path()), HasSubstr("owner uid 65534"));
  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);
}

TEST(AccessTest, OwnersSurviveARestart) {
  if (std::string why = WhyNotAsOtherUsers(); !why.empty()) GTEST_SKIP() << why;
  std::unique_ptr<Jobd> jobd = Jobd::Start({"--socket-mode", "0666"}, 1);
  ASSERT_NE(jobd, nullptr);
  OpenDirectory(jobd->dir());
  CommandResult r = JobctlAs(65534, 65534, jobd->endpoint(), {"--json", "map", "echo", "x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string job = std::to_string(JsonLines(r.out).at(0)["job"].get<uint64_t>());
  ASSERT_EQ(jobd->StopWith(SIGTERM), 0);
  ASSERT_TRUE(jobd->Restart());
  r = JobctlAs(kOther, kOther, jobd->endpoint(), {"results", job});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("belongs to another user"));
  r = JobctlAs(65534, 65534, jobd->endpoint(), {"--json", "results", job});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonLines(r.out).size(), 1u);
}

// `jobctl --json workers`: each worker's pid and state.
std::map<int64_t, std::string> WorkerStates(const Jobd& jobd) {
  std::map<int64_t, std::string> states;
  CommandResult r = jobd.Jobctl({"--json", "workers"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const nlohmann::json& w : JsonLines(r.out)) {
    states[w["pid"].get<int64_t>()] = w["state"].get<std::string>();
  }
  return states;
}

TEST(AccessTest, ReloadIsForPrivilegedCallersOnly) {
  if (std::string why = WhyNotAsOtherUsers(); !why.empty()) GTEST_SKIP() << why;
  std::unique_ptr<Jobd> jobd = Jobd::Start({"--socket-mode", "0666"}, 2);
  ASSERT_NE(jobd, nullptr);
  OpenDirectory(jobd->dir());
  const std::map<int64_t, std::string> before = WorkerStates(*jobd);
  ASSERT_EQ(before.size(), 2u);

  CommandResult r = JobctlAs(65534, 65534, jobd->endpoint(), {"reload"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("permission denied: only root, jobd's own user"));
  EXPECT_EQ(WorkerStates(*jobd), before);  // nothing recycled

  // jobd's own user (root here) may: every worker is replaced.
  r = jobd->Jobctl({"reload"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("jobd pid " + std::to_string(jobd->pid()) + " is reloading"));
  EXPECT_TRUE(Eventually([&] {
    const std::map<int64_t, std::string> now = WorkerStates(*jobd);
    if (now.size() != 2) return false;
    for (const auto& [pid, state] : now) {
      if (before.count(pid) > 0 || state != "idle") return false;
    }
    return true;
  }));
  EXPECT_TRUE(Eventually([&] {
    return ReadFile(jobd->log_path()).find("reload requested by uid 0") != std::string::npos;
  }));
  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);
}

// ---- CURVE over loopback tcp -------------------------------------------------

class CurveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const int port = FreeLoopbackPort();
    ASSERT_GT(port, 0);
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(port);
    for (const char* name : {"server", "alice", "bob", "mallory"}) {
      public_[name] = Keygen(Key(name));
      ASSERT_FALSE(public_[name].empty()) << name;
    }
    std::ofstream(dir_.path() + "/authorized")
        << "# who may use this jobd\n"
        << "alice " << public_["alice"] << "\n"
        << "bob " << public_["bob"] << "\n";
  }

  std::string Key(const std::string& name) const { return dir_.path() + "/" + name; }
  std::vector<std::string> CurveArgs() const {
    return {"--curve-secret-key", Key("server") + ".key", "--curve-authorized-keys",
            dir_.path() + "/authorized"};
  }
  // jobctl on the tcp endpoint with `who`'s key pair.
  CommandResult JobctlWith(const std::string& who, std::vector<std::string> args,
                           const std::string& server_key = "server") const {
    return JobctlWithKey(endpoint_, Key(server_key) + ".pub", Key(who) + ".key", args);
  }

  TempDir dir_;
  std::string endpoint_;
  std::map<std::string, std::string> public_;
};

TEST_F(CurveTest, KeygenWritesAPrivatePairAndAPublicKey) {
  EXPECT_EQ(ModeOf(Key("alice") + ".key"), 0600u);
  EXPECT_EQ(ModeOf(Key("alice") + ".pub"), 0644u);
  const std::string pair = ReadFile(Key("alice") + ".key");
  EXPECT_THAT(pair, HasSubstr("public-key = " + public_["alice"] + "\n"));
  EXPECT_THAT(pair, HasSubstr("secret-key = "));
  EXPECT_NE(public_["alice"], public_["bob"]);
  // Never over an existing key.
  CommandResult r = RunCommand({BinPath("jobctl"), "keygen", "--out", Key("alice")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("exists"));
  EXPECT_EQ(ReadFile(Key("alice") + ".key"), pair);
  // With --out, keygen prints the public key.
  r = RunCommand({BinPath("jobctl"), "keygen", "--out", Key("carol")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, ReadFile(Key("carol") + ".pub"));
  // Without --out, the pair goes to stdout.
  r = RunCommand({BinPath("jobctl"), "keygen"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("secret-key = "));
}

TEST_F(CurveTest, PlainTextTcpIsRefusedByBothSides) {
  CommandResult r = RunCommand({BinPath("jobd"), "--socket", endpoint_, "--state-dir",
                                dir_.path() + "/state", "--log-dir", dir_.path() + "/log"},
                               {}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("refusing plain-text TCP"));
  // Half the keys is no better.
  r = RunCommand({BinPath("jobd"), "--socket", endpoint_, "--state-dir", dir_.path() + "/state",
                  "--log-dir", dir_.path() + "/log", "--curve-secret-key",
                  Key("server") + ".key"},
                 {}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // A secret key every user may read is refused.
  ASSERT_EQ(::chmod((Key("server") + ".key").c_str(), 0644), 0);
  r = RunCommand(Concat({BinPath("jobd"), "--socket", endpoint_, "--state-dir",
                         dir_.path() + "/state", "--log-dir", dir_.path() + "/log"},
                        CurveArgs()),
                 {}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--curve-secret-key"));
  EXPECT_THAT(r.err, HasSubstr("every user may read it"));

  r = RunCommand({BinPath("jobctl"), "--socket", endpoint_, "ping"}, {}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("refusing to talk to " + endpoint_ + " without CURVE"));
}

TEST_F(CurveTest, AuthorisedKeysRunJobsOthersAreRefusedAndLogged) {
  TcpJobd jobd(dir_.path(), endpoint_, CurveArgs());
  ASSERT_TRUE(jobd.ready()) << jobd.Stop().err;

  CommandResult r = JobctlWith("alice", {"--json", "map", "sum_to_num", "10", "20"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(JsonLines(r.out).size(), 2u);
  const std::string job = std::to_string(JsonLines(r.out)[0]["job"].get<uint64_t>());

  // The key's name owns the job: bob, another authorised key, may not see it.
  r = JobctlWith("bob", {"status", job});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("permission denied: job " + job + " belongs to another user"));
  r = JobctlWith("bob", {"--json", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(JobIds(r.out).empty());
  EXPECT_EQ(JobctlWith("alice", {"status", job}).exit_code, 0);

  // An unknown key: a clear error at once, and a warning with the key in the log.
  r = JobctlWith("mallory", {"ping"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("refused this client's CURVE key " + public_["mallory"]));
  EXPECT_LT(r.elapsed, kFast);
  EXPECT_TRUE(Eventually([&] {
    const std::string log = ReadFile(jobd.log_path());
    return log.find(public_["mallory"]) != std::string::npos &&
           log.find("\"level\":\"warn\"") != std::string::npos;
  })) << ReadFile(jobd.log_path());

  // The wrong server key: the handshake fails, and jobctl says so.
  r = JobctlWith("alice", {"ping"}, /*server_key=*/"bob");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("CURVE handshake"));
  EXPECT_LT(r.elapsed, kFast);

  // SIGHUP reads the keys again: mallory, added, gets in.
  std::ofstream(dir_.path() + "/authorized", std::ios::app)
      << "mallory " << public_["mallory"] << "\n";
  ASSERT_EQ(::kill(jobd.pid(), SIGHUP), 0);
  ASSERT_TRUE(Eventually([&] {
    return ReadFile(jobd.log_path()).find("authorised keys reloaded") != std::string::npos;
  })) << ReadFile(jobd.log_path());
  r = JobctlWith("mallory", {"ping"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(jobd.Stop().exit_code, 0);
}

TEST_F(CurveTest, KeysRunAsTheirAccountsAndOneNamingNoAccountStopsTheStart) {
  // nobody (uid 65534) is on every Debian system; jobd-no-such-user nowhere.
  const std::string keys_file = dir_.path() + "/authorized";
  std::ofstream(keys_file) << "# who may use this jobd, and as whom\n"
                           << "alice " << public_["alice"] << " user=nobody\n"
                           << "jobd-no-such-user " << public_["bob"] << "\n";
  {
    TcpJobd jobd(dir_.path(), endpoint_, CurveArgs());
    ASSERT_TRUE(jobd.ready()) << jobd.Stop().err;
    EXPECT_TRUE(Eventually([&] {
      const std::string log = ReadFile(jobd.log_path());
      return log.find("CURVE key 'alice' (" + keys_file + ":2): runs as nobody (uid 65534)") !=
                 std::string::npos &&
             log.find("CURVE key 'jobd-no-such-user' (" + keys_file +
                      ":3): no account: built-in tasks only") != std::string::npos;
    })) << ReadFile(jobd.log_path());
    CommandResult r = JobctlWith("alice", {"ping"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = JobctlWith("bob", {"ping"});
    EXPECT_EQ(r.exit_code, 0) << r.err << ": a key with no account still gets in";
    EXPECT_EQ(jobd.Stop().exit_code, 0);
  }

  std::ofstream(keys_file, std::ios::app) << "mallory " << public_["mallory"]
                                          << " user=jobd-no-such-user\n";
  CommandResult r = RunCommand(Concat({BinPath("jobd"), "--socket", endpoint_, "--state-dir",
                                       dir_.path() + "/state", "--log-dir", dir_.path() + "/log"},
                                      CurveArgs()),
                               {}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--curve-authorized-keys: " + keys_file +
                               ":4: user=jobd-no-such-user: no local account"));
}

}  // namespace
}  // namespace jobd::testing
