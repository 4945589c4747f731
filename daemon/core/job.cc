#include "daemon/core/job.h"

#include <cassert>

namespace jobd {
namespace {

bool AnyCommand(const std::string& default_task, const std::vector<Task>& tasks) {
  if (default_task == kCommandTaskName) return true;
  return std::any_of(tasks.begin(), tasks.end(),
                     [](const Task& task) { return task.name == kCommandTaskName; });
}

}  // namespace


Job::Job(JobId id, SubmitRequest request, int64_t submitted_unix_us)
    : id_(id),
      default_task_(std::move(request.default_task)),
      retries_(request.retries),
      timeout_us_(request.timeout_us),
      retry_timeouts_(request.retry_timeouts),
      priority_(request.priority),
      submitted_unix_us_(submitted_unix_us),
      command_(std::move(request.command)) {
  tasks_.reserve(request.tasks.size());
  for (TaskInput& input : request.tasks) {
    Task task;
    task.name = std::move(input.name);
    task.args = std::move(input.args);
    tasks_.push_back(std::move(task));
  }
  runs_commands_ = AnyCommand(default_task_, tasks_);
}

Job::Job(const StoredJob& stored)
    : id_(stored.id),
      default_task_(stored.default_task),
      retries_(stored.retries),
      timeout_us_(stored.timeout_us),
      retry_timeouts_(stored.retry_timeouts),
      priority_(stored.priority),
      submitted_unix_us_(stored.submitted_unix_us),
      command_(stored.command),
      stored_(true),
      owner_(stored.owner) {
  tasks_.resize(stored.tasks.size());
  std::vector<const StoredTask*> finished;
  for (const StoredTask& s : stored.tasks) {
    Task& task = tasks_.at(s.index);
    task.name = s.name;
    task.args = s.args;
    task.attempts = s.attempts;
    if (s.finished) {
      finished.push_back(&s);
    } else {
      requeued_.push_back(s.index);  // queued, or running when jobd stopped
    }
  }
  next_fresh_ = tasks_.size();
  runs_commands_ = AnyCommand(default_task_, tasks_);
  std::sort(finished.begin(), finished.end(),
            [](const StoredTask* a, const StoredTask* b) { return a->finished->seq < b->finished->seq; });
  for (const StoredTask* s : finished) {
    const StoredTask::Final& f = *s->finished;
    Finish(s->index, f.status, f.result, f.error, f.pid, f.duration_us, f.command);
  }
  durable_ = completion_order_.size();
}

StoredJob Job::ToStored() const {
  StoredJob stored;
  stored.id = id_;
  stored.default_task = default_task_;
  stored.retries = retries_;
  stored.timeout_us = timeout_us_;
  stored.priority = priority_;
  stored.retry_timeouts = retry_timeouts_;
  stored.submitted_unix_us = submitted_unix_us_;
  stored.command = command_;
  stored.owner = owner_;
  stored.tasks.reserve(tasks_.size());
  for (uint32_t i = 0; i < tasks_.size(); ++i) {
    StoredTask task;
    task.index = i;
    task.name = tasks_[i].name;
    task.args = tasks_[i].args;
    task.attempts = tasks_[i].attempts;
    stored.tasks.push_back(std::move(task));
  }
  return stored;
}

const std::string& Job::TaskName(uint32_t index) const {
  const std::string& name = tasks_[index].name;
  return name.empty() ? default_task_ : name;
}

const CommandEnd* Job::CommandEndOf(uint32_t index) const {
  auto it = command_ends_.find(index);
  return it == command_ends_.end() ? nullptr : &it->second;
}

std::optional<uint32_t> Job::StartNext() {
  uint32_t index;
  if (!requeued_.empty()) {
    index = requeued_.front();
    requeued_.pop_front();
  } else if (next_fresh_ < tasks_.size()) {
    index = static_cast<uint32_t>(next_fresh_++);
  } else {
    return std::nullopt;
  }
  Task& task = tasks_[index];
  assert(task.phase == TaskPhase::kQueued);
  task.phase = TaskPhase::kRunning;
  ++task.attempts;
  ++running_;
  return index;
}

void Job::Requeue(uint32_t index, bool attempt_counts) {
  Task& task = tasks_[index];
  assert(task.phase == TaskPhase::kRunning);
  task.phase = TaskPhase::kQueued;
  if (!attempt_counts) --task.attempts;
  --running_;
  requeued_.push_front(index);
}

void Job::Finish(uint32_t index, TaskStatus status, std::string result, std::string error,
                 int32_t pid, uint64_t duration_us, std::optional<CommandEnd> command_end) {
  Task& task = tasks_[index];
  assert(task.phase != TaskPhase::kFinished);
  if (task.phase == TaskPhase::kRunning) --running_;
  task.phase = TaskPhase::kFinished;
  task.status = status;
  task.result = std::move(result);
  task.error = std::move(error);
  task.pid = pid;
  task.duration_us = duration_us;
  task.seq = completion_order_.size();
  if (command_end) command_ends_[index] = *command_end;
  ++finished_;
  ++counts_[static_cast<size_t>(status)];
  completion_order_.push_back(index);
}

std::vector<uint32_t> Job::CancelQueued(const std::string& reason) {
  std::vector<uint32_t> cancelled;
  while (!requeued_.empty()) {
    cancelled.push_back(requeued_.front());
    requeued_.pop_front();
  }
  for (; next_fresh_ < tasks_.size(); ++next_fresh_) {
    cancelled.push_back(static_cast<uint32_t>(next_fresh_));
  }
  for (uint32_t index : cancelled) Finish(index, TaskStatus::kCancelled, "", reason, 0, 0);
  return cancelled;
}

TaskResult Job::ResultOf(uint32_t index) const {
  const Task& task = tasks_[index];
  TaskResult r;
  r.job = id_;
  r.index = index;
  r.status = task.status;
  r.result = task.result;
  r.error = task.error;
  r.pid = task.pid;
  r.attempts = task.attempts;
  r.duration_us = task.duration_us;
  r.seq = task.seq;
  if (const CommandEnd* end = CommandEndOf(index)) r.command = *end;
  return r;
}

JobInfo Job::Info() const {
  JobInfo info;
  info.job = id_;
  info.state = done() ? JobState::kDone : JobState::kRunning;
  info.total = static_cast<uint32_t>(tasks_.size());
  info.running = static_cast<uint32_t>(running_);
  info.queued = static_cast<uint32_t>(tasks_.size() - finished_ - running_);
  info.ok = counts_[static_cast<size_t>(TaskStatus::kOk)];
  info.failed = counts_[static_cast<size_t>(TaskStatus::kFailed)];
  info.crashed = counts_[static_cast<size_t>(TaskStatus::kCrashed)];
  info.timeout = counts_[static_cast<size_t>(TaskStatus::kTimeout)];
  info.cancelled = counts_[static_cast<size_t>(TaskStatus::kCancelled)];
  info.submitted_unix_us = submitted_unix_us_;
  info.task = default_task_;
  return info;
}

}  // namespace jobd
