// jobd's options: the names of its command line and of its --config file,
// the flags as given, and their values once parsed and checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/io/access_setup.h"
#include "daemon/io/journal_sink.h"
#include "util/clock.h"
#include "util/log_record.h"
#include "util/status.h"

namespace CLI {
class App;
}

namespace jobd {

// The options as given; text where the value needs parsing (durations,
// sizes), defaults as `jobd --help` shows them.
struct DaemonFlags {
  DaemonFlags();

  std::string socket;
  uint32_t workers;
  std::string state_dir;
  std::string log_dir;
  std::string log_level = "info";
  std::string drain_timeout = "30s";
  std::string default_timeout = "0";
  uint64_t max_tasks_per_worker = 0;
  std::string max_worker_rss = "0";
  std::string heartbeat = "1s";
  uint32_t heartbeat_misses = 3;
  size_t max_queued_tasks = 10'000'000;
  size_t max_queued_tasks_per_user = 0;
  uint32_t max_workers_per_user = 0;
  std::string worker_idle_timeout = "60s";
  size_t max_tasks_per_job = 1'000'000;
  std::string max_task_bytes = "1M";
  std::string max_message_size = "64MiB";  // "64M" would leave --help no gap before the text
  size_t max_clients = 1024;
  bool no_store = false;
  size_t keep_finished = 1000;
  std::string retain = "7d";
  std::string worker_binary;
  std::string plugin_dir;
  std::string max_output = "1M";
  bool no_exec = false;
  std::string kill_grace = "5s";
  std::string journal = "auto";
  AccessFlags access;
};

// Adds --config and every option to `app`, each bound to its member of
// `flags`, which must outlive the parse.
void AddDaemonOptions(CLI::App& app, DaemonFlags& flags);

// The text flags, parsed.
struct DaemonValues {
  LogLevel log_level{};
  Micros drain_timeout{};
  Micros default_timeout{};
  uint64_t max_worker_rss = 0;
  Micros heartbeat{};
  Micros retain{};
  uint64_t max_output = 0;
  Micros kill_grace{};
  Micros worker_idle_timeout{};
  uint64_t max_task_bytes = 0;
  uint64_t max_message_size = 0;
  JournalMode journal{};
};

// Parses and range-checks the text flags (and --socket). The first bad one
// fails naming its option: "--drain-timeout: bad duration 'soon': ...".
Result<DaemonValues> ParseDaemonValues(const DaemonFlags& flags);

// The long option names, without the dashes: what a config file may name
// (--help and --config are named, and refused as CLI11 refuses them).
std::vector<std::string> DaemonOptionNames();

// Checks one entry of a config file, `text` as written there ("workers = 0"),
// alone: as CLI11 reads it, then as ParseDaemonValues judges it. Fails with
// the message for it, e.g. "--workers: Value 0 not in range 1 to 1024".
Status CheckDaemonConfigEntry(const std::string& text);

}  // namespace jobd
