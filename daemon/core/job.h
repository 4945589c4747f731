// A job: the tasks of one submission, their states and results, and the
// clients watching it. Plain data plus bookkeeping; no I/O.
#pragma once

#include <cstdint>
#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/core/store_ops.h"
#include "proto/messages.h"

namespace jobd {

// A client as the client socket names it (its ZeroMQ routing id).
using ClientId = std::string;

enum class TaskPhase : uint8_t { kQueued, kRunning, kFinished };

struct Task {
  std::string name;  // empty: the job's default task
  std::vector<std::string> args;
  TaskPhase phase = TaskPhase::kQueued;
  uint32_t attempts = 0;
  // Filled in when the task finishes.
  TaskStatus status = TaskStatus::kOk;
  std::string result;
  std::string error;
  int32_t pid = 0;
  uint64_t duration_us = 0;
  uint64_t seq = 0;  // position in the job's completion order
};

// A client streaming this job's results. `next` is its position in the
// job's completion order (the seq of the next result to send): everything
// before it has been sent. Credit-based flow control: at most `window`
// results beyond what the client has acknowledged are in flight, so a slow
// or vanished client costs no buffering beyond that.
struct Watcher {
  ClientId client;
  RequestId request_id = 0;
  size_t next = 0;
  size_t acked = 0;
  size_t window = 0;
  // Set for a stream that ends at a fixed point rather than following the job.
  std::optional<size_t> stop_at;
};

class Job {
 public:
  Job(JobId id, SubmitRequest request, int64_t submitted_unix_us);
  // A job as the store kept it: finished tasks keep their results and
  // order; every other task is queued again (one that was running keeps its
  // attempt count, so a re-run shows as a further attempt).
  explicit Job(const StoredJob& stored);

  // What the store needs to recreate this job as it is now.
  StoredJob ToStored() const;
  // Kept in the durable store (false for --no-store jobs).
  bool stored() const { return stored_; }
  void set_stored(bool stored) { stored_ = stored; }
  // Who submitted it: who, besides privileged callers, may see and change it.
  const JobOwner& owner() const { return owner_; }
  void set_owner(JobOwner owner) { owner_ = std::move(owner); }
  // Results that may be shown to clients: for a stored job, only those
  // committed, so that a result seen is never taken back by a crash.
  size_t deliverable() const { return stored_ ? durable_ : completion_order_.size(); }
  void set_durable(size_t results) { durable_ = std::max(durable_, results); }

  JobId id() const { return id_; }
  int32_t priority() const { return priority_; }
  uint32_t retries() const { return retries_; }
  uint64_t timeout_us() const { return timeout_us_; }
  bool retry_timeouts() const { return retry_timeouts_; }
  bool done() const { return finished_ == tasks_.size(); }
  size_t size() const { return tasks_.size(); }
  const Task& task(uint32_t index) const { return tasks_[index]; }
  const std::string& TaskName(uint32_t index) const;
  // How its command tasks run, when it has any.
  const std::optional<CommandOptions>& command() const { return command_; }
  // True when any of its tasks is a command task.
  bool RunsCommands() const { return runs_commands_; }

  // The next queued task to run, if any; marks it running.
  std::optional<uint32_t> StartNext();
  bool HasQueued() const { return next_fresh_ < tasks_.size() || !requeued_.empty(); }

  // Puts a running task back at the front of the queue. With
  // `attempt_counts` false it is as if the task had never started (it never
  // reached a worker); otherwise the attempt stays counted (a retry).
  void Requeue(uint32_t index, bool attempt_counts);
  // Ends a task (running or queued) with its final result.
  void Finish(uint32_t index, TaskStatus status, std::string result, std::string error,
              int32_t pid, uint64_t duration_us,
              std::optional<CommandEnd> command_end = std::nullopt);
  // How a finished command task's command ended, if it started.
  const CommandEnd* CommandEndOf(uint32_t index) const;
  // Ends every task still queued as cancelled with `reason`. Returns their
  // indexes.
  std::vector<uint32_t> CancelQueued(const std::string& reason);

  // Results in the order they finished.
  const std::vector<uint32_t>& completion_order() const { return completion_order_; }
  TaskResult ResultOf(uint32_t index) const;

  std::vector<Watcher>& watchers() { return watchers_; }
  const std::vector<Watcher>& watchers() const { return watchers_; }

  JobInfo Info() const;

 private:
  const JobId id_;
  const std::string default_task_;
  const uint32_t retries_;
  const uint64_t timeout_us_;
  const bool retry_timeouts_;
  const int32_t priority_;
  const int64_t submitted_unix_us_;
  const std::optional<CommandOptions> command_;
  bool stored_ = false;
  size_t durable_ = 0;  // results committed to the store
  JobOwner owner_;

  std::vector<Task> tasks_;
  bool runs_commands_ = false;  // set once the tasks are in
  // Tasks are started in index order; those put back run first.
  size_t next_fresh_ = 0;
  std::deque<uint32_t> requeued_;
  std::vector<uint32_t> completion_order_;
  size_t running_ = 0;
  size_t finished_ = 0;
  uint32_t counts_[5] = {};  // finished tasks per TaskStatus
  std::vector<Watcher> watchers_;
  // Beside the tasks rather than in them: only command tasks have one.
  std::map<uint32_t, CommandEnd> command_ends_;
};

}  // namespace jobd
