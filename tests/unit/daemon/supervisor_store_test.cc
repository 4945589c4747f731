// The supervisor with a durable store: acknowledgement after commit, results
// shown only once durable, recovery, and drain keeping queued work.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "daemon/core/supervisor.h"

namespace jobd {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

class RecordingStore : public JobStore {
 public:
  uint64_t Record(StoreOp op) override {
    ops.push_back(std::move(op));
    return ops.size();
  }
  void Load(JobId job) override { loads.push_back(job); }
  std::vector<JobId> loads;
  template <typename T>
  size_t Count() const {
    return static_cast<size_t>(std::count_if(ops.begin(), ops.end(), [](const StoreOp& op) {
      return std::holds_alternative<T>(op);
    }));
  }
  std::vector<StoreOp> ops;
};

class NullIo : public SupervisorIo {
 public:
  Result<int32_t> SpawnWorker(uint32_t, uint32_t) override { return next_pid++; }
  void KillWorker(int32_t, uint32_t) override {}
  void SignalGroup(int32_t, int, uint32_t) override {}
  bool SendToWorker(int32_t pid, const ToWorker& message) override {
    if (auto* run = std::get_if<RunTasks>(&message.body)) {
      for (const Assignment& a : run->tasks) sent[pid].push_back(a);
    }
    return true;
  }
  Delivery SendToClient(const ClientId& client, const Reply& reply) override {
    to_clients[client].push_back(reply);
    return Delivery::kSent;
  }
  size_t ResultsFor(const ClientId& client) {
    size_t n = 0;
    for (const Reply& r : to_clients[client]) {
      if (auto* b = std::get_if<ResultBatch>(&r.body)) n += b->results.size();
    }
    return n;
  }
  int32_t next_pid = 100;
  std::map<int32_t, std::vector<Assignment>> sent;
  std::map<ClientId, std::vector<Reply>> to_clients;
};

class SupervisorStoreTest : public ::testing::Test {
 protected:
  SupervisorStoreTest() : log_("test", std::make_shared<spdlog::sinks::null_sink_mt>()) {
    options_.workers = 1;
    supervisor_ = std::make_unique<Supervisor>(options_, io_, clock_, log_, &store_);
  }
  void StartReady() {
    supervisor_->Start();
    supervisor_->OnWorkerMessage(100, FromWorker{kProtocolVersion, WorkerReady{100, 0, 1, {}, {}}});
  }
  void Complete(const Assignment& a) {
    WorkerReport report;
    report.outcomes.push_back(Outcome{a.job, a.index, a.attempt, true, "v", "", 1, std::nullopt});
    supervisor_->OnWorkerMessage(100, FromWorker{kProtocolVersion, report});
  }
  static SubmitRequest Map(std::vector<std::string> items, bool watch = true) {
    SubmitRequest request;
    request.default_task = "echo";
    for (auto& item : items) request.tasks.push_back(TaskInput{"", {item}});
    request.watch = watch;
    return request;
  }

