#include "daemon/core/supervisor.h"

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/daemon/supervisor_fixture.h"

namespace jobd {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

TEST_F(SupervisorTest, StartsOneWorkerPerSlot) {
  Start(3);
  EXPECT_THAT(io_.spawned, SizeIs(3));
  EXPECT_EQ(supervisor_->Pong().workers, 0u);  // none ready yet
  Ready(100, 0);
  EXPECT_EQ(supervisor_->Pong().workers, 1u);
}

TEST_F(SupervisorTest, TwoTasksGoToTwoIdleWorkersEvenWithSpareCredit) {
  Start(2);
  Ready(100, 0, /*credit=*/4);
  Ready(101, 1, /*credit=*/4);
  ASSERT_TRUE(Submit("c", 1, Map("sum_to_num", {"200", "50"})).ok());
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(1));
  EXPECT_THAT(io_.TasksSentTo(101), SizeIs(1));
}

TEST_F(SupervisorTest, ResultsStreamInCompletionOrder) {
  Start(2);
  Ready(100, 0);
  Ready(101, 1);
  auto accepted = Submit("c", 7, Map("echo", {"slow", "fast"}));
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->total, 2u);
  supervisor_->Flush();
  const Assignment slow = io_.TasksSentTo(100).at(0);
  const Assignment fast = io_.TasksSentTo(101).at(0);
  EXPECT_EQ(slow.index, 0u);
  EXPECT_EQ(fast.index, 1u);

  Complete(101, fast, true, "fast");
  supervisor_->Flush();
  Complete(100, slow, true, "slow");
  supervisor_->Flush();

  bool done = false;
  auto results = io_.ResultsFor("c", &done);
  ASSERT_THAT(results, SizeIs(2));
  EXPECT_EQ(results[0].index, 1u);
  EXPECT_EQ(results[0].result, "fast");
  EXPECT_EQ(results[0].pid, 101);
  EXPECT_EQ(results[1].index, 0u);
  EXPECT_EQ(results[1].pid, 100);
  EXPECT_TRUE(done);
  for (const Reply& r : io_.to_clients["c"]) EXPECT_EQ(r.request_id, 7u);
  EXPECT_EQ(supervisor_->Status(accepted->job)->state, JobState::kDone);
}

TEST_F(SupervisorTest, QueuedTasksWaitForCredit) {
  Start(1);
  Ready(100, 0);
  ASSERT_TRUE(Submit("c", 1, Map("echo", {"a", "b", "c"})).ok());
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(1));
  EXPECT_EQ(supervisor_->Pong().queued, 2u);
  EXPECT_EQ(supervisor_->Pong().running, 1u);
  Complete(100, io_.TasksSentTo(100)[0], true, "a");
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(2));
}

TEST_F(SupervisorTest, RoundRobinBetweenJobsOfEqualPriority) {
  Start(1);
  Ready(100, 0);
  auto big = Submit("a", 1, Map("echo", std::vector<std::string>(100, "x")));
  auto small = Submit("b", 1, Map("echo", {"y", "y"}));
  for (int i = 0; i < 4; ++i) {
    supervisor_->Flush();
    Complete(100, io_.TasksSentTo(100).back(), true, "");
  }
  std::vector<JobId> order;
  for (const Assignment& a : io_.TasksSentTo(100)) order.push_back(a.job);
  EXPECT_THAT(order, ElementsAre(big->job, small->job, big->job, small->job));
}

TEST_F(SupervisorTest, HigherPriorityRunsFirst) {
  Start(1);
  Ready(100, 0);
  SubmitRequest low = Map("echo", {"l1", "l2"});
  SubmitRequest high = Map("echo", {"h1"});
  high.priority = 5;
  ASSERT_TRUE(Submit("a", 1, low).ok());
  auto high_job = Submit("a", 2, high);
  supervisor_->Flush();
  EXPECT_EQ(io_.TasksSentTo(100).at(0).job, high_job->job);
}

TEST_F(SupervisorTest, CrashedWorkerReportsTaskAndIsReplaced) {
  Start(2);
  Ready(100, 0);
  Ready(101, 1);
  SubmitRequest request = Map("crash", {"", ""});
  request.retries = 0;
  auto job = Submit("c", 1, request);
  supervisor_->Flush();
  clock_.Advance(std::chrono::seconds(2));
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGSEGV});
  auto results = io_.ResultsFor("c");
  supervisor_->Flush();
  results = io_.ResultsFor("c");
  ASSERT_THAT(results, SizeIs(1));
  EXPECT_EQ(results[0].status, TaskStatus::kCrashed);
  EXPECT_EQ(results[0].pid, 100);
  EXPECT_THAT(results[0].error, ::testing::HasSubstr("killed by SIGSEGV"));
  EXPECT_THAT(results[0].error, ::testing::HasSubstr("100"));
  // A replacement for slot 0 was started at once.
  ASSERT_THAT(io_.spawned, SizeIs(3));
  EXPECT_EQ(io_.spawned[2].first, 0u);
  EXPECT_FALSE(supervisor_->IsWorker(100));
  EXPECT_EQ(supervisor_->Status(job->job)->crashed, 1u);
}

TEST_F(SupervisorTest, WorkerDyingRightAfterStartBacksOffExponentially) {
  Start(1);
  for (int expected_delay_ms : {100, 200, 400}) {
    const int32_t pid = io_.spawned.back().second;
    supervisor_->OnWorkerExited(pid, ExitStatus{false, 1});
    const size_t spawns = io_.spawned.size();
    ASSERT_TRUE(supervisor_->NextDeadline().has_value());
    clock_.Advance(Millis(expected_delay_ms - 1));
    supervisor_->OnTick();
    EXPECT_EQ(io_.spawned.size(), spawns) << "restarted before " << expected_delay_ms << " ms";
    clock_.Advance(Millis(1));
    supervisor_->OnTick();
    EXPECT_EQ(io_.spawned.size(), spawns + 1);
  }
  EXPECT_EQ(supervisor_->Workers()[0].state, WorkerState::kStarting);
}

TEST_F(SupervisorTest, FailedSpawnIsRetriedLater) {
  io_.fail_spawns = true;
  Start(1);
  EXPECT_EQ(supervisor_->Workers()[0].state, WorkerState::kBackoff);
  io_.fail_spawns = false;
  clock_.Advance(Millis(100));
  supervisor_->OnTick();
  EXPECT_THAT(io_.spawned, SizeIs(1));
}

TEST_F(SupervisorTest, OutcomeForATaskTheWorkerDoesNotHoldIsIgnored) {
  Start(1);
  Ready(100, 0);
  auto job = Submit("c", 1, Map("echo", {"a"}));
  supervisor_->Flush();
  Assignment bogus = io_.TasksSentTo(100)[0];
  bogus.attempt = 9;
  Complete(100, bogus, true, "nope");
  EXPECT_EQ(supervisor_->Status(job->job)->ok, 0u);
  EXPECT_EQ(supervisor_->Status(job->job)->running, 1u);
}

