#include "client/client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "fake_jobd.h"

namespace jobd {
namespace {

using std::chrono::steady_clock;

// Answers Ping with a Pong; everything else goes to `rest`.
FakeJobd::Handler WithPong(FakeJobd::Handler rest) {
  return [rest = std::move(rest)](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, PongReply{4242, 2, 3, 1})};
    }
    return rest(request);
  };
}

TaskResult At(JobId job, uint32_t index, TaskStatus status = TaskStatus::kOk) {
  TaskResult result;
  result.job = job;
  result.index = index;
  result.status = status;
  result.result = "r" + std::to_string(index);
  return result;
}

// `results` with seq first_seq, first_seq + 1, ... in the order given: the
// order the daemon completed them in.
std::vector<TaskResult> Numbered(uint64_t first_seq, std::vector<TaskResult> results) {
  for (TaskResult& result : results) result.seq = first_seq++;
  return results;
}

// Accepts a 3-task job, then reports its results out of order in two batches.
std::vector<Reply> OutOfOrderJob(const Request& request) {
  JobInfo job;
  job.job = 9;
  job.total = 3;
  return {FakeJobd::ReplyTo(request, AcceptedReply{job}),
          FakeJobd::ReplyTo(request, ResultBatch{9, Numbered(0, {At(9, 2), At(9, 0)}), false}),
          FakeJobd::ReplyTo(request, ResultBatch{9, Numbered(2, {At(9, 1)}), true})};
}

std::vector<uint32_t> Drain(ResultStream& stream) {
  std::vector<uint32_t> indexes;
  while (true) {
    Result<std::optional<TaskResult>> next = stream.Next();
    EXPECT_TRUE(next.ok()) << next.status().message();
    if (!next.ok() || !next->has_value()) return indexes;
    indexes.push_back((*next)->index);
  }
}

SubmitRequest ThreeTasks() {
  SubmitRequest request;
  request.default_task = "echo";
  for (const char* arg : {"a", "b", "c"}) request.tasks.push_back(TaskInput{"", {arg}});
  return request;
}

TEST(ClientTest, MissingSocketFileFailsAtOnceNamingThePath) {
  ClientOptions options;
  options.endpoint = "ipc:///tmp/jobdc-does-not-exist/jobd.sock";
  const auto start = steady_clock::now();
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_LT(steady_clock::now() - start, std::chrono::milliseconds(100));
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find("ipc:///tmp/jobdc-does-not-exist/jobd.sock"),
            std::string::npos)
      << client.status().message();
  EXPECT_NE(client.status().message().find("is jobd running"), std::string::npos);
}

TEST(ClientTest, BadEndpointIsInvalidArgument) {
  Result<std::unique_ptr<Client>> client = Client::Connect(ClientOptions{"jobd.sock"});
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
}

class DeadSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/jobdc-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/jobd.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A Connect to path_ that fails, and how long it took to.
  struct Refusal {
    Status status = Status::Ok();
    steady_clock::duration elapsed{};
  };
  Refusal ConnectAndFail() {
    ClientOptions options;
    options.endpoint = "ipc://" + path_;
    const auto start = steady_clock::now();
    Result<std::unique_ptr<Client>> client = Client::Connect(options);
    Refusal refusal{client.ok() ? Status::Ok() : client.status(), steady_clock::now() - start};
    EXPECT_FALSE(client.ok());
    return refusal;
  }

  // Told at once, without waiting out the 800 ms handshake.
  void ExpectToldAtOnce(const std::string& message) {
    const Refusal refusal = ConnectAndFail();
    EXPECT_EQ(refusal.status.code(), StatusCode::kUnavailable);
    EXPECT_EQ(refusal.status.message(), message);
    EXPECT_LT(refusal.elapsed, std::chrono::milliseconds(500));  // slack for loaded machines
  }

  // A socket bound to path_ (the file exists), not yet listening; -1 on failure.
  int BindSocketFile() {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ADD_FAILURE() << "bind " << path_ << ": " << std::strerror(errno);
      return -1;
    }
    return fd;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(DeadSocketTest, PlainFileInsteadOfSocket) {
  std::ofstream(path_) << "not a socket";
  ExpectToldAtOnce("no jobd at ipc://" + path_ + ": " + path_ +
                   " is not a socket (set --socket or JOBD_SOCKET)");
}

