// The durable store: jobs and their tasks in one SQLite file, so that a
// restarted jobd knows every accepted job. See daemon/core/store_ops.h.
//
// Not thread safe: one thread at a time uses a Store (the StoreWriter's, once
// it has been handed over). Every failure is a Status naming the operation and
// the file; nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "daemon/core/store_ops.h"
#include "daemon/store/sqlite.h"
#include "util/status.h"

namespace jobd {

class Store {
 public:
  // Opens the store at `path`, creating the file (not its directory) if it is
  // missing, and brings its schema up to date. Refuses, leaving the file
  // untouched, a file that is corrupt, not a jobd store, or of a newer schema.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies `ops` in order in one transaction: all of them or none. An update
  // of a task or job that is not stored changes nothing and is not an error
  // (its JobCreated may have failed; that must not fail other jobs' ops).
  Status Apply(const std::vector<StoreOp>& ops);

  // Every unfinished job and the newest `max_finished_jobs` finished ones
  // (by finish time), with all their tasks by index, ordered by job id.
  Result<std::vector<StoredJob>> LoadJobs(size_t max_finished_jobs);

  // One job with all its tasks, or none if the store does not hold it.
  Result<std::optional<StoredJob>> LoadJob(JobId id);

  // Removes the jobs (and their tasks) that finished before `unix_us`.
  // Returns how many jobs.
  Result<size_t> DeleteFinishedBefore(int64_t unix_us);

  // The largest job id ever stored, even if since deleted; 0 for none.
  Result<JobId> MaxJobId();

  const std::string& path() const { return path_; }
  // Task starts and requeues not written because their task's final result
  // came in the same Apply.
  uint64_t superseded_updates() const { return superseded_; }

  // Caps the file at `pages` pages, so tests can make writes fail as on a full
  // disk (SQLITE_FULL).
  Status TEST_SetMaxPageCount(uint32_t pages);

 private:
  Store(std::string path, SqliteDb db);
  Status Prepare();
  template <typename Describe>
  Status Run(Statement& stmt, Describe describe);
  // A task's start or requeue that a TaskFinished later in the same batch
  // overwrites.
  bool Superseded(const StoreOp& op) const;
  using TaskKey = std::pair<JobId, uint32_t>;
  struct TaskKeyHash {
    size_t operator()(const TaskKey& key) const {
      return std::hash<uint64_t>()(key.first * 0x9E3779B97F4A7C15ULL ^ key.second);
    }
  };
  Status ApplyOne(const StoreOp& op);
  Status CreateJob(const JobCreated& created);
  Status InsertTask(JobId job, const StoredTask& task);
  template <typename Bind>
  Status WriteTask(Statement& upsert, Statement& update, JobId job, uint32_t index,
                   const char* what, Bind bind);
  Status UpdateTask(Statement& stmt, JobId job, uint32_t index, const char* what);
  Status Commit();
  // Reads the current row of a job query (the columns of select_jobs_).
  // `packed`: its tasks came from the row's specs, and task rows add progress.
  Result<StoredJob> ReadJobRow(Statement& stmt, bool& packed);
  Status ReadTasks(StoredJob& job, bool packed);
  void RollbackIfOpen();

  const std::string path_;
  SqliteDb db_;
  // Prepared once, reused for every op (after db_: finalized before it closes).
  std::unordered_set<TaskKey, TaskKeyHash> finished_in_batch_;  // for Superseded
  uint64_t superseded_ = 0;
  Statement insert_job_;
  Statement insert_task_;
  Statement start_task_;  // upserts for packed jobs' tasks
  Statement start_row_;   // updates of rows of jobs from before packed specs
  Statement requeue_task_;
  Statement finish_task_;
  Statement finish_row_;
  Statement finish_job_;
  Statement select_jobs_;
  Statement select_tasks_;
  Statement select_job_;
  Statement remember_max_id_;
  Statement delete_finished_;
  Statement max_job_id_;
};

}  // namespace jobd
