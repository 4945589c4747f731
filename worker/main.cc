// jobd-worker: one worker process, started by the jobd coordinator.
//
//   jobd-worker --endpoint E --slot K [--coordinator-pid P] [--log-level L]
//               [--heartbeat-interval-ms N] [--heartbeat-misses N]
//               [--plugin-dir DIR] [--max-output BYTES] [--no-exec] [--user UID]
//
// --user: the worker becomes that user (its groups, no capabilities) before
// anything else (worker/run_as.h); jobd passes it when it can change identity.
// --plugin-dir: every *.so in DIR is loaded as a plugin (include/jobd/task.h);
// those that fail are reported in Ready and logged, and the worker runs the
// rest. --max-output bounds what one plugin task may return, and what is kept
// of a command's stdout and stderr (1 MiB default; "512K", "2M" and plain
// byte counts are accepted). --no-exec leaves out the command task "exec".
//
// Exit status: 0 after ShutdownWorker, 1 when the coordinator is already
// gone at start, 2 for bad flags, a ZeroMQ error or a failure to start the
// task thread, 3 for a protocol error, 4 when the coordinator was silent for
// heartbeat-interval x heartbeat-misses, 5 when it cannot run as the --user
// (jobd::kWorkerExitCannotRunAs, util/worker_exit.h).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <zmq.hpp>

#include "proto/codec.h"
#include "util/endpoints.h"
#include "util/size.h"
#include "util/log_record.h"
#include "util/record_sink.h"
#include "util/sched_slice.h"
#include "util/worker_exit.h"
#include "worker/builtin_tasks.h"
#include "worker/command_runner.h"
#include "worker/command_task.h"
#include "worker/pending_logs.h"
#include "worker/plugin_loader.h"
#include "worker/run_as.h"
#include "worker/task_registry.h"
#include "worker/worker_loop.h"

