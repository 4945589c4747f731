// Starts worker processes (posix_spawn of the jobd-worker binary, never a
// bare fork: the coordinator has ZeroMQ and logger threads) and reaps them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/core/supervisor_io.h"
#include "util/status.h"

namespace jobd {

struct LaunchOptions {
  std::string worker_binary;    // path of jobd-worker
  std::string worker_endpoint;  // where workers connect
  std::string log_level;
  int64_t heartbeat_interval_ms = 1000;
  uint32_t heartbeat_misses = 3;
  std::string plugin_dir;  // empty: no plugins
  uint64_t max_output = 1 << 20;
  bool commands = true;  // false: workers start with --no-exec
};

class ProcessLauncher {
 public:
  explicit ProcessLauncher(LaunchOptions options) : options_(std::move(options)) {}
  ProcessLauncher(const ProcessLauncher&) = delete;
  ProcessLauncher& operator=(const ProcessLauncher&) = delete;

  // The child starts with an empty signal mask, default dispositions and
  // its own process group (a Ctrl-C at jobd's terminal is jobd's to handle).
  // With `run_as` it becomes that user first thing (jobd-worker --user).
  // Give one only when CanChangeIdentity() (daemon/io/privilege.h) or it is
  // jobd's own uid: otherwise the worker exits with kWorkerExitCannotRunAs.
  Result<pid_t> Spawn(uint32_t slot, std::optional<uint32_t> run_as);
  // SIGKILL with jobd's own rights.
  void Kill(pid_t pid);
  // SIGKILL with `uid`'s rights only (SignalAs): how a worker started with
  // `run_as` is reached when jobd lacks CAP_KILL. Returns 0 or the errno.
  int KillAs(uint32_t uid, pid_t pid);
  // SIGKILL to a worker started with `run_as` = `uid`, whether or not it has
  // become that user yet: with `uid`'s rights (KillAs), and if those are
  // refused, with jobd's own, which still reach a worker that has not taken
  // its --user yet. Returns 0 or the errno.
  int KillWorker(uint32_t uid, pid_t pid);
  // Every child that has exited since the last call (waitpid WNOHANG).
  std::vector<std::pair<pid_t, ExitStatus>> ReapExited();
  // Blocks until every child is reaped: only after Kill, at exit.
  std::vector<std::pair<pid_t, ExitStatus>> ReapAllBlocking();

 private:
  const LaunchOptions options_;
};

// The jobd-worker next to the running executable.
std::string DefaultWorkerBinary();
// <dir of the executable>/../lib/jobd/plugins if it exists (the build tree
// and an installed /usr/bin/jobd alike), else empty.
std::string DefaultPluginDir();

}  // namespace jobd
