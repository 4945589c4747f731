// The durable store (daemon/store): what one transaction (group commit) costs
// with a batch of task updates, and what storing a new job costs per task.
// The file lives in a fresh directory under the system's temporary directory
// ($TMPDIR): put that on the disk you care about.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daemon/core/task_specs.h"
#include "daemon/store/store.h"

namespace jobd {
namespace {

class TempStore {
 public:
  TempStore() {
    std::string pattern = (std::filesystem::temp_directory_path() / "jobd_store_bench.XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    Result<std::unique_ptr<Store>> store = Store::Open(dir_ + "/jobd.db");
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().message().c_str());
      std::abort();
    }
    store_ = std::move(*store);
  }
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  void Apply(const std::vector<StoreOp>& ops) {
    if (Status s = store_->Apply(ops); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      std::abort();
    }
  }

 private:
  std::string dir_;
  std::unique_ptr<Store> store_;
};

StoredJob EchoJob(JobId id, int64_t tasks) {
  StoredJob job;
  job.id = id;
  job.default_task = "echo";
  job.retries = 1;
  job.submitted_unix_us = 1'700'000'000'000'000;
  job.tasks.reserve(static_cast<size_t>(tasks));
  for (int64_t i = 0; i < tasks; ++i) {
    StoredTask& task = job.tasks.emplace_back();
    task.index = static_cast<uint32_t>(i);
    task.args = {std::to_string(i)};
  }
  return job;
}

// One new job of N tasks per transaction (what a stored submit waits for),
// its tasks passed as the supervisor passes them: the job's TaskSpecs. One
// row whatever N: the specs are packed into it (specs_codec.h).
void BM_StoreJobCreated(benchmark::State& state) {
  TempStore store;
  JobId id = 1;
  for (auto _ : state) {
    state.PauseTiming();
    StoredJob job = EchoJob(id++, state.range(0));
    std::shared_ptr<const TaskSpecs> specs = TaskSpecs::FromStored(job);
    job.tasks.clear();
    std::vector<StoreOp> ops{JobCreated(std::move(job), std::move(specs))};
    state.ResumeTiming();
    store.Apply(ops);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_StoreJobCreated)->Arg(1)->Arg(10'000)->UseRealTime();

// One group commit of N ops: N/2 tasks started and finished. Items are ops.
// The job's tasks are packed in its row (schema version 4): the first pass
// over them inserts their rows, later passes update them.
void BM_StoreCommitBatch(benchmark::State& state) {
  constexpr int64_t kTasks = 100'000;
  TempStore store;
  store.Apply({JobCreated{EchoJob(1, kTasks)}});
  const int64_t pairs = std::max<int64_t>(1, state.range(0) / 2);
  uint32_t next = 0;
  std::vector<StoreOp> ops;
  for (auto _ : state) {
    state.PauseTiming();
    ops.clear();
    for (int64_t i = 0; i < pairs; ++i) {
      const uint32_t index = next++ % kTasks;
      ops.emplace_back(TaskStarted{1, index, 1});
      StoredTask::Final final;
      final.result = std::to_string(index);
      final.pid = 4242;
      final.duration_us = 3;
      final.seq = index;
      ops.emplace_back(TaskFinished{1, index, 1, std::move(final)});
    }
    state.ResumeTiming();
    store.Apply(ops);
  }
  state.SetItemsProcessed(state.iterations() * pairs * 2);
}
BENCHMARK(BM_StoreCommitBatch)->Arg(2)->Arg(200)->Arg(2000)->UseRealTime();

}  // namespace
}  // namespace jobd

BENCHMARK_MAIN();
