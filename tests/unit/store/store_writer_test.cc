#include "daemon/store/store_writer.h"

#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/store/store_test_util.h"

namespace jobd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Commit = StoreWriter::Commit;

constexpr auto kWaitLimit = std::chrono::seconds(30);

class StoreWriterTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> OpenStore() {
    Result<std::unique_ptr<Store>> store = Store::Open(path_);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(*store) : nullptr;
  }

  void StartWriter(std::unique_ptr<Store> store, StoreWriter::Options options = {}) {
    Result<std::unique_ptr<StoreWriter>> writer =
        StoreWriter::Start(std::move(store), std::move(options));
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    writer_ = std::move(*writer);
  }

  // Takes Commits, waiting on the eventfd as the event loop would, until
  // `done` holds for all taken so far. Fails after kWaitLimit.
  std::vector<Commit> WaitForCommits(const std::function<bool(const std::vector<Commit>&)>& done) {
    std::vector<Commit> commits;
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    while (!done(commits)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ADD_FAILURE() << "timed out waiting for commits; have " << commits.size();
        break;
      }
      pollfd pfd{writer_->fd(), POLLIN, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno != EINTR) {
        ADD_FAILURE() << "poll: " << errno;
        break;
      }
      for (Commit& commit : writer_->TakeCommits()) commits.push_back(std::move(commit));
    }
    return commits;
  }

  std::vector<Commit> WaitForOps(size_t ops) {
    return WaitForCommits([ops](const std::vector<Commit>& commits) {
      size_t n = 0;
      for (const Commit& c : commits) n += c.ops;
      return n >= ops;
    });
  }

  std::vector<StoredJob> LoadReopened() {
    writer_.reset();
    std::unique_ptr<Store> store = OpenStore();
    if (store == nullptr) return {};
    Result<std::vector<StoredJob>> jobs = store->LoadJobs(std::numeric_limits<size_t>::max());
    EXPECT_TRUE(jobs.ok()) << jobs.status().message();
    return jobs.ok() ? std::move(*jobs) : std::vector<StoredJob>{};
  }

  TempDir dir_;
  const std::string path_ = dir_.File("jobd.db");
  std::unique_ptr<StoreWriter> writer_;
};

TEST_F(StoreWriterTest, GroupsOpsIntoFewTransactions) {
  StartWriter(OpenStore());
  constexpr JobId kJobs = 250;  // four ops each: 1000 ops
  const StoredTask::Final final{TaskStatus::kOk, "done", "", 10, 20, 0, std::nullopt};
  for (JobId id = 1; id <= kJobs; ++id) {
    writer_->Enqueue(JobCreated{MakeJob(id)});
    writer_->Enqueue(TaskStarted{id, 0, 1});
    writer_->Enqueue(TaskFinished{id, 0, 1, final});
    writer_->Enqueue(JobFinished{id, 1000 + static_cast<int64_t>(id)});
  }
  std::vector<Commit> commits = WaitForOps(4 * kJobs);

  std::vector<JobId> created;
  for (const Commit& commit : commits) {
    EXPECT_TRUE(commit.status.ok()) << commit.status.message();
    created.insert(created.end(), commit.jobs_created.begin(), commit.jobs_created.end());
  }
  ASSERT_EQ(created.size(), kJobs);
  for (JobId id = 1; id <= kJobs; ++id) EXPECT_EQ(created[id - 1], id);

  const StoreWriter::Stats stats = writer_->stats();
  EXPECT_EQ(stats.ops_committed, 4 * kJobs);
  EXPECT_EQ(stats.batches_committed, commits.size());
  EXPECT_LT(stats.batches_committed, 4 * kJobs);
  EXPECT_EQ(stats.batches_failed, 0u);
  std::printf("[ measure  ] %ju ops in %ju transactions\n",
              static_cast<uintmax_t>(stats.ops_committed),
              static_cast<uintmax_t>(stats.batches_committed));

  std::vector<StoredJob> jobs = LoadReopened();
  ASSERT_EQ(jobs.size(), kJobs);
  for (const StoredJob& job : jobs) {
    EXPECT_EQ(job.finished_unix_us, 1000 + static_cast<int64_t>(job.id));
    ASSERT_EQ(job.tasks.size(), 1u);
    ASSERT_TRUE(job.tasks[0].finished.has_value());
    EXPECT_EQ(job.tasks[0].finished->result, "done");
  }
}

TEST_F(StoreWriterTest, OpsQueuedTogetherKeepTheirOrderAmongSingleOnes) {
  StartWriter(OpenStore());
  writer_->Enqueue(JobCreated{MakeJob(1)});
  std::vector<StoreOp> together;
  for (JobId id = 2; id <= 50; ++id) together.push_back(JobCreated{MakeJob(id)});
  together.push_back(JobFinished{1, 1001});
  writer_->Enqueue(std::move(together));
  writer_->Enqueue(std::vector<StoreOp>{});
  writer_->Enqueue(JobFinished{2, 1002});  // fails unless job 2 came first
  std::vector<JobId> created;
  for (const Commit& commit : WaitForOps(52)) {
    EXPECT_TRUE(commit.status.ok()) << commit.status.message();
    created.insert(created.end(), commit.jobs_created.begin(), commit.jobs_created.end());
  }
  ASSERT_EQ(created.size(), 50u);
  for (JobId id = 1; id <= 50; ++id) EXPECT_EQ(created[id - 1], id);
  std::vector<StoredJob> jobs = LoadReopened();
  ASSERT_EQ(jobs.size(), 50u);
  for (const StoredJob& job : jobs) {
    if (job.id <= 2) {
      EXPECT_EQ(job.finished_unix_us, 1000 + static_cast<int64_t>(job.id));
    }
  }
}

