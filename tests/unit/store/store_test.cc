#include "daemon/store/store.h"
#include "daemon/store/schema.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/core/task_specs.h"
#include "tests/unit/store/store_test_util.h"

namespace jobd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr size_t kAll = std::numeric_limits<size_t>::max();

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : path_(dir_.File("jobd.db")) { Reopen(); }

  // Closes the store (a clean shutdown) and opens the file again.
  void Reopen() {
    store_.reset();
    Result<std::unique_ptr<Store>> store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }

  void Apply(std::vector<StoreOp> ops) {
    Status status = store_->Apply(ops);
    ASSERT_TRUE(status.ok()) << status.message();
  }

  std::vector<StoredJob> Load(size_t max_finished = kAll) {
    Result<std::vector<StoredJob>> jobs = store_->LoadJobs(max_finished);
    EXPECT_TRUE(jobs.ok()) << jobs.status().message();
    return jobs.ok() ? std::move(*jobs) : std::vector<StoredJob>{};
  }

  void CreateFinished(JobId id, int64_t finished_unix_us, uint32_t tasks = 2) {
    Apply({JobCreated{MakeJob(id, tasks)}, JobFinished{id, finished_unix_us}});
  }

  // Counts rows with a separate connection, as a check independent of Store.
  int64_t CountRows(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    const int64_t count = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return count;
  }

  // Runs SQL with a separate connection, as another program would.
  void RunSql(const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  TempDir dir_;
  const std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, NewStoreIsEmpty) {
  EXPECT_THAT(Load(), IsEmpty());
  EXPECT_EQ(CountRows("PRAGMA user_version"), kSchemaVersion);
}

// The supervisor's JobCreated: the tasks come from the job's specs, and are
// stored exactly as the same tasks passed as StoredTasks would be.
TEST_F(StoreTest, JobCreatedFromSpecsStoresTheSameRowsAsFromTasks) {
  StoredJob job = MakeJob(4, 3);
  job.tasks[1].name = "shell";
  job.tasks[1].args = {"two words", "", "tab\tand\nnewline"};
  job.tasks[2].args = {};
  StoredJob settings = job;
  settings.tasks.clear();
  Apply({JobCreated(settings, TaskSpecs::FromStored(job))});
  Reopen();
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  ExpectSameJob(loaded[0], job);
}