TEST_F(SupervisorTest, WatchReplaysFinishedResultsThenFollows) {
  Start(1);
  Ready(100, 0);
  auto job = Submit("submitter", 1, Map("echo", {"a", "b"}, /*watch=*/false));
  supervisor_->Flush();
  Complete(100, io_.TasksSentTo(100)[0], true, "a");
  supervisor_->Flush();
  ASSERT_TRUE(supervisor_->Watch("watcher", 3, WatchRequest{job->job}).ok());
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("watcher"), SizeIs(1));
  Complete(100, io_.TasksSentTo(100)[1], true, "b");
  supervisor_->Flush();
  bool done = false;
  EXPECT_THAT(io_.ResultsFor("watcher", &done), SizeIs(2));
  EXPECT_TRUE(done);
  EXPECT_TRUE(io_.to_clients["submitter"].empty());
}

TEST_F(SupervisorTest, SlowClientKeepsItsPlaceAndGoneClientIsDropped) {
  Start(1);
  Ready(100, 0);
  ASSERT_TRUE(Submit("c", 1, Map("echo", {"a", "b"})).ok());
  supervisor_->Flush();
  io_.client_delivery = Delivery::kWouldBlock;
  Complete(100, io_.TasksSentTo(100)[0], true, "a");
  supervisor_->Flush();
  EXPECT_TRUE(supervisor_->HasPendingStreams());
  ASSERT_TRUE(supervisor_->NextDeadline().has_value());
  io_.client_delivery = Delivery::kSent;
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("c"), SizeIs(1));

  io_.client_delivery = Delivery::kGone;
  Complete(100, io_.TasksSentTo(100)[1], true, "b");
  supervisor_->Flush();
  EXPECT_FALSE(supervisor_->HasPendingStreams());
}

TEST_F(SupervisorTest, BadSubmissionsAreRefusedWhole) {
  Start(1);
  EXPECT_EQ(Submit("c", 1, SubmitRequest{}).status().code(),
            StatusCode::kInvalidArgument);
  SubmitRequest nameless;
  nameless.tasks.push_back(TaskInput{"", {"x"}});
  EXPECT_EQ(Submit("c", 1, nameless).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(supervisor_->Jobs().empty());
}

TEST_F(SupervisorTest, FullQueueRefusesTheWholeJob) {
  options_.max_queued_tasks = 3;
  Start(1);
  ASSERT_TRUE(Submit("c", 1, Map("echo", {"a", "b"})).ok());
  auto refused = Submit("c", 2, Map("echo", {"c", "d"}));
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("queue full"));
  EXPECT_EQ(supervisor_->Pong().queued, 2u);
}

TEST_F(SupervisorTest, DrainCancelsQueuedFinishesRunningThenStopsWorkers) {
  Start(1);
  Ready(100, 0);
  auto job = Submit("c", 1, Map("echo", {"a", "b", "c"}));
  supervisor_->Flush();
  supervisor_->BeginDrain();
  supervisor_->Flush();
  EXPECT_FALSE(Submit("c", 2, Map("echo", {"x"})).ok());
  // The running task is not interrupted; no shutdown while it runs.
  EXPECT_THAT(io_.to_workers[100], SizeIs(1));
  Complete(100, io_.TasksSentTo(100)[0], true, "a");
  supervisor_->Flush();
  ASSERT_THAT(io_.to_workers[100], SizeIs(2));
  EXPECT_TRUE(std::holds_alternative<ShutdownWorker>(io_.to_workers[100][1].body));
  supervisor_->OnWorkerExited(100, ExitStatus{false, 0});
  EXPECT_TRUE(supervisor_->AllWorkersGone());
  EXPECT_THAT(io_.spawned, SizeIs(1));  // no replacement while draining

  const JobInfo info = *supervisor_->Status(job->job);
  EXPECT_EQ(info.ok, 1u);
  EXPECT_EQ(info.cancelled, 2u);
  bool done = false;
  EXPECT_THAT(io_.ResultsFor("c", &done), SizeIs(3));
  EXPECT_TRUE(done);
}

TEST_F(SupervisorTest, DrainStopsAWorkerThatIsStillStarting) {
  Start(2);
  Ready(100, 0);
  supervisor_->BeginDrain();
  supervisor_->Flush();
  EXPECT_THAT(io_.killed, ElementsAre(101));  // never said ready: cannot be told
  ASSERT_THAT(io_.to_workers[100], SizeIs(1));
  EXPECT_TRUE(std::holds_alternative<ShutdownWorker>(io_.to_workers[100][0].body));
}

TEST_F(SupervisorTest, KillAllAtDrainDeadlineCancelsWhatRuns) {
  Start(1);
  Ready(100, 0);
  auto job = Submit("c", 1, Map("sleep", {"100000"}));
  supervisor_->Flush();
  supervisor_->BeginDrain();
  supervisor_->KillAll();
  EXPECT_THAT(io_.killed, ElementsAre(100));
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGKILL});
  EXPECT_EQ(supervisor_->Status(job->job)->cancelled, 1u);
}

TEST_F(SupervisorTest, CrashIsRetriedExactlyUpToTheRetryLimit) {
  for (uint32_t retries : {0u, 1u, 3u}) {
    FakeIo io;
    Supervisor supervisor(options_, io, clock_, log_);
    supervisor.Start();
    SubmitRequest request = Map("crash", {""});
    request.retries = retries;
    ASSERT_TRUE(supervisor.Submit("c", 1, request).ok());
    for (uint32_t attempt = 1; attempt <= retries + 1; ++attempt) {
      const int32_t pid = io.LastSpawned();
      supervisor.OnWorkerMessage(pid, FromWorker{kProtocolVersion, WorkerReady{pid, 0, 1, {}, {}}});
      supervisor.Flush();
      ASSERT_THAT(io.TasksSentTo(pid), SizeIs(1)) << "attempt " << attempt;
      EXPECT_EQ(io.TasksSentTo(pid)[0].attempt, attempt);
      clock_.Advance(std::chrono::seconds(2));
      supervisor.OnWorkerExited(pid, ExitStatus{true, SIGSEGV});
    }
    supervisor.Flush();
    auto results = io.ResultsFor("c");
    ASSERT_THAT(results, SizeIs(1)) << "retries " << retries;
    EXPECT_EQ(results[0].status, TaskStatus::kCrashed);
    EXPECT_EQ(results[0].attempts, retries + 1);
    EXPECT_THAT(results[0].error, ::testing::HasSubstr("SIGSEGV"));
    EXPECT_THAT(results[0].error,
                ::testing::HasSubstr(fmt::format("attempt {} of {}", retries + 1, retries + 1)));
  }
}

TEST_F(SupervisorTest, RetriedTaskSucceedsOnTheNextWorker) {
  Start(2);
  Ready(100, 0);
  Ready(101, 1);
  auto job = Submit("c", 1, Map("echo", {"x"}));
  supervisor_->Flush();
  clock_.Advance(std::chrono::seconds(2));
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGKILL});
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(101), SizeIs(1));
  EXPECT_EQ(io_.TasksSentTo(101)[0].attempt, 2u);
  Complete(101, io_.TasksSentTo(101)[0], true, "x");
  supervisor_->Flush();
  auto results = io_.ResultsFor("c");
  ASSERT_THAT(results, SizeIs(1));
  EXPECT_EQ(results[0].status, TaskStatus::kOk);
  EXPECT_EQ(results[0].attempts, 2u);
  EXPECT_EQ(results[0].pid, 101);
}

