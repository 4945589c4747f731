// RunCommand against real programs: output capture and its bounds, exit codes
// and signals, the child's cwd, environment, stdin and rlimits, and the
// cleanup of the process group. Every command runs under a watchdog that
// kills its group, so a broken runner fails a test instead of hanging it.
#include "worker/command_runner.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace jobd {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kDefaultMax = 1 << 20;

// Kills the command's group once `limit` has passed.
class Watchdog {
 public:
  explicit Watchdog(seconds limit) : thread_([this, limit] { Watch(limit); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Started(int32_t pgid) {
    std::lock_guard lock(mutex_);
    pgid_ = pgid;
  }
  bool fired() {
    std::lock_guard lock(mutex_);
    return fired_;
  }

 private:
  void Watch(seconds limit) {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, limit, [this] { return done_; })) return;
    if (pgid_ > 0) kill(-pgid_, SIGKILL);
    fired_ = true;
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  int32_t pgid_ = 0;
  std::thread thread_;  // last: starts once the rest exists
};

CommandRun RunWatched(const std::vector<std::string>& argv, const CommandOptions& options = {},
               const std::function<void(int32_t)>& on_start = {}, seconds limit = seconds(30)) {
  Watchdog watchdog(limit);
  CommandRun run = RunCommand(argv, options, kDefaultMax, [&](int32_t pgid) {
    watchdog.Started(pgid);
    if (on_start) on_start(pgid);
  });
  EXPECT_FALSE(watchdog.fired()) << argv[0] << " outlived the watchdog";
  return run;
}

CommandRun Shell(const std::string& script, const CommandOptions& options = {}) {
  return RunWatched({"/bin/sh", "-c", script}, options);
}

int OpenFds() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count - 1;  // the one opendir holds
}

class CommandRunnerTest : public ::testing::Test {
 protected:
  // As the worker does: orphans of a command's group become ours to reap.
  static void SetUpTestSuite() { BecomeSubreaper(); }

  void SetUp() override {
    char pattern[] = "/tmp/command_runner_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    char resolved[PATH_MAX];
    ASSERT_NE(realpath(pattern, resolved), nullptr);
    dir_ = resolved;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteFile(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name) << content;
  }

  std::string dir_;
};

TEST_F(CommandRunnerTest, CapturesStdout) {
  CommandRun run = RunWatched({"/bin/echo", "hello"});
  ASSERT_TRUE(run.started) << run.err;
  EXPECT_TRUE(run.ok());
  EXPECT_EQ(run.out, "hello\n");
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(run.end.exit_code, 0);
  EXPECT_EQ(run.end.signal, 0);
  EXPECT_FALSE(run.end.stdout_truncated);
  EXPECT_FALSE(run.end.stderr_truncated);
  EXPECT_GT(run.end.max_rss_bytes, 0u);
}

TEST_F(CommandRunnerTest, LooksTheCommandUpInPath) {
  CommandRun run = RunWatched({"echo", "from", "PATH"});
  ASSERT_TRUE(run.started) << run.err;
  EXPECT_EQ(run.out, "from PATH\n");
}

TEST_F(CommandRunnerTest, PassesArgumentsVerbatim) {
  std::vector<std::string> args = {"two  spaces", "it's \"quoted\"", "ünïcödé ✓", "", "$HOME *",
                                   "back\\slash"};
  std::vector<std::string> argv = {"printf", "[%s]\\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandRun run = RunWatched(argv);
  ASSERT_TRUE(run.ok()) << run.err;
  std::string expected;
  for (const std::string& arg : args) expected += "[" + arg + "]\n";
  EXPECT_EQ(run.out, expected);
}

TEST_F(CommandRunnerTest, ReportsTheExitCode) {
  CommandRun run = Shell("echo failing >&2; exit 3");
  ASSERT_TRUE(run.started) << run.err;
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.end.exit_code, 3);
  EXPECT_EQ(run.end.signal, 0);
  EXPECT_EQ(run.err, "failing\n");
}

TEST_F(CommandRunnerTest, ReportsTheSignal) {
  CommandRun run = Shell("kill -TERM $$");
  ASSERT_TRUE(run.started) << run.err;
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.end.signal, SIGTERM);
  EXPECT_EQ(run.end.exit_code, -1);
}

