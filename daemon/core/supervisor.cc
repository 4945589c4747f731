#include "daemon/core/supervisor.h"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include <fmt/format.h>

#include "util/log_context.h"
#include "util/worker_exit.h"

namespace jobd {

namespace {

bool UsesCommands(const SubmitRequest& request) {
  if (request.default_task == kCommandTaskName) return true;
  return std::any_of(request.tasks.begin(), request.tasks.end(),
                     [](const TaskInput& task) { return task.name == kCommandTaskName; });
}

// Whether any task of the request is one that `is_code` says runs code.
template <typename IsCode>
bool UsesCode(const SubmitRequest& request, IsCode is_code) {
  if (is_code(request.default_task)) return true;
  return std::any_of(request.tasks.begin(), request.tasks.end(),
                     [&](const TaskInput& task) { return !task.name.empty() && is_code(task.name); });
}

uint64_t MicrosBetween(TimePoint from, TimePoint to) {
  if (to <= from) return 0;
  return static_cast<uint64_t>(std::chrono::duration_cast<Micros>(to - from).count());
}

double MillisBetween(TimePoint from, TimePoint to) {
  return static_cast<double>(MicrosBetween(from, to)) / 1000.0;
}

void Earliest(std::optional<TimePoint>& next, TimePoint candidate) {
  if (!next || candidate < *next) next = candidate;
}

// The wire's code for a request about one job that failed.
ErrorCode JobErrorCode(const ::jobd::Status& status) {
  return status.code() == StatusCode::kPermissionDenied ? ErrorCode::kPermissionDenied
                                                        : ErrorCode::kUnknownJob;
}

}  // namespace

Supervisor::Supervisor(const SupervisorOptions& options, SupervisorIo& io, const Clock& clock,
                       spdlog::logger& log, JobStore* store)
    : options_(options),
      io_(io),
      clock_(clock),
      log_(log),
      store_(store),
      streams_(options.max_results_per_message, options.default_stream_window, io, log) {
  workers_.resize(options_.workers);
  for (uint32_t slot = 0; slot < workers_.size(); ++slot) {
    workers_[slot].slot = slot;
    workers_[slot].uid = options_.own_uid;
  }
}

void Supervisor::Start() {
  if (options_.per_user_workers) {
    // A warm pool of jobd's own user's workers, which run only jobd's own
    // user's tasks (root's, for a jobd run as root) and tell the tasks there
    // are; each gives up its slot, once idle, to a user whose tasks wait.
    own_user_ = UserNamed(fmt::format("uid {}", options_.own_uid), options_.own_uid);
    for (Worker& worker : workers_) SpawnFor(worker, *own_user_);
    return;
  }
  for (Worker& worker : workers_) SpawnSlot(worker);
}

void Supervisor::Restore(const std::vector<StoredJob>& stored, JobId last_id) {
  next_job_id_ = std::max(next_job_id_, last_id + 1);
  size_t requeued = 0, rerun = 0;
  for (const StoredJob& s : stored) {
    auto job = std::make_unique<Job>(s);
    next_job_id_ = std::max(next_job_id_, s.id + 1);
    // Stored before accounts were (schema 4 or older): a local owner's own,
    // or, owner unknown too, jobd's.
    if (!job->run_as()) {
      if (s.owner.uid) job->set_run_as(*s.owner.uid);
      if (!s.owner.known()) job->set_run_as(options_.own_uid);
    }
    SetRunner(*job);
    for (const StoredTask& task : s.tasks) {
      if (task.finished) continue;
      ++requeued;
      if (task.running) ++rerun;
    }
    CountQueued(*job, job->Info().queued);
    if (job->HasQueued()) run_queue_.Add(job->id(), job->priority(), job->user());
    if (job->done()) finished_jobs_.push_back(job->id());
    jobs_.emplace(job->id(), std::move(job));
  }
  log_.info("store: {} job(s) restored; {} task(s) queued again, {} of them were running", stored.size(),
            requeued, rerun);
}

void Supervisor::Record(const Job& job, StoreOp op) {
  if (store_ == nullptr || !job.stored()) return;
  store_->Record(std::move(op));
}

// ---- client requests ----------------------------------------------------

Result<std::optional<JobInfo>> Supervisor::Submit(const ClientId& client, RequestId request_id,
                                                  SubmitRequest request, const Caller& caller) {
  if (draining_) return Status::Unavailable("jobd is shutting down and takes no new jobs");
  if (request.tasks.empty()) return Status::InvalidArgument("a job needs at least one task");
  if (request.tasks.size() > options_.max_tasks_per_job) {
    log_.warn("job refused: {} tasks, over the limit of {} (--max-tasks-per-job)",
              request.tasks.size(), options_.max_tasks_per_job);
    return Status::InvalidArgument(
        fmt::format("job has {} tasks; the limit is {} (--max-tasks-per-job): split it",
                    request.tasks.size(), options_.max_tasks_per_job));
  }
  for (size_t i = 0; i < request.tasks.size(); ++i) {
    uint64_t bytes = 0;
    for (const std::string& arg : request.tasks[i].args) bytes += arg.size();
    if (bytes > options_.max_task_bytes) {
      log_.warn("job refused: task {} has {} bytes of arguments, over the limit of {} "
                "(--max-task-bytes)",
                i, bytes, options_.max_task_bytes);
      return Status::InvalidArgument(
          fmt::format("task {} has {} bytes of arguments; the limit is {} (--max-task-bytes)", i,
                      bytes, options_.max_task_bytes));
    }
  }
  if (request.default_task.empty()) {
    for (size_t i = 0; i < request.tasks.size(); ++i) {
      if (request.tasks[i].name.empty()) {
        return Status::InvalidArgument(fmt::format("task {} has no task name", i));
      }
    }
  }
  if (!options_.allow_commands && UsesCommands(request)) {
    return Status::InvalidArgument(
        "command tasks (exec) are disabled on this jobd (it runs with --no-exec)");
  }
  const std::optional<uint32_t> account = AccountOf(caller);
  if (!MayRunCode(account) &&
      UsesCode(request, [this](const std::string& name) { return IsCodeTask(name); })) {
    log_.warn("job refused: code tasks from {}, which may not run them", Describe(caller.id));
    return Status::PermissionDenied(CodeRefusal(account, caller.id));
  }
  if (queued_ + request.tasks.size() > options_.max_queued_tasks) {
    return Status::Unavailable(fmt::format(
        "queue full: {} tasks queued, the job's {} would pass the limit of {}", queued_,
        request.tasks.size(), options_.max_queued_tasks));
  }
  // Past this a deadline would overflow the clock; nobody means it.
  constexpr uint64_t kLongestTimeoutUs = uint64_t{10} * 366 * 24 * 3600 * 1'000'000;
  if (request.timeout_us > kLongestTimeoutUs) {
    return Status::InvalidArgument(fmt::format(
        "a timeout of {} us is over the longest jobd takes, ten years", request.timeout_us));
  }
  if (request.timeout_us == 0) {
    request.timeout_us = static_cast<uint64_t>(options_.default_timeout.count());
  }
  const Runner runner = RunnerFor(account, caller.id);
  if (const User& user = users_[runner.user];
      options_.max_queued_tasks_per_user != 0 &&
      user.queued + request.tasks.size() > options_.max_queued_tasks_per_user) {
    return Status::Unavailable(fmt::format(
        "queue full for {}: {} of its tasks queued, the job's {} would pass the limit of {} a "
        "user (--max-queued-tasks-per-user)",
        user.name, user.queued, request.tasks.size(), options_.max_queued_tasks_per_user));
  }
  const bool watch = request.watch;
  const size_t window = request.window;
  const bool keep = store_ != nullptr && !request.no_store;
  const JobId id = next_job_id_++;
  auto job = std::make_unique<Job>(id, std::move(request), UnixMicrosNow());
  job->set_owner(caller.id);
  job->set_run_as(account);
  job->set_runner(runner.user, runner.worker_uid, runner.may_run_code);
  CountQueued(*job, static_cast<int64_t>(job->size()));  // counts while it is committed
  if (keep) {
    job->set_stored(true);
    const uint64_t ticket = store_->Record(job->Created());
    pending_jobs_.push_back(PendingJob{std::move(job), client, request_id, watch, window, ticket});
    return std::optional<JobInfo>();
  }
  JobInfo info = job->Info();
  Accept(std::move(job), client, request_id, watch, window);
  return std::optional<JobInfo>(info);
}

void Supervisor::Accept(std::unique_ptr<Job> job, const ClientId& client, RequestId request_id,
                        bool watch, size_t window) {
  const JobId id = job->id();
  run_queue_.Add(id, job->priority(), job->user());
  if (watch) streams_.Open(*job, client, request_id, 0, window, std::nullopt);
  ScopedLogContext context(id, std::nullopt, job->worker_uid());
  const std::string timeout =
      job->timeout_us() == 0 ? "none" : fmt::format("{} ms", job->timeout_us() / 1000);
  log_.info("job accepted: {} tasks of {}, retries {}, timeout {}, priority {}, owner {}{}",
            job->size(), job->TaskName(0), job->retries(), timeout, job->priority(),
            Describe(job->owner()), job->stored() ? "" : ", not stored");
  jobs_.emplace(id, std::move(job));
}

bool Supervisor::LookUp(const ClientId& client, RequestId request_id,
                        const RequestBody& request, const Caller& caller) {
  JobId job = 0;
  if (const auto* status = std::get_if<StatusRequest>(&request)) job = status->job;
  if (const auto* watch = std::get_if<WatchRequest>(&request)) job = watch->job;
  // Only ids that were handed out can be in the store.
  if (store_ == nullptr || job == 0 || job >= next_job_id_ || FindJob(job) != nullptr) return false;
  std::vector<Lookup>& waiting = lookups_[job];
  if (waiting.empty()) store_->Load(job);
  waiting.push_back(Lookup{client, request_id, request, caller});
  return true;
}

void Supervisor::OnJobLoaded(JobId id, std::optional<StoredJob> stored,
                             const ::jobd::Status& status) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  const std::vector<Lookup> waiting = std::move(it->second);
  lookups_.erase(it);
  if (!status.ok()) log_.error("store: cannot read job {} back: {}", id, status.message());
  if (stored && FindJob(id) == nullptr) {
    // Only finished jobs can be missing from memory: read back, it is kept
    // among the most recently finished for a while.
    auto job = std::make_unique<Job>(*stored);
    if (job->done()) {
      finished_jobs_.push_back(id);
      jobs_.emplace(id, std::move(job));
    }
  }
  for (const Lookup& lookup : waiting) {
    Reply reply{kProtocolVersion, lookup.request_id, ErrorReply{}};
    if (const auto* watch = std::get_if<WatchRequest>(&lookup.request)) {
      Result<JobInfo> watched = Watch(lookup.client, lookup.request_id, *watch, lookup.caller);
      if (watched.ok()) {
        reply.body = AcceptedReply{*watched};
      } else {
        reply.body = ErrorReply{JobErrorCode(watched.status()), watched.status().message()};
      }
    } else {
      Result<JobInfo> info = Status(id, lookup.caller);
      if (info.ok()) {
        reply.body = StatusReply{{*info}};
      } else {
        reply.body = ErrorReply{JobErrorCode(info.status()), info.status().message()};
      }
    }
    // The reply goes before the stream's first results, which Flush sends.
    io_.SendToClient(lookup.client, reply);
  }
}

