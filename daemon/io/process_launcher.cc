#include "daemon/io/process_launcher.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "daemon/io/privilege.h"

extern char** environ;

namespace jobd {
namespace {

ExitStatus FromWaitStatus(int status) {
  if (WIFSIGNALED(status)) return ExitStatus{true, WTERMSIG(status)};
  return ExitStatus{false, WEXITSTATUS(status)};
}

// posix_spawn attributes freed on scope exit.
class SpawnAttributes {
 public:
  SpawnAttributes() { posix_spawnattr_init(&attr_); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attr_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

}  // namespace

Result<pid_t> ProcessLauncher::Spawn(uint32_t slot, std::optional<uint32_t> run_as) {
  std::vector<std::string> args = {
      options_.worker_binary,   "--endpoint",
      options_.worker_endpoint, "--slot",
      std::to_string(slot),     "--coordinator-pid",
      std::to_string(getpid()), "--log-level",
      options_.log_level,       "--heartbeat-interval-ms",
      std::to_string(options_.heartbeat_interval_ms), "--heartbeat-misses",
      std::to_string(options_.heartbeat_misses)};
  if (!options_.plugin_dir.empty()) {
    args.push_back("--plugin-dir");
    args.push_back(options_.plugin_dir);
  }
  args.push_back("--max-output");
  args.push_back(std::to_string(options_.max_output));
  if (!options_.commands) args.push_back("--no-exec");
  if (run_as) {
    args.push_back("--user");
    args.push_back(std::to_string(*run_as));
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  SpawnAttributes attr;
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE, SIGXFSZ}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(attr.get(), &empty);
  posix_spawnattr_setsigdefault(attr.get(), &defaults);
  posix_spawnattr_setpgroup(attr.get(), 0);
  posix_spawnattr_setflags(attr.get(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                           POSIX_SPAWN_SETPGROUP);
  // Every descriptor of ours is O_CLOEXEC, so the child inherits only 0-2.
  pid_t pid = 0;
  const int rc =
      posix_spawn(&pid, options_.worker_binary.c_str(), nullptr, attr.get(), argv.data(), environ);
  if (rc != 0) return SysError("posix_spawn", options_.worker_binary, rc);
  return pid;
}

void ProcessLauncher::Kill(pid_t pid) {
  // Only called for pids not yet reaped, so the pid cannot have been reused.
  ::kill(pid, SIGKILL);
}

int ProcessLauncher::KillAs(uint32_t uid, pid_t pid) {
  // As Kill: the pid is not reaped yet, so it is still that worker's.
  return SignalAs(uid, pid, SIGKILL);
}

int ProcessLauncher::KillWorker(uint32_t uid, pid_t pid) {
  const int error = KillAs(uid, pid);
  if (error != EPERM) return error;
  // A worker starts as jobd's user and becomes `uid` only in its main():
  // until then `uid` may not signal it. The pid is not reaped yet, so
  // jobd's own rights reach that worker and nothing else.
  return ::kill(pid, SIGKILL) == 0 ? 0 : errno;
}

std::vector<std::pair<pid_t, ExitStatus>> ProcessLauncher::ReapExited() {
  std::vector<std::pair<pid_t, ExitStatus>> exited;
  while (true) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      exited.emplace_back(pid, FromWaitStatus(status));
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    return exited;  // 0: none left that exited; ECHILD: no children at all
  }
}

std::vector<std::pair<pid_t, ExitStatus>> ProcessLauncher::ReapAllBlocking() {
  std::vector<std::pair<pid_t, ExitStatus>> exited;
  while (true) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid > 0) {
      exited.emplace_back(pid, FromWaitStatus(status));
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    return exited;
  }
}

std::string DefaultWorkerBinary() {
  // Beside the executable in the build tree (build/bin); in an installed
  // tree, <libexecdir>/jobd/, given relative to <bindir> by the build
  // (packaging/CMakeLists.txt). The first that exists, else the first.
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "jobd-worker";
  const std::filesystem::path beside = self.parent_path() / "jobd-worker";
#ifdef JOBD_WORKER_DIR_FROM_BINDIR
  if (!std::filesystem::exists(beside, ec)) {
    const std::filesystem::path installed =
        (self.parent_path() / JOBD_WORKER_DIR_FROM_BINDIR / "jobd-worker").lexically_normal();
    if (std::filesystem::exists(installed, ec)) return installed.string();
  }
#endif
  return beside.string();
}

std::string DefaultPluginDir() {
  // ../lib/jobd/plugins from the executable's directory (the build tree, and
  // an installed tree whose libdir is lib), else <libdir>/jobd/plugins of an
  // installed tree, given relative to <bindir> by the build; empty if none
  // exists.
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  std::vector<std::filesystem::path> candidates = {self.parent_path().parent_path() / "lib" /
                                                   "jobd" / "plugins"};
#ifdef JOBD_PLUGIN_DIR_FROM_BINDIR
  candidates.push_back((self.parent_path() / JOBD_PLUGIN_DIR_FROM_BINDIR).lexically_normal());
#endif
  for (const std::filesystem::path& dir : candidates) {
    if (std::filesystem::is_directory(dir, ec)) return dir.string();
  }
  return "";
}

}  // namespace jobd
