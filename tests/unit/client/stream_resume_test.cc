// Resumable result streams against the fake daemon: results are taken in
// seq order only; duplicates are dropped; a gap, a "done" that comes too
// early or liveness silence make the stream send its WatchRequest again
// (from the first seq it lacks, under its own request id); the client's
// routing id is stable. Every wait is bounded by the client's own timeouts.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "client/client.h"
#include "fake_jobd.h"

namespace jobd {
namespace {

using std::chrono::steady_clock;

// The result of task `index`, completed `seq`-th.
TaskResult Done(JobId job, uint32_t index, uint64_t seq) {
  TaskResult result;
  result.job = job;
  result.index = index;
  result.seq = seq;
  result.result = "r" + std::to_string(index);
  return result;
}

JobInfo Job(JobId id, uint32_t total) {
  JobInfo job;
  job.job = id;
  job.total = total;
  return job;
}

Reply Batch(const Request& request, JobId job, std::vector<TaskResult> results, bool done) {
  return FakeJobd::ReplyTo(request, ResultBatch{job, std::move(results), done});
}

// Pings get a Pong; the rest goes to `rest`.
FakeJobd::Handler WithPong(FakeJobd::Handler rest) {
  return [rest = std::move(rest)](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, PongReply{4242, 2, 0, 0})};
    }
    return rest(request);
  };
}

// Everything the stream hands out, to its end.
std::vector<TaskResult> Drain(ResultStream& stream) {
  std::vector<TaskResult> results;
  while (true) {
    Result<std::optional<TaskResult>> next = stream.Next();
    EXPECT_TRUE(next.ok()) << next.status().message();
    if (!next.ok() || !next->has_value()) return results;
    results.push_back(**next);
  }
}

std::vector<uint64_t> Seqs(const std::vector<TaskResult>& results) {
  std::vector<uint64_t> seqs;
  for (const TaskResult& result : results) seqs.push_back(result.seq);
  return seqs;
}

std::vector<uint32_t> Indexes(const std::vector<TaskResult>& results) {
  std::vector<uint32_t> indexes;
  for (const TaskResult& result : results) indexes.push_back(result.index);
  return indexes;
}

// The WatchRequests the fake received, with their request ids.
std::vector<std::pair<RequestId, WatchRequest>> Watches(const FakeJobd& server) {
  std::vector<std::pair<RequestId, WatchRequest>> watches;
  for (const Request& request : server.requests()) {
    if (const auto* watch = std::get_if<WatchRequest>(&request.body)) {
      watches.emplace_back(request.request_id, *watch);
    }
  }
  return watches;
}

RequestId SubmitId(const FakeJobd& server) {
  for (const Request& request : server.requests()) {
    if (std::holds_alternative<SubmitRequest>(request.body)) return request.request_id;
  }
  return 0;
}

SubmitRequest Tasks(int count) {
  SubmitRequest request;
  request.default_task = "echo";
  for (int i = 0; i < count; ++i) request.tasks.push_back(TaskInput{"", {std::to_string(i)}});
  return request;
}