TEST_F(StoreWriterTest, DestructorCommitsWhatIsQueued) {
  StartWriter(OpenStore());
  for (JobId id = 1; id <= 100; ++id) writer_->Enqueue(JobCreated{MakeJob(id)});
  EXPECT_EQ(LoadReopened().size(), 100u);
}

TEST_F(StoreWriterTest, FailedBatchIsReportedAndLaterBatchesStillCommit) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  // A disk with ~80 KiB of room: a 1 MiB argument does not fit.
  ASSERT_TRUE(store->TEST_SetMaxPageCount(20).ok());
  StartWriter(std::move(store));

  StoredJob big = MakeJob(1);
  big.tasks[0].args = {std::string(1 << 20, 'x')};
  writer_->Enqueue(JobCreated{big});
  std::vector<Commit> commits = WaitForOps(1);
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_FALSE(commits[0].status.ok());
  EXPECT_THAT(commits[0].status.message(), HasSubstr(path_));
  EXPECT_THAT(commits[0].status.message(), HasSubstr("full"));
  EXPECT_THAT(commits[0].jobs_created, ElementsAre(1));

  writer_->Enqueue(JobCreated{MakeJob(2)});
  writer_->Enqueue(TaskStarted{2, 0, 1});
  commits = WaitForOps(2);
  for (const Commit& commit : commits) {
    EXPECT_TRUE(commit.status.ok()) << commit.status.message();
  }
  const StoreWriter::Stats stats = writer_->stats();
  EXPECT_EQ(stats.batches_failed, 1u);
  EXPECT_EQ(stats.ops_failed, 1u);
  EXPECT_EQ(stats.ops_committed, 2u);

  std::vector<StoredJob> jobs = LoadReopened();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, 2u);
  EXPECT_TRUE(jobs[0].tasks[0].running);
}

TEST_F(StoreWriterTest, RetentionDeletesOldFinishedJobs) {
  constexpr int64_t kSecond = 1'000'000;
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store
                    ->Apply({JobCreated{MakeJob(1)}, JobFinished{1, 1000 * kSecond},
                             JobCreated{MakeJob(2)}, JobFinished{2, 5000 * kSecond},
                             JobCreated{MakeJob(3)}})
                    .ok());
    std::atomic<int64_t> now{6000 * kSecond};
    StoreWriter::Options options;
    options.retain = Micros(2000 * kSecond);
    options.cleanup_interval = Millis(5);
    options.now_unix_us = [&now] { return now.load(); };
    StartWriter(std::move(store), options);

    // The first clean-up runs at start: job 1 finished 5000 s ago.
    auto removed = [](const std::vector<Commit>& commits) {
      size_t n = 0;
      for (const Commit& c : commits) n += c.removed_jobs;
      return n;
    };
    std::vector<Commit> commits =
        WaitForCommits([&](const std::vector<Commit>& c) { return removed(c) >= 1; });
    EXPECT_EQ(removed(commits), 1u);
    for (const Commit& commit : commits) {
      EXPECT_TRUE(commit.status.ok()) << commit.status.message();
      EXPECT_EQ(commit.ops, 0u);
    }

    // Later clean-ups follow the clock: now job 2 is old enough too.
    now = 8000 * kSecond;
    commits = WaitForCommits([&](const std::vector<Commit>& c) { return removed(c) >= 1; });
    EXPECT_EQ(removed(commits), 1u);
    EXPECT_EQ(LoadReopened().size(), 1u);  // stops the writer before `now` goes
  }
  std::vector<StoredJob> jobs = LoadReopened();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, 3u);
}

TEST_F(StoreWriterTest, RejectsBadOptions) {
  StoreWriter::Options options;
  options.retain = Micros(1);
  options.cleanup_interval = Micros(0);
  EXPECT_FALSE(StoreWriter::Start(OpenStore(), options).ok());
  EXPECT_FALSE(StoreWriter::Start(nullptr, {}).ok());
}

}  // namespace
}  // namespace jobd

namespace jobd {
namespace {

TEST_F(StoreWriterTest, LoadJobAnswersAfterTheOpsQueuedBeforeIt) {
  StartWriter(OpenStore());
  writer_->Enqueue(JobCreated{MakeJob(3, 2)});
  writer_->LoadJob(3);
  writer_->LoadJob(4);
  std::vector<Commit> commits = WaitForCommits([](const std::vector<Commit>& taken) {
    return std::count_if(taken.begin(), taken.end(), [](const Commit& c) {
             return c.loaded.has_value();
           }) == 2;
  });
  std::vector<const Commit*> loads;
  for (const Commit& c : commits) {
    if (c.loaded) loads.push_back(&c);
  }
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0]->loaded->job, 3u);
  ASSERT_TRUE(loads[0]->loaded->stored.has_value());
  EXPECT_EQ(loads[0]->loaded->stored->tasks.size(), 2u);
  EXPECT_EQ(loads[1]->loaded->job, 4u);
  EXPECT_FALSE(loads[1]->loaded->stored.has_value());
}

}  // namespace
}  // namespace jobd
