// The coordinator's scheduling logic without sockets: RunQueue decisions and
// the Supervisor's per-task cycle (dispatch, outcome, result to the client),
// driven through a do-nothing SupervisorIo as in tests/unit/daemon.
#include <benchmark/benchmark.h>
#include <spdlog/sinks/null_sink.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/core/run_queue.h"
#include "daemon/core/supervisor.h"

namespace jobd {
namespace {

// Keeps the assignments sent to each worker until the benchmark answers
// them; counts the results sent to clients.
class BenchIo : public SupervisorIo {
 public:
  Result<int32_t> SpawnWorker(uint32_t, uint32_t) override { return next_pid++; }
  void KillWorker(int32_t, uint32_t) override {}
  void SignalGroup(int32_t, int, uint32_t) override {}
  bool SendToWorker(int32_t pid, const ToWorker& message) override {
    if (const auto* run = std::get_if<RunTasks>(&message.body)) {
      auto& sent = assigned[pid];
      sent.insert(sent.end(), run->tasks.begin(), run->tasks.end());
    }
    return true;
  }
  Delivery SendToClient(const ClientId&, const Reply& reply) override {
    if (const auto* batch = std::get_if<ResultBatch>(&reply.body)) {
      results += batch->results.size();
      done = done || batch->done;
    }
    return Delivery::kSent;
  }

  int32_t next_pid = 100;
  std::map<int32_t, std::vector<Assignment>> assigned;
  uint64_t results = 0;
  bool done = false;
};

SubmitRequest EchoJob(int64_t tasks, bool watch) {
  SubmitRequest request;
  request.default_task = "echo";
  request.watch = watch;
  request.no_store = true;
  for (int64_t i = 0; i < tasks; ++i) request.tasks.push_back(TaskInput{"", {std::to_string(i)}});
  return request;
}

struct Harness {
  explicit Harness(uint32_t workers)
      : log("bench", std::make_shared<spdlog::sinks::null_sink_mt>()) {
    options.workers = workers;
    supervisor = std::make_unique<Supervisor>(options, io, clock, log);
    supervisor->Start();
    for (uint32_t slot = 0; slot < workers; ++slot) {
      const int32_t pid = 100 + static_cast<int32_t>(slot);
      supervisor->OnWorkerMessage(pid,
                                  FromWorker{kProtocolVersion, WorkerReady{pid, slot, 1, {}, {}}});
    }
  }

  SupervisorOptions options;
  BenchIo io;
  FakeClock clock;
  spdlog::logger log;
  std::unique_ptr<Supervisor> supervisor;
};

void BM_RunQueueNext(benchmark::State& state) {
  RunQueue queue;
  for (int64_t job = 1; job <= state.range(0); ++job) queue.Add(static_cast<JobId>(job), 0, 0);
  for (auto _ : state) benchmark::DoNotOptimize(queue.Next());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RunQueueNext)->Arg(1)->Arg(100);

// A job of N no-op tasks through 2 workers: submit, then per task a dispatch
// (Flush), the worker's outcome and the result streamed to the watching client.
void BM_SupervisorTaskCycle(benchmark::State& state) {
  const int64_t tasks = state.range(0);
  Harness h(2);
  RequestId request_id = 1;
  for (auto _ : state) {
    h.io.results = 0;
    h.io.done = false;
    const RequestId id = request_id++;
    auto accepted = h.supervisor->Submit("client", id, EchoJob(tasks, /*watch=*/true));
    if (!accepted.ok()) std::abort();
    while (!h.io.done) {
      h.supervisor->Flush();
      h.supervisor->Ack("client", id, h.io.results);
      for (auto& [pid, assigned] : h.io.assigned) {
        if (assigned.empty()) continue;
        WorkerReport report;
        for (const Assignment& a : assigned) {
          Outcome& o = report.outcomes.emplace_back();
          o.job = a.job;
          o.index = a.index;
          o.attempt = a.attempt;
          o.ok = true;
          o.value = a.args[0];
          o.duration_us = 1;
        }
        assigned.clear();
        h.supervisor->OnWorkerMessage(pid, FromWorker{kProtocolVersion, std::move(report)});
      }
    }
    if (h.io.results != static_cast<uint64_t>(tasks)) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}
BENCHMARK(BM_SupervisorTaskCycle)->Arg(10'000);

// Accepting a job of N tasks (memory only), without running it.
void BM_SupervisorSubmit(benchmark::State& state) {
  const int64_t tasks = state.range(0);
  Harness h(2);
  RequestId request_id = 1;
  for (auto _ : state) {
    state.PauseTiming();
    SubmitRequest request = EchoJob(tasks, /*watch=*/false);
    state.ResumeTiming();
    auto accepted = h.supervisor->Submit("client", request_id++, std::move(request));
    if (!accepted.ok() || !accepted->has_value()) std::abort();
    state.PauseTiming();
    if (!h.supervisor->Cancel((*accepted)->job).ok()) std::abort();
    h.supervisor->Flush();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}
BENCHMARK(BM_SupervisorSubmit)->Arg(100'000);

}  // namespace
}  // namespace jobd

BENCHMARK_MAIN();
