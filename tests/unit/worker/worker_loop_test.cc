// Drives a WorkerLoop over inproc:// from a ROUTER playing the coordinator.
// The loop runs on its own thread; every wait here is bounded, and time
// appears only in heartbeat settings and upper bounds, never as a way to
// wait for something.
#include "worker/worker_loop.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "proto/codec.h"
#include "util/record_sink.h"
#include "worker/builtin_tasks.h"
#include "worker/command_task.h"

namespace jobd {
namespace {

using std::chrono::milliseconds;

constexpr auto kWait = std::chrono::seconds(10);
constexpr uint32_t kSlot = 3;
// Defaults for tests not about heartbeats: the worker heartbeats often, and
// gives up on the test's silence only long after kWait.
constexpr milliseconds kInterval(100);
constexpr uint32_t kManyMisses = 600;

// Reports gathered until enough outcomes arrived, in arrival order.
struct Gathered {
  std::vector<WorkerReport> reports;
  std::vector<Outcome> outcomes;
  std::vector<LogRecord> logs;
  size_t heartbeats = 0;
  // For each outcome, how many heartbeats came before it.
  std::vector<size_t> heartbeats_before;
};

class WorkerLoopTest : public ::testing::Test {
 protected:
  WorkerLoopTest()
      : router_(context_, zmq::socket_type::router),
        dealer_(context_, zmq::socket_type::dealer),
        logger_("worker-test", MakeSink()) {
    static std::atomic<int> counter{0};
    const std::string endpoint = "inproc://worker-loop-test-" + std::to_string(counter++);
    router_.set(zmq::sockopt::linger, 0);
    router_.bind(endpoint);
    dealer_.set(zmq::sockopt::routing_id, "w");
    dealer_.set(zmq::sockopt::linger, 0);
    dealer_.connect(endpoint);
    logger_.set_level(spdlog::level::debug);
    RegisterBuiltinTasks(registry_);
  }

  ~WorkerLoopTest() override {
    // Let a blocked task end, or destroying the loop would wait for kWait.
    ReleaseBlock();
    if (!thread_.joinable()) return;
    // A test that failed half-way leaves the loop running: stop it.
    if (exit_code_.valid() &&
        exit_code_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      SendRaw(EncodeToWorker(ToWorker{kProtocolVersion, ShutdownWorker{}}));
    }
    thread_.join();
  }

  std::shared_ptr<RecordSink> MakeSink() {
    LogRecord base;
    base.pid = static_cast<int32_t>(getpid());
    base.role = LogRole::kWorker;
    base.worker = kSlot;
    return std::make_shared<RecordSink>(
        base, [this](LogRecord record) { logs_.Add(std::move(record)); });
  }

  void Start(milliseconds interval = kInterval, uint32_t misses = kManyMisses) {
    loop_.emplace(dealer_, registry_, kSlot, logger_, logs_, interval, misses, load_errors_);
    std::packaged_task<int()> run([this] { return loop_->Run(); });
    exit_code_ = run.get_future();
    thread_ = std::thread(std::move(run));
  }

  // The loop's return value, or -1 if it is still running after kWait.
  int WaitForExit() {
    if (exit_code_.wait_for(kWait) != std::future_status::ready) return -1;
    return exit_code_.get();
  }

  void SendRaw(const std::string& frame) {
    router_.send(zmq::buffer(std::string("w")), zmq::send_flags::sndmore);
    router_.send(zmq::buffer(frame), zmq::send_flags::none);
  }
  void Send(ToWorker message) { SendRaw(EncodeToWorker(message)); }

  // Registers "block": its body says it started, then waits (at most kWait)
  // until the test calls ReleaseBlock(). Call before Start(); run it once.
  void RegisterBlockTask() {
    auto block = [this](const std::vector<std::string>&) {
      body_started_.set_value();
      if (release_.wait_for(kWait) != std::future_status::ready) {
        return TaskOutput::Failure("never released");
      }
      return TaskOutput::Success("released");
    };
    ASSERT_TRUE(
        registry_.Register(TaskEntry{"block", TaskKind::kBuiltin, "for tests", block, "", {}}).ok());
  }
  bool WaitForBlockBody() {
    return body_started_.get_future().wait_for(kWait) == std::future_status::ready;
  }
  void ReleaseBlock() {
    if (!released_) release_promise_.set_value();
    released_ = true;
  }