TEST_F(CommandRunnerTest, KeepsTheTailOfStderr) {
  CommandOptions options;
  options.max_output = 16;
  CommandRun run = Shell("printf 0123456789 >&2; printf abcdefXYZ >&2", options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.err, "3456789abcdefXYZ");
  EXPECT_TRUE(run.end.stderr_truncated);

  run = Shell("printf 0123456789abcdef >&2", options);  // exactly max: all kept
  EXPECT_EQ(run.err, "0123456789abcdef");
  EXPECT_FALSE(run.end.stderr_truncated);
}

TEST_F(CommandRunnerTest, BoundsStdoutWithoutBlockingTheCommand) {
  CommandOptions options;
  options.max_output = 1000;
  // head exits 0 only if it could write all of it: the pipe kept being read.
  CommandRun run = RunWatched({"head", "-c", "1000000", "/dev/zero"}, options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, std::string(1000, '\0'));
  EXPECT_TRUE(run.end.stdout_truncated);

  run = Shell("head -c 1000000 /dev/zero | tr '\\0' e >&2; printf x", options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "x");
  EXPECT_FALSE(run.end.stdout_truncated);
  EXPECT_EQ(run.err, std::string(1000, 'e'));
  EXPECT_TRUE(run.end.stderr_truncated);
}

TEST_F(CommandRunnerTest, DefaultMaxOutputAppliesWhenUnset) {
  CommandRun run = RunCommand({"/bin/echo", "hello"}, {}, 3);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "hel");
  EXPECT_TRUE(run.end.stdout_truncated);
}

TEST_F(CommandRunnerTest, ReportsWhyACommandDidNotStart) {
  CommandRun run = RunWatched({"no-such-command-for-jobd"});
  EXPECT_FALSE(run.started);
  EXPECT_EQ(run.err, "command not found: no-such-command-for-jobd");

  run = RunWatched({"/no/such/program"});
  EXPECT_FALSE(run.started);
  EXPECT_EQ(run.err, "cannot run '/no/such/program': No such file or directory");

  WriteFile("not-executable", "#!/bin/sh\n");
  run = RunWatched({dir_ + "/not-executable"});
  EXPECT_FALSE(run.started);
  EXPECT_EQ(run.err, "cannot run '" + dir_ + "/not-executable': Permission denied");

  run = RunCommand({}, {}, kDefaultMax);
  EXPECT_FALSE(run.started);
  EXPECT_EQ(run.err, "no command given");
}

TEST_F(CommandRunnerTest, AppliesTheWorkingDirectory) {
  CommandOptions options;
  options.cwd = dir_;
  CommandRun run = RunWatched({"/bin/pwd"}, options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, dir_ + "\n");

  options.cwd = dir_ + "/missing";
  run = RunWatched({"/bin/pwd"}, options);
  EXPECT_FALSE(run.started);
  EXPECT_EQ(run.err, "working directory '" + dir_ + "/missing': No such file or directory");
}

TEST_F(CommandRunnerTest, ResolvesRelativePathsAgainstTheWorkingDirectory) {
  WriteFile("script", "#!/bin/sh\necho script ran\n");
  ASSERT_EQ(chmod((dir_ + "/script").c_str(), 0755), 0);
  CommandOptions options;
  options.cwd = dir_;
  CommandRun run = RunWatched({"./script"}, options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "script ran\n");

  options.env = {"PATH=/nowhere:."};  // a relative PATH entry
  run = RunWatched({"script"}, options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "script ran\n");
}

TEST_F(CommandRunnerTest, AddsAndOverridesEnvironment) {
  ASSERT_EQ(setenv("JOBD_TEST_INHERITED", "inherited", 1), 0);
  ASSERT_EQ(setenv("JOBD_TEST_OVERRIDDEN", "old", 1), 0);
  CommandOptions options;
  options.env = {"JOBD_TEST_ADDED=with spaces=and equals", "JOBD_TEST_OVERRIDDEN=new"};
  CommandRun run = Shell(
      "printf '%s|%s|%s|' \"$JOBD_TEST_INHERITED\" \"$JOBD_TEST_ADDED\" "
      "\"$JOBD_TEST_OVERRIDDEN\"; env | grep -c '^JOBD_TEST_OVERRIDDEN='",
      options);
  unsetenv("JOBD_TEST_INHERITED");
  unsetenv("JOBD_TEST_OVERRIDDEN");
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "inherited|with spaces=and equals|new|1\n");
}

