#include "daemon/store/store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

#include "daemon/core/task_specs.h"
#include "daemon/store/args_codec.h"
#include "daemon/store/command_codec.h"
#include "daemon/store/schema.h"
#include "daemon/store/specs_codec.h"

namespace jobd {
namespace {

// How long a statement waits for another connection's lock (a second jobd,
// the sqlite3 shell) before it fails with "database is locked".
constexpr int kBusyTimeoutMs = 5000;

Status Refuse(const std::string& path, const std::string& why) {
  return Status::Failed("store " + path + " " + why + "; refusing to touch it");
}

Status NewerVersion(const std::string& path, int64_t version) {
  return Refuse(path, "has schema version " + std::to_string(version) +
                          "; this jobd knows up to " + std::to_string(kSchemaVersion));
}

// The one integer a PRAGMA or aggregate returns.
Result<int64_t> QueryInt(sqlite3* db, const std::string& path, const char* sql) {
  Result<Statement> stmt = Statement::Prepare(db, path, sql);
  if (!stmt.ok()) return stmt.status();
  if (stmt->Step() != SQLITE_ROW) return SqliteError(db, path, sql);
  return stmt->Int(0);
}

// Checks an existing file on a read-only connection, so a file we refuse is
// never written: not by WAL setup, migrations, or a checkpoint on close.
Status CheckExisting(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, path, "open");
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);

  // Reading the header is what finds "file is not a database".
  Result<int64_t> version = QueryInt(db.get(), path, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version < 0 || *version > kSchemaVersion) return NewerVersion(path, *version);

  {
    const char* sql = "PRAGMA quick_check";
    Result<Statement> check = Statement::Prepare(db.get(), path, sql);
    if (!check.ok()) return check.status();
    const int step = check->Step();
    if (step != SQLITE_ROW) return SqliteError(db.get(), path, sql);
    std::string verdict = check->Text(0);
    if (verdict != "ok") {
      // One line for the log: "*** in database main ***\nPage 16: ..." -> "Page 16: ...".
      const std::string banner = "*** in database main ***\n";
      if (verdict.rfind(banner, 0) == 0) verdict.erase(0, banner.size());
      std::replace(verdict.begin(), verdict.end(), '\n', ' ');
      return CorruptStore(path, verdict);
    }
  }

  if (*version == 0) {
    // Version 0 is an empty file; tables mean someone else's database.
    Result<int64_t> tables = QueryInt(db.get(), path, "SELECT count(*) FROM sqlite_schema");
    if (!tables.ok()) return tables.status();
    if (*tables > 0) return Refuse(path, "is not a jobd store (schema version 0 but it has tables)");
  }
  return Status::Ok();
}

// Brings the schema to kSchemaVersion, one transaction per step. The version
// is read inside each transaction, so two processes cannot both migrate.
Status Migrate(sqlite3* db, const std::string& path) {
  while (true) {
    Status status = Exec(db, path, "BEGIN IMMEDIATE");
    if (!status.ok()) return status;
    Result<int64_t> version = QueryInt(db, path, "PRAGMA user_version");
    if (!version.ok() || *version >= kSchemaVersion || *version < 0) {
      Exec(db, path, "ROLLBACK");
      if (!version.ok()) return version.status();
      if (*version == kSchemaVersion) return Status::Ok();
      return NewerVersion(path, *version);
    }
    const int next = static_cast<int>(*version) + 1;
    const std::string set_version = "PRAGMA user_version = " + std::to_string(next);
    status = Exec(db, path, Migrations()[static_cast<size_t>(*version)]);
    if (status.ok()) status = Exec(db, path, set_version.c_str());
    if (status.ok()) status = Exec(db, path, "COMMIT");
    if (!status.ok()) {
      if (sqlite3_get_autocommit(db) == 0) Exec(db, path, "ROLLBACK");
      return Status::Failed("migrate to schema version " + std::to_string(next) + ": " +
                            status.message());
    }
  }
}