void Supervisor::OnStoreCommit(uint64_t ticket, const ::jobd::Status& status) {
  while (!pending_jobs_.empty() && pending_jobs_.front().ticket <= ticket) {
    PendingJob pending = std::move(pending_jobs_.front());
    pending_jobs_.pop_front();
    const JobId id = pending.job->id();
    if (!status.ok()) {
      CountQueued(*pending.job, -static_cast<int64_t>(pending.job->size()));
      log_.error("job {} refused: the store could not keep it: {}", id, status.message());
      io_.SendToClient(pending.client,
                       Reply{kProtocolVersion, pending.request_id,
                             ErrorReply{ErrorCode::kInternal,
                                        "jobd cannot store the job, so it was not accepted: " +
                                            status.message()}});
      continue;
    }
    const JobInfo info = pending.job->Info();
    // The reply goes before any result, so the client knows the job first.
    io_.SendToClient(pending.client,
                     Reply{kProtocolVersion, pending.request_id, AcceptedReply{info}});
    Accept(std::move(pending.job), pending.client, pending.request_id, pending.watch,
           pending.window);
    if (draining_) {
      // Kept for the next start: nothing to run now.
      run_queue_.Remove(id);
    }
  }
  if (!status.ok()) {
    log_.error("store: a commit failed ({}); results go to clients anyway", status.message());
  }
  while (!pending_results_.empty() && pending_results_.front().ticket <= ticket) {
    const PendingResult done = pending_results_.front();
    pending_results_.pop_front();
    Job* job = FindJob(done.job);
    if (job == nullptr) continue;
    job->set_durable(done.results);
    streams_.Changed(*job);
  }
}