TEST_F(CommandRunnerTest, UsesThePathOfTheCommandsEnvironment) {
  CommandOptions options;
  options.env = {"PATH=/nowhere"};
  CommandRun run = RunWatched({"echo", "x"}, options);
  EXPECT_FALSE(run.started);
  EXPECT_EQ(run.err, "command not found: echo");
}

TEST_F(CommandRunnerTest, RejectsABadEnvironmentEntry) {
  CommandOptions options;
  options.env = {"GOOD=1", "NOEQUALS"};
  CommandRun run = RunWatched({"/bin/true"}, options);
  EXPECT_FALSE(run.started);
  EXPECT_EQ(run.err, "bad environment entry 'NOEQUALS': expected K=V");
}

TEST_F(CommandRunnerTest, StdinIsDevNullByDefault) {
  CommandRun run = RunWatched({"cat"});
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST_F(CommandRunnerTest, ReadsStdinFromAFile) {
  WriteFile("input", "line one\nline two\n");
  CommandOptions options;
  options.stdin_path = dir_ + "/input";
  CommandRun run = RunWatched({"cat"}, options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "line one\nline two\n");

  options.cwd = dir_;  // a relative path is relative to the command's cwd
  options.stdin_path = "input";
  run = RunWatched({"wc", "-l"}, options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "2\n");

  options.stdin_path = "missing";
  run = RunWatched({"cat"}, options);
  EXPECT_FALSE(run.started);
  EXPECT_EQ(run.err, "standard input 'missing': No such file or directory");
}

TEST_F(CommandRunnerTest, AppliesTheMemoryLimit) {
  CommandOptions options;
  options.memory_limit = 64 << 20;
  CommandRun run = Shell("ulimit -v", options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "65536\n");

  // 100 MB cannot be allocated within 64 MiB of address space.
  std::vector<std::string> allocate = {"perl", "-e", "$x = 'x' x $ARGV[0]; print 'allocated'",
                                       "100000000"};
  run = RunWatched(allocate, options);
  ASSERT_TRUE(run.started) << run.err;
  EXPECT_NE(run.end.exit_code, 0);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("Out of memory"), std::string::npos) << run.err;

  run = RunWatched(allocate);
  EXPECT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "allocated");
}

TEST_F(CommandRunnerTest, AppliesTheCpuLimit) {
  CommandOptions options;
  options.cpu_limit_us = 1;  // rounded up to one second
  options.cwd = dir_;        // where a core dump for SIGXCPU would go
  CommandRun run = Shell("ulimit -t", options);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, "1\n");

  Clock::time_point start = Clock::now();
  run = RunWatched({"/bin/sh", "-c", "while :; do :; done"}, options, {}, seconds(20));
  ASSERT_TRUE(run.started) << run.err;
  EXPECT_TRUE(run.end.signal == SIGXCPU || run.end.signal == SIGKILL) << run.end.signal;
  // Roughly the limit: rusage and RLIMIT_CPU count time differently, more so under load.
  EXPECT_GE(run.end.cpu_us, 500000u);
  EXPECT_LT(Clock::now() - start, seconds(15));
}

TEST_F(CommandRunnerTest, MeasuresCpuTime) {
  CommandRun run = Shell("i=0; while [ $i -lt 100000 ]; do i=$((i + 1)); done");
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_GT(run.end.cpu_us, 0u);
  EXPECT_GT(run.end.max_rss_bytes, 0u);
}

TEST_F(CommandRunnerTest, OnStartGetsTheCommandsLiveProcessGroup) {
  int32_t seen = 0;
  CommandRun run = RunWatched({"sleep", "1000"}, {}, [&](int32_t pgid) {
    seen = pgid;
    EXPECT_EQ(getpgid(pgid), pgid);
    EXPECT_EQ(kill(-pgid, 0), 0);
    // Called after the exec, not before.
    std::error_code error;
    std::string exe = std::filesystem::read_symlink("/proc/" + std::to_string(pgid) + "/exe", error);
    EXPECT_TRUE(exe.ends_with("/sleep")) << exe;
    kill(-pgid, SIGKILL);
  });
  ASSERT_TRUE(run.started) << run.err;
  EXPECT_GT(seen, 0);
  EXPECT_EQ(run.end.signal, SIGKILL);
}

