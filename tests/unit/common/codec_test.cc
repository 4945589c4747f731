#include "proto/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jobd {
namespace {

using ::testing::HasSubstr;

TEST(CodecTest, SubmitRoundTrips) {
  SubmitRequest submit;
  submit.default_task = "sum_to_num";
  submit.tasks = {TaskInput{"", {"200000000"}}, TaskInput{"echo", {"a", "b"}}};
  submit.watch = true;
  submit.retries = 2;
  submit.timeout_us = 500000;
  submit.priority = -3;
  const std::string frame = EncodeRequest(Request{kProtocolVersion, 42, submit});

  Result<Request> decoded = DecodeRequest(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->request_id, 42u);
  const auto& got = std::get<SubmitRequest>(decoded->body);
  EXPECT_EQ(got.default_task, "sum_to_num");
  ASSERT_EQ(got.tasks.size(), 2u);
  EXPECT_EQ(got.tasks[0].name, "");
  EXPECT_EQ(got.tasks[0].args, std::vector<std::string>{"200000000"});
  EXPECT_EQ(got.tasks[1].name, "echo");
  EXPECT_EQ(got.tasks[1].args, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(got.watch);
  EXPECT_EQ(got.retries, 2u);
  EXPECT_EQ(got.timeout_us, 500000u);
  EXPECT_EQ(got.priority, -3);
}

TEST(CodecTest, ResultBatchRoundTrips) {
  ResultBatch batch;
  batch.job = 9;
  batch.results.push_back(TaskResult{9, 1, TaskStatus::kCrashed, "", "worker pid 5 killed by SIGSEGV",
                                     5, 1, 1234, 0, std::nullopt, 1000u});
  batch.done = true;
  Result<Reply> decoded = DecodeReply(EncodeReply(Reply{kProtocolVersion, 3, batch}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  const auto& got = std::get<ResultBatch>(decoded->body);
  EXPECT_TRUE(got.done);
  ASSERT_EQ(got.results.size(), 1u);
  EXPECT_EQ(got.results[0].status, TaskStatus::kCrashed);
  EXPECT_EQ(got.results[0].error, "worker pid 5 killed by SIGSEGV");
  EXPECT_EQ(got.results[0].pid, 5);
  EXPECT_EQ(got.results[0].duration_us, 1234u);
}

TEST(CodecTest, WorkerMessagesRoundTrip) {
  WorkerReport report;
  report.outcomes.push_back(Outcome{1, 2, 1, true, "3", "", 10, std::nullopt});
  LogRecord record;
  record.ts_unix_us = 1'700'000'000'000'000;
  record.level = LogLevel::kDebug;
  record.msg = "running";
  record.job = 1;
  record.task = 2;
  report.logs.push_back(record);
  Result<FromWorker> decoded = DecodeFromWorker(EncodeFromWorker(FromWorker{kProtocolVersion, report}));
  ASSERT_TRUE(decoded.ok());
  const auto& got = std::get<WorkerReport>(decoded->body);
  EXPECT_EQ(got.outcomes[0].value, "3");
  EXPECT_EQ(got.logs[0].job, 1u);
  EXPECT_EQ(got.logs[0].task, 2u);
  EXPECT_EQ(got.logs[0].level, LogLevel::kDebug);

  RunTasks run;
  run.tasks.push_back(Assignment{4, 5, 2, "spin", {"10"}, std::nullopt});
  Result<ToWorker> to = DecodeToWorker(EncodeToWorker(ToWorker{kProtocolVersion, run}));
  ASSERT_TRUE(to.ok());
  EXPECT_EQ(std::get<RunTasks>(to->body).tasks[0].name, "spin");
  EXPECT_EQ(std::get<RunTasks>(to->body).tasks[0].attempt, 2u);
}

TEST(CodecTest, PongCarriesTheRequestLimit) {
  PongReply pong{4242, 2, 7, 1, 64u << 20};
  Result<Reply> decoded = DecodeReply(EncodeReply(Reply{kProtocolVersion, 8, pong}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  const auto& got = std::get<PongReply>(decoded->body);
  EXPECT_EQ(got.pid, 4242);
  EXPECT_EQ(got.queued, 7u);
  EXPECT_EQ(got.max_message_size, 64u << 20);
}

TEST(CodecTest, ReloadRoundTrips) {
  Result<Request> decoded =
      DecodeRequest(EncodeRequest(Request{kProtocolVersion, 6, ReloadRequest{}}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->request_id, 6u);
  EXPECT_TRUE(std::holds_alternative<ReloadRequest>(decoded->body));
}

TEST(CodecTest, MisalignedFrameIsCopiedNotRejected) {
  const std::string frame = EncodeRequest(Request{kProtocolVersion, 1, PingRequest{}});
  std::string buffer(frame.size() + 1, '\0');
  std::copy(frame.begin(), frame.end(), buffer.begin() + 1);
  Result<Request> decoded = DecodeRequest(std::string_view(buffer).substr(1));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_TRUE(std::holds_alternative<PingRequest>(decoded->body));
}

TEST(CodecTest, GarbageAndTruncationAreErrorsNotCrashes) {
  EXPECT_THAT(DecodeRequest("").status().message(), HasSubstr("empty"));
  EXPECT_THAT(DecodeRequest("hello").status().message(), HasSubstr("truncated"));
  SubmitRequest submit;
  submit.default_task = "echo";
  submit.tasks = {TaskInput{"", {"x"}}};
  submit.watch = true;
  const std::string frame = EncodeRequest(Request{kProtocolVersion, 1, submit});
  for (size_t cut = 8; cut < frame.size(); cut += 8) {
    EXPECT_FALSE(DecodeRequest(std::string_view(frame).substr(0, cut)).ok()) << "cut at " << cut;
  }
  std::string noise(64, '\xff');
  EXPECT_FALSE(DecodeRequest(noise).ok());
  EXPECT_FALSE(DecodeFromWorker(noise).ok());
}

TEST(CodecTest, UnknownRequestTypeIsAnError) {
  // Ping and Logs differ only in the union tag: set it to one no request has,
  // as a newer client would send.
  const std::string ping = EncodeRequest(Request{kProtocolVersion, 1, PingRequest{}});
  const std::string logs = EncodeRequest(Request{kProtocolVersion, 1, LogsRequest{}});
  ASSERT_EQ(ping.size(), logs.size());
  std::string frame = ping;
  int differing = 0;
  for (size_t i = 0; i < frame.size(); ++i) {
    if (ping[i] != logs[i]) {
      frame[i] = 60;
      ++differing;
    }
  }
  ASSERT_EQ(differing, 1);
  Result<Request> decoded = DecodeRequest(frame);
  EXPECT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("unknown request type"));
}

TEST(CodecTest, OtherVersionIsReturnedForTheCallerToRefuse) {
  const std::string frame = EncodeRequest(Request{99, 5, PingRequest{}});
  Result<Request> decoded = DecodeRequest(frame);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->version, 99);
  EXPECT_EQ(decoded->request_id, 5u);
  // A version error from a newer daemon stays readable.
  const std::string error = EncodeReply(Reply{99, 5, ErrorReply{ErrorCode::kVersionMismatch, "v"}});
  Result<Reply> reply = DecodeReply(error);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(std::get<ErrorReply>(reply->body).code, ErrorCode::kVersionMismatch);
}

}  // namespace
}  // namespace jobd

namespace jobd {
namespace {

const CommandOptions kOptions{"/work dir", {"A=1", "B=two words"}, "in.txt", 4096, 1 << 30,
                              2'000'000};
const CommandEnd kEnd{-1, 9, 1500, 1 << 20, true, false};

TEST(CodecTest, CommandOptionsTravelWithSubmitAndAssignment) {
  SubmitRequest submit;
  submit.default_task = kCommandTaskName;
  submit.tasks = {TaskInput{"", {"printf", "%s\n", "ünï 'q'"}}};
  submit.command = kOptions;
  Result<Request> request = DecodeRequest(EncodeRequest(Request{kProtocolVersion, 1, submit}));
  ASSERT_TRUE(request.ok()) << request.status().message();
  EXPECT_EQ(std::get<SubmitRequest>(request->body).command, kOptions);
  EXPECT_EQ(std::get<SubmitRequest>(request->body).tasks[0].args, submit.tasks[0].args);

  RunTasks run;
  run.tasks.push_back(Assignment{4, 5, 2, kCommandTaskName, {"true"}, kOptions});
  run.tasks.push_back(Assignment{4, 6, 1, "echo", {"x"}, std::nullopt});
  Result<ToWorker> to = DecodeToWorker(EncodeToWorker(ToWorker{kProtocolVersion, run}));
  ASSERT_TRUE(to.ok()) << to.status().message();
  EXPECT_EQ(std::get<RunTasks>(to->body).tasks[0].command, kOptions);
  EXPECT_FALSE(std::get<RunTasks>(to->body).tasks[1].command.has_value());
}

TEST(CodecTest, CommandStartAndEndTravelWithReportsAndResults) {
  WorkerReport report;
  report.started.push_back(CommandStarted{1, 2, 3, 4242});
  report.outcomes.push_back(Outcome{1, 2, 3, false, "out", "err", 10, kEnd});
  Result<FromWorker> decoded =
      DecodeFromWorker(EncodeFromWorker(FromWorker{kProtocolVersion, report}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  const auto& got = std::get<WorkerReport>(decoded->body);
  ASSERT_EQ(got.started.size(), 1u);
  EXPECT_EQ(got.started[0].pgid, 4242);
  EXPECT_EQ(got.started[0].attempt, 3u);
  EXPECT_EQ(got.outcomes[0].command, kEnd);

  ResultBatch batch;
  batch.results.push_back(TaskResult{9, 1, TaskStatus::kFailed, "out", "err", 5, 1, 10, 0, kEnd, 0u});
  batch.results.push_back(TaskResult{9, 2, TaskStatus::kOk, "x", "", 5, 1, 10, 1, std::nullopt, std::nullopt});
  Result<Reply> reply = DecodeReply(EncodeReply(Reply{kProtocolVersion, 3, batch}));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  const auto& results = std::get<ResultBatch>(reply->body).results;
  EXPECT_EQ(results[0].command, kEnd);
  EXPECT_FALSE(results[1].command.has_value());
}

}  // namespace
}  // namespace jobd