TEST_F(DeadSocketTest, SocketFileNobodyListensOn) {
  // A socket file left behind by a daemon that died: bound, never listening.
  const int fd = BindSocketFile();
  ASSERT_GE(fd, 0);
  ExpectToldAtOnce("no jobd is listening on ipc://" + path_ + " (the socket file " + path_ +
                   " is left from one that stopped; is jobd running?)");
  ::close(fd);
}

TEST_F(DeadSocketTest, ListenerThatNeverAnswersIsASilentJobd) {
  // Someone listens but never speaks: a hung jobd, told apart from a stale file.
  const int fd = BindSocketFile();
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  const Refusal refusal = ConnectAndFail();
  EXPECT_EQ(refusal.status.message(), "no answer from jobd at ipc://" + path_ + " within 800 ms");
  EXPECT_GE(refusal.elapsed, std::chrono::milliseconds(790));
  ::close(fd);
}

TEST(ClientTest, Ping) {
  FakeJobd server(WithPong([](const Request&) { return std::vector<Reply>{}; }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Micros round_trip{-1};
  Result<PongReply> pong = client->Ping(&round_trip);
  ASSERT_TRUE(pong.ok()) << pong.status().message();
  EXPECT_EQ(pong->pid, 4242);
  EXPECT_EQ(pong->workers, 2u);
  EXPECT_EQ(pong->queued, 3u);
  EXPECT_EQ(pong->running, 1u);
  EXPECT_GE(round_trip.count(), 0);
  // The handshake and our ping, each with its own request id.
  const std::vector<Request> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[0].request_id, requests[1].request_id);
}

TEST(ClientTest, MapStreamsInCompletionOrder) {
  FakeJobd server(WithPong(OutOfOrderJob));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream = client->Map(ThreeTasks(), /*ordered=*/false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  EXPECT_EQ((*stream)->job().job, 9u);
  EXPECT_EQ((*stream)->job().total, 3u);
  EXPECT_EQ(Drain(**stream), (std::vector<uint32_t>{2, 0, 1}));

  // The daemon saw one submit with watch set and our tasks.
  const std::vector<Request> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto* submit = std::get_if<SubmitRequest>(&requests[1].body);
  ASSERT_NE(submit, nullptr);
  EXPECT_TRUE(submit->watch);
  EXPECT_EQ(submit->default_task, "echo");
  ASSERT_EQ(submit->tasks.size(), 3u);
  EXPECT_EQ(submit->tasks[2].args, std::vector<std::string>{"c"});
}

TEST(ClientTest, MapOrderedStreamsInIndexOrder) {
  FakeJobd server(WithPong(OutOfOrderJob));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream = client->Map(ThreeTasks(), /*ordered=*/true);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  EXPECT_EQ(Drain(**stream), (std::vector<uint32_t>{0, 1, 2}));
}

TEST(ClientTest, DoneBatchEndsTheStreamAndLaterRepliesAreIgnored) {
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<WatchRequest>(request.body)) {
      JobInfo job;
      job.job = 5;
      job.total = 2;
      return {FakeJobd::ReplyTo(request, AcceptedReply{job}),
              FakeJobd::ReplyTo(request, ResultBatch{5, Numbered(0, {At(5, 1), At(5, 0)}), true}),
              // After done: must never surface, not in this stream nor later.
              FakeJobd::ReplyTo(request, ResultBatch{5, Numbered(2, {At(5, 7)}), false})};
    }
    return {};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream = client->Watch(5, /*ordered=*/false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  EXPECT_EQ(Drain(**stream), (std::vector<uint32_t>{1, 0}));
  Result<std::optional<TaskResult>> after = (*stream)->Next();
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
  // The stale batch for the old request id is skipped by the next call.
  Result<PongReply> pong = client->Ping();
  EXPECT_TRUE(pong.ok()) << pong.status().message();
}

TEST(ClientTest, ErrorReplyBecomesStatusWithItsMessage) {
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    return {FakeJobd::ReplyTo(request, ErrorReply{ErrorCode::kUnknownJob, "unknown job 77"})};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<JobInfo> status = client->Status(77);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(status.status().message(), "unknown job 77");

  Result<std::unique_ptr<ResultStream>> stream = client->Watch(77, false);
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().message(), "unknown job 77");
}

TEST(ClientTest, ShuttingDownIsUnavailable) {
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    return {FakeJobd::ReplyTo(request, ErrorReply{ErrorCode::kShuttingDown, "jobd is stopping"})};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<JobInfo> job = client->Submit(ThreeTasks());
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(job.status().message(), "jobd is stopping");
}

TEST(ClientTest, VersionMismatchShowsTheDaemonsExplanation) {
  FakeJobd server([](const Request&) -> std::vector<Reply> {
    return {Reply{kProtocolVersion + 1, 0,
                  ErrorReply{ErrorCode::kVersionMismatch, "jobd speaks protocol 2, you 1"}}};
  });
  Result<std::unique_ptr<Client>> client = Client::Connect(ClientOptions{server.endpoint()});
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().message(), "jobd speaks protocol 2, you 1");
}

