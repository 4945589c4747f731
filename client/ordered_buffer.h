// Turns results that arrive in completion order into submission (index)
// order, like Executor.map: a result waits here until every lower index has
// been handed out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "proto/messages.h"

namespace jobd {

class OrderedBuffer {
 public:
  explicit OrderedBuffer(uint32_t first_index = 0) : next_index_(first_index) {}

  // Keeps `result` until its turn. A second result for an index that is
  // buffered or already handed out is dropped: the first one wins.
  void Push(TaskResult result);

  // The result with the next index, if it has arrived.
  std::optional<TaskResult> PopNext();

  // Everything still buffered, in index order, skipping the gaps. For the end
  // of a job, when the missing indexes will never come.
  std::vector<TaskResult> DrainAll();

  size_t size() const { return pending_.size(); }
  uint32_t next_index() const { return next_index_; }

 private:
  uint32_t next_index_;
  std::map<uint32_t, TaskResult> pending_;  // by index
};

}  // namespace jobd