// A new job is one row: its tasks get rows of their own once they start.
TEST_F(StoreTest, AJobFromSpecsHasNoTaskRowsUntilATaskStarts) {
  StoredJob job = MakeJob(4, 4);
  job.tasks[3].name = "shell";
  job.tasks[3].args = {"a b", ""};
  StoredJob settings = job;
  settings.tasks.clear();
  Apply({JobCreated(settings, TaskSpecs::FromStored(job))});
  EXPECT_EQ(CountRows("SELECT count(*) FROM tasks"), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM jobs WHERE tasks IS NOT NULL"), 1);

  const StoredTask::Final final{TaskStatus::kOk, "r", "", 5, 6, 0, std::nullopt};
  Apply({TaskStarted{4, 1, 1}});
  EXPECT_EQ(CountRows("SELECT count(*) FROM tasks"), 1);
  Apply({TaskStarted{4, 2, 1}, TaskFinished{4, 1, 1, final}, TaskStarted{4, 3, 1},
         TaskRequeued{4, 3, 1}});
  EXPECT_EQ(CountRows("SELECT count(*) FROM tasks"), 3);  // task 0 never started

  Reopen();
  job.tasks[1].attempts = 1;
  job.tasks[1].finished = final;
  job.tasks[2].attempts = 1;
  job.tasks[2].running = true;
  job.tasks[3].attempts = 1;  // requeued
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  ExpectSameJob(loaded[0], job);
  Result<std::optional<StoredJob>> one = store_->LoadJob(4);
  ASSERT_TRUE(one.ok() && one->has_value()) << one.status().message();
  ExpectSameJob(**one, job);
}

// Tasks passed with progress of their own (a copied job) keep it.
TEST_F(StoreTest, AJobCreatedWithStartedAndFinishedTasksKeepsThem) {
  StoredJob job = MakeJob(2, 3);
  job.tasks[0].attempts = 2;
  job.tasks[0].running = true;
  job.tasks[2].attempts = 1;
  job.tasks[2].finished = StoredTask::Final{TaskStatus::kFailed, "", "e", 7, 8, 0,
                                            CommandEnd{1, 0, 10, 20, false, false}};
  Apply({JobCreated{job}});
  EXPECT_EQ(CountRows("SELECT count(*) FROM tasks"), 2);
  Reopen();
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  ExpectSameJob(loaded[0], job);
}

TEST_F(StoreTest, RoundTripsAJobThroughItsWholeLife) {
  StoredJob job;
  job.id = 7;
  job.default_task = "echo";
  job.retries = 3;
  job.timeout_us = 2'500'000;
  job.priority = -4;
  job.retry_timeouts = true;
  job.submitted_unix_us = 1'700'000'000'123'456;
  job.command = CommandOptions{"/some dir", {"A=1", "B=two words"}, "in.txt", 4096, 1 << 30,
                               2'000'000};
  job.tasks.resize(3);
  job.tasks[0].index = 0;
  job.tasks[0].name = "shell";
  job.tasks[0].args = {"hello world", "say \"hi\" 'there'", "tab\tand\nnewline", "ünïcødé ✓", ""};
  job.tasks[1].index = 1;  // no name, no args
  job.tasks[2].index = 2;
  job.tasks[2].name = "sleep";
  job.tasks[2].args = {"10ms"};
  Apply({JobCreated{job}});
  Reopen();
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  ExpectSameJob(loaded[0], job);

  // Task 1 is requeued once (its worker crashed) and then crashes for good.
  const StoredTask::Final final0{TaskStatus::kOk, "result with \"quotes\"", "", 1234, 5678, 0,
                                 CommandEnd{0, 0, 1500, 4096, true, false}};
  const StoredTask::Final final1{TaskStatus::kCrashed, "", "killed by signal 9", 99, 10, 2, std::nullopt};
  const StoredTask::Final final2{TaskStatus::kTimeout, "", "timed out", 77, 2'500'000, 1, std::nullopt};
  Apply({TaskStarted{7, 0, 1}, TaskStarted{7, 1, 1}, TaskFinished{7, 0, 1, final0},
         TaskRequeued{7, 1, 1}});
  Reopen();
  loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  job.tasks[0].attempts = 1;
  job.tasks[0].finished = final0;
  job.tasks[1].attempts = 1;  // requeued: not running, attempt counted
  ExpectSameJob(loaded[0], job);

  Apply({TaskStarted{7, 2, 1}, TaskStarted{7, 1, 2}, TaskFinished{7, 2, 1, final2},
         TaskFinished{7, 1, 2, final1}, JobFinished{7, 1'700'000'000'999'999}});
  Reopen();
  loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  job.tasks[1].attempts = 2;
  job.tasks[1].finished = final1;
  job.tasks[2].attempts = 1;
  job.tasks[2].finished = final2;
  job.finished_unix_us = 1'700'000'000'999'999;
  ExpectSameJob(loaded[0], job);
}

TEST_F(StoreTest, AStartFinishedInTheSameApplyIsNotWrittenAndLoadsTheSame) {
  const StoredTask::Final final{TaskStatus::kOk, "r", "", 5, 6, 0, std::nullopt};
  Apply({JobCreated{MakeJob(1, 3)}, TaskStarted{1, 0, 1}, TaskStarted{1, 1, 1},
         TaskRequeued{1, 1, 1}, TaskStarted{1, 1, 2}, TaskStarted{1, 2, 1},
         TaskFinished{1, 1, 2, final}});
  EXPECT_EQ(store_->superseded_updates(), 3u);  // task 1's starts and requeue
  Reopen();
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  ASSERT_EQ(loaded[0].tasks.size(), 3u);
  EXPECT_TRUE(loaded[0].tasks[0].running);
  EXPECT_TRUE(loaded[0].tasks[2].running);
  EXPECT_FALSE(loaded[0].tasks[1].running);
  EXPECT_EQ(loaded[0].tasks[1].attempts, 2u);
  ASSERT_TRUE(loaded[0].tasks[1].finished.has_value());
  EXPECT_EQ(loaded[0].tasks[1].finished->result, "r");
}

TEST_F(StoreTest, StartedTaskLoadsAsRunning) {
  Apply({JobCreated{MakeJob(1, 3)}, TaskStarted{1, 1, 1}, TaskRequeued{1, 1, 1},
         TaskStarted{1, 1, 2}});
  Reopen();
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  ASSERT_EQ(loaded[0].tasks.size(), 3u);
  EXPECT_TRUE(loaded[0].tasks[1].running);
  EXPECT_EQ(loaded[0].tasks[1].attempts, 2u);
  EXPECT_FALSE(loaded[0].tasks[1].finished.has_value());
  EXPECT_FALSE(loaded[0].tasks[0].running);
  EXPECT_EQ(loaded[0].tasks[0].attempts, 0u);
  EXPECT_FALSE(loaded[0].finished_unix_us.has_value());
}

TEST_F(StoreTest, LoadKeepsNewestFinishedJobsAndAllUnfinished) {
  CreateFinished(1, 500);
  CreateFinished(2, 100);
  Apply({JobCreated{MakeJob(3)}});
  CreateFinished(4, 300);
  CreateFinished(5, 200);
  Apply({JobCreated{MakeJob(6)}});

  EXPECT_THAT(Ids(Load(2)), ElementsAre(1, 3, 4, 6));
  EXPECT_THAT(Ids(Load(0)), ElementsAre(3, 6));
  EXPECT_THAT(Ids(Load(3)), ElementsAre(1, 3, 4, 5, 6));
  EXPECT_THAT(Ids(Load(kAll)), ElementsAre(1, 2, 3, 4, 5, 6));
  for (const StoredJob& job : Load(2)) EXPECT_EQ(job.tasks.size(), job.finished_unix_us ? 2u : 1u);
}

TEST_F(StoreTest, DeleteFinishedBeforeRemovesOldFinishedJobsAndTheirTasksOnly) {
  const StoredTask::Final final{TaskStatus::kOk, "r", "", 5, 6, 0, std::nullopt};
  CreateFinished(1, 100);
  CreateFinished(2, 200);
  Apply({JobCreated{MakeJob(3, 4)}});
  CreateFinished(4, 300);
  // Task rows exist once tasks have started: two each for jobs 1 and 4.
  for (JobId id : {1, 4}) {
    Apply({TaskFinished{id, 0, 1, final}, TaskFinished{id, 1, 1, final}});
  }
  Apply({TaskStarted{3, 2, 1}});

  Result<size_t> removed = store_->DeleteFinishedBefore(250);
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_EQ(*removed, 2u);
  std::vector<StoredJob> loaded = Load();
  EXPECT_THAT(Ids(loaded), ElementsAre(3, 4));
  EXPECT_EQ(loaded[0].tasks.size(), 4u);
  EXPECT_EQ(loaded[1].tasks.size(), 2u);
  EXPECT_EQ(CountRows("SELECT count(*) FROM tasks WHERE job_id IN (1, 2)"), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM tasks"), 3);

  removed = store_->DeleteFinishedBefore(250);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 0u);
}

TEST_F(StoreTest, MaxJobIdSurvivesDeletionAndRestart) {
  Result<JobId> max = store_->MaxJobId();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 0u);

  Apply({JobCreated{MakeJob(3)}, JobCreated{MakeJob(9)}, JobCreated{MakeJob(5)}});
  max = store_->MaxJobId();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 9u);

  // The newest job finishes and is deleted: its id must not come back.
  Apply({JobFinished{9, 100}, JobFinished{5, 100}, JobFinished{3, 100}});
  ASSERT_TRUE(store_->DeleteFinishedBefore(1000).ok());
  EXPECT_THAT(Load(), IsEmpty());
  Reopen();
  max = store_->MaxJobId();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 9u);
}

TEST_F(StoreTest, ApplyIsAllOrNothing) {
  Apply({JobCreated{MakeJob(1, 2)}});
  const StoredTask::Final final{TaskStatus::kOk, "r", "", 1, 1, 0, std::nullopt};
  // The last op fails (job 1 exists): job 2 and the updates of job 1 go too.
  Status status = store_->Apply({JobCreated{MakeJob(2, 5)}, TaskStarted{1, 0, 1},
                                 TaskFinished{1, 0, 1, final}, JobFinished{1, 100},
                                 JobCreated{MakeJob(1)}});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(path_));
  EXPECT_THAT(status.message(), HasSubstr("JobCreated (job 1)"));
  EXPECT_THAT(status.message(), HasSubstr("UNIQUE"));

  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  ExpectSameJob(loaded[0], MakeJob(1, 2));
  // Job 1's queued tasks have no rows; its rolled-back updates wrote none.
  EXPECT_EQ(CountRows("SELECT count(*) FROM tasks"), 0);

  // The failed transaction was rolled back, not left open.
  Apply({JobCreated{MakeJob(2)}});
  Reopen();
  EXPECT_THAT(Ids(Load()), ElementsAre(1, 2));
}