// uint64 values live in INTEGER (int64) columns; the casts are exact.
int64_t AsInt(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t AsU64(int64_t v) { return static_cast<uint64_t>(v); }
uint32_t AsU32(int64_t v) { return static_cast<uint32_t>(v); }

std::string TaskName(JobId job, uint32_t index) {
  return std::to_string(job) + "/" + std::to_string(index);
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    Status status = CheckExisting(path);
    if (!status.ok()) return status;
  } else if (errno != ENOENT) {
    return SysError("stat store", path, errno);
  }

  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, path, "open");
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);

  // WAL: a commit is one append (and fsync) to the log, and readers do not
  // block the writer.
  {
    const char* sql = "PRAGMA journal_mode = WAL";
    Result<Statement> mode = Statement::Prepare(db.get(), path, sql);
    if (!mode.ok()) return mode.status();
    if (mode->Step() != SQLITE_ROW) return SqliteError(db.get(), path, sql);
    if (mode->Text(0) != "wal") {
      return Status::Failed("store " + path + ": cannot use WAL mode (got " + mode->Text(0) + ")");
    }
  }
  // FULL, not NORMAL: in WAL mode NORMAL does not fsync the log at each
  // commit, so a power loss could undo a transaction we already reported
  // committed, i.e. a job already acknowledged to its client.
  for (const char* sql : {"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"}) {
    Status status = Exec(db.get(), path, sql);
    if (!status.ok()) return status;
  }
  Status status = Migrate(db.get(), path);
  if (!status.ok()) return status;

  std::unique_ptr<Store> store(new Store(path, std::move(db)));
  status = store->Prepare();
  if (!status.ok()) return status;
  return store;
}

Store::Store(std::string path, SqliteDb db) : path_(std::move(path)), db_(std::move(db)) {}

Store::~Store() = default;

