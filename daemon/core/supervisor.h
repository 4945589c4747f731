// The coordinator's brain: the job table, the run queue and the worker
// slots. It turns events (client requests, worker messages, child exits,
// time) into calls on SupervisorIo. No sockets, no syscalls: tests drive it
// with plain structs and a FakeClock.
//
// Its promise: every accepted task ends in exactly one final state, reported
// once, whatever happens to the worker running it; and every slot always
// gets a worker again (after a back-off if workers keep dying at start).
//
// Not thread safe: the event loop thread only.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "daemon/core/access.h"
#include "daemon/core/job.h"
#include "daemon/core/job_store.h"
#include "daemon/core/result_streams.h"
#include "daemon/core/run_queue.h"
#include "daemon/core/supervisor_io.h"
#include "util/clock.h"

namespace jobd {

struct SupervisorOptions {
  uint32_t workers = 1;
  // The uid jobd runs as: what every worker runs as without per-user workers.
  uint32_t own_uid = 0;
  size_t max_results_per_message = 1000;
  size_t max_queued_tasks = 10'000'000;
  // A job of more tasks than this, or with a task whose arguments add up to
  // more bytes, is refused whole as a bad request.
  size_t max_tasks_per_job = 1'000'000;
  uint64_t max_task_bytes = 1 << 20;
  size_t retained_finished_jobs = 1000;
  // A task's time limit when its job names none; zero: none.
  Micros default_timeout{0};
  // Recycling: a worker is retired after this many tasks, or once its
  // resident set passes this many bytes (checked between tasks). Zero: never.
  uint64_t max_tasks_per_worker = 0;
  uint64_t max_worker_rss = 0;
  // Both sides send a heartbeat every interval; a worker silent for
  // interval * misses is lost: killed, and its task handled as a crash.
  Millis heartbeat_interval{1000};
  uint32_t heartbeat_misses = 3;
  // A worker that dies sooner than this after its start, holding no task,
  // is restarted after an exponential back-off instead of at once, so that a
  // broken environment does not become a fork storm.
  Millis quick_death{1000};
  Millis backoff_initial{100};
  Millis backoff_max{10'000};
  // How soon to retry a client that could not take more results.
  Millis blocked_stream_retry{10};
  // Results sent to a client beyond what it has acknowledged, when it asks
  // for no window of its own.
  size_t default_stream_window = 4096;
  // Command tasks ("exec"): whether jobs may run them at all, and how long a
  // command has between SIGTERM and SIGKILL when it is stopped (timeout,
  // cancel).
  bool allow_commands = true;
  Millis kill_grace{5000};

  // Who runs the tasks. Without per-user workers (jobd cannot change
  // identity), every worker runs as own_uid all the time, and only own_uid
  // (and jobd itself) may submit code tasks: commands, and plugin tasks that
  // run caller code; other users get built-in and plugin tasks only.
  //
  // With them (jobd runs as root, or holds CAP_SETUID and CAP_SETGID), each
  // worker runs as one user and gets only that user's tasks: a task runs as
  // whoever submitted it. A slot is vacant until some user's tasks wait;
  // the `workers` slots are shared fairly between the users with work, and a
  // worker idle for worker_idle_timeout leaves. A CURVE key with no local
  // account runs built-in tasks as anonymous_uid ("nobody"), never code.
  bool per_user_workers = false;
  uint32_t anonymous_uid = 65534;
  std::string own_name;  // jobd's user, for messages
  Millis worker_idle_timeout{60'000};
  // Per user (0: none but the pool's): tasks queued at once, and workers
  // running its tasks at once.
  uint64_t max_queued_tasks_per_user = 0;
  uint32_t max_workers_per_user = 0;
};

class Supervisor {
 public:
  // `store` (may be null: nothing is kept) must outlive the supervisor.
  Supervisor(const SupervisorOptions& options, SupervisorIo& io, const Clock& clock,
             spdlog::logger& log, JobStore* store = nullptr);
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Takes back the jobs the store kept, before Start(): their unfinished
  // tasks are queued again. New jobs get ids above `last_id`.
  void Restore(const std::vector<StoredJob>& jobs, JobId last_id);
  // Starts every worker slot.
  void Start();

  // ---- client requests ----
  // Each takes the Caller, who sent the request (see access.h): a job belongs
  // to its submitter, and only its owner and privileged callers may watch,
  // read, cancel or list it; anyone else gets a PermissionDenied status
  // ("permission denied: job 7 belongs to another user"). Without a Caller,
  // a request counts as jobd's own (Caller::Internal: tests, in-process use);
  // the server always passes the peer's.
  //
  // Accepts a job, and with request.watch streams its results to `client`.
  // A job kept in the store is acknowledged only once it is committed: then
  // the result holds no JobInfo, and the supervisor sends the client its
  // AcceptedReply (or an error) itself from OnStoreCommit.
  Result<std::optional<JobInfo>> Submit(const ClientId& client, RequestId request_id,
                                        SubmitRequest request,
                                        const Caller& caller = Caller::Internal());
  // For a status or watch of a job that is not in memory but may be in the
  // store (finished long ago): asks the store for it and answers the request
  // itself once it is read back. False when there is nothing to look up.
  bool LookUp(const ClientId& client, RequestId request_id, const RequestBody& request,
              const Caller& caller = Caller::Internal());
  void OnJobLoaded(JobId job, std::optional<StoredJob> stored, const ::jobd::Status& status);
  // The store has committed (or, with an error, failed to commit) every op
  // recorded up to `ticket`.
  void OnStoreCommit(uint64_t ticket, const ::jobd::Status& status);
  // Streams a job's results to `client`, from seq `request.from_seq`: the
  // finished ones first, then (with request.follow) the live ones.
  Result<JobInfo> Watch(const ClientId& client, RequestId request_id,
                        const WatchRequest& request, const Caller& caller = Caller::Internal());
  // The client has consumed `consumed` results of the stream it opened with
  // `request_id`: more may be sent. Unknown streams are ignored.
  void Ack(const ClientId& client, RequestId request_id, uint64_t consumed);
  // Ends the job's queued tasks at once and stops its running ones (their
  // workers are killed and replaced). A finished job is left as it is.
  Result<CancelReply> Cancel(JobId job, const Caller& caller = Caller::Internal());
  Result<JobInfo> Status(JobId job, const Caller& caller = Caller::Internal()) const;
  // The jobs `caller` may see.
  std::vector<JobInfo> Jobs(const Caller& caller = Caller::Internal()) const;
  // Every worker; the job and task a worker runs only when `caller` may see that job.
  std::vector<WorkerInfo> Workers(const Caller& caller = Caller::Internal()) const;
  PongReply Pong() const;  // pid left 0: the caller fills it
  // Every worker that should be up is ready (per-user workers: at once).
  bool AllWorkersReady() const;
  // The tasks the workers can run, as the newest ready worker told them.
  const TasksReply& Tasks() const { return tasks_; }
  // Replaces every worker, each once it has finished its task, so that new
  // or changed plugins are picked up without a restart (SIGHUP).
  void RecycleWorkers();

  // ---- worker events ----
  bool IsWorker(int32_t pid) const { return by_pid_.count(pid) != 0; }
  std::optional<uint32_t> SlotOf(int32_t pid) const;
  // The uid the worker with this pid was started as.
  std::optional<uint32_t> UidOf(int32_t pid) const;
  // A decoded message from the worker with this pid (the version is checked).
  void OnWorkerMessage(int32_t pid, const FromWorker& message);
  void OnWorkerExited(int32_t pid, ExitStatus status);

  // ---- the loop ----
  // Time-driven work: restarts after back-off, task timeouts, lost workers,
  // heartbeats to workers.
  void OnTick();
  // When OnTick or Flush next has work to do, if ever.
  std::optional<TimePoint> NextDeadline() const;
  // Once per loop turn: hands queued tasks to workers with credit, retires
  // workers, and streams new results to watching clients.
  void Flush();

  // ---- shutdown ----
  // Stops intake, cancels queued tasks, and lets running ones finish;
  // each worker is told to exit once it has nothing left.
  void BeginDrain();
  bool draining() const { return draining_; }
  // Kills whatever still runs (the drain deadline passed).
  void KillAll();
  bool AllWorkersGone() const { return by_pid_.empty(); }
  // True while some client still has results to receive.
  bool HasPendingStreams() const { return streams_.pending(); }

 private:
  struct InFlight {
    JobId job = 0;
    uint32_t index = 0;
    uint32_t attempt = 0;
    TimePoint started;
    std::optional<TimePoint> deadline;
    // A worker holds a batch and runs it in order: only the first task of
    // its in_flight has begun (its clock runs, a crash is its fault); the
    // others wait in the worker and go back to the queue if it dies.
    bool begun = false;
    bool command = false;  // an exec task: batched only with other commands
    UserId user = 0;       // its job's: a batch holds one user's tasks
    // A command task, once its worker reports the command's process group.
    int32_t pgid = 0;
    // Set when we ended the task while its command may still run: the group
    // has been sent SIGTERM (then SIGKILL at kill_at); or, with no group
    // known yet, the worker was told to forget the job (ForgetTasks) and
    // kill_at bounds its answer. The entry stays only to keep the worker
    // busy until it reports the task dropped, or the command's end.
    bool abandoned = false;
    bool sigkilled = false;
    std::optional<TimePoint> kill_at;
  };
  // Why we stopped a worker ourselves; its exit is then no surprise.
  enum class StopReason { kNone, kShutdown, kKilled, kLost };
  struct Worker {
    uint32_t slot = 0;
    int32_t pid = 0;  // 0: no process (backing off, or gone while draining)
    uint32_t uid = 0;  // what it runs as
    // Per-user workers: whose it is (none: vacant); when it last held a task.
    std::optional<UserId> user;
    TimePoint last_busy;
    bool ready = false;
    bool retiring = false;
    StopReason stop = StopReason::kNone;
    uint32_t credit = 0;
    // Moving average of its tasks' run time, 0 until one ended: sets how
    // many tasks it is given at once (BatchLimit).
    uint64_t average_task_us = 0;
    std::deque<InFlight> in_flight;  // outcomes come from the front: O(1) erase
    uint64_t tasks_done = 0;
    uint64_t rss_bytes = 0;
    TimePoint started;
    TimePoint last_heard;  // from the worker
    TimePoint last_sent;   // to the worker
    uint32_t quick_deaths = 0;
    std::optional<TimePoint> restart_at;
    std::optional<TimePoint> predecessor_died;  // to time replacements
  };

  Job* FindJob(JobId id);
  const Job* FindJob(JobId id) const;
  // The job if `caller` may see it; NotFound or PermissionDenied otherwise.
  Result<Job*> FindJobFor(JobId id, const Caller& caller);
  Result<const Job*> FindJobFor(JobId id, const Caller& caller) const;
  Worker* FindWorker(int32_t pid);

  void SpawnSlot(Worker& worker);
  void ScheduleRestart(Worker& worker);
  // The wait before the next start after this many quick deaths in a row:
  // backoff_initial doubling up to backoff_max.
  Millis Backoff(uint32_t quick_deaths) const;

  // ---- users ----
  // Who a job's tasks count against, whose workers run them and whether
  // they may be code tasks: set on every job accepted or restored.
  struct Runner {
    UserId user = 0;
    uint32_t worker_uid = 0;
    bool may_run_code = false;
  };
  Runner RunnerFor(std::optional<uint32_t> account, const JobOwner& owner);
  void SetRunner(Job& job);
  UserId UserNamed(const std::string& name, uint32_t uid);
  // The account a caller's tasks run as: its own (jobd itself: jobd's).
  std::optional<uint32_t> AccountOf(const Caller& caller) const;
  bool MayRunCode(std::optional<uint32_t> account) const;
  bool IsCodeTask(const std::string& name) const;
  // Why a job of `account` may not run code tasks.
  std::string CodeRefusal(std::optional<uint32_t> account, const JobOwner& owner) const;
  void CountQueued(const Job& job, int64_t delta);
  // Per-user workers: starts workers for the users whose tasks wait, in
  // vacant slots, and frees slots (retiring workers) held beyond a fair share.
  void AllocateSlots(TimePoint now);
  void SpawnFor(Worker& slot, UserId user);
  // A worker of a user who has more than `share` workers, or an idle one of
  // a user with nothing queued, to make room; null if none.
  Worker* PickSlotToFree(UserId waiting, uint32_t share);
  void ScheduleUserRestart(UserId user);
  // A worker that leaves after worker_idle_timeout without a task.
  bool MayIdleOut(const Worker& worker) const;
  void RetireIdleWorkers(TimePoint now);
  // Ends every queued task of `user` failed (its workers cannot start).
  void FailQueuedTasksOf(UserId user, const std::string& error);
  void KillWorker(Worker& worker, StopReason reason);
  void OnReady(Worker& worker, const WorkerReady& ready);
  // The entry for attempt `attempt` of task `index` of `job`, or end().
  static std::deque<InFlight>::iterator FindInFlight(Worker& worker, JobId job, uint32_t index,
                                                     uint32_t attempt);
  void OnOutcome(Worker& worker, const Outcome& outcome);
  // `ended`: the same report carries the command's outcome.
  void OnCommandStarted(Worker& worker, const CommandStarted& started, bool ended);
  void OnDropped(Worker& worker, const DroppedTask& dropped);
  // Stops a running command task whose process group is known: SIGTERM now,
  // SIGKILL after the grace period. False when there is no group to signal
  // (not a command, or not started yet): then only killing the worker stops it.
  bool StopCommand(const Worker& worker, InFlight& task, TimePoint now);
  void EscalateStoppedCommands(TimePoint now);
  void MaybeRetire(Worker& worker);
  void ExpireTasks(TimePoint now);
  void DeclareLostWorkers(TimePoint now);
  void SendHeartbeats(TimePoint now);

  // A running task whose attempt failed by no fault of its own (its worker
  // died, was lost, or it timed out with retry_timeouts): run it again if
  // retries are left, else end it with `status` and `error`.
  void RetryOrFinish(Job& job, const InFlight& task, int32_t pid, TaskStatus status,
                     const std::string& error);
  // Records a finished task and queues its result for the watchers.
  void FinishTask(Job& job, uint32_t index, TaskStatus status, std::string result,
                  std::string error, int32_t pid, uint64_t duration_us,
                  std::optional<CommandEnd> command_end = std::nullopt);
  void RequeueTask(Job& job, uint32_t index, bool attempt_counts);
  // Tells the store a task's final result; clients see it once committed.
  void RecordFinished(Job& job, uint32_t index);
  size_t CancelQueuedTasks(Job& job, const std::string& reason);
  void OnJobChanged(Job& job);

  void DispatchTasks();
  // How many tasks `worker` should hold (see the .cc).
  size_t BatchLimit(const Worker& worker, TimePoint now) const;
  // Starts the clock of the task now first in the worker's batch.
  void BeginFront(Worker& worker, TimePoint now);
  bool SendTo(Worker& worker, const ToWorker& message);
  void SendShutdowns();
  void ForgetOldJobs();
  WorkerState StateOf(const Worker& worker) const;
  Millis Liveness() const { return options_.heartbeat_interval * options_.heartbeat_misses; }

  // A job recorded in the store and not yet committed: no one knows of it.
  struct PendingJob {
    std::unique_ptr<Job> job;
    ClientId client;
    RequestId request_id;
    bool watch;
    size_t window;
    uint64_t ticket;
  };
  // A result is shown to clients once the op that stored it is committed.
  struct PendingResult {
    uint64_t ticket;
    JobId job;
    size_t results;  // the job's deliverable count once committed
  };

  void Record(const Job& job, StoreOp op);
  void Accept(std::unique_ptr<Job> job, const ClientId& client, RequestId request_id, bool watch,
              size_t window);

  const SupervisorOptions options_;
  SupervisorIo& io_;
  const Clock& clock_;
  spdlog::logger& log_;
  JobStore* const store_;
  struct Lookup {
    ClientId client;
    RequestId request_id;
    RequestBody request;  // a StatusRequest or a WatchRequest
    Caller caller;
  };
  std::map<JobId, std::vector<Lookup>> lookups_;  // jobs being read back
  std::deque<PendingJob> pending_jobs_;        // by ticket
  std::deque<PendingResult> pending_results_;  // by ticket

  std::unordered_map<JobId, std::unique_ptr<Job>> jobs_;
  JobId next_job_id_ = 1;
  RunQueue run_queue_;
  struct User {
    std::string name;  // "uid 1000", "key alice"
    uint32_t uid = 0;  // with per-user workers, what its workers run as
    uint64_t queued = 0;
    uint32_t workers = 0;  // per-user workers: slots holding a process of its
    uint32_t quick_deaths = 0;
    std::optional<TimePoint> restart_at;  // per-user workers: back-off
  };
  std::vector<User> users_;  // by UserId; never shrinks (one entry a user)
  std::unordered_map<std::string, UserId> user_ids_;
  std::set<std::string> code_tasks_;  // plugin tasks that run caller code
  std::optional<UserId> own_user_;    // per-user workers: jobd's own, the warm pool
  std::vector<Worker> workers_;                   // indexed by slot
  std::unordered_map<int32_t, uint32_t> by_pid_;  // live pid -> slot
  ResultStreams streams_;
  TasksReply tasks_;
  std::deque<JobId> finished_jobs_;               // oldest first, for retention
  uint64_t queued_ = 0;
  uint64_t running_ = 0;
  bool draining_ = false;
  bool killing_ = false;
};

}  // namespace jobd