  // The worker's next message, or nullopt after `timeout`.
  std::optional<FromWorker> Receive(milliseconds timeout =
                                        std::chrono::duration_cast<milliseconds>(kWait)) {
    zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, timeout);
    if ((item.revents & ZMQ_POLLIN) == 0) return std::nullopt;
    zmq::message_t identity, frame;
    EXPECT_TRUE(router_.recv(identity, zmq::recv_flags::dontwait));
    EXPECT_EQ(identity.to_string(), "w");
    EXPECT_TRUE(identity.more());
    EXPECT_TRUE(router_.recv(frame, zmq::recv_flags::dontwait));
    EXPECT_FALSE(frame.more());
    Result<FromWorker> message = DecodeFromWorker(frame.to_string_view());
    EXPECT_TRUE(message.ok()) << message.status().message();
    if (!message.ok()) return std::nullopt;
    EXPECT_EQ(message->version, kProtocolVersion);
    return *message;
  }

  // Receives the Ready that every conversation starts with.
  void ExpectReady() {
    std::optional<FromWorker> first = Receive();
    ASSERT_TRUE(first.has_value());
    const auto* ready = std::get_if<WorkerReady>(&first->body);
    ASSERT_NE(ready, nullptr) << "the first message must be WorkerReady";
    EXPECT_EQ(ready->pid, getpid());
    EXPECT_EQ(ready->slot, kSlot);
    EXPECT_EQ(ready->credit, WorkerLoop::kCredit);
  }

  // Reports until `outcomes` outcomes arrived in all (or a wait timed out),
  // plus, when `until_msg` is given, until a record with that text arrived.
  // Heartbeats are counted (and answered, with answer_heartbeats_).
  Gathered Gather(size_t outcomes, const std::string& until_msg = "") {
    Gathered gathered;
    auto seen = [&] {
      for (const LogRecord& r : gathered.logs) {
        if (r.msg == until_msg) return true;
      }
      return until_msg.empty();
    };
    while (gathered.outcomes.size() < outcomes || !seen()) {
      std::optional<FromWorker> message = Receive();
      if (!message) {
        ADD_FAILURE() << "timed out with " << gathered.outcomes.size() << " outcomes";
        break;
      }
      if (std::holds_alternative<Heartbeat>(message->body)) {
        ++gathered.heartbeats;
        if (answer_heartbeats_) Send(ToWorker{kProtocolVersion, Heartbeat{}});
        continue;
      }
      const auto* report = std::get_if<WorkerReport>(&message->body);
      if (report == nullptr) {
        ADD_FAILURE() << "expected a WorkerReport or a Heartbeat";
        break;
      }
      gathered.reports.push_back(*report);
      for (const Outcome& o : report->outcomes) {
        gathered.outcomes.push_back(o);
        gathered.heartbeats_before.push_back(gathered.heartbeats);
      }
      for (const LogRecord& r : report->logs) gathered.logs.push_back(r);
    }
    return gathered;
  }

