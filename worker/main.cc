// jobd-worker: one worker process, started by the jobd coordinator.
//
//   jobd-worker --endpoint E --slot K [--coordinator-pid P] [--log-level L]
//
// Exit status: 0 after ShutdownWorker, 1 when the coordinator is already
// gone at start, 2 for bad flags or a ZeroMQ error, 3 for a protocol error.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <zmq.hpp>

#include "util/endpoints.h"
#include "util/log_record.h"
#include "util/record_sink.h"
#include "worker/builtin_tasks.h"
#include "worker/pending_logs.h"
#include "worker/task_registry.h"
#include "worker/worker_loop.h"

namespace {

constexpr int kExitCoordinatorGone = 1;
constexpr int kExitStartupError = 2;

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

int RunWorker(const std::string& endpoint, uint32_t slot, jobd::LogLevel level) {
  jobd::PendingLogs pending_logs;
  jobd::LogRecord base;
  base.pid = static_cast<int32_t>(getpid());
  base.role = jobd::LogRole::kWorker;
  base.worker = slot;
  auto record_sink = std::make_shared<jobd::RecordSink>(
      base, [&pending_logs](jobd::LogRecord record) { pending_logs.Add(std::move(record)); });
  // Errors also go to stderr, in case they never reach the coordinator.
  auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  stderr_sink->set_level(spdlog::level::err);
  stderr_sink->set_pattern("jobd-worker[" + std::to_string(getpid()) + "] slot " +
                           std::to_string(slot) + ": %l: %v");
  spdlog::logger logger("worker", {record_sink, stderr_sink});
  logger.set_level(jobd::ToSpdlogLevel(level));

  jobd::TaskRegistry registry;
  jobd::RegisterBuiltinTasks(registry);

  // The context is declared first so that it is destroyed last.
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::routing_id, std::to_string(getpid()));
  // Long enough for the last report ("worker stopping") to leave at exit.
  socket.set(zmq::sockopt::linger, 1000);
  socket.connect(endpoint);

  jobd::WorkerLoop loop(socket, registry, slot, logger, pending_logs);
  return loop.Run();
}

}  // namespace

int main(int argc, char** argv) {
  // First, so that no window exists in which the coordinator could die
  // unnoticed; the getppid() check below closes the window before it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);

  CLI::App app{"jobd-worker: runs tasks for the jobd coordinator that started it"};
  std::string endpoint;
  uint32_t slot = 0;
  std::optional<pid_t> coordinator_pid;
  std::string log_level_name = "info";
  app.add_option("--endpoint", endpoint, "coordinator's worker endpoint")->required();
  app.add_option("--slot", slot, "this worker's slot number")->required();
  app.add_option("--coordinator-pid", coordinator_pid,
                 "exit at once unless this is the parent process");
  app.add_option("--log-level", log_level_name,
                 "trace, debug, info, warn, error or critical")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitStartupError;
  }

  if (coordinator_pid && getppid() != *coordinator_pid) {
    std::fprintf(stderr, "jobd-worker: coordinator %d is gone (parent is %d)\n",
                 static_cast<int>(*coordinator_pid), static_cast<int>(getppid()));
    return kExitCoordinatorGone;
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
  RestoreDefaultSignals();

  // cppzmq throws; this is the edge where that becomes an exit status.
  try {
    return RunWorker(endpoint, slot, *level);
  } catch (const zmq::error_t& e) {
    std::fprintf(stderr, "jobd-worker: zmq error: %s\n", e.what());
    return kExitStartupError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jobd-worker: %s\n", e.what());
    return kExitStartupError;
  }
}
