// Command tasks end to end: `jobctl map --exec` and `jobctl run` through a
// real jobd, its workers and real commands: substitution and quoting, exit
// codes and signals, output bounds, working directory, environment, standard
// input, rlimits, timeouts and cancel killing whole process groups, --no-exec,
// and a command job surviving a jobd crash.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace jobd::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string FileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The one JSON result line of a `jobctl --json run`.
json OnlyResult(const CommandResult& r) {
  std::vector<json> lines = JsonLines(r.out);
  EXPECT_EQ(lines.size(), 1u) << r.out << r.err;
  return lines.empty() ? json() : lines[0];
}

// The pid a command wrote to `path`, once it has (bounded).
pid_t PidFrom(const std::string& path) {
  pid_t pid = 0;
  EXPECT_TRUE(Eventually([&] {
    const std::string text = FileText(path);
    if (text.empty() || text.back() != '\n') return false;
    pid = static_cast<pid_t>(std::stol(text));
    return true;
  }, seconds(20)))
      << "nothing written to " << path;
  return pid;
}

// Children of `pid` that still exist (zombies too), from /proc.
std::set<pid_t> ChildrenOf(pid_t pid) {
  std::set<pid_t> children;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    for (pid_t child; in >> child;) children.insert(child);
  }
  return children;
}

std::vector<pid_t> WorkerPids(const Jobd& jobd) {
  std::vector<pid_t> pids;
  CommandResult r = jobd.Jobctl({"--json", "workers"});
  for (const json& w : JsonLines(r.out)) pids.push_back(w["pid"].get<pid_t>());
  return pids;
}

class ExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jobd_ = Jobd::Start({"--kill-grace", "1s"}, 2);
    ASSERT_NE(jobd_, nullptr);
  }

  std::string Path(const std::string& name) const { return scratch_.path() + "/" + name; }

  // No worker holds a child, live or zombie: every command was reaped.
  void ExpectNoLeftovers() {
    for (pid_t worker : WorkerPids(*jobd_)) {
      EXPECT_TRUE(Eventually([&] { return ChildrenOf(worker).empty(); }, seconds(10)))
          << "worker " << worker << " still has children";
    }
  }

  TempDir scratch_;
  std::unique_ptr<Jobd> jobd_;
};

TEST_F(ExecTest, ItemsAreSubstitutedWholeWithSpacesQuotesAndUnicode) {
  const std::vector<std::string> items = {"dir/a b.txt", "it's \"quoted\".png",
                                          "/x/ünïcødé ✓.tar.gz", "noext"};
  CommandResult r = jobd_->Jobctl(Concat(
      {"--json", "map", "--ordered", "--exec", "printf '%s|%s|%s|%s|%s\\n' {} {.} {/} {//} {/.}"},
      items));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0]["result"], "dir/a b.txt|dir/a b|a b.txt|dir|a b\n");
  EXPECT_EQ(lines[1]["result"], "it's \"quoted\".png|it's \"quoted\"|it's \"quoted\".png|.|"
                                "it's \"quoted\"\n");
  EXPECT_EQ(lines[2]["result"], "/x/ünïcødé ✓.tar.gz|/x/ünïcødé ✓.tar|ünïcødé ✓.tar.gz|/x|"
                                "ünïcødé ✓.tar\n");
  EXPECT_EQ(lines[3]["result"], "noext|noext|noext|.|noext\n");
  for (const json& line : lines) {
    EXPECT_EQ(line["exit_code"], 0);
    EXPECT_TRUE(line["signal"].is_null());
  }
}