  // Members in construction order; the loop thread is joined first.
  zmq::context_t context_;
  zmq::socket_t router_;
  zmq::socket_t dealer_;  // the worker's, used only by the loop thread
  PendingLogs logs_;
  spdlog::logger logger_;
  // The "block" task's handshakes; they outlive the loop, whose task
  // thread may still be inside that task until the loop is destroyed.
  std::promise<void> body_started_;
  std::promise<void> release_promise_;
  std::shared_future<void> release_ = release_promise_.get_future().share();
  bool released_ = false;
  TaskRegistry registry_;
  bool answer_heartbeats_ = false;  // Gather() plays a live coordinator
  std::vector<std::string> load_errors_;  // what Start() passes on
  std::optional<WorkerLoop> loop_;  // made by Start()
  std::future<int> exit_code_;
  std::thread thread_;
};

TEST_F(WorkerLoopTest, ReadyComesFirstThenItsLogRecord) {
  Start();
  ExpectReady();
  Gathered gathered = Gather(0, "worker ready");
  ASSERT_FALSE(gathered.logs.empty());
  const LogRecord& ready = gathered.logs.front();
  EXPECT_EQ(ready.msg, "worker ready");
  EXPECT_EQ(ready.level, LogLevel::kInfo);
  EXPECT_FALSE(ready.job.has_value());
  EXPECT_FALSE(ready.task.has_value());

  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, ReadyListsPluginTasksWithTheirFileAndTheLoadErrors) {
  auto noop = [](const std::vector<std::string>&) { return TaskOutput::Success(""); };
  ASSERT_TRUE(registry_
                  .Register(TaskEntry{"p_task", TaskKind::kPlugin, "from a plugin", noop,
                                      "/plugins/p.so", {}, false})
                  .ok());
  ASSERT_TRUE(registry_
                  .Register(TaskEntry{"p_lua", TaskKind::kPlugin, "runs SCRIPT", noop,
                                      "/plugins/lua.so", {}, true})
                  .ok());
  load_errors_ = {"/plugins/bad.so: invalid ELF header"};
  Start();
  std::optional<FromWorker> first = Receive();
  ASSERT_TRUE(first.has_value());
  const auto* ready = std::get_if<WorkerReady>(&first->body);
  ASSERT_NE(ready, nullptr);
  bool found_plugin = false, found_code_plugin = false, found_builtin = false;
  for (const TaskInfo& task : ready->tasks) {
    if (task.name == "p_task") {
      found_plugin = true;
      EXPECT_EQ(task.kind, "plugin");
      EXPECT_EQ(task.file, "/plugins/p.so");
      EXPECT_EQ(task.description, "from a plugin");
      EXPECT_FALSE(task.runs_code);
    }
    if (task.name == "p_lua") {
      found_code_plugin = true;
      EXPECT_EQ(task.kind, "plugin");
      EXPECT_TRUE(task.runs_code);
    }
    if (task.name == "echo") {
      found_builtin = true;
      EXPECT_EQ(task.kind, "built-in");
      EXPECT_EQ(task.file, "");
      EXPECT_FALSE(task.runs_code);
    }
  }
  EXPECT_TRUE(found_plugin);
  EXPECT_TRUE(found_code_plugin);
  EXPECT_TRUE(found_builtin);
  EXPECT_EQ(ready->load_errors, load_errors_);

  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, RunTasksStreamsOneOutcomePerTaskWithLogs) {
  Start();
  ExpectReady();
  Gather(0, "worker ready");
  Send(ToWorker{kProtocolVersion,
                RunTasks{{
                    Assignment{7, 0, 1, "echo", {"a", "b"}, std::nullopt},
                    Assignment{7, 1, 2, "sum_to_num", {"50000000"}, std::nullopt},
                    Assignment{7, 2, 1, "fail", {"no", "luck"}, std::nullopt},
                }}});
  Gathered gathered = Gather(3, "failed: no luck");

  ASSERT_EQ(gathered.outcomes.size(), 3u);
  const std::vector<Outcome>& o = gathered.outcomes;
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(o[i].job, 7u);
    EXPECT_EQ(o[i].index, i);
  }
  EXPECT_TRUE(o[0].ok);
  EXPECT_EQ(o[0].value, "a b");
  EXPECT_EQ(o[0].attempt, 1u);
  EXPECT_TRUE(o[1].ok);
  EXPECT_EQ(o[1].value, "1250000525000055");
  EXPECT_EQ(o[1].attempt, 2u);
  EXPECT_GT(o[1].duration_us, 0u);
  EXPECT_FALSE(o[2].ok);
  EXPECT_EQ(o[2].error, "no luck");
  EXPECT_EQ(o[2].value, "");

  // Results stream: each outcome travels in a report of its own.
  size_t reports_with_outcomes = 0;
  for (const WorkerReport& r : gathered.reports) {
    EXPECT_LE(r.outcomes.size(), 1u);
    reports_with_outcomes += r.outcomes.size();
  }
  EXPECT_EQ(reports_with_outcomes, 3u);