Result<JobInfo> Supervisor::Watch(const ClientId& client, RequestId request_id,
                                  const WatchRequest& request, const Caller& caller) {
  Result<Job*> found = FindJobFor(request.job, caller);
  if (!found.ok()) return found.status();
  Job* job = *found;
  std::optional<size_t> stop_at;
  if (!request.follow) stop_at = job->completed();
  streams_.Open(*job, client, request_id, request.from_seq, request.window, stop_at);
  return job->Info();
}

void Supervisor::Ack(const ClientId& client, RequestId request_id, uint64_t consumed) {
  const std::optional<JobId> id = streams_.JobOf(client, request_id);
  Job* job = id ? FindJob(*id) : nullptr;
  if (job != nullptr) streams_.Ack(*job, client, request_id, consumed);
}

Result<CancelReply> Supervisor::Cancel(JobId id, const Caller& caller) {
  Result<Job*> found = FindJobFor(id, caller);
  if (!found.ok()) return found.status();
  Job* job = *found;
  CancelReply reply;
  if (job->done()) {
    reply.already_finished = true;
    reply.job = job->Info();
    return reply;
  }
  ScopedLogContext context(id, std::nullopt, job->worker_uid());
  reply.cancelled_queued = static_cast<uint32_t>(CancelQueuedTasks(*job, "cancelled"));
  const TimePoint now = clock_.Now();
  for (Worker& worker : workers_) {
    bool kill_worker = false, forget = false;
    for (InFlight& f : worker.in_flight) {
      if (f.job != id || f.abandoned) continue;
      FinishTask(*job, f.index, TaskStatus::kCancelled, "",
                 f.begun ? "cancelled while running" : "cancelled", worker.pid,
                 f.begun ? MicrosBetween(f.started, now) : 0);
      ++(f.begun ? reply.stopped_running : reply.cancelled_queued);
      // A running command is stopped through its process group. One whose
      // group is not known yet (waiting in the worker's batch, or just
      // begun) is taken back with ForgetTasks: it must never run, and if
      // it already did, its group arrives and is stopped. A function still
      // waiting is just dropped too (should the worker run it, its outcome
      // is ignored); a running one cannot be interrupted safely: its worker
      // goes instead.
      if (StopCommand(worker, f, now)) continue;
      if (f.command) {
        f.abandoned = true;
        f.deadline.reset();
        f.kill_at = now + options_.kill_grace;
        forget = true;
      } else if (f.begun) {
        kill_worker = true;
      } else {
        forget = true;
      }
    }
    std::erase_if(worker.in_flight,
                  [&](const InFlight& f) { return f.job == id && !f.abandoned; });
    if (forget) SendTo(worker, ToWorker{kProtocolVersion, ForgetTasks{id}});
    if (kill_worker) KillWorker(worker, StopReason::kKilled);
  }
  log_.info("job cancelled by {}: {} queued and {} running task(s)", Describe(caller.id),
            reply.cancelled_queued, reply.stopped_running);
  reply.job = job->Info();
  return reply;
}

Result<JobInfo> Supervisor::Status(JobId id, const Caller& caller) const {
  Result<const Job*> job = FindJobFor(id, caller);
  if (!job.ok()) return job.status();
  return (*job)->Info();
}

std::vector<JobInfo> Supervisor::Jobs(const Caller& caller) const {
  std::vector<JobInfo> infos;
  infos.reserve(jobs_.size());
  for (const auto& [id, job] : jobs_) {
    if (MayAccess(caller, job->owner())) infos.push_back(job->Info());
  }
  std::sort(infos.begin(), infos.end(),
            [](const JobInfo& a, const JobInfo& b) { return a.job < b.job; });
  return infos;
}

std::vector<WorkerInfo> Supervisor::Workers(const Caller& caller) const {
  const TimePoint now = clock_.Now();
  std::vector<WorkerInfo> infos;
  for (const Worker& worker : workers_) {
    WorkerInfo info;
    info.slot = worker.slot;
    info.pid = worker.pid;
    info.state = StateOf(worker);
    if (!worker.in_flight.empty()) {
      // Which job a worker runs is the job's owner's business.
      const Job* job = FindJob(worker.in_flight.front().job);
      if (caller.privileged || (job != nullptr && MayAccess(caller, job->owner()))) {
        info.job = worker.in_flight.front().job;
        info.task = worker.in_flight.front().index;
      }
    }
    info.tasks_done = worker.tasks_done;
    info.rss_bytes = worker.rss_bytes;
    if (worker.pid != 0) {
      info.uptime_us = MicrosBetween(worker.started, now);
      info.uid = worker.uid;
    }
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

bool Supervisor::AllWorkersReady() const {
  return std::all_of(workers_.begin(), workers_.end(), [this](const Worker& w) {
    // Per-user workers come and go: a vacant slot waits for no one.
    return w.ready || (options_.per_user_workers && w.pid == 0 && !w.restart_at);
  });
}

std::optional<uint32_t> Supervisor::UidOf(int32_t pid) const {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) return std::nullopt;
  return workers_[it->second].uid;
}

void Supervisor::RecycleWorkers() {
  size_t retiring = 0;
  for (Worker& worker : workers_) {
    if (worker.pid == 0 || worker.stop != StopReason::kNone || worker.retiring) continue;
    worker.retiring = true;
    ++retiring;
  }
  log_.info("recycling {} worker(s): each is replaced once its task is done", retiring);
}

std::optional<uint32_t> Supervisor::SlotOf(int32_t pid) const {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) return std::nullopt;
  return it->second;
}

// ---- workers ------------------------------------------------------------

void Supervisor::SpawnSlot(Worker& worker) {
  worker.restart_at.reset();
  worker.ready = false;
  worker.retiring = false;
  worker.stop = StopReason::kNone;
  worker.credit = 0;
  worker.tasks_done = 0;
  worker.rss_bytes = 0;
  worker.started = worker.last_heard = worker.last_sent = worker.last_busy = clock_.Now();
  Result<int32_t> pid = io_.SpawnWorker(worker.slot, worker.uid);
  if (!pid.ok()) {
    log_.error("cannot start worker[{}]: {}", worker.slot, pid.status().message());
    worker.pid = 0;
    if (worker.user) {
      // Per-user workers: the slot is free again; the user waits a while.
      const UserId user = *worker.user;
      --users_[user].workers;
      worker.user.reset();
      ScheduleUserRestart(user);
      return;
    }
    ScheduleRestart(worker);
    return;
  }
  worker.pid = *pid;
  by_pid_[*pid] = worker.slot;
  if (worker.uid != options_.own_uid) {
    log_.info("worker[{}] started with pid {} as uid {}", worker.slot, *pid, worker.uid);
  } else {
    log_.info("worker[{}] started with pid {}", worker.slot, *pid);
  }
}

