// Who runs the tasks: per-user workers (jobd can change identity), and the
// shared pool of an unprivileged jobd, which refuses other users' code.
#include <signal.h>

#include <algorithm>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/daemon/supervisor_fixture.h"
#include "util/worker_exit.h"

namespace jobd {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr uint32_t kAlice = 1000;
constexpr uint32_t kBob = 1001;
constexpr uint32_t kNobody = 65534;

class PerUserWorkersTest : public SupervisorTest {
 protected:
  PerUserWorkersTest() : policy_(AccessOptions{0, std::nullopt, {}}) {
    options_.per_user_workers = true;
    options_.own_uid = 0;
    options_.own_name = "root";
    options_.anonymous_uid = kNobody;
    options_.worker_idle_timeout = Millis(60'000);
  }

  Caller User(uint32_t uid) const { return policy_.LocalCaller(PeerCredentials{uid, uid, 1}); }
  Result<std::optional<JobInfo>> SubmitAs(const Caller& caller, const ClientId& client,
                                          SubmitRequest request) {
    return supervisor_->Submit(client, ++request_id_, std::move(request), caller);
  }
  // The pids spawned as `uid`, in order.
  std::vector<int32_t> SpawnedAs(uint32_t uid) const {
    std::vector<int32_t> pids;
    for (const auto& [slot, pid] : io_.spawned) {
      if (io_.spawned_as.at(pid) == uid) pids.push_back(pid);
    }
    return pids;
  }
  uint32_t SlotOf(int32_t pid) const { return *supervisor_->SlotOf(pid); }
  void ReadyAll(const std::vector<int32_t>& pids) {
    for (int32_t pid : pids) Ready(pid, SlotOf(pid));
  }
  // Starts with every slot's worker (jobd's own user's) ready and idle.
  void StartReady(uint32_t workers) {
    Start(workers);
    ASSERT_THAT(io_.spawned, SizeIs(workers));
    for (const auto& [slot, pid] : io_.spawned) Ready(pid, slot);
  }
  bool ToldToLeave(int32_t pid) {
    const auto& sent = io_.to_workers[pid];
    return !sent.empty() && std::holds_alternative<ShutdownWorker>(sent.back().body);
  }
  // The workers told to leave leave; how many did.
  size_t LeaveAsTold() {
    size_t left = 0;
    for (const auto& [slot, pid] : io_.spawned) {
      if (supervisor_->IsWorker(pid) && ToldToLeave(pid)) {
        supervisor_->OnWorkerExited(pid, ExitStatus{false, 0});
        ++left;
      }
    }
    return left;
  }

  AccessPolicy policy_;
  RequestId request_id_ = 0;
};

TEST_F(PerUserWorkersTest, StartsEverySlotWithAWorkerOfJobdsOwnUser) {
  Start(3);
  ASSERT_THAT(io_.spawned, SizeIs(3));
  for (const auto& [pid, uid] : io_.spawned_as) EXPECT_EQ(uid, 0u);
  EXPECT_FALSE(supervisor_->AllWorkersReady());
  for (const auto& [slot, pid] : io_.spawned) Ready(pid, slot);
  EXPECT_TRUE(supervisor_->AllWorkersReady());
  EXPECT_EQ(supervisor_->Workers()[1].uid, 0u);
}

TEST_F(PerUserWorkersTest, EachUsersTasksRunInWorkersOfThatUser) {
  StartReady(4);
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("echo", {"a1", "a2"})).ok());
  ASSERT_TRUE(SubmitAs(User(kBob), "b", Map("echo", {"b1", "b2"})).ok());
  supervisor_->Flush();
  // jobd's idle workers give up their slots, two for each user.
  EXPECT_EQ(LeaveAsTold(), 4u);
  supervisor_->Flush();
  EXPECT_THAT(SpawnedAs(kAlice), SizeIs(2));
  EXPECT_THAT(SpawnedAs(kBob), SizeIs(2));

