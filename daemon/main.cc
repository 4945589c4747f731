// jobd: builds the components from the command line and runs the server.
#include <unistd.h>

#include <csignal>

#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/io/log_writer.h"
#include "daemon/io/process_launcher.h"
#include "daemon/io/server.h"
#include "daemon/io/signal_fd.h"
#include "util/duration.h"
#include "util/endpoints.h"
#include "util/size.h"
#include "util/record_sink.h"

namespace {

struct Flags {
  std::string socket = jobd::DefaultClientEndpoint();
  uint32_t workers = std::max(1u, std::thread::hardware_concurrency());
  std::string state_dir = jobd::DefaultStateDir();
  std::string log_dir;
  std::string log_level = "info";
  std::string drain_timeout = "30s";
  std::string default_timeout = "0";
  uint64_t max_tasks_per_worker = 0;
  std::string max_worker_rss = "0";
  std::string heartbeat = "1s";
  uint32_t heartbeat_misses = 3;
  size_t max_queued_tasks = 10'000'000;
  bool no_store = false;
  size_t keep_finished = 1000;
  std::string retain = "7d";
  std::string worker_binary = jobd::DefaultWorkerBinary();
  std::string plugin_dir = jobd::DefaultPluginDir();
  std::string max_output = "1M";
  bool no_exec = false;
  std::string kill_grace = "5s";
};

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits the mask and
  // the signals reach only the signalfd.
  if (jobd::Status blocked = jobd::BlockSignals(jobd::CoordinatorSignals()); !blocked.ok()) {
    fprintf(stderr, "jobd: %s\n", blocked.message().c_str());
    return 1;
  }

  // Past a file-size limit, writes must fail (EFBIG, "disk full" for the
  // store) rather than kill the daemon.
  signal(SIGXFSZ, SIG_IGN);