Millis Supervisor::Backoff(uint32_t quick_deaths) const {
  const uint32_t doublings = std::min<uint32_t>(quick_deaths - 1, 20);
  return std::min<Millis>(options_.backoff_initial * (1u << doublings), options_.backoff_max);
}

void Supervisor::ScheduleRestart(Worker& worker) {
  ++worker.quick_deaths;
  const Millis delay = Backoff(worker.quick_deaths);
  worker.restart_at = clock_.Now() + delay;
  log_.warn("worker[{}] keeps failing ({} times in a row); next start in {} ms", worker.slot,
            worker.quick_deaths, delay.count());
}

void Supervisor::KillWorker(Worker& worker, StopReason reason) {
  if (worker.pid == 0) return;
  if (worker.stop != StopReason::kKilled && worker.stop != StopReason::kLost) {
    io_.KillWorker(worker.pid, worker.uid);
  }
  worker.stop = reason;
}

void Supervisor::OnWorkerMessage(int32_t pid, const FromWorker& message) {
  Worker* worker = FindWorker(pid);
  if (worker == nullptr) {
    log_.warn("message from unknown worker pid {} ignored", pid);
    return;
  }
  worker->last_heard = clock_.Now();
  if (const auto* ready = std::get_if<WorkerReady>(&message.body)) {
    OnReady(*worker, *ready);
  } else if (const auto* report = std::get_if<WorkerReport>(&message.body)) {
    // Log records are written by the caller; here only outcomes matter.
    if (report->rss_bytes != 0) worker->rss_bytes = report->rss_bytes;
    for (const DroppedTask& dropped : report->dropped) OnDropped(*worker, dropped);
    for (const CommandStarted& started : report->started) {
      const bool ended = std::any_of(
          report->outcomes.begin(), report->outcomes.end(), [&](const Outcome& o) {
            return o.job == started.job && o.index == started.index &&
                   o.attempt == started.attempt;
          });
      OnCommandStarted(*worker, started, ended);
    }
    for (const Outcome& outcome : report->outcomes) OnOutcome(*worker, outcome);
    if (!report->outcomes.empty()) MaybeRetire(*worker);
  }
  // A heartbeat says only that the worker is alive, noted above.
}

void Supervisor::OnReady(Worker& worker, const WorkerReady& ready) {
  if (ready.pid != worker.pid) {
    log_.warn("worker[{}] pid {} says it is pid {}", worker.slot, worker.pid, ready.pid);
  }
  if (ready.slot != worker.slot) {
    log_.warn("worker pid {} says it is slot {}, but it runs slot {}", worker.pid, ready.slot,
              worker.slot);
  }
  worker.ready = true;
  worker.credit = std::clamp<uint32_t>(ready.credit, 1, 64);
  worker.last_busy = clock_.Now();
  tasks_ = TasksReply{ready.tasks, ready.load_errors};
  code_tasks_.clear();
  for (const TaskInfo& task : ready.tasks) {
    if (task.runs_code) code_tasks_.insert(task.name);
  }
  for (const std::string& error : ready.load_errors) {
    log_.warn("worker[{}] pid {} could not load a plugin: {}", worker.slot, worker.pid, error);
  }
  if (worker.predecessor_died) {
    log_.info("worker[{}] pid {} ready {:.1f} ms after its predecessor died", worker.slot,
              worker.pid, MillisBetween(*worker.predecessor_died, clock_.Now()));
    worker.predecessor_died.reset();
  } else {
    log_.debug("worker[{}] pid {} ready, credit {}", worker.slot, worker.pid, worker.credit);
  }
}

std::deque<Supervisor::InFlight>::iterator Supervisor::FindInFlight(Worker& worker, JobId job,
                                                                   uint32_t index,
                                                                   uint32_t attempt) {
  return std::find_if(worker.in_flight.begin(), worker.in_flight.end(), [&](const InFlight& f) {
    return f.job == job && f.index == index && f.attempt == attempt;
  });
}

void Supervisor::OnOutcome(Worker& worker, const Outcome& outcome) {
  auto it = FindInFlight(worker, outcome.job, outcome.index, outcome.attempt);
  if (it == worker.in_flight.end()) {
    // Normal for a task that was cancelled or timed out just as it ended.
    log_.debug("worker[{}] pid {} reported job {} task {} attempt {}, which is no longer its",
               worker.slot, worker.pid, outcome.job, outcome.index, outcome.attempt);
    return;
  }
  const bool abandoned = it->abandoned;
  worker.in_flight.erase(it);
  ++worker.tasks_done;
  // The next task of its batch starts now (the worker runs them in order).
  BeginFront(worker, clock_.Now());
  const uint64_t took = std::max<uint64_t>(outcome.duration_us, 1);
  worker.average_task_us =
      worker.average_task_us == 0 ? took : (worker.average_task_us * 7 + took) / 8;
  if (abandoned) {
    // We ended this task already (timeout, cancel); its command is gone now.
    log_.debug("worker[{}] pid {}: the stopped command of job {} task {} has ended", worker.slot,
               worker.pid, outcome.job, outcome.index);
    return;
  }
  // A worker that completes work is healthy: forget its early deaths.
  worker.quick_deaths = 0;
  if (worker.user) users_[*worker.user].quick_deaths = 0;
  worker.last_busy = clock_.Now();
  Job* job = FindJob(outcome.job);
  if (job == nullptr) return;  // cannot happen: running jobs are never forgotten
  // Both texts are kept: a command's stderr is worth seeing when it succeeds.
  FinishTask(*job, outcome.index, outcome.ok ? TaskStatus::kOk : TaskStatus::kFailed,
             outcome.value, outcome.error, worker.pid, outcome.duration_us, outcome.command);
}

void Supervisor::OnCommandStarted(Worker& worker, const CommandStarted& started, bool ended) {
  // Never signal "every process" (-1), our own group (0) or the worker's.
  if (started.pgid <= 1 || started.pgid == worker.pid) {
    log_.warn("worker[{}] pid {} reported an impossible process group {}; ignored", worker.slot,
              worker.pid, started.pgid);
    return;
  }
  auto it = FindInFlight(worker, started.job, started.index, started.attempt);
  if (it == worker.in_flight.end() || worker.stop == StopReason::kKilled ||
      worker.stop == StopReason::kLost) {
    // The task ended (or its worker was killed) before we heard of the
    // command: nobody wants it.
    io_.SignalGroup(started.pgid, SIGKILL, worker.uid);
    return;
  }
  const bool unknown_until_now = it->pgid == 0;
  it->pgid = started.pgid;
  // Cancelled before we knew its group (see Cancel): stopped now, unless
  // the same report says it ended (its group id may be reused already).
  if (it->abandoned && unknown_until_now && !ended) StopCommand(worker, *it, clock_.Now());
}

