// The Supervisor's users: who a job's tasks count against and run as,
// whether they may be code tasks, and, with per-user workers, which user
// each slot's worker is for (see docs/ARCHITECTURE.md, "Identity").
#include <algorithm>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "daemon/core/supervisor.h"

namespace jobd {

std::optional<uint32_t> Supervisor::AccountOf(const Caller& caller) const {
  if (caller.account) return caller.account;
  if (caller.privileged && !caller.id.known()) return options_.own_uid;  // jobd itself
  return std::nullopt;  // a key with no account
}

bool Supervisor::MayRunCode(std::optional<uint32_t> account) const {
  return account && (options_.per_user_workers || *account == options_.own_uid);
}

bool Supervisor::IsCodeTask(const std::string& name) const {
  return name == kCommandTaskName || code_tasks_.count(name) != 0;
}

std::string Supervisor::CodeRefusal(std::optional<uint32_t> account, const JobOwner& owner) const {
  if (!account) {
    return fmt::format(
        "permission denied: {} has no local account, so it may run built-in and plugin tasks "
        "only, not commands or code (map it to an account with user= in the authorised keys "
        "file)",
        Describe(owner));
  }
  return fmt::format(
      "permission denied: this jobd runs as {} and cannot run tasks as uid {}: start it as root "
      "or with the jobd unit (built-in and plugin tasks are allowed)",
      options_.own_name.empty() ? fmt::format("uid {}", options_.own_uid) : options_.own_name,
      *account);
}

UserId Supervisor::UserNamed(const std::string& name, uint32_t uid) {
  auto [it, added] = user_ids_.try_emplace(name, static_cast<UserId>(users_.size()));
  if (added) {
    User& user = users_.emplace_back();
    user.name = name;
    user.uid = uid;
  }
  return it->second;
}

Supervisor::Runner Supervisor::RunnerFor(std::optional<uint32_t> account, const JobOwner& owner) {
  Runner runner;
  runner.may_run_code = MayRunCode(account);
  if (options_.per_user_workers) {
    // A user is whoever its workers run as.
    runner.worker_uid = account.value_or(options_.anonymous_uid);
    runner.user = UserNamed(fmt::format("uid {}", runner.worker_uid), runner.worker_uid);
  } else {
    runner.worker_uid = options_.own_uid;
    runner.user = UserNamed(Describe(owner), options_.own_uid);
  }
  return runner;
}

void Supervisor::SetRunner(Job& job) {
  const Runner runner = RunnerFor(job.run_as(), job.owner());
  job.set_runner(runner.user, runner.worker_uid, runner.may_run_code);
}

void Supervisor::CountQueued(const Job& job, int64_t delta) {
  queued_ += delta;
  users_[job.user()].queued += delta;
}

void Supervisor::SpawnFor(Worker& slot, UserId user) {
  slot.user = user;
  slot.uid = users_[user].uid;
  ++users_[user].workers;
  SpawnSlot(slot);
}

void Supervisor::ScheduleUserRestart(UserId id) {
  User& user = users_[id];
  ++user.quick_deaths;
  const Millis delay = Backoff(user.quick_deaths);
  user.restart_at = clock_.Now() + delay;
  log_.warn("workers of {} keep failing ({} times in a row); next start in {} ms", user.name,
            user.quick_deaths, delay.count());
}

bool Supervisor::MayIdleOut(const Worker& worker) const {
  // jobd's own workers are the warm pool: they stay until a slot is needed.
  return worker.user && worker.uid != options_.own_uid && worker.ready && !worker.retiring &&
         worker.stop == StopReason::kNone && worker.in_flight.empty();
}

void Supervisor::RetireIdleWorkers(TimePoint now) {
  for (Worker& worker : workers_) {
    if (!MayIdleOut(worker) || now < worker.last_busy + options_.worker_idle_timeout) continue;
    log_.debug("worker[{}] pid {} of {} idle for {} ms: leaving", worker.slot, worker.pid,
               users_[*worker.user].name, options_.worker_idle_timeout.count());
    worker.retiring = true;  // SendShutdowns tells it
  }
}

void Supervisor::AllocateSlots(TimePoint now) {
  if (!options_.per_user_workers) return;
  // With no one waiting, a vacant slot goes back to the warm pool.
  if (run_queue_.empty()) {
    if (own_user_ && !users_[*own_user_].restart_at) {
      for (Worker& w : workers_) {
        if (w.pid == 0 && !w.restart_at && !w.user) SpawnFor(w, *own_user_);
      }
    }
    return;
  }
  // Each waiting user wants a worker for every queued task beyond those its
  // starting or idle workers will take, up to its limit.
  std::vector<std::pair<UserId, uint64_t>> wanting;
  for (UserId id : run_queue_.Users()) {
    const User& user = users_[id];
    if (user.restart_at && *user.restart_at > now) continue;
    uint64_t spare = 0;
    for (const Worker& w : workers_) {
      if (w.user == id && w.pid != 0 && w.stop == StopReason::kNone && !w.retiring &&
          (!w.ready || w.in_flight.empty())) {
        ++spare;
      }
    }
    uint64_t want = user.queued > spare ? user.queued - spare : 0;
    if (options_.max_workers_per_user != 0) {
      const uint64_t room = options_.max_workers_per_user > user.workers
                                ? options_.max_workers_per_user - user.workers
                                : 0;
      want = std::min(want, room);
    }
    if (want > 0) wanting.emplace_back(id, want);
  }
  if (wanting.empty()) return;
  // Vacant slots go round robin, one a user a round: the users with the
  // fewest workers first, then in their turn order.
  std::stable_sort(wanting.begin(), wanting.end(), [this](const auto& a, const auto& b) {
    return users_[a.first].workers < users_[b.first].workers;
  });
  auto vacant = workers_.begin();
  const auto next_vacant = [&] {
    while (vacant != workers_.end() && (vacant->pid != 0 || vacant->restart_at || vacant->user)) {
      ++vacant;
    }
    return vacant != workers_.end();
  };
  for (bool spawned = true; spawned;) {
    spawned = false;
    for (auto& [id, want] : wanting) {
      if (want == 0 || !next_vacant()) continue;
      SpawnFor(*vacant, id);
      --want;
      spawned = true;
    }
  }
  // No slot is left for some: free slots held beyond a fair share, one for
  // each such user, counting the slots already on their way to be free.
  size_t freeing = 0;
  std::set<UserId> active;
  for (const Worker& w : workers_) {
    if (w.pid != 0 && (w.retiring || w.stop != StopReason::kNone)) ++freeing;
    if (w.user && !w.in_flight.empty()) active.insert(*w.user);
  }
  for (const auto& [id, want] : wanting) active.insert(id);
  const uint32_t share =
      std::max<uint32_t>(1, static_cast<uint32_t>(workers_.size() / active.size()));
  for (const auto& [id, want] : wanting) {
    const uint32_t held = users_[id].workers;
    uint64_t need = std::min<uint64_t>(want, share > held ? share - held : 0);
    const uint64_t coming = std::min<uint64_t>(need, freeing);
    freeing -= coming;
    need -= coming;
    for (; need > 0; --need) {
      Worker* victim = PickSlotToFree(id, share);
      if (victim == nullptr) break;
      log_.info("worker[{}] pid {} of {} retiring: its slot goes to {}, who has fewer workers",
                victim->slot, victim->pid, users_[*victim->user].name, users_[id].name);
      victim->retiring = true;
    }
  }
}

Supervisor::Worker* Supervisor::PickSlotToFree(UserId waiting, uint32_t share) {
  Worker* best = nullptr;
  const auto rank = [&](const Worker& w) {
    // An idle worker of a user with nothing queued first, the warm pool's
    // before a user's (the pool is there to give its slots up; the user's
    // may get work again before its idle timeout); then the user holding
    // the most slots, an idle worker of it before a busy one.
    const User& user = users_[*w.user];
    const bool idle = w.ready && w.in_flight.empty();
    const bool unwanted = idle && user.queued == 0;
    return std::make_tuple(unwanted, unwanted && w.user == own_user_, user.workers, idle);
  };
  for (Worker& w : workers_) {
    if (!w.user || *w.user == waiting || w.pid == 0 || w.retiring ||
        w.stop != StopReason::kNone) {
      continue;
    }
    const User& user = users_[*w.user];
    const bool idle = w.ready && w.in_flight.empty();
    if (!(idle && user.queued == 0) && user.workers <= share) continue;
    if (best == nullptr || rank(w) > rank(*best)) best = &w;
  }
  return best;
}

void Supervisor::FailQueuedTasksOf(UserId user, const std::string& error) {
  for (auto& [id, job] : jobs_) {
    if (job->user() != user || !job->HasQueued()) continue;
    const std::vector<uint32_t> failed = job->CancelQueued(error, TaskStatus::kFailed);
    CountQueued(*job, -static_cast<int64_t>(failed.size()));
    run_queue_.Remove(id);
    for (uint32_t index : failed) RecordFinished(*job, index);
    OnJobChanged(*job);
  }
}

}  // namespace jobd
