// PendingLogs: the worker's log records waiting for the next report to the
// coordinator. A worker never writes the log file itself; its RecordSink
// delivers here and the WorkerLoop takes the records out.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "util/log_record.h"

namespace jobd {

class PendingLogs {
 public:
  // Beyond `capacity` records, new ones are counted and dropped, so that a
  // task logging in a tight loop cannot exhaust memory between reports.
  explicit PendingLogs(size_t capacity = 10000) : capacity_(capacity) {}
  PendingLogs(const PendingLogs&) = delete;
  PendingLogs& operator=(const PendingLogs&) = delete;

  // Safe to call from any thread (spdlog sinks may be).
  void Add(LogRecord record);

  // Everything queued since the last call, oldest first. If records were
  // dropped, a final warning record says how many. Safe from any thread.
  std::vector<LogRecord> TakeAll();

  bool empty() const;

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<LogRecord> records_;  // guarded by mutex_
  size_t dropped_ = 0;              // guarded by mutex_
  LogRecord last_dropped_;          // guarded by mutex_: template for the warning
};

}  // namespace jobd
