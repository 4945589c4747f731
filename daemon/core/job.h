// A job: the tasks of one submission, their states and results, and the
// clients watching it. Plain data plus bookkeeping; no I/O.
#pragma once

#include <cstdint>
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/core/store_ops.h"
#include "daemon/core/task_specs.h"
#include "proto/messages.h"

namespace jobd {

// A client as the client socket names it (its ZeroMQ routing id).
using ClientId = std::string;

enum class TaskPhase : uint8_t { kQueued, kRunning, kFinished };

// What changes of a task while its job runs; what it runs is in the job's
// TaskSpecs, its result (once finished) in the job's results. Kept small:
// a job of a million queued tasks holds a million of these.
struct TaskState {
  uint32_t attempts = 0;
  uint32_t seq = 0;  // once finished: its position in the job's completion order
  TaskPhase phase = TaskPhase::kQueued;
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

  // What the store needs to record this new job: its settings, and its task
  // specs shared rather than copied.
  JobCreated Created() const;
  // Kept in the durable store (false for --no-store jobs).
  bool stored() const { return stored_; }
  void set_stored(bool stored) { stored_ = stored; }
  // Who submitted it: who, besides privileged callers, may see and change it.
  const JobOwner& owner() const { return owner_; }
  void set_owner(JobOwner owner) { owner_ = std::move(owner); }
  // Its submitter's local account (see StoredJob::run_as); none for a key
  // with no account.
  std::optional<uint32_t> run_as() const { return run_as_; }
  void set_run_as(std::optional<uint32_t> uid) { run_as_ = uid; }
  // Set by the supervisor, not kept: the user its tasks count against (fair
  // share and limits), the uid its workers run as, and whether it may run
  // code tasks (commands, plugins that run caller code).
  uint32_t user() const { return user_; }
  uint32_t worker_uid() const { return worker_uid_; }
  bool may_run_code() const { return may_run_code_; }
  void set_runner(uint32_t user, uint32_t worker_uid, bool may_run_code) {
    user_ = user;
    worker_uid_ = worker_uid;
    may_run_code_ = may_run_code;
  }
  // Results that may be shown to clients: for a stored job, only those
  // committed, so that a result seen is never taken back by a crash.
  size_t deliverable() const { return stored_ ? durable_ : results_.size(); }
  void set_durable(size_t results) { durable_ = std::max(durable_, results); }

  JobId id() const { return id_; }
  int32_t priority() const { return priority_; }
  uint32_t retries() const { return retries_; }
  uint64_t timeout_us() const { return timeout_us_; }
  bool retry_timeouts() const { return retry_timeouts_; }
  bool done() const { return results_.size() == tasks_.size(); }
  size_t size() const { return tasks_.size(); }
  uint32_t attempts(uint32_t index) const { return tasks_[index].attempts; }
  TaskPhase phase(uint32_t index) const { return tasks_[index].phase; }
  const std::string& TaskName(uint32_t index) const { return specs_->name(index); }
  const TaskSpecs& specs() const { return *specs_; }
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
  std::vector<uint32_t> CancelQueued(const std::string& reason,
                                     TaskStatus status = TaskStatus::kCancelled);

  // How many tasks have finished: results have seq 0 to completed() - 1.
  size_t completed() const { return results_.size(); }
  // The result with this seq (position in the completion order).
  TaskResult ResultAt(size_t seq) const;
  // The result of a finished task.
  TaskResult ResultOf(uint32_t index) const { return ResultAt(tasks_[index].seq); }

  std::vector<Watcher>& watchers() { return watchers_; }
  const std::vector<Watcher>& watchers() const { return watchers_; }

  JobInfo Info() const;

 private:
  // A finished task's result, in completion order.
  struct Final {
    uint32_t index = 0;
    TaskStatus status = TaskStatus::kOk;
    int32_t pid = 0;
    uint64_t duration_us = 0;
    std::string result;
    std::string error;
  };

  const JobId id_;
  const uint32_t retries_;
  const uint64_t timeout_us_;
  const bool retry_timeouts_;
  const int32_t priority_;
  const int64_t submitted_unix_us_;
  const std::optional<CommandOptions> command_;
  bool stored_ = false;
  size_t durable_ = 0;  // results committed to the store
  JobOwner owner_;
  std::optional<uint32_t> run_as_;
  uint32_t user_ = 0;
  uint32_t worker_uid_ = 0;
  bool may_run_code_ = true;

  const std::shared_ptr<const TaskSpecs> specs_;  // also in the store's JobCreated
  const bool runs_commands_;
  std::vector<TaskState> tasks_;  // by index
  // Tasks are started in index order; those put back run first.
  size_t next_fresh_ = 0;
  std::deque<uint32_t> requeued_;
  std::vector<Final> results_;  // by seq
  size_t running_ = 0;
  uint32_t counts_[5] = {};  // finished tasks per TaskStatus
  std::vector<Watcher> watchers_;
  // Beside the tasks rather than in them: only command tasks have one.
  std::map<uint32_t, CommandEnd> command_ends_;
};

}  // namespace jobd