TEST_F(SupervisorTest, TimeoutKillsTheWorkerReportsTimeoutAndReplacesIt) {
  Start(1);
  Ready(100, 0);
  SubmitRequest request = Map("sleep", {"100000"});
  request.timeout_us = 500'000;
  auto job = Submit("c", 1, request);
  supervisor_->Flush();
  ASSERT_EQ(supervisor_->NextDeadline(), clock_.Now() + Millis(500));
  clock_.Advance(Millis(499));
  supervisor_->OnTick();
  EXPECT_TRUE(io_.killed.empty());
  clock_.Advance(Millis(1));
  supervisor_->OnTick();
  EXPECT_THAT(io_.killed, ElementsAre(100));
  EXPECT_EQ(supervisor_->Workers()[0].state, WorkerState::kStopping);
  supervisor_->Flush();
  auto results = io_.ResultsFor("c");
  ASSERT_THAT(results, SizeIs(1));
  EXPECT_EQ(results[0].status, TaskStatus::kTimeout);
  EXPECT_EQ(results[0].attempts, 1u);  // retries do not apply to timeouts
  EXPECT_THAT(results[0].error, ::testing::HasSubstr("timed out after 500 ms"));
  // A late outcome from the killed worker changes nothing.
  Complete(100, io_.TasksSentTo(100)[0], true, "late");
  EXPECT_EQ(supervisor_->Status(job->job)->timeout, 1u);
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGKILL});
  EXPECT_THAT(io_.spawned, SizeIs(2));  // replaced at once, no back-off
}

TEST_F(SupervisorTest, DaemonDefaultTimeoutAppliesWhenTheJobNamesNone) {
  options_.default_timeout = Millis(200);
  Start(1);
  Ready(100, 0);
  ASSERT_TRUE(Submit("c", 1, Map("sleep", {"100000"})).ok());
  supervisor_->Flush();
  EXPECT_EQ(supervisor_->NextDeadline(), clock_.Now() + Millis(200));
}

TEST_F(SupervisorTest, RetryTimeoutsRunsATimedOutTaskAgain) {
  Start(1);
  Ready(100, 0);
  SubmitRequest request = Map("sleep", {"100000"});
  request.timeout_us = 100'000;
  request.retries = 1;
  request.retry_timeouts = true;
  auto job = Submit("c", 1, request);
  supervisor_->Flush();
  clock_.Advance(Millis(100));
  supervisor_->OnTick();
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGKILL});
  const int32_t next = io_.LastSpawned();
  Ready(next, 0);
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(next), SizeIs(1));
  EXPECT_EQ(io_.TasksSentTo(next)[0].attempt, 2u);
  clock_.Advance(Millis(100));
  supervisor_->OnTick();
  supervisor_->Flush();
  auto results = io_.ResultsFor("c");
  ASSERT_THAT(results, SizeIs(1));
  EXPECT_EQ(results[0].status, TaskStatus::kTimeout);
  EXPECT_EQ(results[0].attempts, 2u);
}

TEST_F(SupervisorTest, CancelEndsQueuedAtOnceAndStopsRunning) {
  Start(2);
  Ready(100, 0);
  Ready(101, 1);
  auto other = Submit("o", 1, Map("echo", {"keep"}, false));
  auto job = Submit("c", 2, Map("sleep", {"9", "9", "9", "9"}));
  supervisor_->Flush();
  // Worker 100 runs the other job's task, 101 one of ours.
  Result<CancelReply> reply = supervisor_->Cancel(job->job);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->cancelled_queued, 3u);
  EXPECT_EQ(reply->stopped_running, 1u);
  EXPECT_FALSE(reply->already_finished);
  EXPECT_EQ(reply->job.state, JobState::kDone);
  EXPECT_EQ(reply->job.cancelled, 4u);
  EXPECT_THAT(io_.killed, ElementsAre(101));  // not the other job's worker
  supervisor_->Flush();
  bool done = false;
  EXPECT_THAT(io_.ResultsFor("c", &done), SizeIs(4));
  EXPECT_TRUE(done);
  EXPECT_EQ(supervisor_->Status(other->job)->running, 1u);

  Result<CancelReply> again = supervisor_->Cancel(job->job);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_finished);
  EXPECT_EQ(supervisor_->Cancel(999).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(supervisor_->Pong().queued, 0u);
  EXPECT_EQ(supervisor_->Pong().running, 1u);
}

TEST_F(SupervisorTest, RecyclingByTaskCountRetiresAfterTheCurrentTask) {
  options_.max_tasks_per_worker = 2;
  Start(1);
  Ready(100, 0);
  ASSERT_TRUE(Submit("c", 1, Map("echo", {"a", "b", "c"})).ok());
  supervisor_->Flush();
  Complete(100, io_.TasksSentTo(100)[0], true, "a");
  supervisor_->Flush();
  Complete(100, io_.TasksSentTo(100)[1], true, "b");
  EXPECT_EQ(supervisor_->Workers()[0].state, WorkerState::kRetiring);
  supervisor_->Flush();
  // No third task: the worker is told to exit instead.
  ASSERT_THAT(io_.to_workers[100], SizeIs(3));
  EXPECT_TRUE(std::holds_alternative<ShutdownWorker>(io_.to_workers[100][2].body));
  supervisor_->OnWorkerExited(100, ExitStatus{false, 0});
  ASSERT_THAT(io_.spawned, SizeIs(2));  // replaced at once
  Ready(io_.LastSpawned(), 0);
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(io_.LastSpawned()), SizeIs(1));
}

TEST_F(SupervisorTest, RecyclingByResidentSetSize) {
  options_.max_worker_rss = 100 << 20;
  Start(1);
  Ready(100, 0);
  ASSERT_TRUE(Submit("c", 1, Map("echo", {"a", "b"})).ok());
  supervisor_->Flush();
  Complete(100, io_.TasksSentTo(100)[0], true, "a", /*rss_bytes=*/50 << 20);
  EXPECT_EQ(supervisor_->Workers()[0].state, WorkerState::kIdle);
  supervisor_->Flush();
  Complete(100, io_.TasksSentTo(100)[1], true, "b", /*rss_bytes=*/200 << 20);
  EXPECT_EQ(supervisor_->Workers()[0].state, WorkerState::kRetiring);
  EXPECT_EQ(supervisor_->Workers()[0].rss_bytes, 200u << 20);
}

