// jobd: builds the components from the command line and runs the server.
#include <unistd.h>

#include <csignal>

#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/io/access_setup.h"
#include "daemon/io/journal_sink.h"
#include "daemon/io/log_writer.h"
#include "daemon/io/process_launcher.h"
#include "daemon/io/server.h"
#include "daemon/io/signal_fd.h"
#include "proto/codec.h"
#include "util/duration.h"
#include "util/endpoints.h"
#include "util/size.h"
#include "util/record_sink.h"
#include "util/sched_slice.h"

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
  size_t max_tasks_per_job = 1'000'000;
  std::string max_task_bytes = "1M";
  std::string max_message_size = "64MiB";  // "64M" would leave --help no gap before the text
  size_t max_clients = 1024;
  bool no_store = false;
  size_t keep_finished = 1000;
  std::string retain = "7d";
  std::string worker_binary = jobd::DefaultWorkerBinary();
  std::string plugin_dir = jobd::DefaultPluginDir();
  std::string max_output = "1M";
  bool no_exec = false;
  std::string kill_grace = "5s";
  std::string journal = "auto";
  jobd::AccessFlags access;
};

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits the mask and
  // the signals reach only the signalfd.
  if (jobd::Status blocked = jobd::BlockSignals(jobd::CoordinatorSignals()); !blocked.ok()) {
    fprintf(stderr, "jobd: %s\n", blocked.message().c_str());
    return 1;
  }

  // Also before any thread exists, so that all inherit it: the loop and
  // ZeroMQ's I/O thread, woken by a client, get a core from a CPU-bound
  // worker within 100 us rather than when the worker's slice ends (~1.4 ms).
  // The workers ask for the default again. Best effort: no kernel refuses it.
  const jobd::Status sliced = jobd::SetSchedulerSlice(std::chrono::microseconds(100));

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
  app.add_option("--max-tasks-per-job", flags.max_tasks_per_job,
                 "A job of more tasks than this is refused (bad request)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 32))
      ->capture_default_str();
  app.add_option("--max-task-bytes", flags.max_task_bytes,
                 "A job with a task whose arguments add up to more than this is refused")
      ->capture_default_str();
  app.add_option("--max-message-size", flags.max_message_size,
                 "A client request larger than this gets an error (at most 256M); ZeroMQ "
                 "drops one over twice this, with its connection")
      ->capture_default_str();
  app.add_option("--max-clients", flags.max_clients,
                 "Requests on a connection made while this many clients are connected get "
                 "an error")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
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
  app.add_option("--journal", flags.journal,
                 "Send log records to the systemd journal natively, with JOB_ID, JOBD_PID and "
                 "other fields, instead of stderr: auto (when stderr is the journal's stream, "
                 "as under systemd), yes or no")
      ->capture_default_str();
  app.add_option("--socket-mode", flags.access.socket_mode,
                 "Permissions of an ipc socket file, whose group is jobd's: who may connect")
      ->capture_default_str();
  app.add_option("--admin-group", flags.access.admin_group,
                 "Members of this group may see and cancel every user's jobs, as root and "
                 "jobd's own user may (none: no such group)")
      ->capture_default_str();
  app.add_option("--curve-secret-key", flags.access.curve_secret_key,
                 "jobd's CURVE key pair file (from jobctl keygen); a tcp:// socket requires it "
                 "(none: no CURVE)")
      ->capture_default_str();
  app.add_option("--curve-authorized-keys", flags.access.curve_authorized_keys,
                 "The client public keys a tcp:// socket lets in, \"NAME KEY\" a line; the name "
                 "owns the jobs (none: no CURVE; SIGHUP reads it again)")
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
  auto max_task_bytes = jobd::ParseSize(flags.max_task_bytes);
  auto max_message_size = jobd::ParseSize(flags.max_message_size);
  auto journal_mode = jobd::ParseJournalMode(flags.journal);
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
      {"--max-task-bytes", max_task_bytes.status()},
      {"--max-message-size", max_message_size.status()},
      {"--journal", journal_mode.status()},
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
  // Who may connect and see what: group lookups and key files, read once.
  flags.access.endpoint = flags.socket;
  auto access = jobd::LoadAccessSettings(flags.access);
  if (const auto* error = std::get_if<jobd::AccessError>(&access)) {
    fprintf(stderr, "jobd: %s: %s\n", error->option.c_str(), error->status.message().c_str());
    return 2;
  }
  if (*max_message_size < 1024 || *max_message_size > jobd::kMaxFrameBytes) {
    fprintf(stderr, "jobd: --max-message-size: %s is out of range (1K to 256M)\n",
            flags.max_message_size.c_str());
    return 2;
  }
  if (flags.log_dir.empty()) flags.log_dir = jobd::DefaultLogDir(flags.state_dir);

  auto writer = jobd::LogWriter::Open(flags.log_dir + "/jobd.jsonl");
  if (!writer.ok()) {
    fprintf(stderr, "jobd: %s\n", writer.status().message().c_str());
    return 1;
  }

  // With the native journal, every record (the workers' too) also goes to
  // the journal, from a thread of its own; stderr, which systemd would copy
  // into the journal as well, then gets only what the journal refuses.
  std::unique_ptr<jobd::JournalWriter> journal;
  if (jobd::UseJournal(*journal_mode)) {
    journal = std::make_unique<jobd::JournalWriter>(
        std::make_unique<jobd::SdJournalSender>(),
        [](const std::string& line) { fprintf(stderr, "%s\n", line.c_str()); });
  }

  // Every record goes to the JSON-lines file; stderr (the journal under
  // systemd) gets a short human form, unless the journal gets the records.
  jobd::LogRecord base;
  base.pid = getpid();
  base.role = jobd::LogRole::kCoordinator;
  auto file_sink = std::make_shared<jobd::RecordSink>(
      base, [w = writer->get(), j = journal.get()](jobd::LogRecord r) {
        w->Write(jobd::FormatJsonLine(r));
        if (j != nullptr) j->Write(std::move(r));
      });
  std::vector<spdlog::sink_ptr> sinks = {file_sink};
  if (!journal) {
    auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    stderr_sink->set_pattern("jobd[%P] %l: %v");
    stderr_sink->set_level(std::max(spdlog::level::info, jobd::ToSpdlogLevel(*level)));
    sinks.push_back(stderr_sink);
  }
  spdlog::logger log("jobd", sinks.begin(), sinks.end());
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
  config.supervisor.max_tasks_per_job = flags.max_tasks_per_job;
  config.supervisor.max_task_bytes = *max_task_bytes;
  config.max_message_size = *max_message_size;
  config.max_clients = flags.max_clients;
  config.supervisor.retained_finished_jobs = flags.keep_finished;
  const auto& access_settings = std::get<jobd::AccessSettings>(access);
  access_settings.ApplyTo(config);
  for (const std::string& warning : access_settings.warnings) log.warn("{}", warning);
  if (!sliced.ok()) log.warn("short scheduler slice not set ({}): jobd answers later while workers are busy", sliced.message());
  int rc;
  {
    jobd::Server server(config, **writer, log, journal.get());
    rc = server.Run();
  }
  return rc;
}
