#include "util/log_record.h"

#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace jobd {
namespace {

constexpr std::string_view kLevelNames[] = {"trace", "debug", "info",
                                            "warn",  "error", "critical"};

// "2026-11-22T06:45:00.123456Z" (UTC, microseconds).
std::string FormatTimestamp(int64_t unix_us, bool for_people) {
  const time_t secs = static_cast<time_t>(unix_us / 1000000);
  const int64_t micros = unix_us % 1000000;
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char date[32];
  strftime(date, sizeof date, for_people ? "%H:%M:%S" : "%Y-%m-%dT%H:%M:%S",
           &tm_utc);
  if (for_people) return fmt::format("{}.{:03}", date, micros / 1000);
  return fmt::format("{}.{:06}Z", date, micros);
}

Result<int64_t> ParseTimestamp(const std::string& text) {
  struct tm tm_utc = {};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm_utc);
  if (rest == nullptr) return Status::InvalidArgument("bad ts '" + text + "'");
  int64_t micros = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 6) micros = micros * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  return static_cast<int64_t>(timegm(&tm_utc)) * 1000000 + micros;
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  return kLevelNames[static_cast<size_t>(level)];
}

Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (size_t i = 0; i < std::size(kLevelNames); ++i) {
    if (kLevelNames[i] == name) return static_cast<LogLevel>(i);
  }
  if (name == "warning") return LogLevel::kWarn;
  return Status::InvalidArgument(
      "unknown log level '" + std::string(name) +
      "' (use trace, debug, info, warn, error or critical)");
}

std::string FormatJsonLine(const LogRecord& r) {
  nlohmann::ordered_json j;
  j["ts"] = FormatTimestamp(r.ts_unix_us, false);
  j["level"] = LogLevelName(r.level);
  j["pid"] = r.pid;
  j["role"] = r.role == LogRole::kWorker ? "worker" : "coordinator";
  if (r.worker) j["worker"] = *r.worker;
  if (r.job) j["job"] = *r.job;
  if (r.task) j["task"] = *r.task;
  if (r.uid) j["uid"] = *r.uid;
  j["msg"] = r.msg;
  // Replace invalid UTF-8 rather than throw: a record must never be lost.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<LogRecord> ParseJsonLine(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::InvalidArgument("not a JSON object");
  try {
    LogRecord r;
    auto ts = ParseTimestamp(j.at("ts").get<std::string>());
    if (!ts.ok()) return ts.status();
    r.ts_unix_us = *ts;
    auto level = ParseLogLevel(j.at("level").get<std::string>());
    if (!level.ok()) return level.status();
    r.level = *level;
    r.pid = j.at("pid").get<int32_t>();
    r.role = j.at("role").get<std::string>() == "worker" ? LogRole::kWorker
                                                           : LogRole::kCoordinator;
    if (j.contains("worker")) r.worker = j["worker"].get<uint32_t>();
    if (j.contains("job")) r.job = j["job"].get<uint64_t>();
    if (j.contains("task")) r.task = j["task"].get<uint32_t>();
    if (j.contains("uid")) r.uid = j["uid"].get<uint32_t>();
    r.msg = j.at("msg").get<std::string>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("bad log record: ") + e.what());
  }
}

std::string FormatHumanLine(const LogRecord& r) {
  std::string who = r.role == LogRole::kWorker
                        ? (r.worker ? fmt::format("worker[{}]", *r.worker) : "worker")
                        : "coordinator";
  std::string where;
  if (r.job) where += fmt::format(" job={}", *r.job);
  if (r.task) where += fmt::format(" task={}", *r.task);
  std::string level;
  if (r.level != LogLevel::kInfo) level = fmt::format(" [{}]", LogLevelName(r.level));
  // The PID comes first: it is what tells interleaved processes apart.
  return fmt::format("PID {} {} {}{}{}: {}", r.pid, FormatTimestamp(r.ts_unix_us, true),
                     who, where, level, r.msg);
}

}  // namespace jobd