TEST_F(SupervisorTest, SilentWorkerIsLostKilledAndItsTaskRetried) {
  options_.heartbeat_interval = Millis(100);
  options_.heartbeat_misses = 3;
  Start(2);
  Ready(100, 0);
  Ready(101, 1);
  ASSERT_TRUE(Submit("c", 1, Map("spin", {"1000"})).ok());
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(1));
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(Millis(100));
    Heartbeat(101);  // 101 keeps talking, 100 has gone quiet
    supervisor_->OnTick();
  }
  EXPECT_TRUE(io_.killed.empty());
  clock_.Advance(Millis(1));
  supervisor_->OnTick();
  EXPECT_THAT(io_.killed, ElementsAre(100));
  EXPECT_EQ(supervisor_->Workers()[0].state, WorkerState::kLost);
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGKILL});
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(101), SizeIs(1));
  EXPECT_EQ(io_.TasksSentTo(101)[0].attempt, 2u);
}

TEST_F(SupervisorTest, HeartbeatsGoToQuietWorkersEveryInterval) {
  options_.heartbeat_interval = Millis(100);
  Start(1);
  Ready(100, 0);
  EXPECT_EQ(supervisor_->NextDeadline(), clock_.Now() + Millis(100));
  clock_.Advance(Millis(100));
  supervisor_->OnTick();
  ASSERT_THAT(io_.to_workers[100], SizeIs(1));
  EXPECT_TRUE(std::holds_alternative<jobd::Heartbeat>(io_.to_workers[100][0].body));
  supervisor_->OnTick();
  EXPECT_THAT(io_.to_workers[100], SizeIs(1));  // not again within the interval
}

TEST_F(SupervisorTest, StreamWindowHoldsResultsUntilTheClientAcks) {
  Start(1);
  Ready(100, 0);
  SubmitRequest request = Map("echo", {"a", "b", "c", "d", "e"});
  request.window = 2;
  auto job = Submit("c", 7, request);
  for (int i = 0; i < 5; ++i) {
    supervisor_->Flush();
    Complete(100, io_.TasksSentTo(100).back(), true, "x");
  }
  supervisor_->Flush();
  auto results = io_.ResultsFor("c");
  ASSERT_THAT(results, SizeIs(2));
  EXPECT_EQ(results[0].seq, 0u);
  EXPECT_EQ(results[1].seq, 1u);
  EXPECT_FALSE(supervisor_->HasPendingStreams()) << "a held-back stream must not spin the loop";
  supervisor_->Ack("c", 7, 2);
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("c"), SizeIs(4));
  supervisor_->Ack("c", 99, 4);  // another stream's ack changes nothing
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("c"), SizeIs(4));
  supervisor_->Ack("c", 7, 4);
  supervisor_->Flush();
  bool done = false;
  results = io_.ResultsFor("c", &done);
  ASSERT_THAT(results, SizeIs(5));
  EXPECT_EQ(results[4].seq, 4u);
  EXPECT_TRUE(done);
}

TEST_F(SupervisorTest, WatchFromASeqResumesWithoutGapsOrRepeats) {
  Start(1);
  Ready(100, 0);
  auto job = Submit("s", 1, Map("echo", {"a", "b", "c", "d"}, false));
  for (int i = 0; i < 4; ++i) {
    supervisor_->Flush();
    Complete(100, io_.TasksSentTo(100).back(), true, "x");
  }
  ASSERT_TRUE(supervisor_->Watch("w", 2, WatchRequest{job->job, /*from_seq=*/2}).ok());
  supervisor_->Flush();
  bool done = false;
  auto results = io_.ResultsFor("w", &done);
  ASSERT_THAT(results, SizeIs(2));
  EXPECT_EQ(results[0].seq, 2u);
  EXPECT_EQ(results[1].seq, 3u);
  EXPECT_TRUE(done);
}

TEST_F(SupervisorTest, TheSameStreamAskedAgainReplacesItself) {
  Start(1);
  Ready(100, 0);
  SubmitRequest request = Map("echo", {"a", "b", "c"});
  request.window = 1;
  auto job = Submit("c", 7, request);
  for (int i = 0; i < 3; ++i) {
    supervisor_->Flush();
    Complete(100, io_.TasksSentTo(100).back(), true, "x");
  }
  supervisor_->Flush();
  ASSERT_THAT(io_.ResultsFor("c"), SizeIs(1));
  // The client lost seq 0 in a break and asks again from 0, same request id.
  ASSERT_TRUE(supervisor_->Watch("c", 7, WatchRequest{job->job, 0, 10}).ok());
  supervisor_->Flush();
  bool done = false;
  auto results = io_.ResultsFor("c", &done);
  ASSERT_THAT(results, SizeIs(4));  // seq 0 again, then 1 and 2, once each
  EXPECT_EQ(results[1].seq, 0u);
  EXPECT_EQ(results[3].seq, 2u);
  EXPECT_TRUE(done);
}

TEST_F(SupervisorTest, WatchWithoutFollowEndsAtWhatIsDoneNow) {
  Start(1);
  Ready(100, 0);
  auto job = Submit("s", 1, Map("echo", {"a", "b"}, false));
  supervisor_->Flush();
  Complete(100, io_.TasksSentTo(100)[0], true, "a");
  WatchRequest snapshot{job->job};
  snapshot.follow = false;
  ASSERT_TRUE(supervisor_->Watch("w", 2, snapshot).ok());
  supervisor_->Flush();
  bool done = false;
  EXPECT_THAT(io_.ResultsFor("w", &done), SizeIs(1));
  EXPECT_TRUE(done);
  EXPECT_EQ(supervisor_->Status(job->job)->state, JobState::kRunning);
}

TEST_F(SupervisorTest, RecycleReplacesEachWorkerAfterItsTask) {
  Start(2);
  Ready(100, 0);
  Ready(101, 1);
  ASSERT_TRUE(Submit("c", 1, Map("echo", {"a"})).ok());
  supervisor_->Flush();
  supervisor_->RecycleWorkers();
  supervisor_->Flush();
  // The idle one is told to go at once; the busy one after its task.
  ASSERT_THAT(io_.to_workers[101], SizeIs(1));
  EXPECT_TRUE(std::holds_alternative<ShutdownWorker>(io_.to_workers[101][0].body));
  EXPECT_THAT(io_.to_workers[100], SizeIs(1));
  Complete(100, io_.TasksSentTo(100)[0], true, "a");
  supervisor_->Flush();
  ASSERT_THAT(io_.to_workers[100], SizeIs(2));
  supervisor_->OnWorkerExited(101, ExitStatus{false, 0});
  supervisor_->OnWorkerExited(100, ExitStatus{false, 0});
  EXPECT_THAT(io_.spawned, SizeIs(4));
}

TEST_F(SupervisorTest, TasksAreWhatTheNewestReadyWorkerKnows) {
  Start(1);
  WorkerReady ready{100, 0, 1, {TaskInfo{"echo", "built-in", "", "returns its arguments"}},
                    {"libbad.so: undefined symbol: x"}};
  supervisor_->OnWorkerMessage(100, FromWorker{kProtocolVersion, ready});
  ASSERT_THAT(supervisor_->Tasks().tasks, SizeIs(1));
  EXPECT_EQ(supervisor_->Tasks().tasks[0].name, "echo");
  EXPECT_THAT(supervisor_->Tasks().load_errors, SizeIs(1));
}

