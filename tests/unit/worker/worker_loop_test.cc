// Drives a WorkerLoop over inproc:// from a ROUTER playing the coordinator.
// The loop runs on its own thread; every wait here is bounded.
#include "worker/worker_loop.h"

#include <unistd.h>

#include <atomic>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "proto/codec.h"
#include "util/record_sink.h"
#include "worker/builtin_tasks.h"

namespace jobd {
namespace {

constexpr auto kWait = std::chrono::seconds(10);
constexpr uint32_t kSlot = 3;

// Reports gathered until enough outcomes arrived, in arrival order.
struct Gathered {
  std::vector<WorkerReport> reports;
  std::vector<Outcome> outcomes;
  std::vector<LogRecord> logs;
};

class WorkerLoopTest : public ::testing::Test {
 protected:
  WorkerLoopTest()
      : router_(context_, zmq::socket_type::router),
        dealer_(context_, zmq::socket_type::dealer),
        logger_("worker-test", MakeSink()),
        loop_(dealer_, registry_, kSlot, logger_, logs_, std::chrono::milliseconds(100)) {
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

  void Start() {
    std::packaged_task<int()> run([this] { return loop_.Run(); });
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

  // The worker's next message, or nullopt after kWait.
  std::optional<FromWorker> Receive() {
    zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::duration_cast<std::chrono::milliseconds>(kWait));
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
    EXPECT_EQ(ready->credit, 1u);
  }

  // Reports until `outcomes` outcomes arrived in all (or a wait timed out),
  // plus, when `until_msg` is given, until a record with that text arrived.
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
      const auto* report = std::get_if<WorkerReport>(&message->body);
      if (report == nullptr) {
        ADD_FAILURE() << "expected a WorkerReport";
        break;
      }
      gathered.reports.push_back(*report);
      for (const Outcome& o : report->outcomes) gathered.outcomes.push_back(o);
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
  TaskRegistry registry_;
  WorkerLoop loop_;
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

TEST_F(WorkerLoopTest, RunTasksStreamsOneOutcomePerTaskWithLogs) {
  Start();
  ExpectReady();
  Gather(0, "worker ready");
  Send(ToWorker{kProtocolVersion,
                RunTasks{{
                    Assignment{7, 0, 1, "echo", {"a", "b"}},
                    Assignment{7, 1, 2, "sum_to_num", {"50000000"}},
                    Assignment{7, 2, 1, "fail", {"no", "luck"}},
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
  Send(ToWorker{kProtocolVersion, RunTasks{{Assignment{1, 5, 1, "nope", {}}}}});
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
    for (const LogRecord& r : std::get<WorkerReport>(message->body).logs) {
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

}  // namespace
}  // namespace jobd