TEST_F(StoreTest, UpdatesOfUnknownJobsChangeNothing) {
  // Their JobCreated may have failed; they must not fail a batch.
  Apply({TaskStarted{42, 0, 1}, TaskRequeued{42, 0, 1},
         TaskFinished{42, 0, 1, StoredTask::Final{}}, JobFinished{42, 5},
         JobCreated{MakeJob(1)}, TaskStarted{1, 7, 1}});
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  ExpectSameJob(loaded[0], MakeJob(1));
}

TEST_F(StoreTest, CommittedOpsSurviveACrash) {
  store_.reset();
  // A child commits and dies without closing: its WAL is left, uncheckpointed.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Result<std::unique_ptr<Store>> store = Store::Open(path_);
    const bool ok = store.ok() && (*store)->Apply({JobCreated{MakeJob(5, 3)}}).ok();
    ::_exit(ok ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  EXPECT_GT(std::filesystem::file_size(path_ + "-wal"), 0u);
  Reopen();
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  ExpectSameJob(loaded[0], MakeJob(5, 3));
}

TEST_F(StoreTest, MalformedArgsAreReportedNotLoaded) {
  Apply({JobCreated{MakeJob(1)}});
  // A job as stored before schema version 4: its tasks' args in their rows.
  RunSql(
      "UPDATE jobs SET tasks = NULL;"
      "INSERT INTO tasks (job_id, idx, name, args, attempts, running)"
      " VALUES (1, 0, '', x'05000000ab', 0, 0)");
  Result<std::vector<StoredJob>> jobs = store_->LoadJobs(kAll);
  ASSERT_FALSE(jobs.ok());
  EXPECT_EQ(jobs.status().message(), "store " + path_ +
                                         " is corrupt (task 1/0 has malformed args); move it "
                                         "away to start with an empty store");
  Apply({JobCreated{MakeJob(2)}});  // the read transaction was closed
}

TEST_F(StoreTest, MalformedTaskSpecsAreReportedNotLoaded) {
  Apply({JobCreated{MakeJob(1)}});
  RunSql("UPDATE jobs SET tasks = x'0105000000ab'");
  const std::string expected = "store " + path_ +
                               " is corrupt (job 1 has malformed task specs); move it away to "
                               "start with an empty store";
  Result<std::vector<StoredJob>> jobs = store_->LoadJobs(kAll);
  ASSERT_FALSE(jobs.ok());
  EXPECT_EQ(jobs.status().message(), expected);
  Result<std::optional<StoredJob>> job = store_->LoadJob(1);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message(), expected);
  Apply({JobCreated{MakeJob(2)}});  // the read transactions were closed
}