  ReadyAll(SpawnedAs(kAlice));
  ReadyAll(SpawnedAs(kBob));
  supervisor_->Flush();
  for (int32_t pid : SpawnedAs(kAlice)) {
    ASSERT_THAT(io_.TasksSentTo(pid), SizeIs(1));
    const Assignment a = io_.TasksSentTo(pid)[0];
    EXPECT_EQ(a.args[0][0], 'a') << "alice's worker got " << a.args[0];
    Complete(pid, a, true, a.args[0]);
  }
  for (int32_t pid : SpawnedAs(kBob)) {
    ASSERT_THAT(io_.TasksSentTo(pid), SizeIs(1));
    const Assignment a = io_.TasksSentTo(pid)[0];
    EXPECT_EQ(a.args[0][0], 'b') << "bob's worker got " << a.args[0];
    Complete(pid, a, true, a.args[0]);
  }
  supervisor_->Flush();
  for (const TaskResult& r : io_.ResultsFor("a")) EXPECT_EQ(r.uid, kAlice);
  for (const TaskResult& r : io_.ResultsFor("b")) EXPECT_EQ(r.uid, kBob);
  EXPECT_THAT(io_.ResultsFor("a"), SizeIs(2));
  EXPECT_THAT(io_.ResultsFor("b"), SizeIs(2));
  EXPECT_EQ(supervisor_->UidOf(SpawnedAs(kBob)[0]), kBob);
}

TEST_F(PerUserWorkersTest, JobdsOwnUsersTasksRunInTheWarmPool) {
  StartReady(2);
  ASSERT_TRUE(SubmitAs(User(0), "r", Map("echo", {"1", "2"})).ok());
  supervisor_->Flush();
  EXPECT_THAT(io_.spawned, SizeIs(2)) << "no new worker";
  EXPECT_THAT(io_.TasksSentTo(io_.spawned[0].second), SizeIs(1));
  EXPECT_THAT(io_.TasksSentTo(io_.spawned[1].second), SizeIs(1));
}

TEST_F(PerUserWorkersTest, AnIdleWorkerOfOneUserNeverTakesAnothersTasks) {
  StartReady(1);
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("echo", {"a1"})).ok());
  supervisor_->Flush();
  ASSERT_EQ(LeaveAsTold(), 1u);
  supervisor_->Flush();
  const int32_t alice = SpawnedAs(kAlice).at(0);
  Ready(alice, 0);
  supervisor_->Flush();
  Complete(alice, io_.TasksSentTo(alice).at(0), true, "a1");
  // Alice's worker is idle; bob's task waits for it to give up the slot.
  ASSERT_TRUE(SubmitAs(User(kBob), "b", Map("echo", {"b1"})).ok());
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(alice), SizeIs(1));
  ASSERT_FALSE(io_.to_workers[alice].empty());
  ASSERT_TRUE(std::holds_alternative<ShutdownWorker>(io_.to_workers[alice].back().body));
  supervisor_->OnWorkerExited(alice, ExitStatus{false, 0});
  supervisor_->Flush();
  const int32_t bob = SpawnedAs(kBob).at(0);
  Ready(bob, 0);
  supervisor_->Flush();
  ASSERT_THAT(io_.TasksSentTo(bob), SizeIs(1));
  EXPECT_EQ(io_.TasksSentTo(bob)[0].args[0], "b1");
}

TEST_F(PerUserWorkersTest, TheWarmPoolGivesUpItsSlotBeforeAUsersIdleWorker) {
  StartReady(2);
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("echo", {"a1"})).ok());
  supervisor_->Flush();
  ASSERT_EQ(LeaveAsTold(), 1u);
  supervisor_->Flush();
  const int32_t alice = SpawnedAs(kAlice).at(0);
  Ready(alice, SlotOf(alice));
  supervisor_->Flush();
  Complete(alice, io_.TasksSentTo(alice).at(0), true, "a1");
  // Alice's idle worker and the pool's hold a slot each, neither with work
  // queued: bob's slot is the pool's, and alice keeps hers.
  ASSERT_TRUE(SubmitAs(User(kBob), "b", Map("echo", {"b1"})).ok());
  supervisor_->Flush();
  EXPECT_FALSE(ToldToLeave(alice));
  ASSERT_EQ(LeaveAsTold(), 1u);
  supervisor_->Flush();
  EXPECT_THAT(SpawnedAs(kBob), SizeIs(1));
  EXPECT_TRUE(supervisor_->IsWorker(alice));
}