TEST(ExitStatusTest, DescribesSignalsAndCodes) {
  EXPECT_EQ((ExitStatus{true, SIGSEGV}.Describe()), "killed by SIGSEGV");
  EXPECT_EQ((ExitStatus{false, 3}.Describe()), "exited with code 3");
}

}  // namespace
}  // namespace jobd

namespace jobd {
namespace {

using ::testing::Pair;

TEST_F(SupervisorTest, CommandTasksCarryTheJobsOptionsOthersDoNot) {
  Start(2);
  Ready(100, 0);
  Ready(101, 1);
  SubmitRequest request = Commands({{"/bin/true"}});
  request.tasks.push_back(TaskInput{"echo", {"x"}});
  ASSERT_TRUE(Submit("c", 1, request).ok());
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(1));
  ASSERT_THAT(io_.TasksSentTo(101), SizeIs(1));
  EXPECT_EQ(io_.TasksSentTo(100)[0].name, "exec");
  EXPECT_EQ(io_.TasksSentTo(100)[0].command, request.command);
  EXPECT_EQ(io_.TasksSentTo(101)[0].name, "echo");
  EXPECT_FALSE(io_.TasksSentTo(101)[0].command.has_value());
}

TEST_F(SupervisorTest, CommandsAreRefusedWhenDisabled) {
  options_.allow_commands = false;
  Start(1);
  Ready(100, 0);
  auto refused = Submit("c", 1, Commands({{"/bin/true"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("--no-exec"));
  SubmitRequest named = Map("echo", {"a"});
  named.tasks.push_back(TaskInput{"exec", {"/bin/true"}});
  EXPECT_FALSE(Submit("c", 2, named).ok());
  EXPECT_TRUE(Submit("c", 3, Map("echo", {"a"})).ok());  // other kinds still run
}

TEST_F(SupervisorTest, CommandEndReachesTheResult) {
  Start(1);
  Ready(100, 0);
  ASSERT_TRUE(Submit("c", 1, Commands({{"/bin/false"}})).ok());
  supervisor_->Flush();
  const Assignment a = io_.TasksSentTo(100)[0];
  CommandStartedIn(100, a, 4242);
  CommandEnded(100, a, CommandEnd{3, 0, 1500, 4096, false, true}, "out", "err tail");
  supervisor_->Flush();
  auto results = io_.ResultsFor("c");
  ASSERT_THAT(results, SizeIs(1));
  EXPECT_EQ(results[0].status, TaskStatus::kFailed);
  EXPECT_EQ(results[0].result, "out");  // both kept for a command
  EXPECT_EQ(results[0].error, "err tail");
  ASSERT_TRUE(results[0].command.has_value());
  EXPECT_EQ(results[0].command->exit_code, 3);
  EXPECT_TRUE(results[0].command->stderr_truncated);
  EXPECT_TRUE(io_.signalled.empty());  // it ended by itself
}

TEST_F(SupervisorTest, TimeoutStopsACommandThroughItsGroupAndKeepsTheWorker) {
  options_.kill_grace = Millis(1000);
  Start(1);
  Ready(100, 0);
  SubmitRequest request = Commands({{"sleep", "1000"}, {"/bin/true"}});
  request.timeout_us = 500'000;
  ASSERT_TRUE(Submit("c", 1, request).ok());
  supervisor_->Flush();
  const Assignment a = io_.TasksSentTo(100)[0];
  CommandStartedIn(100, a, 4242);
  clock_.Advance(Millis(500));
  supervisor_->OnTick();
  EXPECT_THAT(io_.signalled, ElementsAre(Pair(4242, SIGTERM)));
  EXPECT_TRUE(io_.killed.empty());
  supervisor_->Flush();
  auto results = io_.ResultsFor("c");
  ASSERT_THAT(results, SizeIs(1));
  EXPECT_EQ(results[0].status, TaskStatus::kTimeout);
  EXPECT_THAT(results[0].error, ::testing::HasSubstr("process group 4242"));
  // The worker is busy until its command is gone: nothing else goes to it.
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(1));
  EXPECT_LE(*supervisor_->NextDeadline(), clock_.Now() + Millis(1000));
  clock_.Advance(Millis(1000));
  supervisor_->OnTick();
  EXPECT_THAT(io_.signalled, ElementsAre(Pair(4242, SIGTERM), Pair(4242, SIGKILL)));
  // The command's end is absorbed, not reported again; the worker goes on.
  CommandEnded(100, a, CommandEnd{-1, SIGKILL, 0, 0, false, false}, "", "");
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("c"), SizeIs(1));
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(2));
  EXPECT_TRUE(io_.killed.empty());
}

TEST_F(SupervisorTest, AWorkerThatNeverReportsAKilledCommandsEndIsKilled) {
  options_.kill_grace = Millis(100);
  Start(1);
  Ready(100, 0);
  SubmitRequest request = Commands({{"sleep", "1000"}});
  request.timeout_us = 100'000;
  ASSERT_TRUE(Submit("c", 1, request).ok());
  supervisor_->Flush();
  CommandStartedIn(100, io_.TasksSentTo(100)[0], 4242);
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(Millis(100));
    Heartbeat(100);
    supervisor_->OnTick();
  }
  EXPECT_THAT(io_.killed, ElementsAre(100));
  // Its exit kills the group once more and finishes nothing twice.
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGKILL});
  EXPECT_EQ(io_.signalled.back(), std::make_pair(4242, SIGKILL));
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("c"), SizeIs(1));
}

TEST_F(SupervisorTest, CancelStopsARunningCommandThroughItsGroup) {
  Start(1);
  Ready(100, 0);
  auto job = Submit("c", 1, Commands({{"sleep", "1000"}, {"sleep", "1000"}}));
  supervisor_->Flush();
  CommandStartedIn(100, io_.TasksSentTo(100)[0], 4242);
  Result<CancelReply> reply = supervisor_->Cancel(job->job);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->stopped_running, 1u);
  EXPECT_EQ(reply->cancelled_queued, 1u);
  EXPECT_THAT(io_.signalled, ElementsAre(Pair(4242, SIGTERM)));
  EXPECT_TRUE(io_.killed.empty());
  supervisor_->Flush();
  bool done = false;
  EXPECT_THAT(io_.ResultsFor("c", &done), SizeIs(2));
  EXPECT_TRUE(done);
}

TEST_F(SupervisorTest, ACommandNotYetStartedIsStoppedWithItsWorker) {
  Start(1);
  Ready(100, 0);
  SubmitRequest request = Commands({{"sleep", "1000"}});
  request.timeout_us = 100'000;
  ASSERT_TRUE(Submit("c", 1, request).ok());
  supervisor_->Flush();
  clock_.Advance(Millis(100));
  supervisor_->OnTick();
  EXPECT_THAT(io_.killed, ElementsAre(100));
  EXPECT_TRUE(io_.signalled.empty());
  // Its group, reported too late, is killed at once.
  CommandStartedIn(100, io_.TasksSentTo(100)[0], 4242);
  EXPECT_THAT(io_.signalled, ElementsAre(Pair(4242, SIGKILL)));
}