TEST_F(CommandRunnerTest, CommandInOwnGroupWithDefaultSignals) {
  // The test process ignores SIGPIPE and blocks SIGTERM; the command must not.
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old_mask), 0);
  auto old_pipe = signal(SIGPIPE, SIG_IGN);
  int32_t group = 0;
  CommandRun run = RunWatched({"/bin/sh", "-c", "read -r pid comm state ppid pgrp rest </proc/$$/stat; "
                                         "echo $pgrp; grep -E '^Sig(Blk|Ign)' /proc/self/status"},
                       {}, [&](int32_t pgid) { group = pgid; });
  signal(SIGPIPE, old_pipe);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_TRUE(run.ok()) << run.err;
  EXPECT_EQ(run.out, std::to_string(group) + "\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_F(CommandRunnerTest, KillsWhatTheCommandLeftInItsGroup) {
  Clock::time_point start = Clock::now();
  CommandRun run = Shell("sleep 1000 & echo $!");
  EXPECT_LT(Clock::now() - start, seconds(2));  // not even the drain grace
  ASSERT_TRUE(run.ok()) << run.err;
  pid_t grandchild = std::stoi(run.out);
  ASSERT_GT(grandchild, 0);
  int result = kill(grandchild, 0);
  int error = errno;
  EXPECT_EQ(result, -1);
  EXPECT_EQ(error, ESRCH);  // gone, and reaped: not even a zombie
}

TEST_F(CommandRunnerTest, StopsWaitingForAnEscapedDescendantsOutput) {
  // A process in a session of its own escapes the group kill and holds
  // stdout. The shell waits (on a FIFO) until it is out of the group.
  ASSERT_EQ(mkfifo((dir_ + "/ready").c_str(), 0600), 0);
  CommandOptions options;
  options.cwd = dir_;
  Clock::time_point start = Clock::now();
  CommandRun run = Shell(
      "setsid /bin/sh -c 'echo $$ >ready; exec sleep 1000' & read -r pid <ready; echo $pid",
      options);
  auto elapsed = Clock::now() - start;
  ASSERT_TRUE(run.ok()) << run.err;
  pid_t escaped = std::stoi(run.out);
  ASSERT_GT(escaped, 0);
  EXPECT_EQ(kill(escaped, SIGKILL), 0);  // it did escape, as documented
  waitpid(escaped, nullptr, 0);          // ours, as the subreaper
  EXPECT_GE(elapsed, std::chrono::milliseconds(1500));
  EXPECT_LT(elapsed, seconds(10));
}

TEST_F(CommandRunnerTest, ReportsAKillFromOutside) {
  std::promise<int32_t> started;
  std::future<int32_t> pgid = started.get_future();
  std::thread killer([&] {
    if (int32_t group = pgid.get(); group > 0) kill(-group, SIGTERM);
  });
  CommandRun run = RunWatched({"/bin/sh", "-c", "sleep 1000 & wait"}, {},
                       [&](int32_t group) { started.set_value(group); });
  if (!run.started) started.set_value(0);
  killer.join();
  ASSERT_TRUE(run.started) << run.err;
  EXPECT_EQ(run.end.signal, SIGTERM);
  EXPECT_EQ(run.end.exit_code, -1);
}

TEST_F(CommandRunnerTest, LeaksNoDescriptorsNorChildren) {
  int before = OpenFds();
  CommandOptions bad_cwd;
  bad_cwd.cwd = "/no/such/dir";
  RunWatched({"/bin/echo", "x"});
  RunWatched({"no-such-command-for-jobd"});
  RunWatched({"/bin/echo", "x"}, bad_cwd);
  Shell("sleep 1000 & sleep 1000 & kill -KILL $$");
  EXPECT_EQ(OpenFds(), before);
  pid_t zombie = waitpid(-1, nullptr, WNOHANG);
  EXPECT_LE(zombie, 0);
}

}  // namespace
}  // namespace jobd