TEST(ClientTest, SubmitStatusJobsWorkersLogPath) {
  JobInfo job;
  job.job = 3;
  job.total = 3;
  job.task = "echo";
  FakeJobd server(WithPong([job](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<SubmitRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, AcceptedReply{job})};
    }
    if (std::holds_alternative<StatusRequest>(request.body) ||
        std::holds_alternative<JobsRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, StatusReply{{job, job}})};
    }
    if (std::holds_alternative<WorkersRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, WorkersReply{{WorkerInfo{}, WorkerInfo{}}})};
    }
    return {FakeJobd::ReplyTo(request, LogsReply{"/var/log/jobd/jobd.jsonl"})};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<JobInfo> submitted = client->Submit(ThreeTasks());
  ASSERT_TRUE(submitted.ok()) << submitted.status().message();
  EXPECT_EQ(submitted->job, 3u);
  EXPECT_FALSE(std::get<SubmitRequest>(server.requests().back().body).watch);
  Result<JobInfo> status = client->Status(3);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->task, "echo");
  Result<std::vector<JobInfo>> jobs = client->Jobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), 2u);
  Result<std::vector<WorkerInfo>> workers = client->Workers();
  ASSERT_TRUE(workers.ok());
  EXPECT_EQ(workers->size(), 2u);
  Result<std::string> path = client->LogPath();
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, "/var/log/jobd/jobd.jsonl");
}

TEST(ClientTest, SilentDaemonMidStreamIsLostConnection) {
  // Accepts the job, then neither sends results nor answers the liveness Ping.
  bool handshake_done = false;
  FakeJobd server([&handshake_done](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body) && !handshake_done) {
      handshake_done = true;
      return {FakeJobd::ReplyTo(request, PongReply{})};
    }
    if (std::holds_alternative<SubmitRequest>(request.body)) {
      JobInfo job;
      job.job = 1;
      job.total = 3;
      return {FakeJobd::ReplyTo(request, AcceptedReply{job})};
    }
    return {};
  });
  std::unique_ptr<Client> client = MustConnect(server, Millis(100));
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream = client->Map(ThreeTasks(), false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  const auto start = steady_clock::now();
  Result<std::optional<TaskResult>> next = (*stream)->Next();
  const auto elapsed = steady_clock::now() - start;
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(next.status().message().find("lost connection to jobd at " + server.endpoint()),
            std::string::npos)
      << next.status().message();
  EXPECT_GE(elapsed, std::chrono::milliseconds(190));
  EXPECT_LT(elapsed, std::chrono::milliseconds(1000));
  // It pinged once, and asked once to resume the stream, before giving up.
  const std::vector<Request> requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_TRUE(std::holds_alternative<PingRequest>(requests[2].body));
  const auto* resume = std::get_if<WatchRequest>(&requests[3].body);
  ASSERT_NE(resume, nullptr);
  EXPECT_EQ(requests[3].request_id, requests[1].request_id);
  EXPECT_EQ(resume->job, 1u);
  EXPECT_EQ(resume->from_seq, 0u);
  EXPECT_TRUE(resume->follow);
}

