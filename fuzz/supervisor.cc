// libFuzzer target: the Supervisor, the coordinator's state machine, driven
// by a script (supervisor_script.h) of client requests decoded from bytes as
// jobd's server decodes them, worker messages, workers that finish, crash,
// start commands or never answer, time, store commits and shutdown, in any
// order. Checks: no crash, no failed assert, no sanitizer report; every reply
// encodes; no process group of 0 or 1 is ever signalled; and once drained,
// with every worker gone, nothing is left running.
#include "daemon/core/supervisor.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "fuzz/supervisor_script.h"
#include "proto/codec.h"
#include "util/clock.h"

namespace jobd::fuzz {
namespace {

[[noreturn]] void Violation(const char* what) {
  std::fprintf(stderr, "supervisor fuzz: %s\n", what);
  std::abort();
}

// Worker processes as the script makes them behave.
class FakeIo final : public SupervisorIo {
 public:
  Result<int32_t> SpawnWorker(uint32_t slot, uint32_t /*uid*/) override {
    if (fail_spawns) return Status::Failed("spawn refused by the script");
    const int32_t pid = next_pid_++;
    alive.insert(pid);
    latest[slot] = pid;
    return pid;
  }
  void KillWorker(int32_t, uint32_t) override {}  // it dies when the script says (kExit)
  void SignalGroup(int32_t pgid, int, uint32_t) override {
    if (pgid <= 1) Violation("signalled process group 0 or 1");
  }
  bool SendToWorker(int32_t pid, const ToWorker& message) override {
    if (alive.count(pid) == 0) return false;
    if (const auto* run = std::get_if<RunTasks>(&message.body)) {
      for (const Assignment& a : run->tasks) held[pid].push_back(a);
    }
    if (const auto* forget = std::get_if<ForgetTasks>(&message.body)) {
      // As jobd-worker does: the oldest task has begun and runs on; the
      // others of the job are dropped, reported before the next event.
      std::deque<Assignment>& tasks = held[pid];
      for (auto it = tasks.empty() ? tasks.end() : tasks.begin() + 1; it != tasks.end();) {
        if (it->job != forget->job) {
          ++it;
          continue;
        }
        dropped[pid].push_back(DroppedTask{it->job, it->index, it->attempt});
        it = tasks.erase(it);
      }
    }
    return true;
  }
  Delivery SendToClient(const ClientId&, const Reply& reply) override {
    (void)EncodeReply(reply);  // the server encodes every reply
    return delivery;
  }

  bool fail_spawns = false;
  Delivery delivery = Delivery::kSent;
  std::set<int32_t> alive;
  std::map<uint32_t, int32_t> latest;  // slot -> its newest worker
  std::map<int32_t, std::deque<Assignment>> held;
  std::map<int32_t, std::vector<DroppedTask>> dropped;  // not yet reported

 private:
  int32_t next_pid_ = 100;
};

class FakeStore final : public JobStore {
 public:
  uint64_t Record(StoreOp) override { return ++recorded; }
  void Load(JobId job) override { loads.push_back(job); }
  uint64_t recorded = 0;
  uint64_t committed = 0;
  std::deque<JobId> loads;
};

// About 35 years.
constexpr uint64_t kLargestTimeoutUs = uint64_t{1} << 50;
// Workers hold batches of up to their credit (jobd-worker asks for 64).
constexpr uint32_t kLargestCredit = 64;

Caller CallerFrom(uint8_t b) {
  switch (b % 5) {
    case 0:
      return Caller::Internal();
    case 1:
      return Caller{JobOwner{1000, ""}, false, 1000u};
    case 2:
      return Caller{JobOwner{1001, ""}, false, 1001u};
    case 3:
      return Caller{JobOwner{std::nullopt, "alice"}, false, 1000u};  // a key mapped to 1000
    default:
      return Caller{JobOwner{std::nullopt, "bob"}, false, std::nullopt};  // a key with no account
  }
}

// A decoded request, handled as Server::Answer does.
void HandleRequest(Supervisor& supervisor, const ClientId& client, const Caller& caller,
                   const Request& request) {
  const RequestId id = request.request_id;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, PingRequest>) {
          (void)supervisor.Pong();
        } else if constexpr (std::is_same_v<T, SubmitRequest>) {
          // Known, reported (fuzz/README.md): a timeout near 2^63 us
          // overflows the deadline arithmetic in Supervisor::DispatchTasks.
          // Left out so that the target looks for what is not known yet.
          // Refused by Submit; kept out so the fuzzer looks elsewhere.
          if (body.timeout_us > kLargestTimeoutUs) return;
          (void)supervisor.Submit(client, id, body, caller);
        } else if constexpr (std::is_same_v<T, WatchRequest>) {
          if (!supervisor.Watch(client, id, body, caller).ok()) {
            (void)supervisor.LookUp(client, id, request.body, caller);
          }
        } else if constexpr (std::is_same_v<T, StatusRequest>) {
          if (!supervisor.Status(body.job, caller).ok()) {
            (void)supervisor.LookUp(client, id, request.body, caller);
          }
        } else if constexpr (std::is_same_v<T, JobsRequest>) {
          (void)supervisor.Jobs(caller);
        } else if constexpr (std::is_same_v<T, WorkersRequest>) {
          (void)supervisor.Workers(caller);
        } else if constexpr (std::is_same_v<T, TasksRequest>) {
          (void)supervisor.Tasks();
        } else if constexpr (std::is_same_v<T, CancelRequest>) {
          (void)supervisor.Cancel(body.job, caller);
        } else if constexpr (std::is_same_v<T, AckRequest>) {
          supervisor.Ack(client, id, body.consumed);
        }
      },
      request.body);
}

