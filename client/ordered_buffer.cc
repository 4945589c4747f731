#include "client/ordered_buffer.h"

#include <utility>

namespace jobd {

void OrderedBuffer::Push(TaskResult result) {
  if (result.index < next_index_) return;
  const uint32_t index = result.index;
  pending_.emplace(index, std::move(result));
}

std::optional<TaskResult> OrderedBuffer::PopNext() {
  auto it = pending_.find(next_index_);
  if (it == pending_.end()) return std::nullopt;
  TaskResult result = std::move(it->second);
  pending_.erase(it);
  ++next_index_;
  return result;
}

std::vector<TaskResult> OrderedBuffer::DrainAll() {
  std::vector<TaskResult> out;
  out.reserve(pending_.size());
  for (auto& [index, result] : pending_) out.push_back(std::move(result));
  if (!pending_.empty()) next_index_ = pending_.rbegin()->first + 1;
  pending_.clear();
  return out;
}

}  // namespace jobd