TEST_F(PerUserWorkersTest, ABusyUserGivesUpSlotsBeyondItsShare) {
  StartReady(2);
  std::vector<std::string> many(20, "x");
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("sleep", many)).ok());
  supervisor_->Flush();
  ASSERT_EQ(LeaveAsTold(), 2u);
  supervisor_->Flush();
  ASSERT_THAT(SpawnedAs(kAlice), SizeIs(2)) << "alone, alice gets every slot";
  ReadyAll(SpawnedAs(kAlice));
  supervisor_->Flush();

  ASSERT_TRUE(SubmitAs(User(kBob), "b", Map("sleep", {"1", "2"})).ok());
  supervisor_->Flush();
  // One of alice's two workers retires after its task; its slot is bob's.
  std::vector<int32_t> retiring;
  for (const WorkerInfo& w : supervisor_->Workers()) {
    if (w.state == WorkerState::kRetiring) retiring.push_back(w.pid);
  }
  ASSERT_THAT(retiring, SizeIs(1));
  supervisor_->Flush();
  ASSERT_THAT(retiring, SizeIs(1)) << "the next turn frees no second slot";
  const int32_t leaving = retiring[0];
  Complete(leaving, io_.TasksSentTo(leaving).back(), true, "");
  supervisor_->Flush();
  ASSERT_FALSE(io_.to_workers[leaving].empty());
  ASSERT_TRUE(std::holds_alternative<ShutdownWorker>(io_.to_workers[leaving].back().body));
  supervisor_->OnWorkerExited(leaving, ExitStatus{false, 0});
  supervisor_->Flush();
  ASSERT_THAT(SpawnedAs(kBob), SizeIs(1));
  EXPECT_THAT(SpawnedAs(kAlice), SizeIs(2)) << "alice keeps her fair share of one";
}

TEST_F(PerUserWorkersTest, AnIdleWorkerLeavesAfterTheIdleTimeout) {
  options_.worker_idle_timeout = Millis(5000);
  options_.heartbeat_interval = Millis(10'000);  // not lost meanwhile
  StartReady(1);
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("echo", {"1"})).ok());
  supervisor_->Flush();
  ASSERT_EQ(LeaveAsTold(), 1u);
  supervisor_->Flush();
  const int32_t alice = SpawnedAs(kAlice).at(0);
  Ready(alice, 0);
  supervisor_->Flush();
  Complete(alice, io_.TasksSentTo(alice).at(0), true, "1");
  ASSERT_TRUE(supervisor_->NextDeadline().has_value());
  EXPECT_LE(*supervisor_->NextDeadline(), clock_.Now() + Millis(5000));
  clock_.Advance(Millis(4999));
  supervisor_->OnTick();
  supervisor_->Flush();
  EXPECT_FALSE(ToldToLeave(alice));
  clock_.Advance(Millis(1));
  supervisor_->OnTick();
  supervisor_->Flush();
  EXPECT_TRUE(ToldToLeave(alice));
  supervisor_->OnWorkerExited(alice, ExitStatus{false, 0});
  EXPECT_EQ(supervisor_->Workers()[0].state, WorkerState::kVacant);
  supervisor_->Flush();
  ASSERT_THAT(io_.spawned, SizeIs(3));
  EXPECT_EQ(io_.spawned_as.at(io_.spawned.back().second), 0u)
      << "with nothing queued, the slot goes back to jobd's own warm pool";
}

TEST_F(PerUserWorkersTest, AUserItsWorkersCannotBecomeHasItsTasksFailed) {
  StartReady(2);
  auto accepted = SubmitAs(User(4'000'000), "x", Map("echo", {"1", "2"}));
  ASSERT_TRUE(accepted.ok());
  supervisor_->Flush();
  LeaveAsTold();
  supervisor_->Flush();
  const std::vector<int32_t> pids = SpawnedAs(4'000'000);
  ASSERT_FALSE(pids.empty());
  supervisor_->OnWorkerExited(pids[0], ExitStatus{false, kWorkerExitCannotRunAs});
  supervisor_->Flush();
  const auto results = io_.ResultsFor("x");
  ASSERT_THAT(results, SizeIs(2));
  for (const TaskResult& r : results) {
    EXPECT_EQ(r.status, TaskStatus::kFailed);
    EXPECT_THAT(r.error, HasSubstr("cannot run tasks as uid 4000000"));
  }
  // The user waits out a back-off before the next try.
  const size_t spawned = io_.spawned.size();
  ASSERT_TRUE(SubmitAs(User(4'000'000), "x", Map("echo", {"3"})).ok());
  supervisor_->Flush();
  EXPECT_EQ(io_.spawned.size(), spawned);
}

TEST_F(PerUserWorkersTest, AWorkerLimitCapsOneUsersWorkers) {
  options_.max_workers_per_user = 1;
  StartReady(4);
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("sleep", {"1", "2", "3", "4"})).ok());
  supervisor_->Flush();
  EXPECT_EQ(LeaveAsTold(), 1u);
  supervisor_->Flush();
  EXPECT_THAT(SpawnedAs(kAlice), SizeIs(1));
}

