// The thread that owns the Store, so the event loop never waits on fsync.
// Ops queued while a transaction commits all go into the next one (group
// commit). What became of each transaction comes back as a Commit, announced
// on an eventfd the loop polls. It also deletes old finished jobs now and
// then (retention).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "daemon/core/store_ops.h"
#include "daemon/store/store.h"
#include "util/clock.h"
#include "util/status.h"
#include "util/unique_fd.h"

namespace jobd {

class StoreWriter {
 public:
  struct Options {
    Micros retain{0};  // finished jobs are deleted this long after finishing; 0: never
    Micros cleanup_interval = std::chrono::hours(1);  // the first clean-up runs at Start
    std::function<int64_t()> now_unix_us = UnixMicrosNow;  // wall time, for retention
  };

  // A job read back on request (LoadJob).
  struct Loaded {
    JobId job = 0;
    std::optional<StoredJob> stored;  // none: the store does not hold it
  };

  // What became of one transaction: a batch of ops, a retention clean-up, or
  // a job read back.
  struct Commit {
    std::vector<JobId> jobs_created;  // jobs whose JobCreated was in this batch
    size_t ops = 0;                   // ops in this batch (0 for a clean-up or a read)
    size_t removed_jobs = 0;          // finished jobs a clean-up deleted
    std::optional<Loaded> loaded;     // the answer to a LoadJob
    Status status;                    // not ok: nothing of this batch was stored (or read)
  };

  struct Stats {
    uint64_t batches_committed = 0;
    uint64_t ops_committed = 0;
    uint64_t batches_failed = 0;
    uint64_t ops_failed = 0;
  };

  // Takes the store over and starts the thread.
  static Result<std::unique_ptr<StoreWriter>> Start(std::unique_ptr<Store> store,
                                                    Options options);
  // Commits what is queued, then stops the thread. No Enqueue may race with it.
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Queues one op for the next transaction. Safe from any thread; never waits
  // for the disk (only for a mutex the writer holds to swap the queue out).
  void Enqueue(StoreOp op);
  // Queues ops, in order, with one lock and one wake-up for all of them.
  void Enqueue(std::vector<StoreOp> ops);

  // Reads a job back, after every op queued before this call: the answer
  // comes as a Commit with `loaded` set. Safe from any thread.
  void LoadJob(JobId job);

  // Readable while Commits are waiting to be taken.
  int fd() const { return event_fd_.get(); }
  // The Commits since the last call, oldest first. Safe from any thread.
  std::vector<Commit> TakeCommits();

  Stats stats() const;

 private:
  StoreWriter(std::unique_ptr<Store> store, Options options, UniqueFd event_fd);
  void Run();
  void CommitBatch(const std::vector<StoreOp>& batch);
  void CleanUp();
  void Load(JobId job);
  void Publish(Commit commit);

  const Options options_;
  std::unique_ptr<Store> store_;  // writer thread only
  UniqueFd event_fd_;

  std::atomic<uint64_t> batches_committed_{0};
  std::atomic<uint64_t> ops_committed_{0};
  std::atomic<uint64_t> batches_failed_{0};
  std::atomic<uint64_t> ops_failed_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<StoreOp> queue_;    // guarded by mu_
  std::vector<JobId> loads_;      // guarded by mu_
  std::vector<Commit> commits_;   // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  std::thread thread_;            // last: started when the rest exists
};

}  // namespace jobd