TEST(StreamResumeTest, GapResumesFromTheMissingSeqAndDeliversEachResultOnce) {
  // Job 9, 4 tasks completed in index order. The first stream loses seq 2:
  // it sends 0 and 1, then 3, then an early "done". The resume sends 2 and 3.
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<SubmitRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, AcceptedReply{Job(9, 4)}),
              Batch(request, 9, {Done(9, 0, 0), Done(9, 1, 1)}, false),
              Batch(request, 9, {Done(9, 3, 3)}, false),
              Batch(request, 9, {}, true)};
    }
    if (const auto* watch = std::get_if<WatchRequest>(&request.body)) {
      if (watch->job != 9 || watch->from_seq != 2) return {};
      return {FakeJobd::ReplyTo(request, AcceptedReply{Job(9, 4)}),
              Batch(request, 9, {Done(9, 2, 2), Done(9, 3, 3)}, true)};
    }
    return {};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream = client->Map(Tasks(4), /*ordered=*/false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  const std::vector<TaskResult> results = Drain(**stream);
  EXPECT_EQ(Seqs(results), (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(Indexes(results), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ((*stream)->received(), 4u);
  EXPECT_EQ((*stream)->resumes(), 1u);

  // One resume: a watch of the accepted job from seq 2, under the submit's id.
  const auto watches = Watches(server);
  ASSERT_EQ(watches.size(), 1u);
  EXPECT_EQ(watches[0].first, SubmitId(server));
  EXPECT_EQ(watches[0].second.job, 9u);
  EXPECT_EQ(watches[0].second.from_seq, 2u);
  EXPECT_EQ(watches[0].second.window, Client::kStreamWindow);
  EXPECT_TRUE(watches[0].second.follow);
}

TEST(StreamResumeTest, OrderedStreamResumesAndKeepsIndexOrder) {
  // Completion order: index 2, 0, 3, 1. Seq 1 (index 0) is lost at first.
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<SubmitRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, AcceptedReply{Job(3, 4)}),
              Batch(request, 3, {Done(3, 2, 0), Done(3, 3, 2)}, false)};
    }
    if (const auto* watch = std::get_if<WatchRequest>(&request.body)) {
      if (watch->from_seq != 1) return {};
      return {FakeJobd::ReplyTo(request, AcceptedReply{Job(3, 4)}),
              Batch(request, 3, {Done(3, 0, 1), Done(3, 3, 2), Done(3, 1, 3)}, true)};
    }
    return {};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream = client->Map(Tasks(4), /*ordered=*/true);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  const std::vector<TaskResult> results = Drain(**stream);
  EXPECT_EQ(Indexes(results), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(Watches(server).size(), 1u);
}

TEST(StreamResumeTest, DuplicatesAreDropped) {
  // Results the client already has come again (as after a resume): each
  // still comes out of Next() once, and nothing is asked again.
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    if (!std::holds_alternative<WatchRequest>(request.body)) return {};
    return {FakeJobd::ReplyTo(request, AcceptedReply{Job(5, 4)}),
            Batch(request, 5, {Done(5, 1, 0), Done(5, 0, 1)}, false),
            Batch(request, 5, {Done(5, 0, 1), Done(5, 3, 2)}, false),
            Batch(request, 5, {Done(5, 1, 0)}, false),
            Batch(request, 5, {Done(5, 3, 2), Done(5, 2, 3)}, true)};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream = client->Watch(5, /*ordered=*/false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  const std::vector<TaskResult> results = Drain(**stream);
  EXPECT_EQ(Seqs(results), (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(Indexes(results), (std::vector<uint32_t>{1, 0, 3, 2}));
  EXPECT_EQ((*stream)->resumes(), 0u);
  EXPECT_EQ(Watches(server).size(), 1u);  // only the stream's own
}

TEST(StreamResumeTest, SilenceResumesWhereTheStreamStopped) {
  // A snapshot (follow=false) watch from seq 1: the daemon sends 1 and 2,
  // then nothing. After liveness_timeout the stream pings and watches again
  // from seq 3, follow still false, under its own request id.
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    const auto* watch = std::get_if<WatchRequest>(&request.body);
    if (watch == nullptr) return {};
    if (watch->from_seq == 1) {
      return {FakeJobd::ReplyTo(request, AcceptedReply{Job(6, 4)}),
              Batch(request, 6, {Done(6, 1, 1), Done(6, 2, 2)}, false)};
    }
    if (watch->from_seq == 3) {
      return {FakeJobd::ReplyTo(request, AcceptedReply{Job(6, 4)}),
              Batch(request, 6, {Done(6, 3, 3)}, true)};
    }
    return {};
  }));
  std::unique_ptr<Client> client = MustConnect(server, Millis(100));
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream =
      client->Watch(6, /*ordered=*/false, /*from_seq=*/1, /*follow=*/false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  const auto start = steady_clock::now();
  const std::vector<TaskResult> results = Drain(**stream);
  const auto elapsed = steady_clock::now() - start;
  EXPECT_EQ(Seqs(results), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_GE(elapsed, std::chrono::milliseconds(90));
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));

  const auto watches = Watches(server);
  ASSERT_EQ(watches.size(), 2u);
  EXPECT_EQ(watches[1].first, watches[0].first);
  EXPECT_EQ(watches[1].second.job, 6u);
  EXPECT_EQ(watches[1].second.from_seq, 3u);
  EXPECT_FALSE(watches[1].second.follow);
  // The ping went out too (the handshake's and the liveness one).
  int pings = 0;
  for (const Request& request : server.requests()) {
    pings += std::holds_alternative<PingRequest>(request.body) ? 1 : 0;
  }
  EXPECT_EQ(pings, 2);
}

TEST(StreamResumeTest, EarlyDoneIsAskedAgainOnceThenBelieved) {
  // A following stream of a 3-task job that says "done" after one result.
  // The client asks once more from seq 1; the same answer again ends it.
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    const auto* watch = std::get_if<WatchRequest>(&request.body);
    if (watch == nullptr) return {};
    std::vector<Reply> replies = {FakeJobd::ReplyTo(request, AcceptedReply{Job(7, 3)})};
    if (watch->from_seq == 0) {
      replies.push_back(Batch(request, 7, {Done(7, 0, 0)}, true));
    } else {
      replies.push_back(Batch(request, 7, {}, true));
    }
    return replies;
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream = client->Watch(7, /*ordered=*/false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  EXPECT_EQ(Seqs(Drain(**stream)), (std::vector<uint64_t>{0}));
  const auto watches = Watches(server);
  ASSERT_EQ(watches.size(), 2u);
  EXPECT_EQ(watches[1].second.from_seq, 1u);
}

TEST(StreamResumeTest, ResumeRefusedByTheDaemonIsAnError) {
  // After a gap the daemon no longer knows the job (say it restarted and
  // the job was --no-store): the stream reports that instead of waiting.
  FakeJobd server(WithPong([](const Request& request) -> std::vector<Reply> {
    const auto* watch = std::get_if<WatchRequest>(&request.body);
    if (watch == nullptr) return {};
    if (watch->from_seq == 0) {
      return {FakeJobd::ReplyTo(request, AcceptedReply{Job(8, 3)}),
              Batch(request, 8, {Done(8, 0, 0), Done(8, 2, 2)}, false)};
    }
    return {FakeJobd::ReplyTo(request, ErrorReply{ErrorCode::kUnknownJob, "no job 8"})};
  }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  Result<std::unique_ptr<ResultStream>> stream = client->Watch(8, /*ordered=*/false);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  Result<std::optional<TaskResult>> first = (*stream)->Next();
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->seq, 0u);
  Result<std::optional<TaskResult>> second = (*stream)->Next();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(second.status().message(), "no job 8");
}

TEST(StreamResumeTest, RoutingIdIsStableAcrossRequests) {
  FakeJobd server(WithPong([](const Request&) { return std::vector<Reply>{}; }));
  std::unique_ptr<Client> client = MustConnect(server);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Ping().ok());
  ASSERT_TRUE(client->Ping().ok());
  std::unique_ptr<Client> other = MustConnect(server);
  ASSERT_NE(other, nullptr);

  const std::vector<std::string> identities = server.identities();
  ASSERT_EQ(identities.size(), 4u);  // handshake, ping, ping; the other's handshake
  EXPECT_EQ(client->routing_id().size(), 16u);
  EXPECT_NE(client->routing_id()[0], '\0');  // ids from 0 are ZeroMQ's own
  EXPECT_EQ(identities[0], client->routing_id());
  EXPECT_EQ(identities[1], client->routing_id());
  EXPECT_EQ(identities[2], client->routing_id());
  EXPECT_EQ(identities[3], other->routing_id());
  EXPECT_NE(other->routing_id(), client->routing_id());
}

}  // namespace
}  // namespace jobd
