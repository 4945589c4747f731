#include "daemon/core/supervisor.h"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "util/log_context.h"

namespace jobd {

std::string ExitStatus::Describe() const {
  if (!signaled) return fmt::format("exited with code {}", value);
  const char* abbrev = sigabbrev_np(value);
  if (abbrev == nullptr) return fmt::format("killed by signal {}", value);
  return fmt::format("killed by SIG{}", abbrev);
}

namespace {

uint64_t MicrosBetween(TimePoint from, TimePoint to) {
  if (to <= from) return 0;
  return static_cast<uint64_t>(std::chrono::duration_cast<Micros>(to - from).count());
}

}  // namespace

Supervisor::Supervisor(const SupervisorOptions& options, SupervisorIo& io, const Clock& clock,
                       spdlog::logger& log)
    : options_(options), io_(io), clock_(clock), log_(log) {
  workers_.resize(options_.workers);
  for (uint32_t slot = 0; slot < workers_.size(); ++slot) workers_[slot].slot = slot;
}

void Supervisor::Start() {
  for (Worker& worker : workers_) SpawnSlot(worker);
}

// ---- client requests ----------------------------------------------------

Result<JobInfo> Supervisor::Submit(const ClientId& client, RequestId request_id,
                                   SubmitRequest request) {
  if (draining_) return Status::Unavailable("jobd is shutting down and takes no new jobs");
  if (request.tasks.empty()) return Status::InvalidArgument("a job needs at least one task");
  if (request.default_task.empty()) {
    for (size_t i = 0; i < request.tasks.size(); ++i) {
      if (request.tasks[i].name.empty()) {
        return Status::InvalidArgument(fmt::format("task {} has no task name", i));
      }
    }
  }
  if (queued_ + request.tasks.size() > options_.max_queued_tasks) {
    return Status::Unavailable(fmt::format(
        "queue full: {} tasks queued, the job's {} would pass the limit of {}", queued_,
        request.tasks.size(), options_.max_queued_tasks));
  }
  const bool watch = request.watch;
  const JobId id = next_job_id_++;
  auto job = std::make_unique<Job>(id, std::move(request), UnixMicrosNow());
  queued_ += job->size();
  run_queue_.Add(id, job->priority());
  if (watch) job->watchers().push_back(Watcher{client, request_id, 0});
  JobInfo info = job->Info();
  {
    ScopedLogContext context(id, std::nullopt);
    log_.info("job accepted: {} tasks of {}", info.total, info.task);
  }
  jobs_.emplace(id, std::move(job));
  return info;
}

Result<JobInfo> Supervisor::Watch(const ClientId& client, RequestId request_id, JobId id) {
  Job* job = FindJob(id);
  if (job == nullptr) return Status::NotFound(fmt::format("no job {}", id));
  job->watchers().push_back(Watcher{client, request_id, 0});
  streams_to_flush_.insert(id);
  return job->Info();
}

Result<JobInfo> Supervisor::Status(JobId id) const {
  const Job* job = FindJob(id);
  if (job == nullptr) return Status::NotFound(fmt::format("no job {}", id));
  return job->Info();
}

std::vector<JobInfo> Supervisor::Jobs() const {
  std::vector<JobInfo> infos;
  infos.reserve(jobs_.size());
  for (const auto& [id, job] : jobs_) infos.push_back(job->Info());
  std::sort(infos.begin(), infos.end(),
            [](const JobInfo& a, const JobInfo& b) { return a.job < b.job; });
  return infos;
}

std::vector<WorkerInfo> Supervisor::Workers() const {
  const TimePoint now = clock_.Now();
  std::vector<WorkerInfo> infos;
  for (const Worker& worker : workers_) {
    WorkerInfo info;
    info.slot = worker.slot;
    info.pid = worker.pid;
    info.state = StateOf(worker);
    if (!worker.in_flight.empty()) {
      info.job = worker.in_flight.front().job;
      info.task = worker.in_flight.front().index;
    }
    info.tasks_done = worker.tasks_done;
    if (worker.pid != 0) info.uptime_us = MicrosBetween(worker.started, now);
    infos.push_back(info);
  }
  return infos;
}

PongReply Supervisor::Pong() const {
  PongReply pong;
  pong.workers = static_cast<uint32_t>(
      std::count_if(workers_.begin(), workers_.end(), [](const Worker& w) { return w.ready; }));
  pong.queued = queued_;
  pong.running = running_;
  return pong;
}

// ---- workers ------------------------------------------------------------

void Supervisor::SpawnSlot(Worker& worker) {
  worker.restart_at.reset();
  worker.ready = false;
  worker.shutdown_sent = false;
  worker.credit = 0;
  worker.started = clock_.Now();
  Result<int32_t> pid = io_.SpawnWorker(worker.slot);
  if (!pid.ok()) {
    log_.error("cannot start worker[{}]: {}", worker.slot, pid.status().message());
    worker.pid = 0;
    ScheduleRestart(worker);
    return;
  }
  worker.pid = *pid;
  by_pid_[*pid] = worker.slot;
  log_.info("worker[{}] started with pid {}", worker.slot, *pid);
}

void Supervisor::ScheduleRestart(Worker& worker) {
  ++worker.quick_deaths;
  const uint32_t doublings = std::min<uint32_t>(worker.quick_deaths - 1, 20);
  const Millis delay = std::min<Millis>(options_.backoff_initial * (1u << doublings),
                                        options_.backoff_max);
  worker.restart_at = clock_.Now() + delay;
  log_.warn("worker[{}] keeps failing ({} times in a row); next start in {} ms", worker.slot,
            worker.quick_deaths, delay.count());
}

void Supervisor::OnWorkerMessage(int32_t pid, const FromWorker& message) {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) {
    log_.warn("message from unknown worker pid {} ignored", pid);
    return;
  }
  Worker& worker = workers_[it->second];
  if (const auto* ready = std::get_if<WorkerReady>(&message.body)) {
    OnReady(worker, *ready);
    return;
  }
  const auto& report = std::get<WorkerReport>(message.body);
  // Worker log records are written by whoever logs for the daemon; here we
  // only handle the outcomes.
  for (const Outcome& outcome : report.outcomes) OnOutcome(worker, outcome);
}

