#include "daemon/core/job.h"

#include <cassert>

namespace jobd {

Job::Job(JobId id, SubmitRequest request, int64_t submitted_unix_us)
    : id_(id),
      retries_(request.retries),
      timeout_us_(request.timeout_us),
      retry_timeouts_(request.retry_timeouts),
      priority_(request.priority),
      submitted_unix_us_(submitted_unix_us),
      command_(std::move(request.command)),
      specs_(TaskSpecs::FromInputs(std::move(request.default_task), std::move(request.tasks))),
      runs_commands_(specs_->Uses(kCommandTaskName)),
      tasks_(specs_->size()) {}

Job::Job(const StoredJob& stored)
    : id_(stored.id),
      retries_(stored.retries),
      timeout_us_(stored.timeout_us),
      retry_timeouts_(stored.retry_timeouts),
      priority_(stored.priority),
      submitted_unix_us_(stored.submitted_unix_us),
      command_(stored.command),
      stored_(true),
      owner_(stored.owner),
      run_as_(stored.run_as),
      specs_(TaskSpecs::FromStored(stored)),
      runs_commands_(specs_->Uses(kCommandTaskName)),
      tasks_(specs_->size()) {
  std::vector<const StoredTask*> finished;
  for (const StoredTask& s : stored.tasks) {
    tasks_.at(s.index).attempts = s.attempts;
    if (s.finished) {
      finished.push_back(&s);
    } else {
      requeued_.push_back(s.index);  // queued, or running when jobd stopped
    }
  }
  next_fresh_ = tasks_.size();
  std::sort(finished.begin(), finished.end(),
            [](const StoredTask* a, const StoredTask* b) { return a->finished->seq < b->finished->seq; });
  results_.reserve(finished.size());
  for (const StoredTask* s : finished) {
    const StoredTask::Final& f = *s->finished;
    Finish(s->index, f.status, f.result, f.error, f.pid, f.duration_us, f.command);
  }
  durable_ = results_.size();
}

JobCreated Job::Created() const {
  StoredJob stored;  // without tasks: those are the specs
  stored.id = id_;
  stored.default_task = specs_->default_task();
  stored.retries = retries_;
  stored.timeout_us = timeout_us_;
  stored.priority = priority_;
  stored.retry_timeouts = retry_timeouts_;
  stored.submitted_unix_us = submitted_unix_us_;
  stored.command = command_;
  stored.owner = owner_;
  stored.run_as = run_as_;
  return JobCreated(std::move(stored), specs_);
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
  TaskState& task = tasks_[index];
  assert(task.phase == TaskPhase::kQueued);
  task.phase = TaskPhase::kRunning;
  ++task.attempts;
  ++running_;
  return index;
}

void Job::Requeue(uint32_t index, bool attempt_counts) {
  TaskState& task = tasks_[index];
  assert(task.phase == TaskPhase::kRunning);
  task.phase = TaskPhase::kQueued;
  if (!attempt_counts) --task.attempts;
  --running_;
  requeued_.push_front(index);
}

void Job::Finish(uint32_t index, TaskStatus status, std::string result, std::string error,
                 int32_t pid, uint64_t duration_us, std::optional<CommandEnd> command_end) {
  TaskState& task = tasks_[index];
  assert(task.phase != TaskPhase::kFinished);
  if (task.phase == TaskPhase::kRunning) --running_;
  task.phase = TaskPhase::kFinished;
  task.seq = static_cast<uint32_t>(results_.size());
  results_.push_back(Final{index, status, pid, duration_us, std::move(result), std::move(error)});
  if (command_end) command_ends_[index] = *command_end;
  ++counts_[static_cast<size_t>(status)];
}

std::vector<uint32_t> Job::CancelQueued(const std::string& reason, TaskStatus status) {
  std::vector<uint32_t> cancelled;
  while (!requeued_.empty()) {
    cancelled.push_back(requeued_.front());
    requeued_.pop_front();
  }
  for (; next_fresh_ < tasks_.size(); ++next_fresh_) {
    cancelled.push_back(static_cast<uint32_t>(next_fresh_));
  }
  for (uint32_t index : cancelled) Finish(index, status, "", reason, 0, 0);
  return cancelled;
}

TaskResult Job::ResultAt(size_t seq) const {
  const Final& f = results_[seq];
  TaskResult r;
  r.job = id_;
  r.index = f.index;
  r.status = f.status;
  r.result = f.result;
  r.error = f.error;
  r.pid = f.pid;
  r.attempts = tasks_[f.index].attempts;
  r.duration_us = f.duration_us;
  r.seq = seq;
  if (const CommandEnd* end = CommandEndOf(f.index)) r.command = *end;
  if (f.pid != 0) r.uid = worker_uid_;  // it ran
  return r;
}

JobInfo Job::Info() const {
  JobInfo info;
  info.job = id_;
  info.state = done() ? JobState::kDone : JobState::kRunning;
  info.total = static_cast<uint32_t>(tasks_.size());
  info.running = static_cast<uint32_t>(running_);
  info.queued = static_cast<uint32_t>(tasks_.size() - results_.size() - running_);
  info.ok = counts_[static_cast<size_t>(TaskStatus::kOk)];
  info.failed = counts_[static_cast<size_t>(TaskStatus::kFailed)];
  info.crashed = counts_[static_cast<size_t>(TaskStatus::kCrashed)];
  info.timeout = counts_[static_cast<size_t>(TaskStatus::kTimeout)];
  info.cancelled = counts_[static_cast<size_t>(TaskStatus::kCancelled)];
  info.submitted_unix_us = submitted_unix_us_;
  info.task = specs_->default_task();
  return info;
}

}  // namespace jobd