Status Store::Prepare() {
  const std::pair<Statement*, const char*> statements[] = {
      {&insert_job_,
       "INSERT INTO jobs (id, default_task, retries, timeout_us, priority, retry_timeouts,"
       " submitted_unix_us, finished_unix_us, command, owner_uid, owner_key, tasks, run_as_uid)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"},
      {&insert_task_,
       "INSERT INTO tasks (job_id, idx, name, args, attempts, running, status, result, error,"
       " pid, duration_us, seq, command_end)"
       " VALUES (?1, ?2, '', x'', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
      // A packed job's task gets its row at its first start (or its result).
      // The SELECT makes nothing for a job not stored or stored before schema
      // version 4, whose rows the plain updates below change instead: an
      // update of a task not stored changes nothing. (Not "EXISTS (SELECT ...
      // FROM tasks)": reading the table it inserts into makes SQLite
      // materialize the SELECT first, which tripled the cost of a batch.)
      // length(tasks) tests for NULL without reading the blob.
      {&start_task_,
       "INSERT INTO tasks (job_id, idx, name, args, attempts, running)"
       " SELECT id, ?2, '', x'', ?3, 1 FROM jobs WHERE id = ?1 AND length(tasks) IS NOT NULL"
       " ON CONFLICT (job_id, idx) DO UPDATE SET attempts = excluded.attempts, running = 1"},
      {&start_row_, "UPDATE tasks SET attempts = ?3, running = 1 WHERE job_id = ?1 AND idx = ?2"},
      {&requeue_task_,
       "UPDATE tasks SET attempts = ?3, running = 0 WHERE job_id = ?1 AND idx = ?2"},
      {&finish_task_,
       "INSERT INTO tasks (job_id, idx, name, args, attempts, running, status, result, error,"
       " pid, duration_us, seq, command_end)"
       " SELECT id, ?2, '', x'', ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM jobs"
       " WHERE id = ?1 AND length(tasks) IS NOT NULL"
       " ON CONFLICT (job_id, idx) DO UPDATE SET attempts = excluded.attempts, running = 0,"
       " status = excluded.status, result = excluded.result, error = excluded.error,"
       " pid = excluded.pid, duration_us = excluded.duration_us, seq = excluded.seq,"
       " command_end = excluded.command_end"},
      {&finish_row_,
       "UPDATE tasks SET attempts = ?3, running = 0, status = ?4, result = ?5, error = ?6,"
       " pid = ?7, duration_us = ?8, seq = ?9, command_end = ?10 WHERE job_id = ?1 AND idx = ?2"},
      {&finish_job_, "UPDATE jobs SET finished_unix_us = ?2 WHERE id = ?1"},
      {&select_jobs_,
       "SELECT id, default_task, retries, timeout_us, priority, retry_timeouts,"
       " submitted_unix_us, finished_unix_us, command, owner_uid, owner_key, tasks, run_as_uid"
       " FROM jobs"
       " WHERE finished_unix_us IS NULL OR id IN (SELECT id FROM jobs"
       "   WHERE finished_unix_us IS NOT NULL"
       "   ORDER BY finished_unix_us DESC, id DESC LIMIT ?1)"
       " ORDER BY id"},
      {&select_job_,
       "SELECT id, default_task, retries, timeout_us, priority, retry_timeouts,"
       " submitted_unix_us, finished_unix_us, command, owner_uid, owner_key, tasks, run_as_uid"
       " FROM jobs"
       " WHERE id = ?1"},
      {&select_tasks_,
       "SELECT idx, name, args, attempts, running, status, result, error, pid, duration_us, seq,"
       " command_end FROM tasks WHERE job_id = ?1 ORDER BY idx"},
      {&remember_max_id_,
       "INSERT INTO meta (key, value) SELECT 'max_job_id', coalesce(max(id), 0) FROM jobs"
       " WHERE true ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)"},
      {&delete_finished_, "DELETE FROM jobs WHERE finished_unix_us < ?1"},
      {&max_job_id_,
       "SELECT max(coalesce((SELECT max(id) FROM jobs), 0),"
       " coalesce((SELECT value FROM meta WHERE key = 'max_job_id'), 0))"},
  };
  for (const auto& [stmt, sql] : statements) {
    Result<Statement> prepared = Statement::Prepare(db_.get(), path_, sql);
    if (!prepared.ok()) return prepared.status();
    *stmt = std::move(*prepared);
  }
  return Status::Ok();
}

// Steps a statement that returns no rows, then resets it. `describe` names
// the operation, and is called only on failure (it builds a string).
template <typename Describe>
Status Store::Run(Statement& stmt, Describe describe) {
  ResetOnExit reset(stmt);
  if (stmt.Step() == SQLITE_DONE) return Status::Ok();
  return SqliteError(db_.get(), path_, describe());
}

void Store::RollbackIfOpen() {
  // Some errors (SQLITE_FULL, SQLITE_IOERR) have already rolled back.
  if (sqlite3_get_autocommit(db_.get()) == 0) Exec(db_.get(), path_, "ROLLBACK");
}

Status Store::Commit() {
  Status status = Exec(db_.get(), path_, "COMMIT");
  if (!status.ok()) RollbackIfOpen();
  return status;
}

Status Store::Apply(const std::vector<StoreOp>& ops) {
  if (ops.empty()) return Status::Ok();
  Status status = Exec(db_.get(), path_, "BEGIN IMMEDIATE");
  if (!status.ok()) return status;
  // A task's final result writes every column its start or requeue would:
  // with both in one transaction, only the final one is written. Under load
  // most are (a short task's start and end are recorded within milliseconds),
  // and they are a third of the rows written.
  finished_in_batch_.clear();
  for (const StoreOp& op : ops) {
    if (const auto* finished = std::get_if<TaskFinished>(&op)) {
      finished_in_batch_.insert(TaskKey{finished->job, finished->index});
    }
  }
  for (const StoreOp& op : ops) {
    if (Superseded(op)) {
      ++superseded_;
      continue;
    }
    status = ApplyOne(op);
    if (!status.ok()) {
      RollbackIfOpen();
      return status;
    }
  }
  return Commit();
}

bool Store::Superseded(const StoreOp& op) const {
  if (finished_in_batch_.empty()) return false;
  if (const auto* started = std::get_if<TaskStarted>(&op)) {
    return finished_in_batch_.contains(TaskKey{started->job, started->index});
  }
  if (const auto* requeued = std::get_if<TaskRequeued>(&op)) {
    return finished_in_batch_.contains(TaskKey{requeued->job, requeued->index});
  }
  return false;
}

Status Store::ApplyOne(const StoreOp& op) {
  if (const auto* created = std::get_if<JobCreated>(&op)) return CreateJob(*created);

  if (const auto* started = std::get_if<TaskStarted>(&op)) {
    return WriteTask(start_task_, start_row_, started->job, started->index, "TaskStarted",
                     [&](Statement& stmt) { stmt.BindInt(3, started->attempt); });
  }
  if (const auto* requeued = std::get_if<TaskRequeued>(&op)) {
    requeue_task_.BindInt(3, requeued->attempts);
    return UpdateTask(requeue_task_, requeued->job, requeued->index, "TaskRequeued");
  }
  if (const auto* finished = std::get_if<TaskFinished>(&op)) {
    const StoredTask::Final& final = finished->final;
    const std::string command_end = final.command ? EncodeCommandEnd(*final.command) : "";
    return WriteTask(finish_task_, finish_row_, finished->job, finished->index, "TaskFinished",
                     [&](Statement& stmt) {
                       stmt.BindInt(3, finished->attempts);
                       stmt.BindInt(4, static_cast<int64_t>(final.status));
                       stmt.BindBlob(5, final.result);
                       stmt.BindBlob(6, final.error);
                       stmt.BindInt(7, final.pid);
                       stmt.BindInt(8, AsInt(final.duration_us));
                       stmt.BindInt(9, AsInt(final.seq));
                       if (final.command) {
                         stmt.BindBlob(10, command_end);
                       } else {
                         stmt.BindNull(10);
                       }
                     });
  }
  const auto& job_finished = std::get<JobFinished>(op);
  finish_job_.BindInt(1, AsInt(job_finished.job));
  finish_job_.BindInt(2, job_finished.finished_unix_us);
  return Run(finish_job_,
             [&] { return "apply JobFinished (job " + std::to_string(job_finished.job) + ")"; });
}

// The upsert for a packed job's task; if it wrote nothing, the job is from
// before packed specs (or not stored) and the plain update of its row goes.
template <typename Bind>
Status Store::WriteTask(Statement& upsert, Statement& update, JobId job, uint32_t index,
                        const char* what, Bind bind) {
  bind(upsert);
  Status status = UpdateTask(upsert, job, index, what);
  if (!status.ok() || sqlite3_changes64(db_.get()) > 0) return status;
  bind(update);
  return UpdateTask(update, job, index, what);
}

Status Store::UpdateTask(Statement& stmt, JobId job, uint32_t index, const char* what) {
  stmt.BindInt(1, AsInt(job));
  stmt.BindInt(2, index);
  return Run(stmt, [&] { return std::string("apply ") + what + " (task " + TaskName(job, index) + ")"; });
}

Status Store::CreateJob(const JobCreated& created) {
  const StoredJob& job = created.job;
  insert_job_.BindInt(1, AsInt(job.id));
  insert_job_.BindText(2, job.default_task);
  insert_job_.BindInt(3, job.retries);
  insert_job_.BindInt(4, AsInt(job.timeout_us));
  insert_job_.BindInt(5, job.priority);
  insert_job_.BindInt(6, job.retry_timeouts ? 1 : 0);
  insert_job_.BindInt(7, job.submitted_unix_us);
  if (job.finished_unix_us) {
    insert_job_.BindInt(8, *job.finished_unix_us);
  } else {
    insert_job_.BindNull(8);
  }
  const std::string command = job.command ? EncodeCommandOptions(*job.command) : "";
  if (job.command) {
    insert_job_.BindBlob(9, command);
  } else {
    insert_job_.BindNull(9);
  }
  if (job.owner.uid) {
    insert_job_.BindInt(10, *job.owner.uid);
  } else {
    insert_job_.BindNull(10);
  }
  if (!job.owner.key.empty()) {
    insert_job_.BindText(11, job.owner.key);
  } else {
    insert_job_.BindNull(11);
  }
  // Every task's name and args go in the job's row, however many tasks.
  // The supervisor's specs are read where they are, not copied.
  std::string specs;
  if (created.specs != nullptr) {
    specs = EncodeSpecs(*created.specs);
  } else {
    for (uint32_t i = 0; i < job.tasks.size(); ++i) {
      if (job.tasks[i].index != i) {
        return Status::Failed("apply JobCreated (job " + std::to_string(job.id) + "): task " +
                              std::to_string(i) + " has index " +
                              std::to_string(job.tasks[i].index) + "; tasks must be by index");
      }
    }
    specs = EncodeSpecs(job.tasks);
  }
  insert_job_.BindBlob(12, specs);
  if (job.run_as) {
    insert_job_.BindInt(13, *job.run_as);
  } else {
    insert_job_.BindNull(13);
  }
  Status status =
      Run(insert_job_, [&] { return "apply JobCreated (job " + std::to_string(job.id) + ")"; });
  if (!status.ok() || created.specs != nullptr) return status;  // specs: every task queued

  // Tasks passed with progress (a copied job) get the row a start would give them.
  for (const StoredTask& task : job.tasks) {
    if (task.attempts == 0 && !task.running && !task.finished) continue;
    status = InsertTask(job.id, task);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

// The row of a task that has started; its name and args are in the job's specs.
Status Store::InsertTask(JobId job, const StoredTask& task) {
  insert_task_.BindInt(1, AsInt(job));
  insert_task_.BindInt(2, task.index);
  insert_task_.BindInt(3, task.attempts);
  insert_task_.BindInt(4, task.running ? 1 : 0);
  std::string command_end;  // outlives the Step (bindings are not copied)
  if (task.finished) {
    const StoredTask::Final& final = *task.finished;
    insert_task_.BindInt(5, static_cast<int64_t>(final.status));
    insert_task_.BindBlob(6, final.result);
    insert_task_.BindBlob(7, final.error);
    insert_task_.BindInt(8, final.pid);
    insert_task_.BindInt(9, AsInt(final.duration_us));
    insert_task_.BindInt(10, AsInt(final.seq));
    if (final.command) {
      command_end = EncodeCommandEnd(*final.command);
      insert_task_.BindBlob(11, command_end);
    }
  }  // else NULLs: Reset cleared the bindings
  return Run(insert_task_,
             [&] { return "apply JobCreated (task " + TaskName(job, task.index) + ")"; });
}

Result<StoredJob> Store::ReadJobRow(Statement& stmt, bool& packed) {
  StoredJob job;
  job.id = AsU64(stmt.Int(0));
  job.default_task = stmt.Text(1);
  job.retries = AsU32(stmt.Int(2));
  job.timeout_us = AsU64(stmt.Int(3));
  job.priority = static_cast<int32_t>(stmt.Int(4));
  job.retry_timeouts = stmt.Int(5) != 0;
  job.submitted_unix_us = stmt.Int(6);
  if (!stmt.IsNull(7)) job.finished_unix_us = stmt.Int(7);
  if (!stmt.IsNull(8)) {
    job.command = DecodeCommandOptions(stmt.Text(8));
    if (!job.command) {
      return CorruptStore(path_, "job " + std::to_string(job.id) + " has malformed command options");
    }
  }
  // Both NULL: stored before owners were (schema version 2 or older).
  if (!stmt.IsNull(9)) job.owner.uid = static_cast<uint32_t>(stmt.Int(9));
  if (!stmt.IsNull(10)) job.owner.key = stmt.Text(10);
  // NULL: stored before packed specs (schema version 3 or older); the task
  // rows hold every task.
  packed = !stmt.IsNull(11);
  if (packed) {
    std::optional<std::vector<StoredTask>> tasks = DecodeSpecs(stmt.Text(11));
    if (!tasks) {
      return CorruptStore(path_, "job " + std::to_string(job.id) + " has malformed task specs");
    }
    job.tasks = std::move(*tasks);
  }
  // NULL: a key with no account, or stored before schema version 5.
  if (!stmt.IsNull(12)) job.run_as = static_cast<uint32_t>(stmt.Int(12));
  return job;
}

Status Store::ReadTasks(StoredJob& job, bool packed) {
  ResetOnExit reset(select_tasks_);
  select_tasks_.BindInt(1, AsInt(job.id));
  int rc;
  while ((rc = select_tasks_.Step()) == SQLITE_ROW) {
    const uint32_t index = AsU32(select_tasks_.Int(0));
    if (packed && index >= job.tasks.size()) {
      continue;  // an update of a task the job does not have: it changes nothing
    }
    // A packed job's tasks are all there, queued: a row adds its progress.
    StoredTask& task = packed ? job.tasks[index] : job.tasks.emplace_back();
    if (!packed) {
      task.index = index;
      task.name = select_tasks_.Text(1);
      std::optional<std::vector<std::string>> args = DecodeArgs(select_tasks_.Text(2));
      if (!args) {
        return CorruptStore(path_, "task " + TaskName(job.id, task.index) + " has malformed args");
      }
      task.args = std::move(*args);
    }
    task.attempts = AsU32(select_tasks_.Int(3));
    task.running = select_tasks_.Int(4) != 0;
    if (!select_tasks_.IsNull(5)) {
      const int64_t code = select_tasks_.Int(5);
      if (code < 0 || code > static_cast<int64_t>(TaskStatus::kCancelled)) {
        return Status::Failed("store " + path_ + ": task " + TaskName(job.id, task.index) +
                              " has unknown status " + std::to_string(code));
      }
      StoredTask::Final& final = task.finished.emplace();
      final.status = static_cast<TaskStatus>(code);
      final.result = select_tasks_.Text(6);
      final.error = select_tasks_.Text(7);
      final.pid = static_cast<int32_t>(select_tasks_.Int(8));
      final.duration_us = AsU64(select_tasks_.Int(9));
      final.seq = AsU64(select_tasks_.Int(10));
      if (!select_tasks_.IsNull(11)) {
        final.command = DecodeCommandEnd(select_tasks_.Text(11));
        if (!final.command) {
          return CorruptStore(path_, "task " + TaskName(job.id, task.index) +
                                         " has a malformed command end");
        }
      }
    }
  }
  if (rc != SQLITE_DONE) {
    return SqliteError(db_.get(), path_, "load tasks of job " + std::to_string(job.id));
  }
  return Status::Ok();
}

Result<std::vector<StoredJob>> Store::LoadJobs(size_t max_finished_jobs) {
  // One read transaction: jobs and tasks from the same snapshot.
  Status status = Exec(db_.get(), path_, "BEGIN");
  if (!status.ok()) return status;
  std::vector<StoredJob> jobs;
  std::vector<bool> packed;  // per job: see ReadJobRow
  {
    ResetOnExit reset(select_jobs_);
    const auto max_int = static_cast<size_t>(std::numeric_limits<int64_t>::max());
    select_jobs_.BindInt(1, static_cast<int64_t>(std::min(max_finished_jobs, max_int)));
    int rc;
    while ((rc = select_jobs_.Step()) == SQLITE_ROW) {
      bool job_packed = false;
      Result<StoredJob> job = ReadJobRow(select_jobs_, job_packed);
      if (!job.ok()) {
        RollbackIfOpen();
        return job.status();
      }
      jobs.push_back(std::move(*job));
      packed.push_back(job_packed);
    }
    if (rc != SQLITE_DONE) {
      Status error = SqliteError(db_.get(), path_, "load jobs");
      RollbackIfOpen();
      return error;
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    status = ReadTasks(jobs[i], packed[i]);
    if (!status.ok()) {
      RollbackIfOpen();
      return status;
    }
  }
  status = Commit();
  if (!status.ok()) return status;
  return jobs;
}

Result<std::optional<StoredJob>> Store::LoadJob(JobId id) {
  Status status = Exec(db_.get(), path_, "BEGIN");
  if (!status.ok()) return status;
  std::optional<StoredJob> job;
  bool packed = false;
  {
    ResetOnExit reset(select_job_);
    select_job_.BindInt(1, AsInt(id));
    const int rc = select_job_.Step();
    if (rc == SQLITE_ROW) {
      Result<StoredJob> row = ReadJobRow(select_job_, packed);
      if (!row.ok()) {
        RollbackIfOpen();
        return row.status();
      }
      job = std::move(*row);
    } else if (rc != SQLITE_DONE) {
      Status error = SqliteError(db_.get(), path_, "load job " + std::to_string(id));
      RollbackIfOpen();
      return error;
    }
  }
  if (job) status = ReadTasks(*job, packed);
  if (!status.ok()) {
    RollbackIfOpen();
    return status;
  }
  status = Commit();
  if (!status.ok()) return status;
  return job;
}

Result<size_t> Store::DeleteFinishedBefore(int64_t unix_us) {
  Status status = Exec(db_.get(), path_, "BEGIN IMMEDIATE");
  if (!status.ok()) return status;
  // Remember the largest id first, in case the newest jobs are the ones going.
  status = Run(remember_max_id_, [] { return std::string("remember max job id"); });
  if (status.ok()) {
    delete_finished_.BindInt(1, unix_us);
    status = Run(delete_finished_, [] { return std::string("delete finished jobs"); });
  }
  // Counts the jobs only: cascaded task deletions are not "changes".
  const auto removed = static_cast<size_t>(sqlite3_changes64(db_.get()));
  if (!status.ok()) {
    RollbackIfOpen();
    return status;
  }
  status = Commit();
  if (!status.ok()) return status;
  return removed;
}

Result<JobId> Store::MaxJobId() {
  ResetOnExit reset(max_job_id_);
  if (max_job_id_.Step() != SQLITE_ROW) return SqliteError(db_.get(), path_, "read max job id");
  return AsU64(max_job_id_.Int(0));
}

Status Store::TEST_SetMaxPageCount(uint32_t pages) {
  const std::string sql = "PRAGMA max_page_count = " + std::to_string(pages);
  return Exec(db_.get(), path_, sql.c_str());
}

}  // namespace jobd