TEST_F(SupervisorTest, ACommandsGroupDiesWithItsWorker) {
  Start(1);
  Ready(100, 0);
  ASSERT_TRUE(Submit("c", 1, Commands({{"sleep", "1000"}})).ok());
  supervisor_->Flush();
  CommandStartedIn(100, io_.TasksSentTo(100)[0], 4242);
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGSEGV});
  EXPECT_THAT(io_.signalled, ElementsAre(Pair(4242, SIGKILL)));
}

TEST_F(SupervisorTest, ImpossibleProcessGroupsAreNeverSignalled) {
  Start(1);
  Ready(100, 0);
  SubmitRequest request = Commands({{"sleep", "1000"}});
  request.timeout_us = 100'000;
  ASSERT_TRUE(Submit("c", 1, request).ok());
  supervisor_->Flush();
  const Assignment a = io_.TasksSentTo(100)[0];
  for (int32_t pgid : {0, 1, -5, 100}) CommandStartedIn(100, a, pgid);
  clock_.Advance(Millis(100));
  supervisor_->OnTick();
  EXPECT_TRUE(io_.signalled.empty());
  EXPECT_THAT(io_.killed, ElementsAre(100));  // stopped the only safe way
}

// Batches of commands: a worker holds its next commands, and a cancel takes
// back the ones it has not begun (ForgetTasks) so that they never run.
class CommandBatchTest : public SupervisorTest {
 protected:
  // One worker of credit 64 that has run a 1 ms command: it gets batches.
  void StartWarm() {
    Start(1);
    Ready(100, 0, 64);
    ASSERT_TRUE(Submit("w", 1, Commands({{"/bin/true"}})).ok());
    supervisor_->Flush();
    CommandEnded(100, io_.TasksSentTo(100).back(), kExited, "", "");
  }
  void Dropped(const std::vector<Assignment>& tasks) {
    WorkerReport report;
    for (const Assignment& a : tasks) report.dropped.push_back(DroppedTask{a.job, a.index, a.attempt});
    supervisor_->OnWorkerMessage(100, FromWorker{kProtocolVersion, report});
  }
  // The messages to worker 100 that tell it to forget a job.
  std::vector<JobId> Forgotten() {
    std::vector<JobId> jobs;
    for (const ToWorker& m : io_.to_workers[100]) {
      if (const auto* forget = std::get_if<ForgetTasks>(&m.body)) jobs.push_back(forget->job);
    }
    return jobs;
  }
  WorkerState State() { return supervisor_->Workers()[0].state; }

  static constexpr CommandEnd kExited{0, 0, 0, 0, false, false};
  static constexpr CommandEnd kTerminated{-1, SIGTERM, 0, 0, false, false};
};

TEST_F(CommandBatchTest, ShortCommandsAreBatchedButNeverWithFunctions) {
  StartWarm();
  ASSERT_TRUE(Submit("c", 2, Commands({{"/bin/true"}, {"/bin/true"}, {"/bin/true"}, {"x"}})).ok());
  supervisor_->Flush();
  // 1 ms a command: the worker holds about 2 ms of them beyond the running one.
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(4));
  ASSERT_TRUE(Submit("f", 3, Map("echo", {"x"})).ok());
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(4));  // no function behind commands
  for (int i = 1; i <= 3; ++i) {
    CommandEnded(100, io_.TasksSentTo(100)[i], kExited, "", "");
    supervisor_->Flush();
  }
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(5));  // the last command, still no function
  EXPECT_EQ(io_.TasksSentTo(100)[4].name, kCommandTaskName);
  // Once the commands are done, the function goes.
  CommandEnded(100, io_.TasksSentTo(100)[4], kExited, "", "");
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(6));
  EXPECT_EQ(io_.TasksSentTo(100)[5].name, "echo");
}

TEST_F(CommandBatchTest, CommandsAreToppedUpTwoOrMoreAMessage) {
  StartWarm();
  ASSERT_TRUE(Submit("c", 2, Commands({{"a"}, {"b"}, {"c"}, {"d"}, {"e"}, {"f"}})).ok());
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(4));  // the warm-up, then three held
  const size_t messages = io_.to_workers[100].size();
  CommandEnded(100, io_.TasksSentTo(100)[1], kExited, "", "");
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(4));  // still holds two of three
  CommandEnded(100, io_.TasksSentTo(100)[2], kExited, "", "");
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(6));
  EXPECT_EQ(io_.to_workers[100].size(), messages + 1);  // both in one message
}

TEST_F(CommandBatchTest, CancelTakesBackTheCommandsAWorkerHoldsSoTheyNeverRun) {
  StartWarm();
  auto job = Submit("c", 2, Commands({{"sleep", "1000"}, {"touch", "a"}, {"touch", "b"}}));
  supervisor_->Flush();
  const std::vector<Assignment> sent = io_.TasksSentTo(100);
  ASSERT_THAT(sent, SizeIs(4));  // the warm-up, then all three held
  CommandStartedIn(100, sent[1], 4242);
  Result<CancelReply> reply = supervisor_->Cancel(job->job);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->stopped_running, 1u);
  EXPECT_EQ(reply->cancelled_queued, 2u);
  EXPECT_THAT(io_.signalled, ElementsAre(Pair(4242, SIGTERM)));
  EXPECT_THAT(Forgotten(), ElementsAre(job->job));
  supervisor_->Flush();
  bool done = false;
  std::vector<TaskResult> results = io_.ResultsFor("c", &done);
  EXPECT_THAT(results, SizeIs(3));
  EXPECT_TRUE(done);
  for (const TaskResult& r : results) EXPECT_EQ(r.status, TaskStatus::kCancelled);
  // The worker is busy until it has dropped the two and the sleep ended.
  Dropped({sent[2], sent[3]});
  EXPECT_EQ(State(), WorkerState::kBusy);
  CommandEnded(100, sent[1], kTerminated, "", "");
  EXPECT_EQ(State(), WorkerState::kIdle);
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("c"), SizeIs(3));
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(4));  // nothing sent again
  EXPECT_TRUE(io_.killed.empty());
}

TEST_F(CommandBatchTest, ACommandTheWorkerBeganAsItWasCancelledIsStoppedThroughItsGroup) {
  StartWarm();
  auto job = Submit("c", 2, Commands({{"/bin/true"}, {"sleep", "1000"}}));
  supervisor_->Flush();
  const std::vector<Assignment> sent = io_.TasksSentTo(100);
  ASSERT_THAT(sent, SizeIs(3));
  ASSERT_TRUE(supervisor_->Cancel(job->job).ok());
  EXPECT_THAT(Forgotten(), ElementsAre(job->job));
  EXPECT_TRUE(io_.signalled.empty());  // no group known yet
  // The worker had finished the first and begun the second before the
  // forget came: its group is stopped as soon as it is known.
  CommandEnded(100, sent[1], kExited, "", "");
  CommandStartedIn(100, sent[2], 4343);
  EXPECT_THAT(io_.signalled, ElementsAre(Pair(4343, SIGTERM)));
  CommandEnded(100, sent[2], kTerminated, "", "");
  supervisor_->Flush();
  std::vector<TaskResult> results = io_.ResultsFor("c");
  ASSERT_THAT(results, SizeIs(2));  // the cancels, not the late outcomes
  for (const TaskResult& r : results) EXPECT_EQ(r.status, TaskStatus::kCancelled);
  EXPECT_EQ(State(), WorkerState::kIdle);
  EXPECT_TRUE(io_.killed.empty());
}