  // Each task's records carry its job and index; "running" left the worker
  // in a report before the one with that task's outcome (in case it crashes).
  for (uint32_t i = 0; i < 3; ++i) {
    std::optional<size_t> running_report, outcome_report, after_report;
    for (size_t k = 0; k < gathered.reports.size(); ++k) {
      for (const LogRecord& r : gathered.reports[k].logs) {
        if (r.task != i) continue;
        EXPECT_EQ(r.job, std::optional<uint64_t>(7));
        EXPECT_EQ(r.level, LogLevel::kDebug);
        if (r.msg == "running") running_report = k;
        if (r.msg.rfind(i == 2 ? "failed: " : "done in ", 0) == 0) after_report = k;
      }
      for (const Outcome& out : gathered.reports[k].outcomes) {
        if (out.index == i) outcome_report = k;
      }
    }
    ASSERT_TRUE(running_report && outcome_report && after_report) << "task " << i;
    EXPECT_LT(*running_report, *outcome_report) << "task " << i;
    EXPECT_EQ(*after_report, *outcome_report) << "task " << i;
  }

  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, UnknownTaskIsAFailedOutcomeNotAWorkerError) {
  Start();
  ExpectReady();
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{1, 5, 1, "nope", {}, std::nullopt}}}});
  Gathered gathered = Gather(1);
  ASSERT_EQ(gathered.outcomes.size(), 1u);
  EXPECT_FALSE(gathered.outcomes[0].ok);
  EXPECT_EQ(gathered.outcomes[0].index, 5u);
  EXPECT_EQ(gathered.outcomes[0].error,
            "unknown task 'nope' (known: crash, echo, fail, sleep, spin, sum_to_num)");
  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, ShutdownReturnsZeroAndSaysSo) {
  Start();
  ExpectReady();
  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  Gathered gathered = Gather(0, "worker stopping");
  EXPECT_EQ(gathered.logs.back().msg, "worker stopping");
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, UndecodableFrameReturnsThree) {
  Start();
  ExpectReady();
  SendRaw("this is not a capnp message");
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitProtocolError);
  // Its reason went out with the last report.
  Gathered gathered = Gather(0, "worker ready");
  bool reported = false;
  while (!reported) {
    std::optional<FromWorker> message = Receive();
    if (!message) break;
    const auto* report = std::get_if<WorkerReport>(&message->body);
    if (report == nullptr) continue;  // a heartbeat
    for (const LogRecord& r : report->logs) {
      if (r.level == LogLevel::kError && r.msg.find("protocol error") == 0) reported = true;
    }
  }
  EXPECT_TRUE(reported);
}

