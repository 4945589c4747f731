// One structured log record, as stored in <log-dir>/jobd.jsonl and as
// workers send it to the coordinator.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace jobd {

enum class LogLevel : uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kCritical };
enum class LogRole : uint8_t { kCoordinator, kWorker };

struct LogRecord {
  int64_t ts_unix_us = 0;
  LogLevel level = LogLevel::kInfo;
  int32_t pid = 0;
  LogRole role = LogRole::kCoordinator;
  std::optional<uint32_t> worker;  // the worker's slot, for role kWorker
  std::optional<uint64_t> job;
  std::optional<uint32_t> task;
  // The uid a task runs as, on the records about one (and every record of
  // a worker).
  std::optional<uint32_t> uid;
  std::string msg;
};

std::string_view LogLevelName(LogLevel level);
Result<LogLevel> ParseLogLevel(std::string_view name);

// One JSON object, no trailing newline:
// {"ts":"2026-11-22T06:45:00.123456Z","level":"info","pid":42,"role":"worker","worker":1,"job":7,"task":3,"uid":1000,"msg":"..."}
std::string FormatJsonLine(const LogRecord& record);
Result<LogRecord> ParseJsonLine(std::string_view line);

// For people, PID first: "PID 16430 06:45:00.123 worker[1] job=7 task=3: running"
std::string FormatHumanLine(const LogRecord& record);

}  // namespace jobd