void Supervisor::OnReady(Worker& worker, const WorkerReady& ready) {
  if (ready.pid != worker.pid) {
    log_.warn("worker[{}] pid {} says it is pid {}; ignored", worker.slot, worker.pid, ready.pid);
  }
  if (ready.slot != worker.slot) {
    log_.warn("worker pid {} says it is slot {}, but it runs slot {}", worker.pid, ready.slot,
              worker.slot);
  }
  worker.ready = true;
  worker.credit = std::clamp<uint32_t>(ready.credit, 1, 64);
  log_.debug("worker[{}] pid {} ready, credit {}", worker.slot, worker.pid, worker.credit);
}

void Supervisor::OnOutcome(Worker& worker, const Outcome& outcome) {
  auto it = std::find_if(worker.in_flight.begin(), worker.in_flight.end(),
                         [&](const InFlight& f) {
                           return f.job == outcome.job && f.index == outcome.index &&
                                  f.attempt == outcome.attempt;
                         });
  if (it == worker.in_flight.end()) {
    log_.warn("worker[{}] pid {} reported job {} task {} attempt {}, which it was not running",
              worker.slot, worker.pid, outcome.job, outcome.index, outcome.attempt);
    return;
  }
  worker.in_flight.erase(it);
  ++worker.tasks_done;
  // A worker that completes work is healthy: forget its early deaths.
  worker.quick_deaths = 0;
  Job* job = FindJob(outcome.job);
  if (job == nullptr) return;  // cannot happen: running jobs are never forgotten
  FinishTask(*job, outcome.index, outcome.ok ? TaskStatus::kOk : TaskStatus::kFailed,
             outcome.ok ? outcome.value : std::string(), outcome.ok ? std::string() : outcome.error,
             worker.pid, outcome.duration_us);
}