TEST_F(PerUserWorkersTest, AQueueLimitPerUserLeavesRoomForOthers) {
  options_.max_queued_tasks_per_user = 3;
  StartReady(1);
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("echo", {"1", "2"})).ok());
  auto refused = SubmitAs(User(kAlice), "a", Map("echo", {"3", "4"}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("--max-queued-tasks-per-user"));
  EXPECT_TRUE(SubmitAs(User(kBob), "b", Map("echo", {"1", "2", "3"})).ok());
}

TEST_F(PerUserWorkersTest, KillsAndSignalsCarryTheWorkersUid) {
  StartReady(2);
  SubmitRequest request = Commands({{"sleep", "10"}});
  request.timeout_us = 1000;
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", std::move(request)).ok());
  supervisor_->Flush();
  ASSERT_EQ(LeaveAsTold(), 1u);
  supervisor_->Flush();
  const int32_t alice = SpawnedAs(kAlice).at(0);
  Ready(alice, SlotOf(alice));
  supervisor_->Flush();
  CommandStartedIn(alice, io_.TasksSentTo(alice).at(0), 4242);
  clock_.Advance(Millis(2));
  supervisor_->OnTick();
  ASSERT_THAT(io_.signalled, SizeIs(1));
  EXPECT_EQ(io_.signalled[0], std::make_pair(4242, SIGTERM));
  EXPECT_EQ(io_.signalled_as[0], kAlice);

  ASSERT_TRUE(SubmitAs(User(kBob), "b", Map("sleep", {"10000"})).ok());
  supervisor_->Flush();
  ASSERT_EQ(LeaveAsTold(), 1u);
  supervisor_->Flush();
  const int32_t bob = SpawnedAs(kBob).at(0);
  Ready(bob, SlotOf(bob));
  supervisor_->Flush();
  const JobId job = io_.TasksSentTo(bob).at(0).job;
  ASSERT_TRUE(supervisor_->Cancel(job, User(kBob)).ok());
  ASSERT_FALSE(io_.killed.empty());
  EXPECT_EQ(io_.killed.back(), bob);
  EXPECT_EQ(io_.killed_as.back(), kBob);
}

TEST_F(PerUserWorkersTest, AKeyWithNoAccountRunsBuiltinsAsNobodyButNoCode) {
  StartReady(2);
  const Caller key = AccessPolicy::KeyCaller("k");
  auto refused = SubmitAs(key, "k", Commands({{"id"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), HasSubstr("key k has no local account"));
  ASSERT_TRUE(SubmitAs(key, "k", Map("echo", {"1"})).ok());
  const Caller mapped = AccessPolicy::KeyCaller("alice", kAlice);
  ASSERT_TRUE(SubmitAs(mapped, "m", Commands({{"id"}})).ok());
  supervisor_->Flush();
  EXPECT_EQ(LeaveAsTold(), 2u);
  supervisor_->Flush();
  EXPECT_THAT(SpawnedAs(kNobody), SizeIs(1)) << "a key with no account runs as nobody";
  EXPECT_THAT(SpawnedAs(kAlice), SizeIs(1)) << "a key mapped to alice runs as alice";
}

TEST_F(PerUserWorkersTest, ACodePluginTaskLearntLaterIsRefusedWhenDispatched) {
  Start(1);
  const int32_t own = io_.spawned[0].second;
  const Caller key = AccessPolicy::KeyCaller("k");
  // Before any worker said what its tasks are, "lua" looks harmless.
  ASSERT_TRUE(SubmitAs(key, "k", Map("lua", {"os.execute('id')"})).ok());
  TaskInfo lua{"lua", "plugin", "lua.so", "", true};
  supervisor_->OnWorkerMessage(own, FromWorker{kProtocolVersion, WorkerReady{own, 0, 1, {lua}, {}}});
  supervisor_->Flush();
  LeaveAsTold();
  supervisor_->Flush();
  const int32_t nobody = SpawnedAs(kNobody).at(0);
  supervisor_->OnWorkerMessage(nobody,
                               FromWorker{kProtocolVersion, WorkerReady{nobody, 0, 1, {lua}, {}}});
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(nobody), SizeIs(0));
  const auto results = io_.ResultsFor("k");
  ASSERT_THAT(results, SizeIs(1));
  EXPECT_EQ(results[0].status, TaskStatus::kFailed);
  EXPECT_THAT(results[0].error, HasSubstr("has no local account"));
  // Now that it is known, it is refused at once.
  auto refused = SubmitAs(key, "k", Map("lua", {"1"}));
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(PerUserWorkersTest, ReloadReplacesOnlyJobdsOwnWorkers) {
  StartReady(2);
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("echo", {"1"})).ok());
  supervisor_->Flush();
  ASSERT_EQ(LeaveAsTold(), 1u);
  supervisor_->Flush();
  ReadyAll(SpawnedAs(kAlice));
  supervisor_->Flush();  // alice's worker takes her task
  supervisor_->RecycleWorkers();
  supervisor_->Flush();
  EXPECT_EQ(LeaveAsTold(), 1u) << "alice's worker finishes her task first";
  supervisor_->Flush();
  EXPECT_THAT(SpawnedAs(0), SizeIs(3)) << "the warm pool's worker comes back";
}