TEST_F(WorkerLoopTest, OtherProtocolVersionReturnsThree) {
  Start();
  ExpectReady();
  Send(ToWorker{static_cast<uint16_t>(kProtocolVersion + 1), ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitProtocolError);
}

TEST_F(WorkerLoopTest, HeartbeatsKeepComingWhileALongTaskRuns) {
  Start(milliseconds(50));
  ExpectReady();
  Gather(0, "worker ready");
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{2, 0, 1, "sleep", {"400"}, std::nullopt}}}});
  Gathered gathered = Gather(1);
  ASSERT_EQ(gathered.outcomes.size(), 1u);
  EXPECT_TRUE(gathered.outcomes[0].ok) << gathered.outcomes[0].error;
  // About 8 are due in 400 ms; 3 leave room for a slow machine.
  EXPECT_GE(gathered.heartbeats_before[0], 3u);
  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, CoordinatorHeartbeatsAreNotShutdownAndKeepTheWorkerAlive) {
  // The worker gives up after 8 x 30 = 240 ms of silence; the exchange below
  // lasts about 25 x 30 = 750 ms, so only the test's heartbeats keep it going.
  Start(milliseconds(30), 8);
  ExpectReady();
  answer_heartbeats_ = true;
  size_t heartbeats = 0;
  while (heartbeats < 25) {
    std::optional<FromWorker> message = Receive();
    ASSERT_TRUE(message.has_value()) << "after " << heartbeats << " heartbeats";
    if (!std::holds_alternative<Heartbeat>(message->body)) continue;
    ++heartbeats;
    Send(ToWorker{kProtocolVersion, Heartbeat{}});
  }
  ASSERT_NE(exit_code_.wait_for(std::chrono::seconds(0)), std::future_status::ready)
      << "the worker exited with " << exit_code_.get();

  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{5, 1, 1, "echo", {"still", "here"}, std::nullopt}}}});
  Gathered gathered = Gather(1);
  ASSERT_EQ(gathered.outcomes.size(), 1u);
  EXPECT_EQ(gathered.outcomes[0].value, "still here");
  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, SilentCoordinatorEndsTheLoopWithFourMidTask) {
  RegisterBlockTask();
  Start(milliseconds(30), 3);
  ExpectReady();
  // Before sending: the worker's silence clock starts when it receives.
  const auto sent = std::chrono::steady_clock::now();
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{6, 0, 1, "block", {}, std::nullopt}}}});
  ASSERT_TRUE(WaitForBlockBody());
  // The task stays blocked until the end of the test: Run() must not wait
  // for it.
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitCoordinatorLost);
  const auto elapsed = std::chrono::steady_clock::now() - sent;
  EXPECT_GE(elapsed, milliseconds(90));
  EXPECT_LT(elapsed, std::chrono::seconds(2));

  // It said why, and sent no outcome for the task it abandoned.
  bool said_why = false;
  while (std::optional<FromWorker> message = Receive(milliseconds(0))) {
    const auto* report = std::get_if<WorkerReport>(&message->body);
    if (report == nullptr) continue;
    EXPECT_TRUE(report->outcomes.empty());
    for (const LogRecord& r : report->logs) {
      if (r.level == LogLevel::kError && r.msg.rfind("coordinator silent for ", 0) == 0 &&
          r.msg.find(" ms; exiting") != std::string::npos) {
        said_why = true;
      }
    }
  }
  EXPECT_TRUE(said_why);
}

TEST_F(WorkerLoopTest, SilentCoordinatorEndsTheLoopDuringASleepTask) {
  Start(milliseconds(30), 3);
  ExpectReady();
  // Destroying the loop at the end of the test waits for this sleep.
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{6, 0, 1, "sleep", {"1500"}, std::nullopt}}}});
  const auto sent = std::chrono::steady_clock::now();
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitCoordinatorLost);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, milliseconds(1000));
}

TEST_F(WorkerLoopTest, SilenceRightAfterReadyAlsoEndsTheLoop) {
  Start(milliseconds(30), 3);
  ExpectReady();
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitCoordinatorLost);
}