TEST_F(StoreTest, EmptyApplyIsOk) { Apply({}); }

TEST_F(StoreTest, OpenFilesAreCloseOnExec) {
  Apply({JobCreated{MakeJob(1)}});
  ASSERT_EQ(Load().size(), 1u);
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::filesystem::path target = std::filesystem::read_symlink(entry.path(), ec);
    if (ec || target.string().rfind(dir_.path(), 0) != 0) continue;
    const int fd = std::stoi(entry.path().filename().string());
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // the directory iterator's own fd, already closed
    ++seen;
    EXPECT_TRUE(flags & FD_CLOEXEC) << target;
  }
  EXPECT_GE(seen, 1);  // the database itself, and its -wal and -shm
}

// A measurement, not an assertion: one submission of 100,000 tasks.
TEST_F(StoreTest, MeasureJobCreatedOf100kTasks) {
  constexpr uint32_t kTasks = 100'000;
  StoredJob job = MakeJob(1, kTasks);
  for (StoredTask& task : job.tasks) task.args = {"--size", "1024", "some argument"};
  using SteadyTime = std::chrono::steady_clock;
  const auto start = SteadyTime::now();
  Apply({JobCreated{std::move(job)}});
  const auto applied = SteadyTime::now();
  std::vector<StoredJob> loaded = Load();
  const auto loaded_at = SteadyTime::now();
  ASSERT_EQ(loaded.size(), 1u);
  ASSERT_EQ(loaded[0].tasks.size(), kTasks);
  auto ms = [](SteadyTime::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  std::printf("[ measure  ] Apply(JobCreated of %u tasks): %.1f ms; LoadJobs: %.1f ms; file %ju KiB\n",
              kTasks, ms(applied - start), ms(loaded_at - applied),
              static_cast<uintmax_t>(std::filesystem::file_size(path_) +
                                     std::filesystem::file_size(path_ + "-wal")) / 1024);
}

}  // namespace
}  // namespace jobd

