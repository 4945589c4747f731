#include "client/task_list.h"

#include <cstddef>

namespace jobd {
namespace {

std::string OverTheLimit(const std::string& what) {
  return what + " is over jobctl's limit of " + std::to_string(kMaxTasksPerJob) +
         " tasks a job (jobd's default --max-tasks-per-job; split the job)";
}

}  // namespace

Status CheckRepeat(uint64_t tasks, int64_t repeat) {
  if (repeat < 1) {
    return Status::InvalidArgument("--repeat " + std::to_string(repeat) +
                                   ": a job runs its tasks at least once");
  }
  // Each checked alone first, so that the product cannot overflow.
  const auto rounds = static_cast<uint64_t>(repeat);
  if (rounds > kMaxTasksPerJob) {
    return Status::InvalidArgument(OverTheLimit("--repeat " + std::to_string(repeat)));
  }
  if (tasks > kMaxTasksPerJob || tasks * rounds > kMaxTasksPerJob) {
    std::string what = std::to_string(tasks) + " tasks";
    if (rounds > 1) what += " times --repeat " + std::to_string(repeat);
    return Status::InvalidArgument(OverTheLimit(what));
  }
  return Status::Ok();
}

void RepeatTasks(int64_t repeat, std::vector<TaskInput>& tasks) {
  const size_t round = tasks.size();
  tasks.reserve(round * static_cast<size_t>(repeat));
  for (int64_t i = 1; i < repeat; ++i) {
    for (size_t j = 0; j < round; ++j) tasks.push_back(tasks[j]);
  }
}

Result<std::vector<TaskInput>> TasksFromArgs(const std::vector<std::string>& args,
                                             const TaskShape& shape) {
  if (shape.args_per_task < 1) {
    return Status::InvalidArgument("-n " + std::to_string(shape.args_per_task) +
                                   ": a task takes at least one ARG");
  }
  const auto n = static_cast<size_t>(shape.args_per_task);
  if (args.size() % n != 0) {
    return Status::InvalidArgument("-n " + std::to_string(n) + ": " + std::to_string(args.size()) +
                                   " ARGs are not a multiple of " + std::to_string(n) + " (" +
                                   std::to_string(args.size() % n) + " left over)");
  }
  const size_t groups = args.empty() ? 1 : args.size() / n;
  if (Status checked = CheckRepeat(groups, shape.repeat); !checked.ok()) return checked;
  std::vector<TaskInput> tasks;
  tasks.reserve(groups * static_cast<size_t>(shape.repeat));
  if (args.empty()) tasks.push_back(TaskInput{});
  for (auto group = args.begin(); group != args.end(); group += static_cast<ptrdiff_t>(n)) {
    tasks.push_back(
        TaskInput{"", std::vector<std::string>(group, group + static_cast<ptrdiff_t>(n))});
  }
  RepeatTasks(shape.repeat, tasks);
  return tasks;
}

}  // namespace jobd
