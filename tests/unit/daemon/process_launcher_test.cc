// ProcessLauncher with stand-in workers (scripts): --user when the spawn has
// a uid to run as, and KillAs reaching only what that uid may signal.
#include "daemon/io/process_launcher.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/forked_child.h"
#include "tests/unit/scratch_dir.h"

namespace jobd {
namespace {

using ::testing::Contains;
using ::testing::Not;

constexpr std::chrono::milliseconds kLimit{10000};

// A script in the scratch directory, executable.
std::string WriteScript(const std::string& dir, const std::string& name, const std::string& body) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
  return path;
}

ProcessLauncher LauncherOf(const std::string& worker_binary) {
  LaunchOptions options;
  options.worker_binary = worker_binary;
  options.worker_endpoint = "ipc://@jobd-launcher-test";
  options.log_level = "info";
  return ProcessLauncher(options);
}

class ProcessLauncherTest : public ::testing::Test {
 protected:
  // The arguments of a worker spawned with `run_as`: the stand-in writes
  // them, one a line, and exits.
  std::optional<std::vector<std::string>> ArgsOfSpawn(std::optional<uint32_t> run_as) {
    const std::string file = scratch_.path() + "/args";
    ProcessLauncher launcher = LauncherOf(
        WriteScript(scratch_.path(), "record-args", "printf '%s\\n' \"$@\" > '" + file + "'\n"));
    Result<pid_t> pid = launcher.Spawn(3, run_as);
    if (!pid.ok()) return std::nullopt;
    const std::optional<int> status = WaitForExit(*pid, kLimit);
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) return std::nullopt;
    std::ifstream in(file);
    std::vector<std::string> args;
    for (std::string line; std::getline(in, line);) args.push_back(line);
    return args;
  }

  ScratchDir scratch_;
};

TEST_F(ProcessLauncherTest, RunAsBecomesTheUserFlag) {
  const std::optional<std::vector<std::string>> args = ArgsOfSpawn(65534);
  ASSERT_TRUE(args.has_value()) << "the stand-in worker did not run";
  const auto user = std::find(args->begin(), args->end(), "--user");
  ASSERT_NE(user, args->end()) << "no --user";
  ASSERT_NE(user + 1, args->end());
  EXPECT_EQ(*(user + 1), "65534");
}

TEST_F(ProcessLauncherTest, NoRunAsNoUserFlag) {
  const std::optional<std::vector<std::string>> args = ArgsOfSpawn(std::nullopt);
  ASSERT_TRUE(args.has_value()) << "the stand-in worker did not run";
  EXPECT_THAT(*args, Contains("--slot"));
  EXPECT_THAT(*args, Not(Contains("--user")));
}

TEST_F(ProcessLauncherTest, KillAsReachesOnlyWhatTheUserMay) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the worker runs as root, the kill as nobody";
  // A stand-in that stays root and lives until it is killed.
  ProcessLauncher launcher =
      LauncherOf(WriteScript(scratch_.path(), "linger", "exec sleep 1000\n"));
  Result<pid_t> pid = launcher.Spawn(0, std::nullopt);
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  EXPECT_EQ(launcher.KillAs(65534, *pid), EPERM);
  EXPECT_EQ(launcher.KillAs(0, *pid), 0);
  const std::optional<int> status = WaitForExit(*pid, kLimit);
  if (!status) launcher.Kill(*pid);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
}

TEST_F(ProcessLauncherTest, KillWorkerReachesAWorkerNotYetItsUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the worker runs as root, its user is nobody";
  // As a worker spawned for nobody is until its main() takes --user.
  ProcessLauncher launcher =
      LauncherOf(WriteScript(scratch_.path(), "linger", "exec sleep 1000\n"));
  Result<pid_t> pid = launcher.Spawn(0, std::nullopt);
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  EXPECT_EQ(launcher.KillWorker(65534, *pid), 0);
  const std::optional<int> status = WaitForExit(*pid, kLimit);
  if (!status) launcher.Kill(*pid);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
}

}  // namespace
}  // namespace jobd