TEST_F(WorkerLoopTest, RecordsLoggedBeforeATaskLeaveBeforeItsBodyStarts) {
  RegisterBlockTask();
  Start();
  ExpectReady();
  Gather(0, "worker ready");
  logger_.info("just before the task");
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{9, 4, 1, "block", {}, std::nullopt}}}});
  ASSERT_TRUE(WaitForBlockBody());

  // The body has started and is blocked; had it crashed, only what is
  // already queued at the router would have reached the coordinator.
  bool before = false, running = false;
  while (std::optional<FromWorker> message = Receive(milliseconds(0))) {
    const auto* report = std::get_if<WorkerReport>(&message->body);
    if (report == nullptr) continue;
    EXPECT_TRUE(report->outcomes.empty());
    for (const LogRecord& r : report->logs) {
      if (r.msg == "just before the task") before = true;
      if (r.msg == "running" && r.job == std::optional<uint64_t>(9) &&
          r.task == std::optional<uint32_t>(4)) {
        running = true;
      }
    }
  }
  EXPECT_TRUE(before);
  EXPECT_TRUE(running);

  ReleaseBlock();
  Gathered gathered = Gather(1);
  ASSERT_EQ(gathered.outcomes.size(), 1u);
  EXPECT_EQ(gathered.outcomes[0].value, "released");
  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, ShutdownWaitsForTheTaskItHolds) {
  RegisterBlockTask();
  Start();
  ExpectReady();
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{3, 2, 1, "block", {}, std::nullopt}}}});
  ASSERT_TRUE(WaitForBlockBody());
  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  // Not a synchronisation: the loop must not have exited, however long this is.
  EXPECT_EQ(exit_code_.wait_for(milliseconds(100)), std::future_status::timeout);

  ReleaseBlock();
  Gathered gathered = Gather(1, "worker stopping");
  ASSERT_EQ(gathered.outcomes.size(), 1u);
  EXPECT_EQ(gathered.outcomes[0].value, "released");
  EXPECT_EQ(gathered.logs.back().msg, "worker stopping");
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, ForgetDropsTheJobsWaitingTasksAndSaysWhich) {
  RegisterBlockTask();
  Start();
  ExpectReady();
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{3, 0, 1, "block", {}, std::nullopt},
                                            Assignment{3, 1, 1, "echo", {"no"}, std::nullopt},
                                            Assignment{4, 0, 1, "echo", {"yes"}, std::nullopt},
                                            Assignment{3, 2, 2, "echo", {"no"}, std::nullopt}}}});
  ASSERT_TRUE(WaitForBlockBody());
  Send(ToWorker{kProtocolVersion, ForgetTasks{3}});
  std::vector<DroppedTask> dropped;
  while (dropped.empty()) {
    std::optional<FromWorker> message = Receive();
    ASSERT_TRUE(message.has_value()) << "no report of the dropped tasks";
    if (const auto* report = std::get_if<WorkerReport>(&message->body)) {
      EXPECT_TRUE(report->outcomes.empty());
      dropped = report->dropped;
    }
  }
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[0].index, 1u);
  EXPECT_EQ(dropped[1].index, 2u);
  EXPECT_EQ(dropped[1].attempt, 2u);
  // The begun task runs on; the other job's is kept.
  ReleaseBlock();
  Gathered gathered = Gather(2);
  ASSERT_EQ(gathered.outcomes.size(), 2u);
  EXPECT_EQ(gathered.outcomes[0].job, 3u);
  EXPECT_EQ(gathered.outcomes[0].value, "released");
  EXPECT_EQ(gathered.outcomes[1].job, 4u);
  EXPECT_EQ(gathered.outcomes[1].value, "yes");
  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, ACommandsGroupIsReportedOnlyOnceItHasRunAWhile) {
  RegisterCommandTask(registry_, 1 << 20);
  Start();
  ExpectReady();
  Send(ToWorker{kProtocolVersion,
                RunTasks{{Assignment{5, 0, 1, kCommandTaskName, {"/bin/true"}, std::nullopt}}}});
  Gathered quick = Gather(1);
  ASSERT_EQ(quick.outcomes.size(), 1u);
  EXPECT_TRUE(quick.outcomes[0].ok);
  // Over well before the delay: its outcome is all there is to say.
  const auto half_delay = std::chrono::microseconds(WorkerLoop::kStartReportDelay) / 2;
  if (quick.outcomes[0].duration_us < static_cast<uint64_t>(half_delay.count())) {
    for (const WorkerReport& r : quick.reports) EXPECT_TRUE(r.started.empty());
  }
  // Still running after the delay: its group comes first, alone.
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{5, 1, 1, kCommandTaskName,
                                                        {"/bin/sleep", "0.3"}, std::nullopt}}}});
  Gathered slow = Gather(1);
  ASSERT_EQ(slow.outcomes.size(), 1u);
  std::vector<CommandStarted> started;
  for (const WorkerReport& r : slow.reports) {
    if (!r.outcomes.empty()) break;
    started.insert(started.end(), r.started.begin(), r.started.end());
  }
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].index, 1u);
  EXPECT_GT(started[0].pgid, 1);
  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

TEST_F(WorkerLoopTest, ReportsCarryTheResidentSetSize) {
  Start();
  ExpectReady();
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{8, 0, 1, "echo", {"x"}, std::nullopt}}}});
  Gathered gathered = Gather(1);
  ASSERT_FALSE(gathered.reports.empty());
  for (const WorkerReport& report : gathered.reports) {
    EXPECT_GT(report.rss_bytes, 0u);
    // Sanity: more than a page, less than 64 GiB.
    EXPECT_GT(report.rss_bytes, 4096u);
    EXPECT_LT(report.rss_bytes, 64ull << 30);
  }
  Send(ToWorker{kProtocolVersion, ShutdownWorker{}});
  EXPECT_EQ(WaitForExit(), WorkerLoop::kExitShutdown);
}

}  // namespace
}  // namespace jobd
