// A spdlog sink that turns each message into a LogRecord (with the calling
// thread's LogContext) and hands it to a function: the coordinator's hands it
// to the log file writer, a worker's sends it to the coordinator.
#pragma once

#include <functional>
#include <mutex>

#include <spdlog/sinks/base_sink.h>

#include "util/log_context.h"
#include "util/log_record.h"

namespace jobd {

class RecordSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  using Deliver = std::function<void(LogRecord)>;

  // `base` supplies the fields the message does not: pid, role, worker slot.
  RecordSink(LogRecord base, Deliver deliver)
      : base_(std::move(base)), deliver_(std::move(deliver)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    LogRecord record = base_;
    record.ts_unix_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            msg.time.time_since_epoch())
                            .count();
    record.level = FromSpdlog(msg.level);
    const LogContext& context = CurrentLogContext();
    record.job = context.job;
    record.task = context.task;
    record.uid = context.uid;
    record.msg.assign(msg.payload.data(), msg.payload.size());
    deliver_(std::move(record));
  }
  void flush_() override {}

 private:
  static LogLevel FromSpdlog(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::trace: return LogLevel::kTrace;
      case spdlog::level::debug: return LogLevel::kDebug;
      case spdlog::level::info: return LogLevel::kInfo;
      case spdlog::level::warn: return LogLevel::kWarn;
      case spdlog::level::err: return LogLevel::kError;
      default: return LogLevel::kCritical;
    }
  }

  const LogRecord base_;
  const Deliver deliver_;
};

// The spdlog level for one of ours.
inline spdlog::level::level_enum ToSpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kCritical: return spdlog::level::critical;
  }
  return spdlog::level::info;
}

}  // namespace jobd