void Supervisor::OnDropped(Worker& worker, const DroppedTask& dropped) {
  auto it = FindInFlight(worker, dropped.job, dropped.index, dropped.attempt);
  if (it == worker.in_flight.end()) return;  // a function task, dropped by us already
  const bool abandoned = it->abandoned;
  const InFlight task = *it;
  worker.in_flight.erase(it);
  BeginFront(worker, clock_.Now());
  if (abandoned) return;
  // Only tasks of a cancelled job are dropped; should a live one be, it runs
  // elsewhere rather than being lost.
  Job* job = FindJob(task.job);
  if (job == nullptr) return;
  log_.warn("worker[{}] pid {} dropped job {} task {}, which was not cancelled; queued again",
            worker.slot, worker.pid, task.job, task.index);
  RequeueTask(*job, task.index, /*attempt_counts=*/false);
}

bool Supervisor::StopCommand(const Worker& worker, InFlight& task, TimePoint now) {
  if (task.pgid == 0) return false;
  io_.SignalGroup(task.pgid, SIGTERM, worker.uid);
  task.abandoned = true;
  task.deadline.reset();
  task.kill_at = now + options_.kill_grace;
  return true;
}

void Supervisor::EscalateStoppedCommands(TimePoint now) {
  for (Worker& worker : workers_) {
    bool stuck = false;
    for (InFlight& f : worker.in_flight) {
      if (!f.abandoned || !f.kill_at || *f.kill_at > now) continue;
      if (f.pgid == 0) {
        stuck = true;  // told to forget a command, the worker said nothing
      } else if (!f.sigkilled) {
        log_.warn("worker[{}] pid {}: job {} task {}: the command outlived its {} ms of grace; "
                  "killing its process group {}",
                  worker.slot, worker.pid, f.job, f.index, options_.kill_grace.count(), f.pgid);
        io_.SignalGroup(f.pgid, SIGKILL, worker.uid);
        f.sigkilled = true;
        f.kill_at = now + options_.kill_grace;
      } else {
        stuck = true;  // the worker does not report the command's end
      }
    }
    if (stuck) {
      log_.warn("worker[{}] pid {} does not report a stopped command's end; killing it",
                worker.slot, worker.pid);
      KillWorker(worker, StopReason::kKilled);
    }
  }
}

void Supervisor::MaybeRetire(Worker& worker) {
  if (worker.retiring || worker.stop != StopReason::kNone) return;
  std::string why;
  if (options_.max_tasks_per_worker != 0 && worker.tasks_done >= options_.max_tasks_per_worker) {
    why = fmt::format("it has run {} tasks", worker.tasks_done);
  } else if (options_.max_worker_rss != 0 && worker.rss_bytes > options_.max_worker_rss) {
    why = fmt::format("its resident set of {} bytes is over {}", worker.rss_bytes,
                      options_.max_worker_rss);
  } else {
    return;
  }
  worker.retiring = true;
  log_.info("worker[{}] pid {} retiring: {}", worker.slot, worker.pid, why);
}

void Supervisor::OnWorkerExited(int32_t pid, ExitStatus status) {
  Worker* found = FindWorker(pid);
  if (found == nullptr) {
    log_.warn("reaped unknown child pid {} ({})", pid, status.Describe());
    return;
  }
  Worker& worker = *found;
  by_pid_.erase(pid);
  const TimePoint now = clock_.Now();
  const std::string how = status.Describe();
  const StopReason stop = worker.stop;
  for (const InFlight& f : worker.in_flight) {
    // What is left of a command's group dies with its worker: no command
    // outlives its task.
    if (f.pgid != 0) io_.SignalGroup(f.pgid, SIGKILL, worker.uid);
    Job* job = FindJob(f.job);
    if (job == nullptr || f.abandoned) continue;  // abandoned: ended already
    ScopedLogContext context(f.job, f.index, worker.uid);
    if (!f.begun && !(killing_ && !job->stored())) {
      // It waited behind the task that was running: as if never sent.
      RequeueTask(*job, f.index, /*attempt_counts=*/false);
    } else if (killing_ && job->stored()) {
      // The store still says "running": it runs again at the next start.
      RequeueTask(*job, f.index, /*attempt_counts=*/true);
    } else if (killing_) {
      FinishTask(*job, f.index, TaskStatus::kCancelled, "",
                 "stopped: jobd shut down before the task finished", pid,
                 MicrosBetween(f.started, now));
    } else if (stop == StopReason::kLost) {
      RetryOrFinish(*job, f, pid, TaskStatus::kCrashed,
                    fmt::format("worker pid {} stopped answering and was killed", pid));
    } else {
      RetryOrFinish(*job, f, pid, TaskStatus::kCrashed, fmt::format("worker pid {} {}", pid, how));
    }
  }
  const size_t held = worker.in_flight.size();
  const bool was_ready = worker.ready;
  worker.in_flight.clear();
  worker.pid = 0;
  worker.ready = false;
  const bool clean = !status.signaled && status.value == 0;
  if (stop == StopReason::kShutdown && clean) {
    log_.info("worker[{}] pid {} {}", worker.slot, pid, worker.retiring ? "retired" : "stopped");
  } else if (stop == StopReason::kKilled || stop == StopReason::kLost) {
    log_.info("worker[{}] pid {} {} as asked", worker.slot, pid, how);
  } else {
    log_.warn("worker[{}] pid {} {} with {} task(s) in hand", worker.slot, pid, how, held);
  }
  const bool our_doing = stop != StopReason::kNone;
  const bool quick = !our_doing && held == 0 && now - worker.started < options_.quick_death;
  if (worker.user) {
    // Per-user workers: the slot is vacant now, for whoever waits next;
    // unless the worker died at once, when it waits out a back-off, still
    // its user's, as a slot of the shared pool would.
    const UserId user = *worker.user;
    const auto vacate = [&] {
      --users_[user].workers;
      worker.user.reset();
    };
    if (draining_) return vacate();
    if (!was_ready && !status.signaled && status.value == kWorkerExitCannotRunAs) {
      const std::string error = fmt::format(
          "jobd cannot run tasks as uid {}: its worker could not become that user (jobd's log "
          "says why)",
          worker.uid);
      log_.error("worker[{}] pid {}: {}", worker.slot, pid, error);
      vacate();
      FailQueuedTasksOf(user, error);
      ScheduleUserRestart(user);
    } else if (quick) {
      worker.predecessor_died = now;
      ScheduleRestart(worker);
    } else {
      vacate();
    }
    return;
  }
  if (draining_) return;
  worker.predecessor_died = now;
  if (quick) {
    ScheduleRestart(worker);
  } else {
    SpawnSlot(worker);
  }
}