  Flags flags;
  CLI::App app{"jobd: a multiprocess job supervisor. Runs in the foreground."};
  app.set_config("--config", "", "Read options from this file (INI or TOML: key = value)");
  // A misspelt key must not be silently ignored.
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_option("--socket", flags.socket, "Client endpoint (ipc://PATH or tcp://HOST:PORT)")
      ->envname("JOBD_SOCKET")
      ->capture_default_str();
  app.add_option("--workers", flags.workers, "Worker processes")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  app.add_option("--state-dir", flags.state_dir, "Where jobd keeps its state")
      ->capture_default_str();
  app.add_option("--log-dir", flags.log_dir, "Where jobd.jsonl goes (default: /var/log/jobd for root, else <state-dir>/log)");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or critical")
      ->capture_default_str();
  app.add_option("--drain-timeout", flags.drain_timeout,
                 "On SIGTERM, how long running tasks may take before they are killed")
      ->capture_default_str();
  app.add_option("--default-timeout", flags.default_timeout,
                 "Time limit of a task whose job sets none (0: none)")
      ->capture_default_str();
  app.add_option("--max-tasks-per-worker", flags.max_tasks_per_worker,
                 "Replace a worker after this many tasks (0: never)")
      ->capture_default_str();
  app.add_option("--max-worker-rss", flags.max_worker_rss,
                 "Replace a worker whose resident set passes this, e.g. 512M (0: never)")
      ->capture_default_str();
  app.add_option("--heartbeat", flags.heartbeat, "Heartbeat interval between jobd and workers")
      ->capture_default_str();
  app.add_option("--heartbeat-misses", flags.heartbeat_misses,
                 "A worker silent for this many intervals is lost: killed and replaced")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option("--max-queued-tasks", flags.max_queued_tasks,
                 "A job that would queue more tasks than this is refused whole")
      ->capture_default_str();
  app.add_flag("--no-store", flags.no_store,
               "Keep no durable store: every job lives in memory only and is lost on restart");
  app.add_option("--keep-finished", flags.keep_finished,
                 "Finished jobs kept in memory; older ones are read back from the store")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--retain", flags.retain,
                 "How long the store keeps a finished job and its results")
      ->capture_default_str();
  app.add_option("--plugin-dir", flags.plugin_dir,
                 "Workers load every *.so here as plugin tasks; SIGHUP reloads (empty: none)")
      ->capture_default_str();
  app.add_option("--worker-binary", flags.worker_binary, "The jobd-worker program")
      ->capture_default_str();
  app.add_option("--max-output", flags.max_output,
                 "Largest plugin task output; what is kept of a command's stdout and stderr")
      ->capture_default_str();
  app.add_flag("--no-exec", flags.no_exec,
               "Refuse command tasks (jobctl map --exec, jobctl run): plugin and built-in "
               "tasks only");
  app.add_option("--kill-grace", flags.kill_grace,
                 "A command stopped by a timeout or cancel gets SIGTERM, then SIGKILL this "
                 "much later")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  // A bad value is refused at start, naming the option.
  auto level = jobd::ParseLogLevel(flags.log_level);
  auto drain = jobd::ParseDuration(flags.drain_timeout);
  auto default_timeout = jobd::ParseDuration(flags.default_timeout);
  auto max_rss = jobd::ParseSize(flags.max_worker_rss);
  auto heartbeat = jobd::ParseDuration(flags.heartbeat);
  auto retain = jobd::ParseDuration(flags.retain);
  auto max_output = jobd::ParseSize(flags.max_output);
  auto kill_grace = jobd::ParseDuration(flags.kill_grace);
  jobd::Status endpoint_ok = jobd::ValidateEndpoint(flags.socket);
  const std::pair<const char*, jobd::Status> checks[] = {
      {"--log-level", level.status()},
      {"--drain-timeout", drain.status()},
      {"--default-timeout", default_timeout.status()},
      {"--max-worker-rss", max_rss.status()},
      {"--heartbeat", heartbeat.status()},
      {"--retain", retain.status()},
      {"--max-output", max_output.status()},
      {"--kill-grace", kill_grace.status()},
      {"--socket", endpoint_ok}};
  for (const auto& [option, status] : checks) {
    if (!status.ok()) {
      fprintf(stderr, "jobd: %s: %s\n", option, status.message().c_str());
      return 2;
    }
  }
  if (*heartbeat < jobd::Millis(10)) {
    fprintf(stderr, "jobd: --heartbeat: %s is too short (at least 10ms)\n",
            flags.heartbeat.c_str());
    return 2;
  }
  if (flags.log_dir.empty()) flags.log_dir = jobd::DefaultLogDir(flags.state_dir);

  auto writer = jobd::LogWriter::Open(flags.log_dir + "/jobd.jsonl");
  if (!writer.ok()) {
    fprintf(stderr, "jobd: %s\n", writer.status().message().c_str());
    return 1;
  }

  // Every record goes to the JSON-lines file; stderr (the journal under
  // systemd) gets a short human form.
  jobd::LogRecord base;
  base.pid = getpid();
  base.role = jobd::LogRole::kCoordinator;
  auto file_sink = std::make_shared<jobd::RecordSink>(
      base, [w = writer->get()](jobd::LogRecord r) { w->Write(jobd::FormatJsonLine(r)); });
  auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  stderr_sink->set_pattern("jobd[%P] %l: %v");
  stderr_sink->set_level(std::max(spdlog::level::info, jobd::ToSpdlogLevel(*level)));
  spdlog::logger log("jobd", {file_sink, stderr_sink});
  log.set_level(jobd::ToSpdlogLevel(*level));

  jobd::ServerConfig config;
  config.client_endpoint = flags.socket;
  config.worker_binary = flags.worker_binary;
  config.plugin_dir = flags.plugin_dir;
  config.max_output = *max_output;
  config.supervisor.allow_commands = !flags.no_exec;
  config.supervisor.kill_grace = std::chrono::duration_cast<jobd::Millis>(*kill_grace);
  config.workers = flags.workers;
  config.log_level = *level;
  config.drain_timeout = std::chrono::duration_cast<jobd::Millis>(*drain);
  if (!flags.no_store) config.store_path = flags.state_dir + "/jobd.db";
  config.retain = *retain;
  config.supervisor.workers = flags.workers;
  config.supervisor.default_timeout = *default_timeout;
  config.supervisor.max_tasks_per_worker = flags.max_tasks_per_worker;
  config.supervisor.max_worker_rss = *max_rss;
  config.supervisor.heartbeat_interval = std::chrono::duration_cast<jobd::Millis>(*heartbeat);
  config.supervisor.heartbeat_misses = flags.heartbeat_misses;
  config.supervisor.max_queued_tasks = flags.max_queued_tasks;
  config.supervisor.retained_finished_jobs = flags.keep_finished;
  int rc;
  {
    jobd::Server server(config, **writer, log);
    rc = server.Run();
  }
  return rc;
}
