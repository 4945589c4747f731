// The coordinator's brain: the job table, the run queue and the worker
// slots. It turns events (client requests, worker messages, child exits,
// time) into calls on SupervisorIo. No sockets, no syscalls: tests drive it
// with plain structs and a FakeClock.
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

#include "daemon/core/job.h"
#include "daemon/core/run_queue.h"
#include "daemon/core/supervisor_io.h"
#include "util/clock.h"

namespace jobd {

struct SupervisorOptions {
  uint32_t workers = 1;
  size_t max_results_per_message = 1000;
  size_t max_queued_tasks = 10'000'000;
  size_t retained_finished_jobs = 1000;
  // A worker that dies sooner than this after its start is restarted after
  // an exponential back-off instead of at once, so that a broken
  // environment does not become a fork storm.
  Millis quick_death{1000};
  Millis backoff_initial{100};
  Millis backoff_max{10'000};
  // How soon to retry a client that could not take more results.
  Millis blocked_stream_retry{10};
};

class Supervisor {
 public:
  Supervisor(const SupervisorOptions& options, SupervisorIo& io, const Clock& clock,
             spdlog::logger& log);
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts every worker slot.
  void Start();

  // ---- client requests ----
  // Accepts a job, and with request.watch streams its results to `client`.
  Result<JobInfo> Submit(const ClientId& client, RequestId request_id, SubmitRequest request);
  // Streams a job's results to `client`: the finished ones first.
  Result<JobInfo> Watch(const ClientId& client, RequestId request_id, JobId job);
  Result<JobInfo> Status(JobId job) const;
  std::vector<JobInfo> Jobs() const;
  std::vector<WorkerInfo> Workers() const;  // rss_bytes left 0: the caller fills it
  PongReply Pong() const;                   // pid left 0: the caller fills it

  // ---- worker events ----
  bool IsWorker(int32_t pid) const { return by_pid_.count(pid) != 0; }
  std::optional<uint32_t> SlotOf(int32_t pid) const {
    auto it = by_pid_.find(pid);
    return it == by_pid_.end() ? std::nullopt : std::optional<uint32_t>(it->second);
  }
  // A decoded message from the worker with this pid (the version is checked).
  void OnWorkerMessage(int32_t pid, const FromWorker& message);
  void OnWorkerExited(int32_t pid, ExitStatus status);

  // ---- the loop ----
  // Restarts workers whose back-off has ended.
  void OnTick();
  // When OnTick or Flush next has work to do, if ever.
  std::optional<TimePoint> NextDeadline() const;
  // Once per loop turn: hands queued tasks to workers with credit and
  // streams new results to watching clients.
  void Flush();

  // ---- shutdown ----
  // Stops intake, cancels queued tasks, and lets running ones finish;
  // each worker is told to exit once it has nothing left.
  void BeginDrain();
  bool draining() const { return draining_; }
  // Kills whatever still runs (the drain deadline passed).
  void KillAll();
  // True once every worker has exited.
  bool AllWorkersGone() const;
  // True while some client still has results to receive.
  bool HasPendingStreams() const { return !streams_to_flush_.empty(); }

 private:
  struct InFlight {
    JobId job;
    uint32_t index;
    uint32_t attempt;
    TimePoint started;
  };
  struct Worker {
    uint32_t slot = 0;
    int32_t pid = 0;  // 0: no process (backing off or gone)
    bool ready = false;
    bool shutdown_sent = false;
    uint32_t credit = 0;
    std::vector<InFlight> in_flight;
    uint64_t tasks_done = 0;
    TimePoint started;
    uint32_t quick_deaths = 0;
    std::optional<TimePoint> restart_at;
  };

  Job* FindJob(JobId id);
  const Job* FindJob(JobId id) const;
  void SpawnSlot(Worker& worker);
  void ScheduleRestart(Worker& worker);
  void OnReady(Worker& worker, const WorkerReady& ready);
  void OnOutcome(Worker& worker, const Outcome& outcome);
  // Records a finished task and queues its result for the watchers.
  void FinishTask(Job& job, uint32_t index, TaskStatus status, std::string result,
                  std::string error, int32_t pid, uint64_t duration_us);
  void OnJobChanged(Job& job);
  void DispatchTasks();
  void SendShutdowns();
  void FlushStreams();
  // Sends as much of one watcher's backlog as the client takes. Returns
  // false when the watcher is finished with (done sent, or client gone).
  bool FlushWatcher(Job& job, Watcher& watcher);
  void ForgetOldJobs();
  WorkerState StateOf(const Worker& worker) const;

  const SupervisorOptions options_;
  SupervisorIo& io_;
  const Clock& clock_;
  spdlog::logger& log_;

  std::unordered_map<JobId, std::unique_ptr<Job>> jobs_;
  JobId next_job_id_ = 1;
  RunQueue run_queue_;
  std::vector<Worker> workers_;  // indexed by slot
  std::unordered_map<int32_t, uint32_t> by_pid_;  // live pid -> slot
  std::set<JobId> streams_to_flush_;              // jobs whose watchers have news
  bool streams_blocked_ = false;                  // some client said "would block"
  std::deque<JobId> finished_jobs_;               // oldest first, for retention
  uint64_t queued_ = 0;
  uint64_t running_ = 0;
  bool draining_ = false;
  bool killing_ = false;
};

}  // namespace jobd
