// The wire codec (proto/codec.h): what encoding and decoding the messages on
// the hot path costs. Items are messages; per-task costs follow from the
// message sizes in the benchmark names.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "proto/codec.h"

namespace jobd {
namespace {

// Dispatch: the coordinator sends `n` assignments (echo <index>) to a worker.
ToWorker MakeRunTasks(int64_t n) {
  RunTasks run;
  for (int64_t i = 0; i < n; ++i) {
    Assignment a;
    a.job = 7;
    a.index = static_cast<uint32_t>(i);
    a.attempt = 1;
    a.name = "echo";
    a.args = {std::to_string(i)};
    run.tasks.push_back(std::move(a));
  }
  return ToWorker{kProtocolVersion, std::move(run)};
}

// A worker's report of `n` outcomes.
FromWorker MakeWorkerReport(int64_t n) {
  WorkerReport report;
  for (int64_t i = 0; i < n; ++i) {
    Outcome o;
    o.job = 7;
    o.index = static_cast<uint32_t>(i);
    o.attempt = 1;
    o.ok = true;
    o.value = std::to_string(i);
    o.duration_us = 3;
    report.outcomes.push_back(std::move(o));
  }
  report.rss_bytes = 4u << 20;
  return FromWorker{kProtocolVersion, std::move(report)};
}

// Results streamed to a client: a batch of `n`.
Reply MakeResultBatch(int64_t n) {
  ResultBatch batch;
  batch.job = 7;
  for (int64_t i = 0; i < n; ++i) {
    TaskResult r;
    r.job = 7;
    r.index = static_cast<uint32_t>(i);
    r.result = std::to_string(i);
    r.pid = 4242;
    r.attempts = 1;
    r.duration_us = 3;
    r.seq = static_cast<uint64_t>(i);
    batch.results.push_back(std::move(r));
  }
  return Reply{kProtocolVersion, 1, std::move(batch)};
}

// A client submitting a job of `n` echo tasks.
Request MakeSubmit(int64_t n) {
  SubmitRequest submit;
  submit.default_task = "echo";
  submit.watch = true;
  for (int64_t i = 0; i < n; ++i) submit.tasks.push_back(TaskInput{"", {std::to_string(i)}});
  return Request{kProtocolVersion, 1, std::move(submit)};
}

template <typename T>
const T& Must(const Result<T>& result) {
  if (!result.ok()) std::abort();
  return *result;
}

void BM_EncodeRunTasks(benchmark::State& state) {
  const ToWorker message = MakeRunTasks(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(EncodeToWorker(message));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeRunTasks)->Arg(1)->Arg(16);

void BM_DecodeRunTasks(benchmark::State& state) {
  const std::string frame = EncodeToWorker(MakeRunTasks(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Must(DecodeToWorker(frame)));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}
BENCHMARK(BM_DecodeRunTasks)->Arg(1)->Arg(16);

void BM_EncodeWorkerReport(benchmark::State& state) {
  const FromWorker message = MakeWorkerReport(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(EncodeFromWorker(message));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeWorkerReport)->Arg(1)->Arg(16);

void BM_DecodeWorkerReport(benchmark::State& state) {
  const std::string frame = EncodeFromWorker(MakeWorkerReport(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Must(DecodeFromWorker(frame)));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}
BENCHMARK(BM_DecodeWorkerReport)->Arg(1)->Arg(16);

void BM_EncodeResultBatch(benchmark::State& state) {
  const Reply reply = MakeResultBatch(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(EncodeReply(reply));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeResultBatch)->Arg(1)->Arg(1000);

void BM_DecodeResultBatch(benchmark::State& state) {
  const std::string frame = EncodeReply(MakeResultBatch(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Must(DecodeReply(frame)));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}
BENCHMARK(BM_DecodeResultBatch)->Arg(1)->Arg(1000);

void BM_EncodeSubmit(benchmark::State& state) {
  const Request request = MakeSubmit(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(EncodeRequest(request));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeSubmit)->Arg(10'000);

void BM_DecodeSubmit(benchmark::State& state) {
  const std::string frame = EncodeRequest(MakeSubmit(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Must(DecodeRequest(frame)));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}
BENCHMARK(BM_DecodeSubmit)->Arg(10'000);

}  // namespace
}  // namespace jobd

BENCHMARK_MAIN();
