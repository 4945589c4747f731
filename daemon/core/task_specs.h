// What each task of a job runs: its name and arguments, fixed at submission.
// Packed so that a queued task costs a few bytes beyond its argument bytes
// (a million queued tasks must not cost hundreds of MiB). Immutable once
// built, so the Job and the store thread share one copy through a
// std::shared_ptr<const TaskSpecs>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/store_ops.h"
#include "proto/messages.h"

namespace jobd {

class TaskSpecs {
 public:
  // The tasks of a submission; tasks without a name run `default_task`.
  // Takes the inputs so their memory is gone once the specs are built.
  static std::shared_ptr<const TaskSpecs> FromInputs(std::string default_task,
                                                     std::vector<TaskInput> tasks);
  // The tasks of a stored job, placed by their index.
  static std::shared_ptr<const TaskSpecs> FromStored(const StoredJob& job);

  uint32_t size() const { return static_cast<uint32_t>(first_arg_.size() - 1); }
  const std::string& default_task() const { return names_[0]; }
  // The task's name: its own, or the job's default.
  const std::string& name(uint32_t task) const { return names_[NameIndex(task)]; }
  // The name given to the task itself; empty when it runs the default (as
  // the store keeps it). A task named after the default reads as unnamed.
  std::string_view own_name(uint32_t task) const;
  // True if the default or any task's name is `name`.
  bool Uses(std::string_view name) const;

  uint32_t arg_count(uint32_t task) const { return first_arg_[task + 1] - first_arg_[task]; }
  std::string_view arg(uint32_t task, uint32_t i) const;
  // A copy of the task's arguments, for sending it to a worker.
  std::vector<std::string> Args(uint32_t task) const;

 private:
  class Builder;
  TaskSpecs() = default;
  uint32_t NameIndex(uint32_t task) const { return name_of_.empty() ? 0 : name_of_[task]; }

  // Distinct names; [0] is the job's default task.
  std::vector<std::string> names_;
  // Per task, an index into names_; empty while every task runs the default
  // (the common case: then it costs nothing).
  std::vector<uint32_t> name_of_;
  // Task t's arguments are numbers first_arg_[t] to first_arg_[t + 1] - 1;
  // one entry more than there are tasks.
  std::vector<uint32_t> first_arg_;
  // Argument a is bytes_[arg_end_[a - 1], arg_end_[a]) (from 0 for a = 0).
  // 32-bit offsets suffice: a job arrives in one message, at most
  // kMaxFrameBytes long.
  std::vector<uint32_t> arg_end_;
  std::string bytes_;  // every argument, back to back
};

}  // namespace jobd