// ---- retries and final states ---------------------------------------------

void Supervisor::RetryOrFinish(Job& job, const InFlight& task, int32_t pid, TaskStatus status,
                               const std::string& error) {
  const uint32_t attempts = job.attempts(task.index);
  if (attempts <= job.retries()) {
    log_.warn("{}; retrying (attempt {} of {})", error, attempts + 1, job.retries() + 1);
    RequeueTask(job, task.index, /*attempt_counts=*/true);
    return;
  }
  log_.warn("{}; giving up after {} attempt(s)", error, attempts);
  FinishTask(job, task.index, status, "",
             fmt::format("{} (attempt {} of {})", error, attempts, job.retries() + 1), pid,
             MicrosBetween(task.started, clock_.Now()));
}

void Supervisor::FinishTask(Job& job, uint32_t index, TaskStatus status, std::string result,
                            std::string error, int32_t pid, uint64_t duration_us,
                            std::optional<CommandEnd> command_end) {
  const TaskPhase phase = job.phase(index);
  if (phase == TaskPhase::kRunning) --running_;
  if (phase == TaskPhase::kQueued) CountQueued(job, -1);
  job.Finish(index, status, std::move(result), std::move(error), pid, duration_us,
             std::move(command_end));
  RecordFinished(job, index);
  OnJobChanged(job);
}

void Supervisor::RecordFinished(Job& job, uint32_t index) {
  if (store_ == nullptr || !job.stored()) return;
  TaskResult r = job.ResultOf(index);
  StoredTask::Final final{r.status, std::move(r.result), std::move(r.error), r.pid,
                          r.duration_us, r.seq, std::move(r.command)};
  const uint64_t ticket =
      store_->Record(TaskFinished{job.id(), index, r.attempts, std::move(final)});
  pending_results_.push_back(PendingResult{ticket, job.id(), r.seq + 1});
}

void Supervisor::RequeueTask(Job& job, uint32_t index, bool attempt_counts) {
  if (!job.HasQueued() && !draining_) run_queue_.Add(job.id(), job.priority(), job.user());
  job.Requeue(index, attempt_counts);
  CountQueued(job, 1);
  --running_;
  Record(job, TaskRequeued{job.id(), index, job.attempts(index)});
}

size_t Supervisor::CancelQueuedTasks(Job& job, const std::string& reason) {
  if (!job.HasQueued()) return 0;
  const std::vector<uint32_t> cancelled = job.CancelQueued(reason);
  CountQueued(job, -static_cast<int64_t>(cancelled.size()));
  run_queue_.Remove(job.id());
  for (uint32_t index : cancelled) RecordFinished(job, index);
  OnJobChanged(job);
  return cancelled.size();
}

void Supervisor::OnJobChanged(Job& job) {
  streams_.Changed(job);
  if (job.done() && (finished_jobs_.empty() || finished_jobs_.back() != job.id())) {
    const JobInfo info = job.Info();
    ScopedLogContext context(job.id(), std::nullopt, job.worker_uid());
    log_.info("job finished: {} ok, {} failed, {} crashed, {} timeout, {} cancelled", info.ok,
              info.failed, info.crashed, info.timeout, info.cancelled);
    finished_jobs_.push_back(job.id());
    Record(job, JobFinished{job.id(), UnixMicrosNow()});
  }
}

// ---- time -------------------------------------------------------------------

void Supervisor::OnTick() {
  const TimePoint now = clock_.Now();
  for (Worker& worker : workers_) {
    if (worker.restart_at && *worker.restart_at <= now && !draining_) SpawnSlot(worker);
  }
  for (User& user : users_) {
    if (user.restart_at && *user.restart_at <= now) user.restart_at.reset();
  }
  RetireIdleWorkers(now);
  ExpireTasks(now);
  DeclareLostWorkers(now);
  SendHeartbeats(now);
}

void Supervisor::ExpireTasks(TimePoint now) {
  EscalateStoppedCommands(now);
  for (Worker& worker : workers_) {
    // Commands are stopped through their process group and stay in flight
    // until they end; anything else goes with its worker.
    std::vector<InFlight> timed_out;
    std::vector<std::string> how;
    bool kill_worker = false;
    for (InFlight& f : worker.in_flight) {
      if (!f.deadline || *f.deadline > now) continue;
      const bool stopped = StopCommand(worker, f, now);
      timed_out.push_back(f);
      how.push_back(stopped ? fmt::format("its process group {} sent SIGTERM", f.pgid)
                            : fmt::format("worker pid {} killed", worker.pid));
      kill_worker = kill_worker || !stopped;
    }
    if (timed_out.empty()) continue;
    if (kill_worker) {
      // The tasks waiting behind it stay, to be queued again when it exits.
      std::erase_if(worker.in_flight, [&](const InFlight& f) {
        return !f.abandoned && f.deadline && *f.deadline <= now;
      });
      KillWorker(worker, StopReason::kKilled);
    }
    for (size_t i = 0; i < timed_out.size(); ++i) {
      const InFlight& f = timed_out[i];
      Job& job = *FindJob(f.job);
      ScopedLogContext context(f.job, f.index, worker.uid);
      const std::string error =
          fmt::format("timed out after {} ms; {}", job.timeout_us() / 1000, how[i]);
      if (job.retry_timeouts()) {
        RetryOrFinish(job, f, worker.pid, TaskStatus::kTimeout, error);
      } else {
        log_.warn("{}", error);
        FinishTask(job, f.index, TaskStatus::kTimeout, "", error, worker.pid,
                   MicrosBetween(f.started, now));
      }
    }
  }
}

void Supervisor::DeclareLostWorkers(TimePoint now) {
  for (Worker& worker : workers_) {
    if (worker.pid == 0 || worker.stop == StopReason::kKilled ||
        worker.stop == StopReason::kLost) {
      continue;
    }
    if (now - worker.last_heard <= Liveness()) continue;
    log_.warn("worker[{}] pid {} silent for {:.0f} ms: declared lost, killing it", worker.slot,
              worker.pid, MillisBetween(worker.last_heard, now));
    // Its tasks are handled as a crash once it has been reaped.
    KillWorker(worker, StopReason::kLost);
  }
}