TEST_F(ExecTest, WithoutAPlaceholderTheItemIsTheLastArgument) {
  CommandResult r = jobd_->Jobctl({"--json", "run", "--", "/bin/echo", "two  spaces", "x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(OnlyResult(r)["result"], "two  spaces x\n");
  r = jobd_->Jobctl({"--json", "map", "--exec", "echo item:", "a b"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(OnlyResult(r)["result"], "item: a b\n");
}

TEST_F(ExecTest, ShellModeQuotesItemsSoTheyAreNeverCode) {
  const std::string marker = Path("pwned");
  const std::string hostile = "$(touch " + marker + ")'; touch " + marker + "; '`id`";
  CommandResult r = jobd_->Jobctl(
      {"--json", "map", "--shell", "--exec", "echo {} | tr a-z A-Z", hostile});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string expected = hostile + "\n";
  for (char& c : expected) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(OnlyResult(r)["result"], expected);
  EXPECT_FALSE(std::filesystem::exists(marker));
  // And a shell does run with --shell: pipes, redirections, $VARS.
  r = jobd_->Jobctl({"--json", "run", "--shell", "--env", "WHO=world", "--", "echo",
                     "hello $WHO", ">&2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(OnlyResult(r)["stderr"], "hello world\n");
}

TEST_F(ExecTest, ExitCodesAndSignalsAreReported) {
  CommandResult r = jobd_->Jobctl(
      {"--json", "map", "--ordered", "--shell", "--exec", "echo out; echo err >&2; exit {}", "0",
       "3"});
  EXPECT_EQ(r.exit_code, 1);
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["status"], "ok");
  EXPECT_EQ(lines[0]["result"], "out\n");
  EXPECT_EQ(lines[0]["stderr"], "err\n");
  EXPECT_EQ(lines[1]["status"], "failed");
  EXPECT_EQ(lines[1]["exit_code"], 3);
  EXPECT_EQ(lines[1]["error"], "err\n");
  EXPECT_GE(lines[1]["cpu_ms"].get<double>(), 0.0);
  EXPECT_GT(lines[1]["max_rss_kb"].get<uint64_t>(), 0u);

  r = jobd_->Jobctl({"--json", "run", "--", "/bin/sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(r.exit_code, 1);
  json killed = OnlyResult(r);
  EXPECT_EQ(killed["status"], "failed");
  EXPECT_TRUE(killed["exit_code"].is_null());
  EXPECT_EQ(killed["signal"], "SIGKILL");
  EXPECT_EQ(killed["error"], "killed by SIGKILL");

  // Human `run`: the command's own output, then how it failed.
  r = jobd_->Jobctl({"run", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\njobctl: failed (exit 3)\n");
}

TEST_F(ExecTest, OutputIsBoundedAndTruncationFlagged) {
  CommandResult r = jobd_->Jobctl({"--json", "run", "--max-output", "1K", "--", "/bin/sh", "-c",
                                   "head -c 100000 /dev/zero | tr '\\0' x; seq 1 3000 >&2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json result = OnlyResult(r);
  EXPECT_EQ(result["result"], std::string(1024, 'x'));
  EXPECT_TRUE(result["stdout_truncated"].get<bool>());
  const std::string tail = result["stderr"];
  EXPECT_EQ(tail.size(), 1024u);
  EXPECT_THAT(tail, ::testing::EndsWith("2999\n3000\n"));
  EXPECT_TRUE(result["stderr_truncated"].get<bool>());

  r = jobd_->Jobctl({"--json", "run", "--", "/bin/echo", "small"});
  result = OnlyResult(r);
  EXPECT_FALSE(result["stdout_truncated"].get<bool>());
  EXPECT_FALSE(result["stderr_truncated"].get<bool>());
}

TEST_F(ExecTest, WorkingDirectoryIsTheClientsUnlessGiven) {
  const std::string here = std::filesystem::current_path().string();
  CommandResult r = jobd_->Jobctl({"--json", "run", "--", "/bin/pwd"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(OnlyResult(r)["result"], here + "\n");

  r = jobd_->Jobctl({"--json", "run", "--cwd", scratch_.path(), "--", "/bin/pwd"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(OnlyResult(r)["result"], scratch_.path() + "\n");

  const std::string missing = scratch_.path() + "/no/such/dir";
  r = jobd_->Jobctl({"--json", "run", "--cwd", missing, "--", "/bin/pwd"});
  EXPECT_EQ(r.exit_code, 1);
  json failed = OnlyResult(r);
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["error"], "working directory '" + missing + "': No such file or directory");
  EXPECT_FALSE(failed.contains("exit_code"));  // it never started
}

TEST_F(ExecTest, EnvironmentAndStandardInput) {
  WriteText(Path("input.txt"), "line one\nline two\n");
  CommandResult r = jobd_->Jobctl({"--json", "run", "--env", "GREETING=hi there", "--env",
                                   "HOME=/elsewhere", "--", "/bin/sh", "-c",
                                   "echo \"$GREETING $HOME\"; test -n \"$PATH\" && echo path"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(OnlyResult(r)["result"], "hi there /elsewhere\npath\n");

  r = jobd_->Jobctl({"--json", "run", "--stdin", Path("input.txt"), "--", "/bin/cat"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(OnlyResult(r)["result"], "line one\nline two\n");
  // Without --stdin, /dev/null: cat ends at once instead of waiting.
  r = jobd_->Jobctl({"--json", "run", "--", "/bin/cat"}, seconds(20));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(OnlyResult(r)["result"], "");
}

TEST_F(ExecTest, BadCommandsFailTheirTaskOnlyWithAClearError) {
  WriteText(Path("not-exec"), "data");
  CommandResult r = jobd_->Jobctl(
      {"--json", "map", "--ordered", "--exec", "{}", "no-such-command-x", Path("not-exec"),
       "/bin/true"});
  EXPECT_EQ(r.exit_code, 1);
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0]["error"], "command not found: no-such-command-x");
  EXPECT_THAT(lines[1]["error"].get<std::string>(), StartsWith("cannot run '" + Path("not-exec")));
  EXPECT_EQ(lines[2]["status"], "ok");
  EXPECT_EQ(jobd_->Jobctl({"ping"}).exit_code, 0);
}

TEST_F(ExecTest, UsageErrorsAreRefusedBeforeAnythingIsSubmitted) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"map", "--exec", "/bin/true"}, "no ITEM given"},
      {{"map", "--exec", "'unclosed", "x"}, "unclosed ' in the command"},
      {{"run", "--"}, "no command given"},
      {{"run", "--env", "NOEQUALS", "--", "/bin/true"}, "--env: 'NOEQUALS' is not K=V"},
      {{"run", "--memory-limit", "lots", "--", "/bin/true"}, "--memory-limit"},
      {{"map", "--cwd", "/tmp", "echo", "a"}, "apply to commands only"},
  };
  for (const Case& c : cases) {
    CommandResult r = jobd_->Jobctl(c.args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(c.args) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << ::testing::PrintToString(c.args);
  }
  CommandResult jobs = jobd_->Jobctl({"--json", "jobs"});
  EXPECT_TRUE(JsonLines(jobs.out).empty()) << jobs.out;
}

TEST_F(ExecTest, TimeoutKillsTheCommandAndEverythingItStarted) {
  const std::string pid_file = Path("grandchild.pid");
  auto running = jobd_->StartJobctl({"--json", "run", "--timeout", "1s", "--", "/bin/sh", "-c",
                                     "sleep 300 & echo $! > " + pid_file + "; wait"});
  const pid_t grandchild = PidFrom(pid_file);
  CommandResult r = running->Wait(seconds(30));
  EXPECT_EQ(r.exit_code, 1);
  json result = OnlyResult(r);
  EXPECT_EQ(result["status"], "timeout");
  EXPECT_THAT(result["error"].get<std::string>(), HasSubstr("sent SIGTERM"));
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(WaitForProcessGone(grandchild, seconds(10))) << "grandchild " << grandchild;
  ExpectNoLeftovers();
  // The worker was kept: the pool runs on with the same pids.
  EXPECT_EQ(jobd_->Jobctl({"run", "--", "/bin/true"}).exit_code, 0);
}

TEST_F(ExecTest, ACommandIgnoringSigtermIsKilledAfterTheGrace) {
  const std::string pid_file = Path("stubborn.pid");
  CommandResult r = jobd_->Jobctl(
      {"--json", "run", "--timeout", "500ms", "--", "/bin/sh", "-c",
       "trap '' TERM; sleep 300 & echo $! > " + pid_file + "; wait; wait; wait"},
      seconds(30));
  EXPECT_EQ(OnlyResult(r)["status"], "timeout");
  const pid_t stubborn = PidFrom(pid_file);
  // SIGTERM is ignored by the shell and the sleep it started; SIGKILL after
  // the 1 s grace ends both.
  EXPECT_TRUE(WaitForProcessGone(stubborn, seconds(10))) << "pid " << stubborn;
  ExpectNoLeftovers();
}

TEST_F(ExecTest, CancelKillsRunningCommandsAndTheirChildren) {
  CommandResult submitted = jobd_->Jobctl(
      {"submit", "--shell", "--exec", "sleep 300 & echo $! > {}; wait", Path("a.pid"),
       Path("b.pid"), Path("c.pid")});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string job = submitted.out.substr(0, submitted.out.find('\n'));
  const pid_t a = PidFrom(Path("a.pid"));
  const pid_t b = PidFrom(Path("b.pid"));
  CommandResult cancelled = jobd_->Jobctl({"--json", "cancel", job});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  json reply = OnlyResult(cancelled);
  EXPECT_EQ(reply["stopped_running"], 2);
  EXPECT_EQ(reply["cancelled_queued"], 1);
  EXPECT_TRUE(WaitForProcessGone(a, seconds(10)));
  EXPECT_TRUE(WaitForProcessGone(b, seconds(10)));
  EXPECT_FALSE(std::filesystem::exists(Path("c.pid")));  // never started
  ExpectNoLeftovers();
}

TEST_F(ExecTest, CommandsAWorkerHoldsForACancelledJobNeverRun) {
  // Short commands first: the workers are then given commands in batches.
  std::vector<std::string> warm = {"map", "--exec", "/bin/true"};
  for (int i = 0; i < 20; ++i) warm.push_back(std::to_string(i));
  ASSERT_EQ(jobd_->Jobctl(warm).exit_code, 0);
  CommandResult sleeps = jobd_->Jobctl(
      {"submit", "--shell", "--exec", "echo $$ > {}; exec sleep 300", Path("a.pid"), Path("b.pid")});
  ASSERT_EQ(sleeps.exit_code, 0) << sleeps.err;
  const pid_t a = PidFrom(Path("a.pid"));
  const pid_t b = PidFrom(Path("b.pid"));
  // Each worker takes touches to hold behind its sleep.
  CommandResult touches = jobd_->Jobctl({"submit", "--exec", "touch", Path("1"), Path("2"),
                                         Path("3"), Path("4")});
  ASSERT_EQ(touches.exit_code, 0) << touches.err;
  CommandResult cancelled =
      jobd_->Jobctl({"--json", "cancel", touches.out.substr(0, touches.out.find('\n'))});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_EQ(OnlyResult(cancelled)["cancelled_queued"], 4);
  // The sleeps end; the workers go on, and no touch ever ran.
  ASSERT_EQ(jobd_->Jobctl({"cancel", sleeps.out.substr(0, sleeps.out.find('\n'))}).exit_code, 0);
  EXPECT_TRUE(WaitForProcessGone(a, seconds(10)));
  EXPECT_TRUE(WaitForProcessGone(b, seconds(10)));
  EXPECT_EQ(jobd_->Jobctl({"map", "--exec", "/bin/true", "x", "y"}).exit_code, 0);
  for (const char* name : {"1", "2", "3", "4"}) {
    EXPECT_FALSE(std::filesystem::exists(Path(name))) << name;
  }
  ExpectNoLeftovers();
}

TEST_F(ExecTest, MemoryAndCpuLimitsApply) {
  // 200 MB under a 64 MB address-space limit: the allocation fails.
  CommandResult r = jobd_->Jobctl({"--json", "run", "--memory-limit", "64M", "--", "perl", "-e",
                                   "my $x = 'x' x (200 * 1024 * 1024); print 'allocated'"});
  EXPECT_EQ(r.exit_code, 1);
  json limited = OnlyResult(r);
  EXPECT_EQ(limited["status"], "failed");
  EXPECT_NE(limited["result"], "allocated");
  r = jobd_->Jobctl({"--json", "run", "--memory-limit", "64M", "--", "/bin/sh", "-c", "ulimit -v"});
  EXPECT_EQ(OnlyResult(r)["result"], "65536\n");

  // A busy loop under a 1 s CPU limit: SIGXCPU, then SIGKILL at the hard limit.
  r = jobd_->Jobctl({"--json", "run", "--cpu-limit", "1s", "--", "/bin/sh", "-c",
                     "while :; do :; done"},
                    seconds(30));
  EXPECT_EQ(r.exit_code, 1);
  json spun = OnlyResult(r);
  EXPECT_THAT(spun["signal"].get<std::string>(), ::testing::AnyOf("SIGXCPU", "SIGKILL"));
  // It burnt CPU until the limit (rusage and the limit count time a little
  // differently, so only roughly).
  EXPECT_GE(spun["cpu_ms"].get<double>(), 500.0);
}

TEST(ExecDisabledTest, NoExecRefusesCommandsAndRunsEverythingElse) {
  auto jobd = Jobd::Start({"--no-exec"}, 1);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = jobd->Jobctl({"map", "--exec", "/bin/true", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("command tasks (exec) are disabled on this jobd"));
  r = jobd->Jobctl({"run", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  // Named explicitly in a raw submission too.
  r = jobd->Jobctl({"map", "exec", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--no-exec"));

  CommandResult tasks = jobd->Jobctl({"--json", "tasks"});
  for (const json& task : JsonLines(tasks.out)) EXPECT_NE(task["name"], "exec");
  EXPECT_EQ(jobd->Jobctl({"map", "echo", "still", "works"}).exit_code, 0);
}

TEST(ExecDurabilityTest, ACommandJobSurvivesAJobdCrashWithItsOptions) {
  TempDir scratch;
  auto jobd = Jobd::Start({}, 1);
  ASSERT_NE(jobd, nullptr);
  // The first task blocks until released; the others record where and with
  // what they ran.
  const std::string gate = scratch.path() + "/gate";
  CommandResult submitted = jobd->Jobctl(
      {"submit", "--shell", "--cwd", scratch.path(), "--env", "TAG=kept", "--exec",
       "if [ {} = 0 ]; then while [ ! -e gate ]; do sleep 0.05; done; fi; echo \"$TAG $(pwd)\"",
       "0", "1", "2"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string job = submitted.out.substr(0, submitted.out.find('\n'));
  EXPECT_EQ(jobd->StopWith(SIGKILL), 128 + SIGKILL);
  ASSERT_TRUE(jobd->Restart());
  WriteText(gate, "");
  CommandResult watched = jobd->Jobctl({"--json", "watch", "--ordered", job}, seconds(60));
  ASSERT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  std::vector<json> lines = JsonLines(watched.out);
  ASSERT_EQ(lines.size(), 3u) << watched.out;
  for (const json& line : lines) EXPECT_EQ(line["result"], "kept " + scratch.path() + "\n");
  // The exit details are kept by the store too.
  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);
  ASSERT_TRUE(jobd->Restart());
  CommandResult results = jobd->Jobctl({"--json", "results", job});
  for (const json& line : JsonLines(results.out)) EXPECT_EQ(line["exit_code"], 0);
}

}  // namespace
}  // namespace jobd::testing