TEST_F(CommandBatchTest, AWorkerThatNeverAnswersAForgetIsKilled) {
  options_.kill_grace = Millis(100);
  StartWarm();
  auto job = Submit("c", 2, Commands({{"sleep", "1000"}, {"touch", "a"}}));
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(3));
  ASSERT_TRUE(supervisor_->Cancel(job->job).ok());
  clock_.Advance(Millis(100));
  Heartbeat(100);
  supervisor_->OnTick();
  EXPECT_THAT(io_.killed, ElementsAre(100));
  EXPECT_TRUE(io_.signalled.empty());
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGKILL});
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("c"), SizeIs(2));  // nothing ends twice
  EXPECT_EQ(supervisor_->Pong().running, 0u);
  EXPECT_EQ(supervisor_->Pong().queued, 0u);
}

// ---- access: a job is its submitter's ------------------------------------

// jobd runs as uid 990; group 50 is its --admin-group, which lists uid 1500.
class SupervisorAccessTest : public SupervisorTest {
 protected:
  SupervisorAccessTest() : policy_(AccessOptions{990, 50, {1500}}) {}

  Caller User(uint32_t uid, uint32_t gid = 100) const {
    return policy_.LocalCaller(PeerCredentials{uid, gid, 4242});
  }
  // Submits for `caller` (no store: accepted at once).
  JobId SubmitAs(const Caller& caller, const ClientId& client, SubmitRequest request) {
    Result<std::optional<JobInfo>> accepted =
        supervisor_->Submit(client, 1, std::move(request), caller);
    EXPECT_TRUE(accepted.ok() && accepted->has_value()) << accepted.status().message();
    return accepted.ok() && accepted->has_value() ? (**accepted).job : 0;
  }
  static std::vector<JobId> Ids(const std::vector<JobInfo>& jobs) {
    std::vector<JobId> ids;
    for (const JobInfo& job : jobs) ids.push_back(job.job);
    return ids;
  }

  AccessPolicy policy_;
};

TEST_F(SupervisorAccessTest, OnlyTheOwnerSeesWatchesAndCancelsTheirJob) {
  Start(1);
  Ready(100, 0);
  const Caller alice = User(1000), bob = User(1001);
  const JobId job = SubmitAs(alice, "alice", Map("sleep", {"5", "5"}, false));
  const JobId bobs = SubmitAs(bob, "bob", Map("echo", {"x"}, false));
  supervisor_->Flush();

  EXPECT_TRUE(supervisor_->Status(job, alice).ok());
  const Result<JobInfo> peek = supervisor_->Status(job, bob);
  ASSERT_FALSE(peek.ok());
  EXPECT_EQ(peek.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(peek.status().message(),
            "permission denied: job " + std::to_string(job) + " belongs to another user");

  const Result<JobInfo> watched = supervisor_->Watch("bob", 7, WatchRequest{job, 0, 0, true}, bob);
  EXPECT_EQ(watched.status().code(), StatusCode::kPermissionDenied);
  Complete(100, io_.TasksSentTo(100)[0], true, "done");
  supervisor_->Flush();
  EXPECT_TRUE(io_.ResultsFor("bob").empty()) << "no stream was opened for bob";

  const Result<CancelReply> cancelled = supervisor_->Cancel(job, bob);
  EXPECT_EQ(cancelled.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(supervisor_->Status(job, alice)->cancelled, 0u) << "bob's cancel changed nothing";
  EXPECT_THAT(io_.killed, ::testing::IsEmpty());

  EXPECT_THAT(Ids(supervisor_->Jobs(alice)), ElementsAre(job));
  EXPECT_THAT(Ids(supervisor_->Jobs(bob)), ElementsAre(bobs));
  // An unknown job is still "no job", whoever asks.
  EXPECT_EQ(supervisor_->Status(999, bob).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(supervisor_->Watch("alice", 8, WatchRequest{job, 0, 0, false}, alice).ok());
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("alice"), SizeIs(1));
  const Result<CancelReply> own = supervisor_->Cancel(job, alice);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->job.state, JobState::kDone);
}

TEST_F(SupervisorAccessTest, RootJobdsUserAndTheAdminGroupSeeEveryJob) {
  Start(1);
  Ready(100, 0);
  const JobId job = SubmitAs(User(1000), "alice", Map("sleep", {"5", "5"}, false));
  const std::pair<const char*, Caller> privileged[] = {
      {"root", User(0, 0)},
      {"jobd's user", User(990, 990)},
      {"the admin group as primary group", User(1200, 50)},
      {"a listed member of the admin group", User(1500, 100)},
  };
  for (const auto& [who, caller] : privileged) {
    SCOPED_TRACE(who);
    EXPECT_TRUE(caller.privileged);
    EXPECT_TRUE(supervisor_->Status(job, caller).ok());
    EXPECT_THAT(Ids(supervisor_->Jobs(caller)), ElementsAre(job));
    EXPECT_TRUE(supervisor_->Watch("admin", 3, WatchRequest{job, 0, 0, false}, caller).ok());
  }
  EXPECT_FALSE(User(1201, 51).privileged) << "another group is no admin group";
  EXPECT_FALSE(AccessPolicy(AccessOptions{990, std::nullopt, {}})
                   .LocalCaller(PeerCredentials{1200, 50, 1})
                   .privileged)
      << "without --admin-group, gid 50 is nothing special";

  // A job an admin submits is the admin's: its owner is who sent it.
  const JobId admins = SubmitAs(User(1500, 100), "admin", Map("echo", {"x"}, false));
  EXPECT_EQ(supervisor_->Status(admins, User(1000)).status().code(),
            StatusCode::kPermissionDenied);
  const Result<CancelReply> cancelled = supervisor_->Cancel(job, User(1200, 50));
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->job.cancelled, 2u);
}

