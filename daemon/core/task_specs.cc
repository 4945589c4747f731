#include "daemon/core/task_specs.h"

#include <cassert>
#include <limits>
#include <map>

#include "proto/codec.h"

namespace jobd {

static_assert(kMaxFrameBytes <= std::numeric_limits<uint32_t>::max(),
              "TaskSpecs keeps argument offsets in 32 bits");

// Fills a TaskSpecs whose sizes are known up front, so that every vector
// and the byte string are allocated once, at their exact size.
class TaskSpecs::Builder {
 public:
  Builder(std::string default_task, size_t tasks, size_t args, size_t bytes)
      : specs_(new TaskSpecs()), tasks_(tasks) {
    assert(bytes <= std::numeric_limits<uint32_t>::max());
    specs_->names_.push_back(std::move(default_task));
    specs_->first_arg_.reserve(tasks + 1);
    specs_->first_arg_.push_back(0);
    specs_->arg_end_.reserve(args);
    specs_->bytes_.reserve(bytes);
  }

  void Add(std::string_view name, const std::vector<std::string>& args) {
    const uint32_t index = Intern(name);
    std::vector<uint32_t>& name_of = specs_->name_of_;
    if (index != 0 && !per_task_names_) {
      per_task_names_ = true;
      name_of.reserve(tasks_);
      name_of.resize(specs_->size(), 0);  // the tasks so far ran the default
    }
    if (per_task_names_) name_of.push_back(index);
    for (const std::string& arg : args) {
      specs_->bytes_.append(arg);
      specs_->arg_end_.push_back(static_cast<uint32_t>(specs_->bytes_.size()));
    }
    specs_->first_arg_.push_back(static_cast<uint32_t>(specs_->arg_end_.size()));
  }

  std::shared_ptr<const TaskSpecs> Finish() {
    assert(specs_->size() == tasks_);
    return std::move(specs_);
  }

 private:
  uint32_t Intern(std::string_view name) {
    std::vector<std::string>& names = specs_->names_;
    if (name.empty() || name == names[0]) return 0;
    if (name == names[last_]) return last_;  // runs of one name are the rule
    auto it = index_.find(name);
    if (it == index_.end()) {
      names.emplace_back(name);
      it = index_.emplace(std::string(name), static_cast<uint32_t>(names.size() - 1)).first;
    }
    last_ = it->second;
    return last_;
  }

  std::shared_ptr<TaskSpecs> specs_;
  const size_t tasks_;
  std::map<std::string, uint32_t, std::less<>> index_;  // names past [0]
  uint32_t last_ = 0;
  bool per_task_names_ = false;  // a task so far had a name of its own
};

std::shared_ptr<const TaskSpecs> TaskSpecs::FromInputs(std::string default_task,
                                                       std::vector<TaskInput> tasks) {
  size_t args = 0, bytes = 0;
  for (const TaskInput& task : tasks) {
    args += task.args.size();
    for (const std::string& arg : task.args) bytes += arg.size();
  }
  Builder builder(std::move(default_task), tasks.size(), args, bytes);
  for (const TaskInput& task : tasks) builder.Add(task.name, task.args);
  return builder.Finish();
}

std::shared_ptr<const TaskSpecs> TaskSpecs::FromStored(const StoredJob& job) {
  std::vector<const StoredTask*> by_index(job.tasks.size(), nullptr);
  size_t args = 0, bytes = 0;
  for (const StoredTask& task : job.tasks) {
    by_index.at(task.index) = &task;
    args += task.args.size();
    for (const std::string& arg : task.args) bytes += arg.size();
  }
  Builder builder(job.default_task, job.tasks.size(), args, bytes);
  for (const StoredTask* task : by_index) {
    // Indexes are 0 to n - 1, each once; a gap would be an empty task.
    if (task == nullptr) {
      builder.Add("", {});
    } else {
      builder.Add(task->name, task->args);
    }
  }
  return builder.Finish();
}

std::string_view TaskSpecs::own_name(uint32_t task) const {
  const uint32_t index = NameIndex(task);
  return index == 0 ? std::string_view() : std::string_view(names_[index]);
}

bool TaskSpecs::Uses(std::string_view name) const {
  for (const std::string& n : names_) {
    if (n == name) return true;
  }
  return false;
}

std::string_view TaskSpecs::arg(uint32_t task, uint32_t i) const {
  const uint32_t a = first_arg_[task] + i;
  assert(a < first_arg_[task + 1]);
  const uint32_t begin = a == 0 ? 0 : arg_end_[a - 1];
  return std::string_view(bytes_).substr(begin, arg_end_[a] - begin);
}

std::vector<std::string> TaskSpecs::Args(uint32_t task) const {
  std::vector<std::string> args;
  args.reserve(arg_count(task));
  for (uint32_t i = 0; i < arg_count(task); ++i) args.emplace_back(arg(task, i));
  return args;
}

}  // namespace jobd
