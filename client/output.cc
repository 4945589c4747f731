#include "client/output.h"

#include <fmt/format.h>

#include <string.h>

#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "util/exit_status.h"

namespace jobd {
namespace {

// Keys in the order the contract shows them.
using Json = nlohmann::ordered_json;

std::string Dump(const Json& json) {
  // Task output may hold any bytes: replace invalid UTF-8 rather than throw.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

double Millis3(uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

std::string UtcTimestamp(int64_t unix_us) {
  const std::time_t seconds = static_cast<std::time_t>(unix_us / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string LocalTimestamp(int64_t unix_us) {
  if (unix_us <= 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(unix_us / 1000000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{}B", bytes);
  const char* units[] = {"K", "M", "G", "T"};
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.1f}{}", value, units[unit]);
}

std::string SignalName(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev == nullptr ? std::to_string(signal) : std::string("SIG") + abbrev;
}

// "exited with code 3", "killed by SIGKILL"
std::string DescribeEnd(const CommandEnd& end) {
  const bool signaled = end.signal != 0;
  return ExitStatus{signaled, signaled ? end.signal : end.exit_code}.Describe();
}

std::string_view WithoutFinalNewline(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return text;
}

// Tasks that ran and did not succeed; cancelled ones are counted apart, as
// `jobctl status` does.
uint32_t Failures(const JobInfo& job) { return job.failed + job.crashed + job.timeout; }

// Columns left-aligned, two spaces apart, no trailing blanks.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

// The USER of `jobctl workers`: a name, else the number, else "-".
std::string UserColumn(const std::optional<uint32_t>& uid, const AccountNameOf& name_of) {
  if (!uid) return "-";
  return name_of(*uid).value_or(std::to_string(*uid));
}

}  // namespace

std::string HumanDuration(uint64_t micros) {
  if (micros < 1000000) return fmt::format("{:.1f} ms", Millis3(micros));
  if (micros < 60000000) return fmt::format("{:.2f} s", static_cast<double>(micros) / 1e6);
  const uint64_t seconds = micros / 1000000;
  if (seconds < 3600) return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  if (seconds < 86400) return fmt::format("{}h{:02}m", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{}d{:02}h", seconds / 86400, seconds % 86400 / 3600);
}

std::string ResultJsonLine(const TaskResult& r) {
  const bool ok = r.status == TaskStatus::kOk;
  Json json;
  json["job"] = r.job;
  json["index"] = r.index;
  json["seq"] = r.seq;
  json["status"] = TaskStatusName(r.status);
  // A command's stdout is its result whatever its status: a failed one's
  // often says why. Other tasks have no value unless ok.
  json["result"] = ok || r.command ? Json(r.result) : Json(nullptr);
  // A command's error is its stderr, which may be empty: then how it ended.
  const bool silent_command = r.command && r.error.empty();
  json["error"] = ok ? Json(nullptr) : Json(silent_command ? DescribeEnd(*r.command) : r.error);
  json["pid"] = r.pid;
  json["uid"] = r.uid ? Json(*r.uid) : Json(nullptr);
  json["attempts"] = r.attempts;
  json["duration_ms"] = Millis3(r.duration_us);
  if (r.command) {
    const CommandEnd& end = *r.command;
    json["exit_code"] = end.signal == 0 ? Json(end.exit_code) : Json(nullptr);
    json["signal"] = end.signal == 0 ? Json(nullptr) : Json(SignalName(end.signal));
    json["stderr"] = r.error;
    json["cpu_ms"] = Millis3(end.cpu_us);
    json["max_rss_kb"] = end.max_rss_bytes / 1024;
    json["stdout_truncated"] = end.stdout_truncated;
    json["stderr_truncated"] = end.stderr_truncated;
  }
  return Dump(json);
}

std::string CommandEndText(const CommandEnd& end) {
  if (end.signal == 0) return fmt::format("exit {}", end.exit_code);
  return "killed by " + SignalName(end.signal);
}

std::string ResultHumanLine(const TaskResult& r, uint32_t total) {
  const size_t width = std::to_string(total > 0 ? total - 1 : 0).size();
  std::string line = fmt::format("[{:>{}}] {}", r.index, width, TaskStatusName(r.status));
  // A command's output usually ends with a newline that is not part of it.
  const std::string_view result = r.command ? WithoutFinalNewline(r.result) : r.result;
  const std::string_view error = r.command ? WithoutFinalNewline(r.error) : r.error;
  // How a command ended, where it says more than "ok".
  std::string command;
  if (r.command && r.status != TaskStatus::kOk) command = CommandEndText(*r.command) + ", ";
  if (r.command && r.command->stdout_truncated) command += "stdout truncated, ";
  if (r.status == TaskStatus::kOk) {
    line += " ";
    line += result;
    line += fmt::format("  ({}pid {}, {}", command, r.pid, HumanDuration(r.duration_us));
    if (r.attempts > 1) line += fmt::format(", {} attempts", r.attempts);
    return line + ")";
  }
  if (!error.empty()) {
    line += ": ";
    line += error;
  }
  if (r.attempts == 0) return line + "  (never ran)";
  line += fmt::format("  ({}pid {}, {} attempt{})", command, r.pid, r.attempts,
                      r.attempts == 1 ? "" : "s");
  // Last, so that the status, stderr and exit stay where they always are.
  if (r.command && !result.empty()) {
    line += "; stdout: ";
    line += result;
  }
  return line;
}

std::string PingHumanLine(const PongReply& pong, Micros round_trip) {
  return fmt::format("jobd pid {} answered in {:.2f} ms ({} worker{}, {} queued, {} running)",
                     pong.pid, static_cast<double>(round_trip.count()) / 1000.0, pong.workers,
                     pong.workers == 1 ? "" : "s", pong.queued, pong.running);
}

std::string PingJsonLine(const PongReply& pong, Micros round_trip) {
  Json json;
  json["rtt_ms"] = std::round(static_cast<double>(round_trip.count()) / 10.0) / 100.0;
  json["pid"] = pong.pid;
  json["workers"] = pong.workers;
  json["queued"] = pong.queued;
  json["running"] = pong.running;
  return Dump(json);
}

std::string ReloadHumanLine(const PongReply& pong) {
  return fmt::format("jobd pid {} is reloading: its workers are recycled as they finish their "
                     "tasks, and load the plugins anew",
                     pong.pid);
}

std::string ReloadJsonLine(const PongReply& pong) {
  return Dump(Json{{"pid", pong.pid}, {"reloading", true}});
}

std::string SubmittedJsonLine(JobId job) { return Dump(Json{{"job", job}}); }

std::string CancelHumanLine(const CancelReply& reply) {
  if (reply.already_finished) {
    return fmt::format("job {} had already finished; nothing to cancel", reply.job.job);
  }
  return fmt::format("job {} cancelled: {} queued task{} cancelled, {} running task{} stopped",
                     reply.job.job, reply.cancelled_queued,
                     reply.cancelled_queued == 1 ? "" : "s", reply.stopped_running,
                     reply.stopped_running == 1 ? "" : "s");
}

std::string CancelJsonLine(const CancelReply& reply) {
  Json json;
  json["job"] = reply.job.job;
  json["cancelled_queued"] = reply.cancelled_queued;
  json["stopped_running"] = reply.stopped_running;
  json["already_finished"] = reply.already_finished;
  return Dump(json);
}

std::string JobHumanText(const JobInfo& job) {
  return Table({
      {"job", std::to_string(job.job)},
      {"task", job.task.empty() ? "-" : job.task},
      {"state", JobStateName(job.state)},
      {"submitted", LocalTimestamp(job.submitted_unix_us)},
      {"total", std::to_string(job.total)},
      {"queued", std::to_string(job.queued)},
      {"running", std::to_string(job.running)},
      {"ok", std::to_string(job.ok)},
      {"failed", std::to_string(job.failed)},
      {"crashed", std::to_string(job.crashed)},
      {"timeout", std::to_string(job.timeout)},
      {"cancelled", std::to_string(job.cancelled)},
  });
}

std::string JobJsonLine(const JobInfo& job) {
  Json json;
  json["job"] = job.job;
  json["task"] = job.task;
  json["state"] = JobStateName(job.state);
  json["total"] = job.total;
  json["queued"] = job.queued;
  json["running"] = job.running;
  json["ok"] = job.ok;
  json["failed"] = job.failed;
  json["crashed"] = job.crashed;
  json["timeout"] = job.timeout;
  json["cancelled"] = job.cancelled;
  json["submitted"] =
      job.submitted_unix_us > 0 ? Json(UtcTimestamp(job.submitted_unix_us)) : Json(nullptr);
  return Dump(json);
}

std::string JobsTable(const std::vector<JobInfo>& jobs) {
  std::vector<std::vector<std::string>> rows = {
      {"JOB", "STATE", "TASK", "TOTAL", "QUEUED", "RUNNING", "OK", "FAILED", "CANCELLED",
       "SUBMITTED"}};
  for (const JobInfo& job : jobs) {
    rows.push_back({std::to_string(job.job), JobStateName(job.state),
                    job.task.empty() ? "-" : job.task, std::to_string(job.total),
                    std::to_string(job.queued), std::to_string(job.running),
                    std::to_string(job.ok), std::to_string(Failures(job)),
                    std::to_string(job.cancelled), LocalTimestamp(job.submitted_unix_us)});
  }
  return Table(rows);
}

std::string WorkersTable(const std::vector<WorkerInfo>& workers, const AccountNameOf& name_of) {
  std::vector<std::vector<std::string>> rows = {
      {"SLOT", "PID", "USER", "STATE", "JOB", "TASK", "DONE", "RSS", "UPTIME"}};
  for (const WorkerInfo& w : workers) {
    const std::string state = WorkerStateName(w.state);
    if (w.state == WorkerState::kVacant) {
      // No process: nothing but the slot and its state is true of it.
      rows.push_back({std::to_string(w.slot), "-", "-", state, "-", "-", "-", "-", "-"});
      continue;
    }
    const bool has_job = w.job != 0;
    rows.push_back({std::to_string(w.slot), std::to_string(w.pid), UserColumn(w.uid, name_of),
                    state, has_job ? std::to_string(w.job) : "-",
                    has_job ? std::to_string(w.task) : "-", std::to_string(w.tasks_done),
                    HumanBytes(w.rss_bytes), HumanDuration(w.uptime_us)});
  }
  return Table(rows);
}

std::string WorkerJsonLine(const WorkerInfo& w, const AccountNameOf& name_of) {
  const bool has_job = w.job != 0;
  Json json;
  json["slot"] = w.slot;
  json["pid"] = w.pid;
  json["uid"] = w.uid ? Json(*w.uid) : Json(nullptr);
  if (w.uid) {
    if (std::optional<std::string> name = name_of(*w.uid)) json["user"] = *name;
  }
  json["state"] = WorkerStateName(w.state);
  json["job"] = has_job ? Json(w.job) : Json(nullptr);
  json["task"] = has_job ? Json(w.task) : Json(nullptr);
  json["tasks_done"] = w.tasks_done;
  json["rss_bytes"] = w.rss_bytes;
  json["uptime_s"] = static_cast<double>(w.uptime_us) / 1e6;
  return Dump(json);
}

std::string TasksTable(const std::vector<TaskInfo>& tasks) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "KIND", "DESCRIPTION", "FILE"}};
  for (const TaskInfo& t : tasks) {
    // Said where it is seen: such a task is refused to callers who may not run code.
    const std::string kind = t.runs_code ? t.kind + " (runs code)" : t.kind;
    rows.push_back({t.name, kind, t.description, t.file.empty() ? "-" : t.file});
  }
  return Table(rows);
}

std::string TaskJsonLine(const TaskInfo& t) {
  Json json;
  json["name"] = t.name;
  json["kind"] = t.kind;
  json["file"] = t.file.empty() ? Json(nullptr) : Json(t.file);
  json["description"] = t.description;
  json["runs_code"] = t.runs_code;
  return Dump(json);
}

}  // namespace jobd