TEST_F(SupervisorAccessTest, CurveClientsOwnJobsByTheirKeysName) {
  Start(1);
  Ready(100, 0);
  const Caller alice = AccessPolicy::KeyCaller("alice");
  const JobId job = SubmitAs(alice, "laptop", Map("echo", {"x"}, false));
  // Another key with the same name (alice's second machine) is alice too.
  EXPECT_TRUE(supervisor_->Status(job, AccessPolicy::KeyCaller("alice")).ok());
  EXPECT_EQ(supervisor_->Status(job, AccessPolicy::KeyCaller("bob")).status().code(),
            StatusCode::kPermissionDenied);
  // A key's name is no local user, whatever the user's name or uid.
  EXPECT_EQ(supervisor_->Status(job, User(1000)).status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(alice.privileged);
  EXPECT_TRUE(supervisor_->Status(job, User(0, 0)).ok());
}

TEST_F(SupervisorAccessTest, WorkersShowOnlyTheCallersOwnJobs) {
  Start(1);
  Ready(100, 0);
  const JobId job = SubmitAs(User(1000), "alice", Map("sleep", {"5"}, false));
  supervisor_->Flush();
  EXPECT_EQ(supervisor_->Workers(User(1000)).at(0).job, job);
  EXPECT_EQ(supervisor_->Workers(User(0, 0)).at(0).job, job);
  const WorkerInfo seen_by_bob = supervisor_->Workers(User(1001)).at(0);
  EXPECT_EQ(seen_by_bob.state, WorkerState::kBusy);
  EXPECT_EQ(seen_by_bob.job, 0u) << "which job it runs is alice's business";
}

}  // namespace
}  // namespace jobd

namespace jobd {
namespace {

std::vector<std::string> Numbers(int count) {
  std::vector<std::string> items;
  for (int i = 0; i < count; ++i) items.push_back(std::to_string(i));
  return items;
}

// Batches: a worker runs what it holds in order; only the first has begun.
class BatchingTest : public SupervisorTest {
 protected:
  void CompleteIn(int32_t pid, const Assignment& a, uint64_t duration_us) {
    WorkerReport report;
    report.outcomes.push_back(
        Outcome{a.job, a.index, a.attempt, true, "v", "", duration_us, std::nullopt});
    supervisor_->OnWorkerMessage(pid, FromWorker{kProtocolVersion, report});
  }
};

TEST_F(BatchingTest, ShortTasksGoInBatchesOnceTheirLengthIsKnown) {
  Start(1);
  Ready(100, 0, 64);
  ASSERT_TRUE(Submit("c", 1, Map("echo", Numbers(200))).ok());
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(1));  // nothing known yet: one
  CompleteIn(100, io_.TasksSentTo(100)[0], 10);
  supervisor_->Flush();
  // 10 us a task: the whole credit (the first to the idle worker, the rest in
  // one message behind it).
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(1 + 64));
  EXPECT_THAT(io_.to_workers[100], SizeIs(3));
}

TEST_F(BatchingTest, LongTasksGoOneAtATime) {
  Start(1);
  Ready(100, 0, 64);
  ASSERT_TRUE(Submit("c", 1, Map("spin", Numbers(10))).ok());
  supervisor_->Flush();
  CompleteIn(100, io_.TasksSentTo(100)[0], 200'000);
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(2));
}

TEST_F(BatchingTest, TasksOfAFewMillisecondsHaveOneWaitingBehind) {
  Start(1);
  Ready(100, 0, 64);
  ASSERT_TRUE(Submit("c", 1, Map("spin", Numbers(10))).ok());
  supervisor_->Flush();
  CompleteIn(100, io_.TasksSentTo(100)[0], 10'000);
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(3));  // one running, one at hand
}

TEST_F(BatchingTest, NothingWaitsBehindATaskRunningFarLongerThanUsual) {
  Start(1);
  Ready(100, 0, 64);
  ASSERT_TRUE(Submit("c", 1, Map("echo", {"x"}, false)).ok());
  supervisor_->Flush();
  CompleteIn(100, io_.TasksSentTo(100)[0], 10);  // this worker's tasks take 10 us
  ASSERT_TRUE(Submit("c", 2, Map("spin", {"60000"}, false)).ok());
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(2));
  clock_.Advance(Millis(1000));
  ASSERT_TRUE(Submit("c", 3, Map("echo", Numbers(10), false)).ok());
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(2)) << "queued behind a task a second into its run";
  CompleteIn(100, io_.TasksSentTo(100)[1], 1'000'000);
  supervisor_->Flush();
  // The long task raised the average: one at a time until it comes down.
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(3));
}

TEST_F(BatchingTest, ACrashCountsAnAttemptOnlyForTheTaskThatWasRunning) {
  Start(1);
  Ready(100, 0, 64);
  SubmitRequest request = Map("echo", Numbers(4));
  request.retries = 0;
  ASSERT_TRUE(Submit("c", 1, request).ok());
  supervisor_->Flush();
  CompleteIn(100, io_.TasksSentTo(100)[0], 10);
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(4));  // 1 done, then a batch of 3
  supervisor_->OnWorkerExited(100, ExitStatus{true, SIGSEGV});
  supervisor_->Flush();
  auto results = io_.ResultsFor("c");
  ASSERT_THAT(results, SizeIs(2));  // the first, ok, and the running one, crashed
  EXPECT_EQ(results[1].status, TaskStatus::kCrashed);
  EXPECT_EQ(results[1].index, io_.TasksSentTo(100)[1].index);
  // The two that waited behind it run again as first attempts.
  const int32_t next = io_.LastSpawned();
  Ready(next, 0, 64);
  supervisor_->Flush();
  std::vector<Assignment> again = io_.TasksSentTo(next);
  ASSERT_FALSE(again.empty());
  for (const Assignment& a : again) EXPECT_EQ(a.attempt, 1u);
}

TEST_F(BatchingTest, ATasksClockStartsWhenTheTaskBeforeItEnds) {
  Start(1);
  Ready(100, 0, 64);
  SubmitRequest request = Map("echo", Numbers(3));
  request.timeout_us = 500'000;
  ASSERT_TRUE(Submit("c", 1, request).ok());
  supervisor_->Flush();
  CompleteIn(100, io_.TasksSentTo(100)[0], 10);
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(100), SizeIs(3));
  clock_.Advance(Millis(400));
  CompleteIn(100, io_.TasksSentTo(100)[1], 10);
  clock_.Advance(Millis(400));  // 800 ms after it was sent, 400 ms after it began
  supervisor_->OnTick();
  EXPECT_TRUE(io_.killed.empty());
  clock_.Advance(Millis(100));
  supervisor_->OnTick();
  EXPECT_THAT(io_.killed, ElementsAre(100));
}

TEST_F(BatchingTest, CancelDropsTasksWaitingInABatchWithoutKillingTheWorker) {
  Start(1);
  Ready(100, 0, 64);
  auto first = Submit("a", 1, Map("echo", {"x"}, false));
  supervisor_->Flush();
  CompleteIn(100, io_.TasksSentTo(100)[0], 10);
  auto other = Submit("a", 2, Map("echo", Numbers(2), false));
  auto doomed = Submit("c", 3, Map("echo", Numbers(2)));
  supervisor_->Flush();
  std::vector<Assignment> sent = io_.TasksSentTo(100);
  ASSERT_THAT(sent, SizeIs(5));
  ASSERT_EQ(sent[1].job, other->job);  // running: the other job's
  Result<CancelReply> reply = supervisor_->Cancel(doomed->job);
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(io_.killed.empty());
  supervisor_->Flush();
  EXPECT_THAT(io_.ResultsFor("c"), SizeIs(2));
  EXPECT_EQ(supervisor_->Status(other->job)->running, 2u);
}

}  // namespace
}  // namespace jobd