TEST(ClientTest, PongsKeepASlowStreamAlive) {
  // Results come only after several liveness periods, but Pings are answered.
  std::atomic<int> pings{0};
  FakeJobd server([&pings](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body)) {
      std::vector<Reply> replies = {FakeJobd::ReplyTo(request, PongReply{})};
      // The fourth ping (third liveness check) releases the result, stamped
      // with the stream's request id, which is the one before the first.
      if (++pings == 4) {
        const RequestId stream_id = 2;
        replies.push_back(Reply{kProtocolVersion, stream_id, ResultBatch{1, {At(1, 0)}, true}});
      }
      return replies;
    }
    JobInfo job;
    job.job = 1;
    job.total = 1;
    return {FakeJobd::ReplyTo(request, AcceptedReply{job})};
  });
  std::unique_ptr<Client> client = MustConnect(server, Millis(50));
  ASSERT_NE(client, nullptr);
  SubmitRequest one;
  one.tasks.push_back(TaskInput{"", {"x"}});
  Result<std::unique_ptr<ResultStream>> stream = client->Map(one, false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  EXPECT_EQ(Drain(**stream), std::vector<uint32_t>{0});
  EXPECT_EQ(pings.load(), 4);
}

CancelReply CancelledJob(JobId id, uint32_t queued, uint32_t running) {
  CancelReply reply;
  reply.job.job = id;
  reply.job.state = JobState::kDone;
  reply.cancelled_queued = queued;
  reply.stopped_running = running;
  return reply;
}

TEST(ClientTest, CancelRoundTrip) {
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    return {FakeJobd::ReplyTo(request, CancelledJob(7, 120, 2))};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<CancelReply> reply = client->Cancel(7);
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(reply->job.job, 7u);
  EXPECT_EQ(reply->job.state, JobState::kDone);
  EXPECT_EQ(reply->cancelled_queued, 120u);
  EXPECT_EQ(reply->stopped_running, 2u);
  EXPECT_FALSE(reply->already_finished);
  const std::vector<Request> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto* cancel = std::get_if<CancelRequest>(&requests[1].body);
  ASSERT_NE(cancel, nullptr);
  EXPECT_EQ(cancel->job, 7u);
}

TEST(ClientTest, CancelAlreadyFinishedIsNoError) {
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    CancelReply reply;  // a daemon that leaves the job's id out: the client fills it in
    reply.already_finished = true;
    return {FakeJobd::ReplyTo(request, reply)};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<CancelReply> reply = client->Cancel(7);
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_TRUE(reply->already_finished);
  EXPECT_EQ(reply->job.job, 7u);
}

TEST(ClientTest, CancelUnknownJobIsNotFound) {
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    return {FakeJobd::ReplyTo(request, ErrorReply{ErrorCode::kUnknownJob, "unknown job 77"})};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<CancelReply> reply = client->Cancel(77);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reply.status().message(), "unknown job 77");
  EXPECT_FALSE(client->interrupted());
}

TEST(ClientTest, SubmitCarriesRetryTimeouts) {
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    JobInfo job;
    job.job = 1;
    return {FakeJobd::ReplyTo(request, AcceptedReply{job})};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  SubmitRequest request = ThreeTasks();
  EXPECT_EQ(request.retries, 1u);  // the protocol's default
  request.retry_timeouts = true;
  ASSERT_TRUE(client->Submit(request).ok());
  const std::vector<Request> requests = server.requests();
  const auto& sent = std::get<SubmitRequest>(requests.back().body);
  EXPECT_TRUE(sent.retry_timeouts);
  EXPECT_EQ(sent.retries, 1u);
}

// A 3-task job that reports nothing until it is cancelled. Then it sends
// the cancelled results (stamped with the stream's request id) before or
// after the CancelReply, as `results_first` says.
class HeldBackJob {
 public:
  explicit HeldBackJob(bool results_first) : results_first_(results_first) {}

  std::vector<Reply> operator()(const Request& request) {  // the server thread
    if (std::holds_alternative<SubmitRequest>(request.body)) {
      stream_id_ = request.request_id;
      JobInfo job;
      job.job = 4;
      job.total = 3;
      return {FakeJobd::ReplyTo(request, AcceptedReply{job})};
    }
    if (std::holds_alternative<CancelRequest>(request.body)) {
      const Reply results{kProtocolVersion, stream_id_,
                          ResultBatch{4,
                                      Numbered(0, {At(4, 2, TaskStatus::kCancelled),
                                                   At(4, 0, TaskStatus::kCancelled),
                                                   At(4, 1, TaskStatus::kCancelled)}),
                                      true}};
      const Reply cancelled = FakeJobd::ReplyTo(request, CancelledJob(4, 2, 1));
      if (results_first_) return {results, cancelled};
      return {cancelled, results};
    }
    return {};
  }

