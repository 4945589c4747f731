// The real jobd-worker with --user: the exit status and message when it
// cannot become the user, and, as root, that the running worker is that
// user with no capability (seen in /proc once it said ready).
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tests/unit/forked_child.h"
#include "tests/unit/test_identity.h"
#include "util/worker_exit.h"

extern char** environ;

namespace jobd {
namespace {

const std::string kWorker = std::string(JOBD_BIN_DIR) + "/jobd-worker";
constexpr std::chrono::milliseconds kLimit{10000};

// A jobd-worker started as the coordinator would start it, its stderr in a
// pipe; killed and reaped at scope exit if still there.
class WorkerProcess {
 public:
  WorkerProcess(const std::string& endpoint, const std::string& uid) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    std::vector<std::string> args = {kWorker, "--endpoint", endpoint, "--slot", "0",
                                     "--coordinator-pid", std::to_string(getpid()),
                                     "--user", uid};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    if (posix_spawn(&pid_, kWorker.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    stderr_fd_ = fds[0];
  }
  ~WorkerProcess() {
    if (stderr_fd_ >= 0) close(stderr_fd_);
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Its stderr up to its exit, nullopt if it did not close it in time.
  std::optional<std::string> Stderr() { return ReadUntilClosed(stderr_fd_, kLimit); }

  // Its wait status once it exited, nullopt if it did not in time.
  std::optional<int> Wait() {
    const std::optional<int> status = WaitForExit(pid_, kLimit);
    if (status) reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  bool reaped_ = false;
};

std::string Endpoint() { return "ipc://@jobd-user-flag-test-" + std::to_string(getpid()); }

TEST(WorkerUserFlagTest, UidWithoutAccountExitsWithCannotRunAsAndSaysWhy) {
  WorkerProcess worker(Endpoint(), "4000000");
  ASSERT_GT(worker.pid(), 0) << "cannot start " << kWorker;
  const std::optional<std::string> text = worker.Stderr();
  ASSERT_TRUE(text.has_value()) << "jobd-worker did not exit in time";
  const std::optional<int> status = worker.Wait();
  ASSERT_TRUE(status.has_value()) << "jobd-worker did not exit in time";
  ASSERT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), kWorkerExitCannotRunAs);
  const std::string prefix = "jobd-worker: cannot run as uid 4000000: ";
  EXPECT_EQ(text->rfind(prefix, 0), 0u) << *text;
  if (geteuid() == 0) {
    EXPECT_EQ(*text, prefix + "no account for uid 4000000 on this machine\n");
  }
}

std::map<std::string, std::string> ProcStatus(pid_t pid) {
  std::map<std::string, std::string> fields;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t first = line.find_first_not_of(" \t", colon + 1);
    const size_t last = line.find_last_not_of(" \t");
    fields[line.substr(0, colon)] =
        first == std::string::npos ? "" : line.substr(first, last + 1 - first);
  }
  return fields;
}

// nobody's groups as /proc shows them: ascending, space-separated.
std::string NobodysGroups() {
  std::vector<gid_t> groups(256);
  int count = static_cast<int>(groups.size());
  if (getgrouplist("nobody", kNogroupGid, groups.data(), &count) == -1) return "too many";
  groups.resize(static_cast<size_t>(count));
  std::sort(groups.begin(), groups.end());
  std::string text;
  for (gid_t g : groups) {
    if (!text.empty()) text += ' ';
    text += std::to_string(g);
  }
  return text;
}

TEST(WorkerUserFlagTest, WorkerStartedByRootRunsAsTheUserOnceReady) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to start a worker as another user";
  zmq::context_t context(1);
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind(Endpoint());
  WorkerProcess worker(Endpoint(), std::to_string(kNobodyUid));
  ASSERT_GT(worker.pid(), 0) << "cannot start " << kWorker;

  // Its first message (ready) comes after BecomeUser, plugins and connect.
  zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, kLimit), 1) << "the worker did not say ready in time";
  std::map<std::string, std::string> status = ProcStatus(worker.pid());
  EXPECT_EQ(status["Uid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(status["Gid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(status["Groups"], NobodysGroups());
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb"}) {
    EXPECT_EQ(status[set], "0000000000000000") << set;
  }
}

}  // namespace
}  // namespace jobd