void Supervisor::OnWorkerExited(int32_t pid, ExitStatus status) {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) {
    log_.warn("reaped unknown child pid {} ({})", pid, status.Describe());
    return;
  }
  Worker& worker = workers_[it->second];
  by_pid_.erase(it);
  const TimePoint now = clock_.Now();
  const std::string how = status.Describe();
  const bool expected = worker.shutdown_sent && !status.signaled && status.value == 0;
  for (const InFlight& f : worker.in_flight) {
    Job* job = FindJob(f.job);
    if (job == nullptr) continue;
    ScopedLogContext context(f.job, f.index);
    if (killing_) {
      FinishTask(*job, f.index, TaskStatus::kCancelled, "",
                 "stopped: jobd shut down before the task finished", pid,
                 MicrosBetween(f.started, now));
    } else {
      log_.warn("task crashed: worker[{}] pid {} {}", worker.slot, pid, how);
      FinishTask(*job, f.index, TaskStatus::kCrashed, "",
                 fmt::format("worker pid {} {}", pid, how), pid, MicrosBetween(f.started, now));
    }
  }
  const size_t lost = worker.in_flight.size();
  worker.in_flight.clear();
  worker.pid = 0;
  worker.ready = false;
  if (expected) {
    log_.info("worker[{}] pid {} stopped", worker.slot, pid);
  } else {
    log_.warn("worker[{}] pid {} {} with {} task(s) in hand", worker.slot, pid, how, lost);
  }
  if (draining_) return;
  if (now - worker.started < options_.quick_death && lost == 0) {
    ScheduleRestart(worker);
  } else {
    SpawnSlot(worker);
  }
}

// ---- the loop -------------------------------------------------------------

void Supervisor::OnTick() {
  const TimePoint now = clock_.Now();
  for (Worker& worker : workers_) {
    if (worker.restart_at && *worker.restart_at <= now && !draining_) SpawnSlot(worker);
  }
}

std::optional<TimePoint> Supervisor::NextDeadline() const {
  std::optional<TimePoint> next;
  for (const Worker& worker : workers_) {
    if (worker.restart_at && (!next || *worker.restart_at < *next)) next = worker.restart_at;
  }
  if (streams_blocked_) {
    const TimePoint retry = clock_.Now() + options_.blocked_stream_retry;
    if (!next || retry < *next) next = retry;
  }
  return next;
}

void Supervisor::Flush() {
  if (!draining_) DispatchTasks();
  if (draining_) SendShutdowns();
  FlushStreams();
  ForgetOldJobs();
}

void Supervisor::DispatchTasks() {
  if (run_queue_.empty()) return;
  const TimePoint now = clock_.Now();
  // Two passes: idle workers first, so that two tasks go to two workers
  // rather than both to the first one with spare credit.
  for (int pass = 0; pass < 2 && !run_queue_.empty(); ++pass) {
    for (Worker& worker : workers_) {
      if (!worker.ready || worker.shutdown_sent) continue;
      if (pass == 0 && !worker.in_flight.empty()) continue;
      // Pass 0 gives an idle worker one task; pass 1 fills up its credit.
      const size_t limit = pass == 0 ? 1 : worker.credit;
      RunTasks run;
      while (worker.in_flight.size() + run.tasks.size() < limit) {
        std::optional<JobId> job_id = run_queue_.Next();
        if (!job_id) break;
        Job& job = *FindJob(*job_id);
        std::optional<uint32_t> index = job.StartNext();
        if (!job.HasQueued()) run_queue_.Remove(job.id(), job.priority());
        if (!index) continue;
        --queued_;
        ++running_;
        const Task& task = job.task(*index);
        run.tasks.push_back(Assignment{job.id(), *index, task.attempts, job.TaskName(*index),
                                       task.args});
      }
      if (run.tasks.empty()) continue;
      if (!io_.SendToWorker(worker.pid, ToWorker{kProtocolVersion, run})) {
        // The worker is going away; its exit will be reaped. Put the tasks back.
        for (const Assignment& a : run.tasks) {
          Job& job = *FindJob(a.job);
          if (!job.HasQueued()) run_queue_.Add(job.id(), job.priority());
          job.Requeue(a.index);
          ++queued_;
          --running_;
        }
        continue;
      }
      for (const Assignment& a : run.tasks) {
        worker.in_flight.push_back(InFlight{a.job, a.index, a.attempt, now});
      }
    }
  }
}

void Supervisor::SendShutdowns() {
  for (Worker& worker : workers_) {
    if (worker.pid == 0 || worker.shutdown_sent || !worker.in_flight.empty()) continue;
    worker.shutdown_sent = true;
    // A worker that has not said ready may not be connected, so a message
    // could not reach it; it holds nothing, so stopping it loses nothing.
    if (!worker.ready) {
      io_.KillWorker(worker.pid);
      continue;
    }
    io_.SendToWorker(worker.pid, ToWorker{kProtocolVersion, ShutdownWorker{}});
  }
}

void Supervisor::FinishTask(Job& job, uint32_t index, TaskStatus status, std::string result,
                            std::string error, int32_t pid, uint64_t duration_us) {
  if (job.task(index).phase == TaskPhase::kRunning) --running_;
  job.Finish(index, status, std::move(result), std::move(error), pid, duration_us);
  OnJobChanged(job);
}