namespace {

constexpr int kExitCoordinatorGone = 1;
constexpr int kExitStartupError = jobd::WorkerLoop::kExitStartupError;

// False, after saying so, when --coordinator-pid is given and is not our
// parent: the coordinator died before the parent-death signal was armed.
bool ParentIsCoordinator(const std::optional<pid_t>& coordinator_pid) {
  if (!coordinator_pid || getppid() == *coordinator_pid) return true;
  std::fprintf(stderr, "jobd-worker: coordinator %d is gone (parent is %d)\n",
               static_cast<int>(*coordinator_pid), static_cast<int>(getppid()));
  return false;
}

// The coordinator blocks and ignores signals for itself; a worker starts from
// the defaults, before any zmq thread exists to inherit a mask.
void RestoreDefaultSignals() {
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGCHLD, SIGALRM, SIGUSR1,
                  SIGUSR2}) {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(sig, &action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

struct Options {
  std::string endpoint;
  uint32_t slot = 0;
  jobd::LogLevel level = jobd::LogLevel::kInfo;
  std::chrono::milliseconds heartbeat_interval{1000};
  uint32_t heartbeat_misses = 3;
  std::string plugin_dir;  // empty: no plugins
  uint64_t max_output = jobd::kDefaultMaxOutputBytes;
  bool exec = true;  // the command task "exec"
};

// Ends the process with the loop's exit status (see the end); throws
// only before the conversation starts.
[[noreturn]] void RunWorker(const Options& options) {
  jobd::PendingLogs pending_logs;
  jobd::LogRecord base;
  base.pid = static_cast<int32_t>(getpid());
  base.role = jobd::LogRole::kWorker;
  base.worker = options.slot;
  auto record_sink = std::make_shared<jobd::RecordSink>(
      base, [&pending_logs](jobd::LogRecord record) { pending_logs.Add(std::move(record)); });
  // Errors also go to stderr, in case they never reach the coordinator.
  auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  stderr_sink->set_level(spdlog::level::err);
  stderr_sink->set_pattern("jobd-worker[" + std::to_string(getpid()) + "] slot " +
                           std::to_string(options.slot) + ": %l: %v");
  spdlog::logger logger("worker", {record_sink, stderr_sink});
  logger.set_level(jobd::ToSpdlogLevel(options.level));

  jobd::TaskRegistry registry;
  jobd::RegisterBuiltinTasks(registry);
  if (options.exec) {
    jobd::RegisterCommandTask(registry, options.max_output);
    // Orphans of a command's process group come to us to be killed and reaped.
    jobd::BecomeSubreaper();
  }
  std::vector<std::string> load_errors =
      jobd::LoadPlugins(options.plugin_dir, options.max_output, registry, logger);

  // The context is declared first so that it is destroyed last.
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  // No routing id of our own: the coordinator's socket gives each worker
  // one that no other process can claim, and knows us by the kernel's pid.
  // Long enough for the last report ("worker stopping") to leave at exit.
  socket.set(zmq::sockopt::linger, 1000);
  // Before connect: ZeroMQ ignores it after. The decoder's own limit is the
  // clear one; this is the hard ceiling above it.
  socket.set(zmq::sockopt::maxmsgsize, jobd::TransportCeiling(jobd::kMaxFrameBytes));
  socket.connect(options.endpoint);

  jobd::WorkerLoop loop(socket, registry, options.slot, logger, pending_logs,
                       options.heartbeat_interval, options.heartbeat_misses,
                       std::move(load_errors));
  int code;
  try {
    code = loop.Run();
  } catch (const zmq::error_t& e) {
    std::fprintf(stderr, "jobd-worker: zmq error: %s\n", e.what());
    code = kExitStartupError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jobd-worker: %s\n", e.what());
    code = kExitStartupError;
  }

  // Run() returns at once when the coordinator is lost or talks nonsense,
  // possibly in the middle of a task. The task thread cannot be interrupted
  // (a long sleep, a syscall stuck on a dead mount), and destroying the loop
  // would join it, so the process ends here without unwinding. The last
  // report still gets the socket's linger to leave; a lost coordinator gets
  // less of it, since it is probably not reading.
  if (code == jobd::WorkerLoop::kExitCoordinatorLost) {
    socket.set(zmq::sockopt::linger, 100);
  }
  socket.close();
  context.close();  // waits for the linger
  std::fflush(nullptr);
  _exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  // First, so that no window exists in which the coordinator could die
  // unnoticed; the getppid() check below closes the window before it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The coordinator's short time slice is for its own wake-ups; tasks and
  // the commands they run get the kernel's default.
  (void)jobd::SetSchedulerSlice(std::chrono::microseconds(0));

  CLI::App app{"jobd-worker: runs tasks for the jobd coordinator that started it"};
  std::string endpoint;
  uint32_t slot = 0;
  std::optional<pid_t> coordinator_pid;
  std::string log_level_name = "info";
  uint32_t heartbeat_interval_ms = 1000;
  uint32_t heartbeat_misses = 3;
  std::string plugin_dir;
  std::string max_output_text = "1M";
  bool no_exec = false;
  std::optional<uint32_t> run_as_uid;
  app.add_option("--endpoint", endpoint, "coordinator's worker endpoint")->required();
  app.add_option("--slot", slot, "this worker's slot number")->required();
  app.add_option("--coordinator-pid", coordinator_pid,
                 "exit at once unless this is the parent process");
  app.add_option("--log-level", log_level_name,
                 "trace, debug, info, warn, error or critical")
      ->capture_default_str();
  app.add_option("--heartbeat-interval-ms", heartbeat_interval_ms,
                 "send a heartbeat after this long without sending anything")
      ->check(CLI::Range(1u, 3600u * 1000u))
      ->capture_default_str();
  app.add_option("--heartbeat-misses", heartbeat_misses,
                 "exit (status 4) when the coordinator is silent for this many intervals")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option("--plugin-dir", plugin_dir,
                 "load every *.so in this directory as a plugin (none when empty)");
  app.add_option("--max-output", max_output_text,
                 "fail a plugin task whose output is over this size, and keep this much of a "
                 "command's stdout and stderr (e.g. 1M, 65536)")
      ->capture_default_str();
  app.add_flag("--no-exec", no_exec, "do not offer the command task \"exec\"");
  app.add_option("--user", run_as_uid,
                 "run as this uid, with its groups and no capabilities (needs CAP_SETUID and "
                 "CAP_SETGID unless it is already ours)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitStartupError;
  }

  if (!ParentIsCoordinator(coordinator_pid)) return kExitCoordinatorGone;
  // Before any plugin, thread or socket exists: none of them may run with
  // the rights jobd has.
  if (run_as_uid) {
    if (jobd::Status became = jobd::BecomeUser(*run_as_uid); !became.ok()) {
      std::fprintf(stderr, "jobd-worker: cannot run as uid %u: %s\n",
                   static_cast<unsigned>(*run_as_uid), became.message().c_str());
      return jobd::kWorkerExitCannotRunAs;
    }
    // The change disarmed the parent-death signal until BecomeUser armed it
    // again: the coordinator may have died in between.
    if (!ParentIsCoordinator(coordinator_pid)) return kExitCoordinatorGone;
  }
  jobd::Result<jobd::LogLevel> level = jobd::ParseLogLevel(log_level_name);
  if (!level.ok()) {
    std::fprintf(stderr, "jobd-worker: %s\n", level.status().message().c_str());
    return kExitStartupError;
  }
  if (jobd::Status valid = jobd::ValidateEndpoint(endpoint); !valid.ok()) {
    std::fprintf(stderr, "jobd-worker: %s\n", valid.message().c_str());
    return kExitStartupError;
  }
  jobd::Result<uint64_t> max_output = jobd::ParseSize(max_output_text);
  if (!max_output.ok()) {
    std::fprintf(stderr, "jobd-worker: --max-output: %s\n",
                 max_output.status().message().c_str());
    return kExitStartupError;
  }
  RestoreDefaultSignals();

  Options options;
  options.endpoint = endpoint;
  options.slot = slot;
  options.level = *level;
  options.heartbeat_interval = std::chrono::milliseconds(heartbeat_interval_ms);
  options.heartbeat_misses = heartbeat_misses;
  options.plugin_dir = plugin_dir;
  options.max_output = *max_output;
  options.exec = !no_exec;

  // cppzmq throws; this is the edge where that becomes an exit status.
  try {
    RunWorker(options);
  } catch (const zmq::error_t& e) {
    std::fprintf(stderr, "jobd-worker: zmq error: %s\n", e.what());
    return kExitStartupError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jobd-worker: %s\n", e.what());
    return kExitStartupError;
  }
}
