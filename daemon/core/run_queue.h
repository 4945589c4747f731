// Which job gets the next free worker: the highest priority first, and
// round robin between jobs of equal priority, so that a small job submitted
// after a huge one is not stuck behind it.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>

#include "proto/messages.h"

namespace jobd {

class RunQueue {
 public:
  // Adds a job that has queued tasks. Adding a job twice is a bug.
  void Add(JobId job, int32_t priority);
  // The job whose turn it is; it moves to the back of its priority's line.
  // The caller removes jobs that have nothing left to run.
  std::optional<JobId> Next();
  // The job whose turn it is, without taking the turn.
  std::optional<JobId> Peek() const;
  void Remove(JobId job, int32_t priority);
  bool empty() const { return lines_.empty(); }

 private:
  // Cost: Remove is O(jobs of that priority); jobs are few next to tasks.
  std::map<int32_t, std::deque<JobId>, std::greater<>> lines_;
};

}  // namespace jobd