// ---- an unprivileged jobd: one shared pool, running as jobd's user ------

class SharedPoolTest : public SupervisorTest {
 protected:
  SharedPoolTest() : policy_(AccessOptions{kAlice, std::nullopt, {}}) {
    options_.own_uid = kAlice;
    options_.own_name = "alice";
  }
  Caller User(uint32_t uid) const { return policy_.LocalCaller(PeerCredentials{uid, uid, 1}); }
  Result<std::optional<JobInfo>> SubmitAs(const Caller& caller, const ClientId& client,
                                          SubmitRequest request) {
    return supervisor_->Submit(client, ++request_id_, std::move(request), caller);
  }
  AccessPolicy policy_;
  RequestId request_id_ = 0;
};

TEST_F(SharedPoolTest, AnotherUsersCommandsAreRefusedNamingWhy) {
  Start(1);
  auto refused = SubmitAs(User(kBob), "b", Commands({{"id"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(),
            "permission denied: this jobd runs as alice and cannot run tasks as uid 1001: start "
            "it as root or with the jobd unit (built-in and plugin tasks are allowed)");
  EXPECT_TRUE(SubmitAs(User(kAlice), "a", Commands({{"id"}})).ok());
  EXPECT_TRUE(SubmitAs(User(0), "r", Map("echo", {"1"})).ok()) << "built-ins are fine";
  EXPECT_FALSE(SubmitAs(User(0), "r", Commands({{"id"}})).ok()) << "root's commands too";
}

TEST_F(SharedPoolTest, EveryWorkerRunsAsJobdsUser) {
  Start(2);
  for (const auto& [pid, uid] : io_.spawned_as) EXPECT_EQ(uid, kAlice);
  Ready(100, 0);
  ASSERT_TRUE(SubmitAs(User(kBob), "b", Map("echo", {"1"})).ok());
  supervisor_->Flush();
  Complete(100, io_.TasksSentTo(100).at(0), true, "1");
  supervisor_->Flush();
  ASSERT_THAT(io_.ResultsFor("b"), SizeIs(1));
  EXPECT_EQ(io_.ResultsFor("b")[0].uid, kAlice);
}

TEST_F(SharedPoolTest, TwoUsersTasksInterleave) {
  Start(1);
  Ready(100, 0);
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("echo", {"a1", "a2", "a3"})).ok());
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("echo", {"A1", "A2", "A3"})).ok());
  ASSERT_TRUE(SubmitAs(User(kBob), "b", Map("echo", {"b1", "b2", "b3"})).ok());
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    supervisor_->Flush();
    const Assignment a = io_.TasksSentTo(100).back();
    order.push_back(a.args[0]);
    Complete(100, a, true, "");
  }
  // Turns go to users first, then to a user's jobs: alice's two jobs share
  // her turns.
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "b1", "A1", "b2", "a2", "b3"}));
}

TEST_F(SharedPoolTest, AWorkerLimitPerUserLeavesWorkersToOthers) {
  options_.max_workers_per_user = 1;
  Start(2);
  Ready(100, 0);
  Ready(101, 1);
  ASSERT_TRUE(SubmitAs(User(kBob), "b", Map("sleep", {"1", "2", "3"})).ok());
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(100), SizeIs(1));
  EXPECT_THAT(io_.TasksSentTo(101), SizeIs(0)) << "bob has his one worker";
  ASSERT_TRUE(SubmitAs(User(kAlice), "a", Map("sleep", {"1"})).ok());
  supervisor_->Flush();
  EXPECT_THAT(io_.TasksSentTo(101), SizeIs(1));
  EXPECT_EQ(io_.TasksSentTo(101)[0].args[0], "1");
}

}  // namespace
}  // namespace jobd