void Supervisor::SendHeartbeats(TimePoint now) {
  for (Worker& worker : workers_) {
    if (!worker.ready || worker.stop != StopReason::kNone) continue;
    if (now - worker.last_sent >= options_.heartbeat_interval) {
      SendTo(worker, ToWorker{kProtocolVersion, Heartbeat{}});
      // Even if it failed: the next try is an interval away, not at once.
      worker.last_sent = now;
    }
  }
}

std::optional<TimePoint> Supervisor::NextDeadline() const {
  std::optional<TimePoint> next;
  for (const Worker& worker : workers_) {
    if (worker.restart_at) Earliest(next, *worker.restart_at);
    if (worker.pid == 0) continue;
    for (const InFlight& f : worker.in_flight) {
      if (f.deadline) Earliest(next, *f.deadline);
      if (f.kill_at) Earliest(next, *f.kill_at);
    }
    if (worker.stop == StopReason::kNone || worker.stop == StopReason::kShutdown) {
      Earliest(next, worker.last_heard + Liveness() + Millis(1));
    }
    if (worker.ready && worker.stop == StopReason::kNone) {
      Earliest(next, worker.last_sent + options_.heartbeat_interval);
    }
    if (MayIdleOut(worker)) Earliest(next, worker.last_busy + options_.worker_idle_timeout);
  }
  for (const User& user : users_) {
    if (user.restart_at) Earliest(next, *user.restart_at);
  }
  if (streams_.blocked()) Earliest(next, clock_.Now() + options_.blocked_stream_retry);
  return next;
}

// ---- the loop -------------------------------------------------------------

void Supervisor::Flush() {
  if (!draining_) {
    DispatchTasks();
    AllocateSlots(clock_.Now());
  }
  SendShutdowns();
  streams_.Flush([this](JobId id) { return FindJob(id); });
  ForgetOldJobs();
}

bool Supervisor::SendTo(Worker& worker, const ToWorker& message) {
  if (!io_.SendToWorker(worker.pid, message)) return false;
  worker.last_sent = clock_.Now();
  return true;
}

void Supervisor::DispatchTasks() {
  if (run_queue_.empty()) return;
  const TimePoint now = clock_.Now();
  // Workers holding each user's tasks, for --max-workers-per-user without
  // per-user workers (with them, a user's workers are counted as processes).
  std::vector<uint32_t> busy;
  if (!options_.per_user_workers && options_.max_workers_per_user != 0) {
    busy.assign(users_.size(), 0);
    for (const Worker& w : workers_) {
      if (!w.in_flight.empty()) ++busy[w.in_flight.front().user];
    }
  }
  // Two passes: idle workers first, so that two tasks go to two workers
  // rather than both to the first one with spare credit.
  for (int pass = 0; pass < 2 && !run_queue_.empty(); ++pass) {
    for (Worker& worker : workers_) {
      if (!worker.ready || worker.retiring || worker.stop != StopReason::kNone) continue;
      if (pass == 0 && !worker.in_flight.empty()) continue;
      // A worker still stopping a command gets nothing more until it ended.
      if (std::any_of(worker.in_flight.begin(), worker.in_flight.end(),
                      [](const InFlight& f) { return f.abandoned; })) {
        continue;
      }
      // Pass 0 gives an idle worker one task; pass 1 fills up its batch.
      const size_t limit = pass == 0 ? 1 : BatchLimit(worker, now);
      // A worker running commands is topped up only once it holds half its
      // batch or less: each message then carries two commands or more, and
      // what it still holds outlasts the round trip. (Functions, often
      // cheaper to run than a message, are topped up at every report.)
      if (!worker.in_flight.empty() && worker.in_flight.front().command &&
          worker.in_flight.size() * 2 > limit) {
        continue;
      }
      // Whose tasks it may take: its own user's (per-user workers), or the
      // user of the batch it holds (a batch is one user's), or any user
      // under the worker limit.
      std::optional<UserId> batch_user = worker.user;
      if (!batch_user && !worker.in_flight.empty()) batch_user = worker.in_flight.front().user;
      const auto eligible = [&](UserId v) {
        if (batch_user) return v == *batch_user;
        return busy.empty() || busy[v] < options_.max_workers_per_user;
      };
      RunTasks run;
      while (worker.in_flight.size() + run.tasks.size() < limit) {
        std::optional<JobId> job_id = run_queue_.Peek(eligible);
        if (!job_id) break;
        // Commands wait only behind commands, and functions behind
        // functions: a function's timeout or cancel kills its worker, which
        // commands, stopped through their process groups, never need.
        Job& job = *FindJob(*job_id);
        const bool holds_some = !worker.in_flight.empty() || !run.tasks.empty();
        const bool holds_command = (!worker.in_flight.empty() && worker.in_flight.front().command) ||
                                   (!run.tasks.empty() && run.tasks.front().name == kCommandTaskName);
        if (holds_some && holds_command != job.RunsCommands()) break;
        run_queue_.Next(eligible);
        std::optional<uint32_t> index = job.StartNext();
        if (!job.HasQueued()) run_queue_.Remove(job.id());
        if (!index) continue;
        CountQueued(job, -1);
        ++running_;
        const std::string& name = job.TaskName(*index);
        if (!job.may_run_code() && IsCodeTask(name)) {
          // Accepted before it was known to run code (a plugin's task, or a
          // job stored by a jobd that could run it): ended here, never run.
          ScopedLogContext context(job.id(), *index, job.worker_uid());
          log_.warn("task refused: {}", CodeRefusal(job.run_as(), job.owner()));
          FinishTask(job, *index, TaskStatus::kFailed, "", CodeRefusal(job.run_as(), job.owner()),
                     0, 0);
          continue;
        }
        if (!batch_user) {
          batch_user = job.user();
          if (!busy.empty()) ++busy[job.user()];
        }
        run.tasks.push_back(Assignment{job.id(), *index, job.attempts(*index), name,
                                       job.specs().Args(*index),
                                       name == kCommandTaskName ? job.command() : std::nullopt});
      }
      if (run.tasks.empty()) continue;
      if (!SendTo(worker, ToWorker{kProtocolVersion, run})) {
        // The worker is going away; its exit will be reaped. Put the tasks back.
        for (const Assignment& a : run.tasks) {
          RequeueTask(*FindJob(a.job), a.index, /*attempt_counts=*/false);
        }
        continue;
      }
      worker.last_busy = now;
      for (const Assignment& a : run.tasks) {
        const Job& job = *FindJob(a.job);
        InFlight& f = worker.in_flight.emplace_back();
        f.job = a.job;
        f.index = a.index;
        f.attempt = a.attempt;
        f.command = a.name == kCommandTaskName;
        f.user = job.user();
        Record(job, TaskStarted{a.job, a.index, a.attempt});
      }
      BeginFront(worker, now);
    }
  }
}

