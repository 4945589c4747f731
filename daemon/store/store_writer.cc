#include "daemon/store/store_writer.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>
#include <string>
#include <utility>

namespace jobd {

Result<std::unique_ptr<StoreWriter>> StoreWriter::Start(std::unique_ptr<Store> store,
                                                        Options options) {
  if (store == nullptr) return Status::InvalidArgument("store writer: no store");
  if (options.retain.count() < 0) {
    return Status::InvalidArgument("store writer: negative retention");
  }
  if (options.retain.count() > 0 && options.cleanup_interval.count() <= 0) {
    return Status::InvalidArgument("store writer: retention needs a positive clean-up interval");
  }
  if (!options.now_unix_us) return Status::InvalidArgument("store writer: no clock");
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return SysError("eventfd", "for store " + store->path(), errno);
  return std::unique_ptr<StoreWriter>(
      new StoreWriter(std::move(store), std::move(options), UniqueFd(fd)));
}

StoreWriter::StoreWriter(std::unique_ptr<Store> store, Options options, UniqueFd event_fd)
    : options_(std::move(options)),
      store_(std::move(store)),
      event_fd_(std::move(event_fd)),
      thread_([this] { Run(); }) {}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void StoreWriter::Enqueue(StoreOp op) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(op));
  }
  wake_.notify_one();
}

void StoreWriter::Enqueue(std::vector<StoreOp> ops) {
  if (ops.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) {
      queue_.swap(ops);
    } else {
      queue_.insert(queue_.end(), std::make_move_iterator(ops.begin()),
                    std::make_move_iterator(ops.end()));
    }
  }
  wake_.notify_one();
}

void StoreWriter::LoadJob(JobId job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    loads_.push_back(job);
  }
  wake_.notify_one();
}

std::vector<StoreWriter::Commit> StoreWriter::TakeCommits() {
  // Clear the eventfd before taking: a Commit published in between then
  // leaves it readable again instead of being missed.
  uint64_t count;
  while (::read(event_fd_.get(), &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  std::vector<Commit> commits;
  std::lock_guard<std::mutex> lock(mu_);
  commits.swap(commits_);
  return commits;
}

StoreWriter::Stats StoreWriter::stats() const {
  Stats stats;
  stats.batches_committed = batches_committed_.load(std::memory_order_relaxed);
  stats.ops_committed = ops_committed_.load(std::memory_order_relaxed);
  stats.batches_failed = batches_failed_.load(std::memory_order_relaxed);
  stats.ops_failed = ops_failed_.load(std::memory_order_relaxed);
  return stats;
}

void StoreWriter::Run() {
  using SteadyTime = std::chrono::steady_clock;
  const bool retention = options_.retain.count() > 0;
  SteadyTime::time_point next_cleanup = SteadyTime::now();  // the first at once
  std::vector<StoreOp> batch;
  std::vector<JobId> loads;
  while (true) {
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [this] { return stopping_ || !queue_.empty() || !loads_.empty(); };
      if (retention) {
        wake_.wait_until(lock, next_cleanup, ready);
      } else {
        wake_.wait(lock, ready);
      }
      batch.clear();
      batch.swap(queue_);
      loads.clear();
      loads.swap(loads_);
      stopping = stopping_;
    }
    if (!batch.empty()) CommitBatch(batch);
    // After the batch: a read sees every op queued before it was asked for.
    for (JobId job : loads) Load(job);
    if (retention && SteadyTime::now() >= next_cleanup) {
      CleanUp();
      next_cleanup = SteadyTime::now() + options_.cleanup_interval;
    }
    if (stopping) return;  // the queue was taken after stopping_ was set
  }
}

void StoreWriter::CommitBatch(const std::vector<StoreOp>& batch) {
  Commit commit;
  commit.ops = batch.size();
  for (const StoreOp& op : batch) {
    if (const auto* created = std::get_if<JobCreated>(&op)) {
      commit.jobs_created.push_back(created->job.id);
    }
  }
  // A failed batch is dropped, not retried: its Commit tells the loop, and
  // the next batch tries again (a full disk may have room by then).
  commit.status = store_->Apply(batch);
  if (commit.status.ok()) {
    batches_committed_.fetch_add(1, std::memory_order_relaxed);
    ops_committed_.fetch_add(batch.size(), std::memory_order_relaxed);
  } else {
    batches_failed_.fetch_add(1, std::memory_order_relaxed);
    ops_failed_.fetch_add(batch.size(), std::memory_order_relaxed);
  }
  Publish(std::move(commit));
}

void StoreWriter::CleanUp() {
  const int64_t cutoff = options_.now_unix_us() - options_.retain.count();
  Result<size_t> removed = store_->DeleteFinishedBefore(cutoff);
  // Nothing removed is nothing to say: no wake-up for the loop.
  if (removed.ok() && *removed == 0) return;
  Commit commit;
  if (removed.ok()) {
    commit.removed_jobs = *removed;
  } else {
    commit.status = removed.status();
  }
  Publish(std::move(commit));
}

void StoreWriter::Load(JobId job) {
  Commit commit;
  Result<std::optional<StoredJob>> stored = store_->LoadJob(job);
  commit.loaded = Loaded{job, std::nullopt};
  if (stored.ok()) {
    commit.loaded->stored = std::move(*stored);
  } else {
    commit.status = stored.status();
  }
  Publish(std::move(commit));
}

void StoreWriter::Publish(Commit commit) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    commits_.push_back(std::move(commit));
  }
  const uint64_t one = 1;
  // Cannot fail but for EINTR: the counter would need 2^64 - 1 unread commits.
  while (::write(event_fd_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

}  // namespace jobd
