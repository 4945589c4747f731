#include "daemon/options.h"

#include <algorithm>
#include <sstream>
#include <thread>
#include <utility>

#include <CLI/CLI.hpp>

#include "daemon/io/process_launcher.h"
#include "proto/codec.h"
#include "util/duration.h"
#include "util/endpoints.h"
#include "util/size.h"

namespace jobd {

DaemonFlags::DaemonFlags()
    : socket(DefaultClientEndpoint()),
      workers(std::max(1u, std::thread::hardware_concurrency())),
      state_dir(DefaultStateDir()),
      worker_binary(DefaultWorkerBinary()),
      plugin_dir(DefaultPluginDir()) {}

void AddDaemonOptions(CLI::App& app, DaemonFlags& flags) {
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
  app.add_option("--max-queued-tasks-per-user", flags.max_queued_tasks_per_user,
                 "A job that would queue more tasks than this for its user is refused (0: no "
                 "limit but --max-queued-tasks)")
      ->capture_default_str();
  app.add_option("--max-workers-per-user", flags.max_workers_per_user,
                 "Workers running one user's tasks at once (0: no limit but --workers; users "
                 "with work share the workers fairly anyway)")
      ->capture_default_str();
  app.add_option("--worker-idle-timeout", flags.worker_idle_timeout,
                 "With per-user workers (jobd runs as root or with CAP_SETUID and CAP_SETGID), "
                 "a worker idle this long leaves")
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
                 "The client public keys a tcp:// socket lets in, \"NAME KEY [user=ACCOUNT]\" "
                 "a line; the name owns the jobs, the account runs them (none: no CURVE; SIGHUP "
                 "reads it again)")
      ->capture_default_str();
}

Result<DaemonValues> ParseDaemonValues(const DaemonFlags& flags) {
  auto level = ParseLogLevel(flags.log_level);
  auto drain = ParseDuration(flags.drain_timeout);
  auto default_timeout = ParseDuration(flags.default_timeout);
  auto max_rss = ParseSize(flags.max_worker_rss);
  auto heartbeat = ParseDuration(flags.heartbeat);
  auto retain = ParseDuration(flags.retain);
  auto max_output = ParseSize(flags.max_output);
  auto kill_grace = ParseDuration(flags.kill_grace);
  auto idle_timeout = ParseDuration(flags.worker_idle_timeout);
  auto max_task_bytes = ParseSize(flags.max_task_bytes);
  auto max_message_size = ParseSize(flags.max_message_size);
  auto journal_mode = ParseJournalMode(flags.journal);
  const Status endpoint_ok = ValidateEndpoint(flags.socket);
  const std::pair<const char*, Status> checks[] = {
      {"--log-level", level.status()},
      {"--drain-timeout", drain.status()},
      {"--default-timeout", default_timeout.status()},
      {"--max-worker-rss", max_rss.status()},
      {"--heartbeat", heartbeat.status()},
      {"--retain", retain.status()},
      {"--max-output", max_output.status()},
      {"--kill-grace", kill_grace.status()},
      {"--worker-idle-timeout", idle_timeout.status()},
      {"--max-task-bytes", max_task_bytes.status()},
      {"--max-message-size", max_message_size.status()},
      {"--journal", journal_mode.status()},
      {"--socket", endpoint_ok}};
  for (const auto& [option, status] : checks) {
    if (!status.ok()) return Status::InvalidArgument(std::string(option) + ": " + status.message());
  }
  if (*idle_timeout < Millis(10)) {
    return Status::InvalidArgument("--worker-idle-timeout: " + flags.worker_idle_timeout +
                                   " is too short (at least 10ms)");
  }
  if (*heartbeat < Millis(10)) {
    return Status::InvalidArgument("--heartbeat: " + flags.heartbeat +
                                   " is too short (at least 10ms)");
  }
  if (*max_message_size < 1024 || *max_message_size > kMaxFrameBytes) {
    return Status::InvalidArgument("--max-message-size: " + flags.max_message_size +
                                   " is out of range (1K to 256M)");
  }
  DaemonValues values;
  values.log_level = *level;
  values.drain_timeout = *drain;
  values.default_timeout = *default_timeout;
  values.max_worker_rss = *max_rss;
  values.heartbeat = *heartbeat;
  values.retain = *retain;
  values.max_output = *max_output;
  values.kill_grace = *kill_grace;
  values.worker_idle_timeout = *idle_timeout;
  values.max_task_bytes = *max_task_bytes;
  values.max_message_size = *max_message_size;
  values.journal = *journal_mode;
  return values;
}

std::vector<std::string> DaemonOptionNames() {
  DaemonFlags flags;
  CLI::App app;
  AddDaemonOptions(app, flags);
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back(name);
  }
  return names;
}

Status CheckDaemonConfigEntry(const std::string& text) {
  // Only the entry is judged, so the rest keep defaults that pass, whatever
  // the environment says (JOBD_SOCKET sets the default socket, and --socket
  // reads it too).
  DaemonFlags flags;
  flags.socket = "ipc:///run/jobd/jobd.sock";
  CLI::App app;
  AddDaemonOptions(app, flags);
  for (CLI::Option* option : app.get_options()) option->envname("");
  std::istringstream entry(text);
  try {
    app.parse_from_stream(entry);
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(e.what());
  }
  return ParseDaemonValues(flags).status();
}

}  // namespace jobd