 private:
  const bool results_first_;
  RequestId stream_id_ = 0;
};

// Interrupts a waiting stream, cancels the job on the same client and reads
// the cancelled results to the end.
void InterruptCancelAndDrain(bool results_first) {
  HeldBackJob job(results_first);
  FakeJobd server(WithPong(std::ref(job)));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  std::atomic<bool> flag{false};
  client->SetInterruptFlag(&flag);
  Result<std::unique_ptr<ResultStream>> stream = client->Map(ThreeTasks(), /*ordered=*/true);
  ASSERT_TRUE(stream.ok()) << stream.status().message();

  flag = true;  // Ctrl-C before the wait: Next() must not wait at all
  const auto start = steady_clock::now();
  Result<std::optional<TaskResult>> next = (*stream)->Next();
  EXPECT_LT(steady_clock::now() - start, std::chrono::milliseconds(500));
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE((*stream)->interrupted());
  EXPECT_TRUE(client->interrupted());
  EXPECT_EQ(next.status().message(), "interrupted");

  flag = false;
  Result<CancelReply> cancelled = client->Cancel(4);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().message();
  EXPECT_FALSE(client->interrupted());
  EXPECT_EQ(cancelled->cancelled_queued, 2u);
  EXPECT_EQ(cancelled->stopped_running, 1u);

  std::vector<uint32_t> indexes;
  while (true) {
    next = (*stream)->Next();
    ASSERT_TRUE(next.ok()) << next.status().message();
    if (!next->has_value()) break;
    EXPECT_EQ((*next)->status, TaskStatus::kCancelled);
    indexes.push_back((*next)->index);
  }
  EXPECT_EQ(indexes, (std::vector<uint32_t>{0, 1, 2}));
  // The client is still fine for other calls.
  EXPECT_TRUE(client->Ping().ok());
}

TEST(ClientTest, InterruptedStreamCancelsAndDeliversTheRest) { InterruptCancelAndDrain(false); }

TEST(ClientTest, ResultsArrivingDuringCancelAreKeptForTheStream) {
  InterruptCancelAndDrain(true);
}

TEST(ClientTest, FlagSetFromAnotherThreadInterruptsAWaitingNext) {
  // The job sends nothing. The client's liveness Ping proves Next() is
  // waiting; the fake daemon's thread then sets the flag.
  std::atomic<bool> flag{false};
  std::atomic<int> pings{0};
  FakeJobd server([&](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body)) {
      if (++pings == 2) flag = true;  // the first is Connect's handshake
      return {FakeJobd::ReplyTo(request, PongReply{})};
    }
    JobInfo job;
    job.job = 1;
    job.total = 1;
    return {FakeJobd::ReplyTo(request, AcceptedReply{job})};
  });
  std::unique_ptr<Client> client = MustConnect(server, Millis(200));
  ASSERT_NE(client, nullptr);
  client->SetInterruptFlag(&flag);
  Result<std::unique_ptr<ResultStream>> stream = client->Map(ThreeTasks(), false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  const auto start = steady_clock::now();
  Result<std::optional<TaskResult>> next = (*stream)->Next();
  const auto elapsed = steady_clock::now() - start;
  ASSERT_FALSE(next.ok());
  // Interrupted, not "lost connection" (that would take 400 ms).
  EXPECT_TRUE((*stream)->interrupted()) << next.status().message();
  EXPECT_EQ(pings.load(), 2);
  EXPECT_GE(elapsed, std::chrono::milliseconds(190));
  EXPECT_LT(elapsed, std::chrono::milliseconds(390));
}

TEST(ClientTest, InterruptedCallSkipsItsLateReply) {
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    return {FakeJobd::ReplyTo(request, CancelledJob(3, 1, 0))};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  std::atomic<bool> flag{true};
  client->SetInterruptFlag(&flag);
  Result<CancelReply> first = client->Cancel(3);
  ASSERT_FALSE(first.ok());
  EXPECT_TRUE(client->interrupted());
  // The request went out; its reply arrives late and is not taken for the next one.
  flag = false;
  Result<JobInfo> status = client->Status(3);
  EXPECT_FALSE(status.ok());  // the fake answers everything with a CancelReply
  EXPECT_EQ(status.status().message(), "unexpected reply from jobd to status");
  EXPECT_FALSE(client->interrupted());
}

}  // namespace
}  // namespace jobd
