#include "daemon/core/run_queue.h"

#include <algorithm>

namespace jobd {

void RunQueue::Add(JobId job, int32_t priority) { lines_[priority].push_back(job); }

std::optional<JobId> RunQueue::Next() {
  if (lines_.empty()) return std::nullopt;
  std::deque<JobId>& line = lines_.begin()->second;
  const JobId job = line.front();
  line.pop_front();
  line.push_back(job);
  return job;
}

std::optional<JobId> RunQueue::Peek() const {
  if (lines_.empty()) return std::nullopt;
  return lines_.begin()->second.front();
}

void RunQueue::Remove(JobId job, int32_t priority) {
  auto it = lines_.find(priority);
  if (it == lines_.end()) return;
  std::deque<JobId>& line = it->second;
  line.erase(std::remove(line.begin(), line.end(), job), line.end());
  if (line.empty()) lines_.erase(it);
}

}  // namespace jobd