void Supervisor::OnJobChanged(Job& job) {
  if (!job.watchers().empty()) streams_to_flush_.insert(job.id());
  if (job.done()) {
    const JobInfo info = job.Info();
    ScopedLogContext context(job.id(), std::nullopt);
    log_.info("job finished: {} ok, {} failed, {} crashed, {} timeout, {} cancelled", info.ok,
              info.failed, info.crashed, info.timeout, info.cancelled);
    finished_jobs_.push_back(job.id());
  }
}

void Supervisor::FlushStreams() {
  streams_blocked_ = false;
  for (auto it = streams_to_flush_.begin(); it != streams_to_flush_.end();) {
    Job* job = FindJob(*it);
    bool keep = false;
    if (job != nullptr) {
      auto& watchers = job->watchers();
      watchers.erase(std::remove_if(watchers.begin(), watchers.end(),
                                    [&](Watcher& w) { return !FlushWatcher(*job, w); }),
                     watchers.end());
      // Keep the job listed while a watcher still has a backlog.
      for (const Watcher& w : watchers) {
        if (w.next < job->completion_order().size() || job->done()) keep = true;
      }
    }
    it = keep ? std::next(it) : streams_to_flush_.erase(it);
  }
}

bool Supervisor::FlushWatcher(Job& job, Watcher& watcher) {
  const std::vector<uint32_t>& order = job.completion_order();
  while (true) {
    ResultBatch batch;
    batch.job = job.id();
    const size_t end = std::min(order.size(), watcher.next + options_.max_results_per_message);
    for (size_t i = watcher.next; i < end; ++i) batch.results.push_back(job.ResultOf(order[i]));
    batch.done = job.done() && end == order.size();
    if (batch.results.empty() && !batch.done) return true;  // caught up
    switch (io_.SendToClient(watcher.client, Reply{kProtocolVersion, watcher.request_id, batch})) {
      case Delivery::kSent:
        watcher.next = end;
        if (batch.done) return false;
        break;
      case Delivery::kWouldBlock:
        streams_blocked_ = true;
        return true;
      case Delivery::kGone:
        log_.info("client gone; stopped streaming job {} to it", job.id());
        return false;
    }
  }
}

void Supervisor::ForgetOldJobs() {
  while (finished_jobs_.size() > options_.retained_finished_jobs) {
    const JobId id = finished_jobs_.front();
    Job* job = FindJob(id);
    if (job != nullptr && !job->watchers().empty()) break;  // still streaming
    finished_jobs_.pop_front();
    jobs_.erase(id);
    streams_to_flush_.erase(id);
  }
}

// ---- shutdown -------------------------------------------------------------

void Supervisor::BeginDrain() {
  if (draining_) return;
  draining_ = true;
  size_t cancelled = 0;
  for (auto& [id, job] : jobs_) {
    if (!job->HasQueued()) continue;
    const size_t n = job->CancelQueued("cancelled: jobd is shutting down");
    cancelled += n;
    queued_ -= n;
    run_queue_.Remove(id, job->priority());
    // CancelQueued finished the tasks directly; report them.
    if (!job->watchers().empty()) streams_to_flush_.insert(id);
    if (job->done()) OnJobChanged(*job);
  }
  for (Worker& worker : workers_) worker.restart_at.reset();
  log_.info("draining: {} queued task(s) cancelled, {} running task(s) left to finish", cancelled,
            running_);
}

void Supervisor::KillAll() {
  killing_ = true;
  for (Worker& worker : workers_) {
    if (worker.pid != 0) io_.KillWorker(worker.pid);
  }
}

bool Supervisor::AllWorkersGone() const { return by_pid_.empty(); }

// ---- helpers --------------------------------------------------------------

Job* Supervisor::FindJob(JobId id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

const Job* Supervisor::FindJob(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

WorkerState Supervisor::StateOf(const Worker& worker) const {
  if (worker.pid == 0) return worker.restart_at ? WorkerState::kBackoff : WorkerState::kStopping;
  if (worker.shutdown_sent) return WorkerState::kStopping;
  if (!worker.ready) return WorkerState::kStarting;
  return worker.in_flight.empty() ? WorkerState::kIdle : WorkerState::kBusy;
}

}  // namespace jobd