  SupervisorOptions options_;
  NullIo io_;
  FakeClock clock_;
  spdlog::logger log_;
  RecordingStore store_;
  std::unique_ptr<Supervisor> supervisor_;
};

TEST_F(SupervisorStoreTest, JobIsAcknowledgedAndRunOnlyAfterItsCommit) {
  StartReady();
  auto accepted = supervisor_->Submit("c", 5, Map({"a", "b"}));
  ASSERT_TRUE(accepted.ok());
  EXPECT_FALSE(accepted->has_value()) << "acknowledged before it was committed";
  supervisor_->Flush();
  EXPECT_TRUE(io_.sent[100].empty());
  EXPECT_TRUE(supervisor_->Jobs().empty());
  ASSERT_EQ(store_.Count<JobCreated>(), 1u);
  // The tasks travel as the job's own specs, not as a copy.
  const JobCreated& created = std::get<JobCreated>(store_.ops[0]);
  EXPECT_THAT(created.job.tasks, IsEmpty());
  ASSERT_NE(created.specs, nullptr);
  EXPECT_EQ(created.specs->size(), 2u);
  EXPECT_EQ(created.specs->arg(1, 0), "b");

  supervisor_->OnStoreCommit(1, Status::Ok());
  ASSERT_THAT(io_.to_clients["c"], SizeIs(1));
  EXPECT_TRUE(std::holds_alternative<AcceptedReply>(io_.to_clients["c"][0].body));
  EXPECT_EQ(io_.to_clients["c"][0].request_id, 5u);
  supervisor_->Flush();
  EXPECT_THAT(io_.sent[100], SizeIs(1));
  EXPECT_EQ(store_.Count<TaskStarted>(), 1u);
}

TEST_F(SupervisorStoreTest, AFailedCommitRefusesTheJobWithTheReason) {
  StartReady();
  ASSERT_TRUE(supervisor_->Submit("c", 5, Map({"a"})).ok());
  supervisor_->OnStoreCommit(1, Status::Failed("database or disk is full"));
  ASSERT_THAT(io_.to_clients["c"], SizeIs(1));
  const auto& error = std::get<ErrorReply>(io_.to_clients["c"][0].body);
  EXPECT_THAT(error.message, ::testing::HasSubstr("disk is full"));
  EXPECT_TRUE(supervisor_->Jobs().empty());
  EXPECT_EQ(supervisor_->Pong().queued, 0u);
}

TEST_F(SupervisorStoreTest, ResultsReachClientsOnlyOnceCommitted) {
  StartReady();
  ASSERT_TRUE(supervisor_->Submit("c", 5, Map({"a"})).ok());
  supervisor_->OnStoreCommit(1, Status::Ok());
  supervisor_->Flush();
  Complete(io_.sent[100][0]);
  supervisor_->Flush();
  EXPECT_EQ(io_.ResultsFor("c"), 0u);
  ASSERT_EQ(store_.Count<TaskFinished>(), 1u);
  EXPECT_EQ(store_.Count<JobFinished>(), 1u);
  supervisor_->OnStoreCommit(store_.ops.size(), Status::Ok());
  supervisor_->Flush();
  EXPECT_EQ(io_.ResultsFor("c"), 1u);
}

TEST_F(SupervisorStoreTest, NoStoreJobsSkipTheStore) {
  StartReady();
  SubmitRequest request = Map({"a"});
  request.no_store = true;
  auto accepted = supervisor_->Submit("c", 5, request);
  ASSERT_TRUE(accepted.ok());
  EXPECT_TRUE(accepted->has_value());
  supervisor_->Flush();
  Complete(io_.sent[100][0]);
  supervisor_->Flush();
  EXPECT_EQ(io_.ResultsFor("c"), 1u);
  EXPECT_TRUE(store_.ops.empty());
}

TEST_F(SupervisorStoreTest, RestoreRequeuesUnfinishedTasksAndReplaysResults) {
  StoredJob stored;
  stored.id = 41;
  stored.default_task = "echo";
  stored.retries = 1;
  for (uint32_t i = 0; i < 3; ++i) {
    StoredTask task;
    task.index = i;
    task.args = {"x"};
    stored.tasks.push_back(task);
  }
  stored.tasks[1].finished = StoredTask::Final{TaskStatus::kOk, "done", "", 7, 10, 0, std::nullopt};
  stored.tasks[1].attempts = 1;
  stored.tasks[2].running = true;  // was running when jobd died
  stored.tasks[2].attempts = 1;
  supervisor_->Restore({stored}, 41);
  StartReady();

  EXPECT_EQ(supervisor_->Status(41)->ok, 1u);
  EXPECT_EQ(supervisor_->Status(41)->queued, 2u);
  // New jobs get new ids.
  ASSERT_TRUE(supervisor_->Submit("c", 5, Map({"a"})).ok());
  EXPECT_EQ(std::get<JobCreated>(store_.ops.back()).job.id, 42u);

  ASSERT_TRUE(supervisor_->Watch("w", 1, WatchRequest{41}).ok());
  supervisor_->Flush();
  EXPECT_EQ(io_.ResultsFor("w"), 1u);  // the finished one, at once
  // The task that was running runs again as its second attempt.
  std::vector<Assignment> sent = io_.sent[100];
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_EQ(sent[0].index, 0u);  // unfinished tasks run again in index order
  EXPECT_EQ(sent[0].attempt, 1u);
  Complete(sent[0]);
  supervisor_->Flush();
  ASSERT_THAT(io_.sent[100], SizeIs(2));
  EXPECT_EQ(io_.sent[100][1].index, 2u);
  EXPECT_EQ(io_.sent[100][1].attempt, 2u);
}

TEST_F(SupervisorStoreTest, OldJobsAreReadBackFromTheStoreOnRequest) {
  StoredJob old;
  old.id = 7;
  old.default_task = "echo";
  old.finished_unix_us = 1;
  StoredTask task;
  task.args = {"x"};
  task.attempts = 1;
  task.finished = StoredTask::Final{TaskStatus::kOk, "x", "", 9, 5, 0, std::nullopt};
  old.tasks.push_back(task);
  supervisor_->Restore({}, 10);
  StartReady();

  EXPECT_FALSE(supervisor_->Status(7).ok());
  EXPECT_FALSE(supervisor_->LookUp("c", 1, StatusRequest{11})) << "never handed out";
  ASSERT_TRUE(supervisor_->LookUp("c", 1, StatusRequest{7}));
  ASSERT_TRUE(supervisor_->LookUp("w", 2, WatchRequest{7}));
  EXPECT_EQ(store_.loads, std::vector<JobId>{7}) << "one read for both requests";
  supervisor_->OnJobLoaded(7, old, Status::Ok());
  supervisor_->Flush();
  ASSERT_THAT(io_.to_clients["c"], SizeIs(1));
  EXPECT_EQ(std::get<StatusReply>(io_.to_clients["c"][0].body).jobs.at(0).ok, 1u);
  ASSERT_GE(io_.to_clients["w"].size(), 2u);
  EXPECT_TRUE(std::holds_alternative<AcceptedReply>(io_.to_clients["w"][0].body));
  EXPECT_EQ(io_.ResultsFor("w"), 1u);

  ASSERT_TRUE(supervisor_->LookUp("c", 3, StatusRequest{8}));
  supervisor_->OnJobLoaded(8, std::nullopt, Status::Ok());
  EXPECT_EQ(std::get<ErrorReply>(io_.to_clients["c"].back().body).code, ErrorCode::kUnknownJob);
}

TEST_F(SupervisorStoreTest, DrainKeepsStoredQueuedTasksForTheNextStart) {
  StartReady();
  ASSERT_TRUE(supervisor_->Submit("c", 5, Map({"a", "b", "c"})).ok());
  supervisor_->OnStoreCommit(1, Status::Ok());
  supervisor_->Flush();
  supervisor_->BeginDrain();
  supervisor_->Flush();
  const JobInfo info = supervisor_->Jobs().at(0);
  EXPECT_EQ(info.cancelled, 0u);
  EXPECT_EQ(info.queued, 2u);
  EXPECT_EQ(info.running, 1u);
  Complete(io_.sent[100][0]);
  supervisor_->Flush();
  EXPECT_THAT(io_.sent[100], SizeIs(1)) << "nothing new starts while draining";
}

TEST_F(SupervisorStoreTest, JobsKeepTheirOwnerThroughTheStore) {
  const AccessPolicy policy(AccessOptions{990, std::nullopt, {}});
  const Caller alice = policy.LocalCaller(PeerCredentials{1000, 1000, 1});
  const Caller bob = policy.LocalCaller(PeerCredentials{1001, 1001, 1});
  const Caller root = policy.LocalCaller(PeerCredentials{0, 0, 1});
  supervisor_->Restore({}, 10);  // jobs 1 to 10 were handed out before
  StartReady();
  ASSERT_TRUE(supervisor_->Submit("alice", 1, Map({"a"}, false), alice).ok());
  ASSERT_EQ(store_.Count<JobCreated>(), 1u);
  EXPECT_EQ(std::get<JobCreated>(store_.ops[0]).job.owner.uid, std::optional<uint32_t>(1000));

  // Read back from the store (finished long ago): the owner comes with it.
  StoredJob old;
  old.id = 7;
  old.default_task = "echo";
  old.finished_unix_us = 1;
  old.owner.uid = 1000;
  StoredTask task;
  task.args = {"x"};
  task.attempts = 1;
  task.finished = StoredTask::Final{TaskStatus::kOk, "x", "", 9, 5, 0, std::nullopt};
  old.tasks.push_back(task);
  ASSERT_TRUE(supervisor_->LookUp("bob", 2, WatchRequest{7}, bob));
  ASSERT_TRUE(supervisor_->LookUp("alice", 3, StatusRequest{7}, alice));
  supervisor_->OnJobLoaded(7, old, Status::Ok());
  supervisor_->Flush();
  ASSERT_THAT(io_.to_clients["bob"], SizeIs(1)) << "a refusal, and no results";
  const auto& refusal = std::get<ErrorReply>(io_.to_clients["bob"][0].body);
  EXPECT_EQ(refusal.code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(refusal.message, "permission denied: job 7 belongs to another user");
  ASSERT_THAT(io_.to_clients["alice"], SizeIs(1));
  EXPECT_TRUE(std::holds_alternative<StatusReply>(io_.to_clients["alice"][0].body));
  EXPECT_TRUE(supervisor_->Status(7, root).ok());
}

TEST_F(SupervisorStoreTest, JobsStoredBeforeOwnersAreForPrivilegedCallersOnly) {
  const AccessPolicy policy(AccessOptions{990, std::nullopt, {}});
  StoredJob legacy;  // as schema version 2 left it: no owner
  legacy.id = 3;
  legacy.default_task = "echo";
  StoredTask task;
  task.args = {"x"};
  legacy.tasks.push_back(task);
  supervisor_->Restore({legacy}, 3);
  StartReady();
  const Caller user = policy.LocalCaller(PeerCredentials{1000, 1000, 1});
  const Result<JobInfo> denied = supervisor_->Status(3, user);
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.status().message(), ::testing::HasSubstr("no recorded owner"));
  EXPECT_TRUE(supervisor_->Jobs(user).empty());
  EXPECT_EQ(supervisor_->Cancel(3, user).status().code(), StatusCode::kPermissionDenied);
  for (const Caller& privileged : {policy.LocalCaller(PeerCredentials{0, 0, 1}),
                                   policy.LocalCaller(PeerCredentials{990, 990, 1})}) {
    EXPECT_TRUE(supervisor_->Status(3, privileged).ok());
    EXPECT_EQ(supervisor_->Jobs(privileged).size(), 1u);
  }
}

}  // namespace
}  // namespace jobd
