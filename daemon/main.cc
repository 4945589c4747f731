// jobd: builds the components from the command line and runs the server.
#include <unistd.h>

#include <csignal>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/config_file.h"
#include "daemon/io/access_setup.h"
#include "daemon/io/journal_sink.h"
#include "daemon/io/log_writer.h"
#include "daemon/io/privilege.h"
#include "daemon/io/system_identity.h"
#include "daemon/io/server.h"
#include "daemon/io/signal_fd.h"
#include "daemon/options.h"
#include "util/endpoints.h"
#include "util/record_sink.h"
#include "util/sched_slice.h"

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

  jobd::DaemonFlags flags;
  CLI::App app{"jobd: a multiprocess job supervisor. Runs in the foreground."};
  jobd::AddDaemonOptions(app, flags);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "jobd: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });
  // CLI11 names neither the file nor the line of a bad config entry, so a
  // given file is checked again entry by entry, and its error, naming both,
  // is the one told. Also when CLI11 found nothing wrong: the checks of
  // ParseDaemonValues (durations, sizes) come after CLI11's.
  const auto check_config = [&app]() -> jobd::Status {
    const CLI::Option* config = app.get_config_ptr();
    if (config == nullptr || config->count() == 0) return jobd::Status::Ok();
    return jobd::CheckConfigFile(config->as<std::string>(), jobd::DaemonOptionNames(),
                                 jobd::CheckDaemonConfigEntry);
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {  // not --help
      if (jobd::Status config = check_config(); !config.ok()) {
        fprintf(stderr, "jobd: %s\n", config.message().c_str());
        return 2;
      }
    }
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (jobd::Status config = check_config(); !config.ok()) {
    fprintf(stderr, "jobd: %s\n", config.message().c_str());
    return 2;
  }

  // A bad value is refused at start, naming the option.
  jobd::Result<jobd::DaemonValues> values = jobd::ParseDaemonValues(flags);
  if (!values.ok()) {
    fprintf(stderr, "jobd: %s\n", values.status().message().c_str());
    return 2;
  }
  // Who may connect and see what: group lookups and key files, read once.
  flags.access.endpoint = flags.socket;
  auto access = jobd::LoadAccessSettings(flags.access);
  if (const auto* error = std::get_if<jobd::AccessError>(&access)) {
    fprintf(stderr, "jobd: %s: %s\n", error->option.c_str(), error->status.message().c_str());
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
  if (jobd::UseJournal(values->journal)) {
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
    stderr_sink->set_level(std::max(spdlog::level::info, jobd::ToSpdlogLevel(values->log_level)));
    sinks.push_back(stderr_sink);
  }
  spdlog::logger log("jobd", sinks.begin(), sinks.end());
  log.set_level(jobd::ToSpdlogLevel(values->log_level));

  jobd::ServerConfig config;
  config.client_endpoint = flags.socket;
  config.worker_binary = flags.worker_binary;
  config.plugin_dir = flags.plugin_dir;
  config.max_output = values->max_output;
  config.supervisor.allow_commands = !flags.no_exec;
  config.supervisor.kill_grace = std::chrono::duration_cast<jobd::Millis>(values->kill_grace);
  config.workers = flags.workers;
  config.log_level = values->log_level;
  config.drain_timeout = std::chrono::duration_cast<jobd::Millis>(values->drain_timeout);
  if (!flags.no_store) config.store_path = flags.state_dir + "/jobd.db";
  config.retain = values->retain;
  config.supervisor.workers = flags.workers;
  config.supervisor.own_uid = geteuid();
  // Per-user workers whenever jobd can change identity (see
  // docs/ARCHITECTURE.md, "Identity"). The names, for messages, and
  // nobody's uid are looked up now: never on the loop.
  config.supervisor.per_user_workers = jobd::CanChangeIdentity();
  if (auto own = jobd::LookUpAccount(std::to_string(geteuid())); own.ok()) {
    config.supervisor.own_name = own->name;
  }
  if (auto nobody = jobd::LookUpAccountByName("nobody"); nobody.ok()) {
    config.supervisor.anonymous_uid = nobody->uid;
  }
  config.supervisor.default_timeout = values->default_timeout;
  config.supervisor.max_tasks_per_worker = flags.max_tasks_per_worker;
  config.supervisor.max_worker_rss = values->max_worker_rss;
  config.supervisor.heartbeat_interval = std::chrono::duration_cast<jobd::Millis>(values->heartbeat);
  config.supervisor.heartbeat_misses = flags.heartbeat_misses;
  config.supervisor.max_queued_tasks = flags.max_queued_tasks;
  config.supervisor.max_queued_tasks_per_user = flags.max_queued_tasks_per_user;
  config.supervisor.max_workers_per_user = flags.max_workers_per_user;
  config.supervisor.worker_idle_timeout =
      std::chrono::duration_cast<jobd::Millis>(values->worker_idle_timeout);
  config.supervisor.max_tasks_per_job = flags.max_tasks_per_job;
  config.supervisor.max_task_bytes = values->max_task_bytes;
  config.max_message_size = values->max_message_size;
  config.max_clients = flags.max_clients;
  config.supervisor.retained_finished_jobs = flags.keep_finished;
  const auto& access_settings = std::get<jobd::AccessSettings>(access);
  access_settings.ApplyTo(config);
  for (const std::string& warning : access_settings.warnings) log.warn("{}", warning);
  if (config.supervisor.per_user_workers) {
    log.info("per-user workers: each task runs as the user who submitted it");
  } else {
    log.info("jobd cannot change identity: every task runs as {} (uid {}); other users may run "
             "built-in and plugin tasks only",
             config.supervisor.own_name, config.supervisor.own_uid);
  }
  if (!sliced.ok()) log.warn("short scheduler slice not set ({}): jobd answers later while workers are busy", sliced.message());
  int rc;
  {
    jobd::Server server(config, **writer, log, journal.get());
    rc = server.Run();
  }
  return rc;
}