// Short tasks travel in batches, so that a message costs per batch and a
// worker finds its next task at hand; long ones go one at a time, so that
// they stay in the queue where any worker that frees up can take them. A
// worker gets enough to hold about kQueuedWork beyond its running task, by
// the moving average of its tasks' run times; one task until it has one.
// A worker to be recycled after N tasks is never given more than that. (One
// recycled by its resident set is checked after each report, so a batch of
// short tasks runs whole before the check.)
size_t Supervisor::BatchLimit(const Worker& worker, TimePoint now) const {
  constexpr uint64_t kQueuedWorkUs = 2000;
  constexpr uint64_t kLongTaskUs = 50'000;
  const uint64_t average = worker.average_task_us;
  // A task running far longer than this worker's usual ones says the
  // average no longer holds: queue nothing behind it, or what waits there
  // could wait for as long as it runs while another worker idles.
  if (!worker.in_flight.empty() && worker.in_flight.front().begun) {
    const auto running = std::chrono::duration_cast<Micros>(now - worker.in_flight.front().started);
    if (static_cast<uint64_t>(running.count()) > kQueuedWorkUs + 4 * average) return 1;
  }
  uint64_t limit = 1;
  if (average != 0 && average < kLongTaskUs) {
    const uint64_t wanted = 1 + (kQueuedWorkUs + average - 1) / average;
    limit = std::min<uint64_t>(std::max<uint64_t>(wanted, 2), worker.credit);
  }
  if (options_.max_tasks_per_worker != 0) {
    const uint64_t left = options_.max_tasks_per_worker -
                          std::min(worker.tasks_done, options_.max_tasks_per_worker);
    limit = std::min(limit, std::max<uint64_t>(left, 1));
  }
  return static_cast<size_t>(limit);
}

void Supervisor::BeginFront(Worker& worker, TimePoint now) {
  if (worker.in_flight.empty() || worker.in_flight.front().begun) return;
  InFlight& f = worker.in_flight.front();
  f.begun = true;
  f.started = now;
  if (f.abandoned) return;  // ended already: no timeout to watch
  const Job* job = FindJob(f.job);
  if (job != nullptr && job->timeout_us() != 0) f.deadline = now + Micros(job->timeout_us());
}

void Supervisor::SendShutdowns() {
  for (Worker& worker : workers_) {
    if (!draining_ && !worker.retiring) continue;
    if (worker.pid == 0 || worker.stop != StopReason::kNone || !worker.in_flight.empty()) continue;
    // A worker that has not said ready may not be connected, so a message
    // could not reach it; it holds nothing, so stopping it loses nothing.
    if (!worker.ready) {
      KillWorker(worker, StopReason::kKilled);
      continue;
    }
    worker.stop = StopReason::kShutdown;
    SendTo(worker, ToWorker{kProtocolVersion, ShutdownWorker{}});
  }
}

void Supervisor::ForgetOldJobs() {
  while (finished_jobs_.size() > options_.retained_finished_jobs) {
    const JobId id = finished_jobs_.front();
    Job* job = FindJob(id);
    if (job != nullptr && !job->watchers().empty()) break;  // still streaming
    finished_jobs_.pop_front();
    jobs_.erase(id);
    streams_.Forget(id);
  }
}

// ---- shutdown -------------------------------------------------------------

void Supervisor::BeginDrain() {
  if (draining_) return;
  draining_ = true;
  size_t cancelled = 0, kept = 0;
  for (auto& [id, job] : jobs_) {
    if (job->stored()) {
      // Kept in the store: they run after the next start.
      kept += job->Info().queued;
      run_queue_.Remove(id);
      continue;
    }
    cancelled += CancelQueuedTasks(*job, "cancelled: jobd is shutting down");
  }
  for (Worker& worker : workers_) worker.restart_at.reset();
  for (User& user : users_) user.restart_at.reset();
  log_.info("draining: {} running task(s) left to finish; {} queued task(s) kept in the store for "
            "the next start, {} unstored ones cancelled",
            running_, kept, cancelled);
}

void Supervisor::KillAll() {
  killing_ = true;
  for (Worker& worker : workers_) KillWorker(worker, StopReason::kKilled);
}

// ---- helpers --------------------------------------------------------------

Job* Supervisor::FindJob(JobId id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

const Job* Supervisor::FindJob(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

Result<Job*> Supervisor::FindJobFor(JobId id, const Caller& caller) {
  Result<const Job*> job = std::as_const(*this).FindJobFor(id, caller);
  if (!job.ok()) return job.status();
  return const_cast<Job*>(*job);
}

Result<const Job*> Supervisor::FindJobFor(JobId id, const Caller& caller) const {
  const Job* job = FindJob(id);
  if (job == nullptr) return Status::NotFound(fmt::format("no job {}", id));
  if (MayAccess(caller, job->owner())) return job;
  if (!job->owner().known()) {
    return Status::PermissionDenied(fmt::format(
        "permission denied: job {} has no recorded owner (an older jobd stored it); only root, "
        "jobd's own user and the admin group may use it",
        id));
  }
  return Status::PermissionDenied(
      fmt::format("permission denied: job {} belongs to another user", id));
}

Supervisor::Worker* Supervisor::FindWorker(int32_t pid) {
  auto it = by_pid_.find(pid);
  return it == by_pid_.end() ? nullptr : &workers_[it->second];
}

WorkerState Supervisor::StateOf(const Worker& worker) const {
  if (worker.pid == 0) {
    if (worker.restart_at) return WorkerState::kBackoff;
    return options_.per_user_workers ? WorkerState::kVacant : WorkerState::kStopping;
  }
  switch (worker.stop) {
    case StopReason::kLost: return WorkerState::kLost;
    case StopReason::kKilled: return WorkerState::kStopping;
    case StopReason::kShutdown:
      return worker.retiring ? WorkerState::kRetiring : WorkerState::kStopping;
    case StopReason::kNone: break;
  }
  if (!worker.ready) return WorkerState::kStarting;
  if (worker.retiring) return WorkerState::kRetiring;
  return worker.in_flight.empty() ? WorkerState::kIdle : WorkerState::kBusy;
}

}  // namespace jobd