void Run(const uint8_t* data, size_t size) {
  ScriptReader script(data, size);
  const uint8_t config = script.Byte();
  SupervisorOptions options;
  options.workers = 1 + (config & 3) % 3;
  options.allow_commands = (config & 8) != 0;
  // Small limits, so that scripts reach them.
  options.max_results_per_message = 3;
  options.max_queued_tasks = 200;
  options.max_tasks_per_job = 50;
  options.max_task_bytes = 64;
  options.retained_finished_jobs = 4;
  options.default_stream_window = 5;
  options.max_tasks_per_worker = 7;
  options.max_worker_rss = 1 << 20;
  options.default_timeout = Millis(500);
  options.heartbeat_interval = Millis(100);
  options.kill_grace = Millis(300);
  // Per-user workers (the users above: jobd itself, 1000, 1001, nobody), and
  // a worker limit a user.
  options.own_uid = 0;
  options.per_user_workers = (config & 16) != 0;
  options.max_workers_per_user = (config & 32) != 0 ? 1 : 0;
  options.max_queued_tasks_per_user = (config & 64) != 0 ? 60 : 0;
  options.worker_idle_timeout = Millis(400);

  // JOBD_FUZZ_LOG=1: the supervisor's log and each op on stderr, to replay a
  // crash (build-fuzz/bin/fuzz_supervisor FILE).
  static const bool trace = std::getenv("JOBD_FUZZ_LOG") != nullptr;
  static auto* const log = [] {
    if (trace) {
      auto* logger = new spdlog::logger("fuzz", std::make_shared<spdlog::sinks::stderr_sink_mt>());
      logger->set_level(spdlog::level::debug);
      return logger;
    }
    auto* logger = new spdlog::logger("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger->set_level(spdlog::level::off);
    return logger;
  }();
  FakeIo io;
  FakeClock clock;
  FakeStore store;
  Supervisor supervisor(options, io, clock, *log, (config & 4) != 0 ? &store : nullptr);
  supervisor.Start();

  auto pid_of = [&](uint8_t slot) -> int32_t {
    auto it = io.latest.find(slot % options.workers);
    return it == io.latest.end() || io.alive.count(it->second) == 0 ? 0 : it->second;
  };
  auto exit_worker = [&](int32_t pid, ExitStatus status) {
    io.alive.erase(pid);
    io.held.erase(pid);
    supervisor.OnWorkerExited(pid, status);
  };

  for (int steps = 0; !script.done() && steps < 4096; ++steps) {
    for (auto& [pid, tasks] : std::exchange(io.dropped, {})) {
      if (io.alive.count(pid) == 0) continue;
      WorkerReport report;
      report.dropped = std::move(tasks);
      supervisor.OnWorkerMessage(pid, FromWorker{kProtocolVersion, report});
    }
    const auto op = static_cast<Op>(script.Byte() % kOpCount);
    if (trace) std::fprintf(stderr, "-- op %d\n", static_cast<int>(op));
    switch (op) {
      case kRequest: {
        const ClientId client = "client-" + std::to_string(script.Byte() % 4);
        const Caller caller = CallerFrom(script.Byte());
        Result<Request> request = DecodeRequest(script.Frame());
        if (request.ok() && request->version == kProtocolVersion) {
          HandleRequest(supervisor, client, caller, *request);
        }
        break;
      }
      case kWorkerMessage: {
        const int32_t pid = pid_of(script.Byte());
        Result<FromWorker> message = DecodeFromWorker(script.Frame());
        if (pid != 0 && message.ok() && message->version == kProtocolVersion) {
          if (auto* ready = std::get_if<WorkerReady>(&message->body)) {
            ready->credit = std::min(ready->credit, kLargestCredit);
          }
          supervisor.OnWorkerMessage(pid, *message);
        }
        break;
      }
      case kReady: {
        const uint8_t slot = script.Byte();
        const uint32_t credit = std::min<uint32_t>(script.Byte() % 4, kLargestCredit);
        if (const int32_t pid = pid_of(slot)) {
          WorkerReady ready{pid, slot % options.workers, credit, {}, {}};
          ready.tasks.push_back(TaskInfo{"echo", "built-in", "", "prints its arguments"});
          supervisor.OnWorkerMessage(pid, FromWorker{kProtocolVersion, ready});
        }
        break;
      }
      case kComplete: {
        const int32_t pid = pid_of(script.Byte());
        const uint8_t flags = script.Byte();
        const uint8_t value = script.Byte();
        auto held = io.held.find(pid);
        if (pid == 0 || held == io.held.end() || held->second.empty()) break;
        const Assignment a = held->second.front();
        if ((flags & 8) == 0) held->second.pop_front();  // else: reported twice
        Outcome outcome{a.job,
                        a.index,
                        a.attempt + ((flags & 4) != 0 ? 1u : 0u),
                        (flags & 1) != 0,
                        std::string(value % 8, 'v'),
                        "",
                        1000,
                        std::nullopt};
        if ((flags & 2) != 0) outcome.command = CommandEnd{value % 3, 0, 1, 1, false, false};
        WorkerReport report;
        report.outcomes.push_back(outcome);
        report.rss_bytes = (flags & 16) != 0 ? uint64_t{2} << 20 : 0;
        supervisor.OnWorkerMessage(pid, FromWorker{kProtocolVersion, report});
        break;
      }
      case kStarted: {
        const int32_t pid = pid_of(script.Byte());
        const int32_t pgid = script.Byte();
        auto held = io.held.find(pid);
        if (pid == 0 || held == io.held.end() || held->second.empty()) break;
        const Assignment& a = held->second.front();
        WorkerReport report;
        report.started.push_back(CommandStarted{a.job, a.index, a.attempt, pgid});
        supervisor.OnWorkerMessage(pid, FromWorker{kProtocolVersion, report});
        break;
      }
      case kExit: {
        const uint8_t slot = script.Byte();
        const uint8_t status = script.Byte();
        int32_t pid = pid_of(slot);
        if ((status & 0x80) != 0 && !io.alive.empty()) {
          // Any live worker, an older one of the slot too (a retiring one).
          auto it = io.alive.begin();
          std::advance(it, slot % io.alive.size());
          pid = *it;
        }
        if (pid != 0) exit_worker(pid, ExitStatus{(status & 1) != 0, (status >> 1) & 0x3f});
        break;
      }
      case kTime:
        clock.Advance(Millis(37) * script.Byte());
        supervisor.OnTick();
        break;
      case kCommit: {
        const uint8_t how = script.Byte();
        if (store.recorded == store.committed) break;
        // A part or all of what is recorded, as the writer's transactions go.
        const uint64_t pending = store.recorded - store.committed;
        store.committed += std::max<uint64_t>(1, pending * ((how >> 1) % 4 + 1) / 4);
        supervisor.OnStoreCommit(store.committed,
                                 (how & 1) != 0 ? Status::Failed("disk full") : Status::Ok());
        break;
      }
      case kLoaded: {
        const uint8_t how = script.Byte();
        if (store.loads.empty()) break;
        const JobId job = store.loads.front();
        store.loads.pop_front();
        supervisor.OnJobLoaded(job, std::nullopt,
                               (how & 1) != 0 ? Status::Failed("read error") : Status::Ok());
        break;
      }
      case kDrain:
        if (!supervisor.draining()) supervisor.BeginDrain();
        break;
      case kRecycle:
        supervisor.RecycleWorkers();
        break;
      case kKillAll:
        if (supervisor.draining()) supervisor.KillAll();  // only ever at the drain's deadline
        break;
      case kDelivery: {
        const Delivery modes[] = {Delivery::kSent, Delivery::kWouldBlock, Delivery::kGone};
        io.delivery = modes[script.Byte() % 3];
        break;
      }
      case kSpawnFailure:
        io.fail_spawns = (script.Byte() & 1) != 0;
        break;
      case kOpCount:
        break;
    }
    supervisor.Flush();
    (void)supervisor.NextDeadline();
  }

  // Shutdown: drain, let the store catch up, and let every worker exit (in
  // a drain nothing starts again).
  io.delivery = Delivery::kSent;
  if (!supervisor.draining()) supervisor.BeginDrain();
  supervisor.KillAll();
  for (int round = 0; round < 8 && !io.alive.empty(); ++round) {
    while (!io.alive.empty()) exit_worker(*io.alive.begin(), ExitStatus{true, 9});
    if (store.recorded > store.committed) {
      store.committed = store.recorded;
      supervisor.OnStoreCommit(store.committed, Status::Ok());
    }
    clock.Advance(Millis(20'000));
    supervisor.OnTick();
    supervisor.Flush();
  }
  if (!supervisor.AllWorkersGone()) Violation("workers left after a drain in which all exited");
  if (supervisor.Pong().running != 0) Violation("tasks still running after every worker exited");
}

}  // namespace
}  // namespace jobd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  jobd::fuzz::Run(data, size);
  return 0;
}