namespace jobd {
namespace {

TEST_F(StoreTest, LoadJobReadsOneJobOrNone) {
  CreateFinished(5, 1000, 3);
  Apply({JobCreated{MakeJob(6, 1)}});
  Result<std::optional<StoredJob>> five = store_->LoadJob(5);
  ASSERT_TRUE(five.ok()) << five.status().message();
  ASSERT_TRUE(five->has_value());
  EXPECT_EQ((*five)->id, 5u);
  EXPECT_EQ((*five)->tasks.size(), 3u);
  EXPECT_EQ((*five)->finished_unix_us, 1000);
  Result<std::optional<StoredJob>> none = store_->LoadJob(99);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(StoreTest, KeepsWhoSubmittedEachJob) {
  StoredJob local = MakeJob(1);
  local.owner.uid = 1000;
  StoredJob root = MakeJob(2);
  root.owner.uid = 0;  // uid 0 is an owner, not "none"
  StoredJob remote = MakeJob(3);
  remote.owner.key = "alice@build-1";
  const StoredJob unknown = MakeJob(4);
  Apply({JobCreated{local}, JobCreated{root}, JobCreated{remote}, JobCreated{unknown},
         JobFinished{3, 1000}});
  Reopen();
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 4u);
  ExpectSameJob(loaded[0], local);
  ExpectSameJob(loaded[1], root);
  remote.finished_unix_us = 1000;
  ExpectSameJob(loaded[2], remote);
  ExpectSameJob(loaded[3], unknown);
  EXPECT_FALSE(loaded[3].owner.known());

  Result<std::optional<StoredJob>> one = store_->LoadJob(3);
  ASSERT_TRUE(one.ok() && one->has_value()) << one.status().message();
  EXPECT_EQ((*one)->owner, remote.owner);
  EXPECT_EQ(CountRows("SELECT count(*) FROM jobs WHERE owner_uid IS NULL AND owner_key IS NULL"),
            1);
}

TEST_F(StoreTest, KeepsTheAccountEachJobRunsAs) {
  StoredJob local = MakeJob(1);
  local.owner.uid = 1000;
  local.run_as = 1000;
  StoredJob root = MakeJob(2);
  root.run_as = 0;  // uid 0 is an account, not "none"
  StoredJob keyed = MakeJob(3);
  keyed.owner.key = "ci";
  keyed.run_as = 4242;  // the account its key maps to
  StoredJob builtin_only = MakeJob(4);
  builtin_only.owner.key = "guest";  // a key with no account
  Apply({JobCreated{local}, JobCreated{root}, JobCreated{keyed}, JobCreated{builtin_only}});
  Reopen();
  std::vector<StoredJob> loaded = Load();
  ASSERT_EQ(loaded.size(), 4u);
  ExpectSameJob(loaded[0], local);
  ExpectSameJob(loaded[1], root);
  ExpectSameJob(loaded[2], keyed);
  ExpectSameJob(loaded[3], builtin_only);
  EXPECT_FALSE(loaded[3].run_as.has_value());

  Result<std::optional<StoredJob>> one = store_->LoadJob(3);
  ASSERT_TRUE(one.ok() && one->has_value()) << one.status().message();
  EXPECT_EQ((*one)->run_as, std::optional<uint32_t>(4242));
  EXPECT_EQ(CountRows("SELECT count(*) FROM jobs WHERE run_as_uid IS NULL"), 1);
}

}  // namespace
}  // namespace jobd
