#include "worker/pending_logs.h"

#include <string>
#include <utility>

namespace jobd {

void PendingLogs::Add(LogRecord record) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (records_.size() >= capacity_) {
    ++dropped_;
    last_dropped_ = std::move(record);
    return;
  }
  records_.push_back(std::move(record));
}

std::vector<LogRecord> PendingLogs::TakeAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<LogRecord> taken = std::exchange(records_, {});
  if (dropped_ > 0) {
    // Same pid/role/slot/job/task as the last dropped record.
    LogRecord warning = std::move(last_dropped_);
    warning.level = LogLevel::kWarn;
    warning.msg = "dropped " + std::to_string(dropped_) +
                  " log records (more than " + std::to_string(capacity_) +
                  " between two reports)";
    taken.push_back(std::move(warning));
    dropped_ = 0;
  }
  return taken;
}

bool PendingLogs::empty() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return records_.empty() && dropped_ == 0;
}

}  // namespace jobd
