// End-to-end tests: the real jobd, jobd-worker and jobctl on a temporary
// endpoint. Every wait has a deadline.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "proto/codec.h"
#include "tests/integration/harness.h"

namespace jobd::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::string SumToNum(uint64_t n) {
  const uint64_t m = n + 10;  // small enough here for m*(m+1) to fit
  return std::to_string(m * (m + 1) / 2);
}

// Sends raw frames on a DEALER and returns the decoded reply (bounded wait).
Result<Reply> RawExchange(const std::string& endpoint, const std::vector<std::string>& frames) {
  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.connect(endpoint);
  for (size_t i = 0; i < frames.size(); ++i) {
    socket.send(zmq::buffer(frames[i]),
                i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  zmq::pollitem_t item = {socket.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, std::chrono::milliseconds(5000)) == 0) {
    return Status::Unavailable("no reply within 5 s");
  }
  zmq::message_t reply;
  (void)socket.recv(reply);
  return DecodeReply(std::string_view(reply.data<char>(), reply.size()));
}

class JobdTest : public ::testing::Test {
 protected:
  void StartJobd(int workers, std::vector<std::string> args = {}) {
    jobd_ = Jobd::Start(std::move(args), workers);
    ASSERT_NE(jobd_, nullptr);
  }
  std::unique_ptr<Jobd> jobd_;
};

TEST_F(JobdTest, SeedExampleCompletesInCompletionOrderOnTwoWorkers) {
  StartJobd(2);
  CommandResult r = jobd_->Jobctl({"--json", "map", "sum_to_num", "200000000", "50000000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["index"], 1);
  EXPECT_EQ(lines[0]["result"], SumToNum(50000000));
  EXPECT_EQ(lines[0]["result"], "1250000525000055");
  EXPECT_EQ(lines[1]["index"], 0);
  EXPECT_EQ(lines[1]["result"], SumToNum(200000000));
  for (const json& line : lines) {
    EXPECT_EQ(line["status"], "ok");
    EXPECT_TRUE(line["error"].is_null());
    EXPECT_EQ(line["attempts"], 1);
    for (const char* key : {"job", "index", "status", "result", "error", "pid", "uid",
                            "attempts", "duration_ms"}) {
      EXPECT_TRUE(line.contains(key)) << key;
    }
  }
  EXPECT_NE(lines[0]["pid"], lines[1]["pid"]) << "both tasks ran in one worker";

  CommandResult ordered =
      jobd_->Jobctl({"--json", "map", "--ordered", "sum_to_num", "200000000", "50000000"});
  ASSERT_EQ(ordered.exit_code, 0) << ordered.err;
  auto ordered_lines = JsonLines(ordered.out);
  ASSERT_EQ(ordered_lines.size(), 2u);
  EXPECT_EQ(ordered_lines[0]["index"], 0);
  EXPECT_EQ(ordered_lines[1]["index"], 1);
}

TEST_F(JobdTest, CompletionOrderDiffersFromSubmissionOrder) {
  StartJobd(3);  // sleep tasks need no CPU, so three run at once on any machine
  CommandResult r = jobd_->Jobctl({"--json", "map", "sleep", "900", "30", "450"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["index"], 1);
  EXPECT_EQ(lines[1]["index"], 2);
  EXPECT_EQ(lines[2]["index"], 0);
}

// -n and --repeat shape the tasks; a task may take no ARG at all.
TEST_F(JobdTest, TasksTakeSeveralArgsOrNoneAndRepeat) {
  StartJobd(2);
  CommandResult grouped =
      jobd_->Jobctl({"--json", "map", "--ordered", "-n", "2", "echo", "a", "b", "c", "d"});
  ASSERT_EQ(grouped.exit_code, 0) << grouped.err;
  auto lines = JsonLines(grouped.out);
  ASSERT_EQ(lines.size(), 2u) << grouped.out;
  EXPECT_EQ(lines[0]["index"], 0);
  EXPECT_EQ(lines[0]["result"], "a b");
  EXPECT_EQ(lines[1]["index"], 1);
  EXPECT_EQ(lines[1]["result"], "c d");

  CommandResult bare = jobd_->Jobctl({"--json", "map", "echo"});
  ASSERT_EQ(bare.exit_code, 0) << bare.err;
  lines = JsonLines(bare.out);
  ASSERT_EQ(lines.size(), 1u) << bare.out;
  EXPECT_EQ(lines[0]["status"], "ok");
  EXPECT_EQ(lines[0]["result"], "");

  CommandResult crashes =
      jobd_->Jobctl({"--json", "map", "--retries", "0", "--repeat", "3", "crash"});
  EXPECT_EQ(crashes.exit_code, 1) << crashes.err;
  lines = JsonLines(crashes.out);
  ASSERT_EQ(lines.size(), 3u) << crashes.out;
  std::set<int> indexes;
  for (const json& line : lines) {
    EXPECT_EQ(line["status"], "crashed");
    EXPECT_THAT(line["error"].get<std::string>(), HasSubstr("SIGSEGV"));
    indexes.insert(line["index"].get<int>());
  }
  EXPECT_EQ(indexes, (std::set<int>{0, 1, 2}));
}

TEST_F(JobdTest, CrashIsReportedWithPidAndSignalAndThePoolHeals) {
  StartJobd(1);
  CommandResult r = jobd_->Jobctl({"--json", "map", "--ordered", "echo", "a", "b"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int old_pid = JsonLines(r.out)[0]["pid"];

  // One worker: the crash kills it, and the next tasks need its replacement.
  CommandResult crash = jobd_->Jobctl({"--json", "submit", "--retries", "0", "crash", "now"});
  ASSERT_EQ(crash.exit_code, 0) << crash.err;
  CommandResult watched = jobd_->Jobctl({"--json", "watch", JsonLines(crash.out)[0]["job"].dump()});
  EXPECT_EQ(watched.exit_code, 1);
  auto lines = JsonLines(watched.out);
  ASSERT_EQ(lines.size(), 1u) << watched.out;
  EXPECT_EQ(lines[0]["status"], "crashed");
  EXPECT_EQ(lines[0]["pid"], old_pid);
  EXPECT_THAT(lines[0]["error"].get<std::string>(), HasSubstr("SIGSEGV"));
  EXPECT_THAT(lines[0]["error"].get<std::string>(), HasSubstr(std::to_string(old_pid)));

  CommandResult after = jobd_->Jobctl({"--json", "map", "echo", "c"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_NE(JsonLines(after.out)[0]["pid"], old_pid);
}

TEST_F(JobdTest, CrashingTaskDoesNotDisturbTheOthers) {
  StartJobd(2);
  // A crash submitted alongside another job's tasks: those all succeed.
  CommandResult crash = jobd_->Jobctl({"--json", "submit", "crash", "now"});
  ASSERT_EQ(crash.exit_code, 0) << crash.err;
  CommandResult others = jobd_->Jobctl({"--json", "map", "spin", "50", "50", "50", "50"});
  EXPECT_EQ(others.exit_code, 0) << others.err;
  auto lines = JsonLines(others.out);
  EXPECT_EQ(lines.size(), 4u);
  for (const json& line : lines) EXPECT_EQ(line["status"], "ok");
}

TEST_F(JobdTest, BadTaskInputFailsThatTaskOnly) {
  StartJobd(2);
  CommandResult r = jobd_->Jobctl({"--json", "map", "--ordered", "sum_to_num", "10", "abc", "-3"});
  EXPECT_EQ(r.exit_code, 1);
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0]["status"], "ok");
  EXPECT_EQ(lines[0]["result"], SumToNum(10));
  for (int i : {1, 2}) {
    EXPECT_EQ(lines[i]["status"], "failed");
    EXPECT_TRUE(lines[i]["result"].is_null());
    EXPECT_THAT(lines[i]["error"].get<std::string>(), HasSubstr("sum_to_num"));
  }

  CommandResult unknown = jobd_->Jobctl({"--json", "map", "no_such_task", "x"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(JsonLines(unknown.out).at(0)["error"].get<std::string>(),
              HasSubstr("unknown task 'no_such_task'"));

  CommandResult fail = jobd_->Jobctl({"--json", "map", "fail", "it broke"});
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_EQ(JsonLines(fail.out).at(0)["error"], "it broke");
}

TEST_F(JobdTest, MalformedMessagesGetAnErrorAndTheDaemonGoesOn) {
  StartJobd(1);
  const std::string ping = EncodeRequest(Request{kProtocolVersion, 1, PingRequest{}});

  Result<Reply> garbage = RawExchange(jobd_->endpoint(), {"this is not capnp"});
  ASSERT_TRUE(garbage.ok()) << garbage.status().message();
  EXPECT_EQ(std::get<ErrorReply>(garbage->body).code, ErrorCode::kBadRequest);

  Result<Reply> truncated = RawExchange(jobd_->endpoint(), {ping.substr(0, ping.size() - 8)});
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(std::get<ErrorReply>(truncated->body).code, ErrorCode::kBadRequest);

  Result<Reply> multipart = RawExchange(jobd_->endpoint(), {ping, ping});
  ASSERT_TRUE(multipart.ok());
  EXPECT_THAT(std::get<ErrorReply>(multipart->body).message, HasSubstr("1 frame"));

  Result<Reply> version = RawExchange(jobd_->endpoint(),
                                      {EncodeRequest(Request{kProtocolVersion + 1, 9, PingRequest{}})});
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->request_id, 9u);
  EXPECT_EQ(std::get<ErrorReply>(version->body).code, ErrorCode::kVersionMismatch);
  EXPECT_THAT(std::get<ErrorReply>(version->body).message, HasSubstr("version"));

  // An unknown request type: the Ping/Logs union tag set to one no request has.
  std::string unknown = ping;
  const std::string logs = EncodeRequest(Request{kProtocolVersion, 1, LogsRequest{}});
  for (size_t i = 0; i < unknown.size(); ++i) {
    if (unknown[i] != logs[i]) unknown[i] = 60;
  }
  Result<Reply> unknown_reply = RawExchange(jobd_->endpoint(), {unknown});
  ASSERT_TRUE(unknown_reply.ok());
  EXPECT_THAT(std::get<ErrorReply>(unknown_reply->body).message, HasSubstr("unknown request type"));

  Result<Reply> unknown_job = RawExchange(
      jobd_->endpoint(), {EncodeRequest(Request{kProtocolVersion, 2, WatchRequest{12345}})});
  ASSERT_TRUE(unknown_job.ok());
  EXPECT_EQ(std::get<ErrorReply>(unknown_job->body).code, ErrorCode::kUnknownJob);

  CommandResult alive = jobd_->Jobctl({"ping"});
  EXPECT_EQ(alive.exit_code, 0) << alive.err;
  EXPECT_EQ(jobd_->StopWith(SIGTERM), 0);
  // One log line per bad message.
  int warnings = 0;
  for (const std::string& line : ReadLines(jobd_->log_path())) {
    if (line.find("bad client request") != std::string::npos ||
        line.find("frames; expected 1") != std::string::npos ||
        line.find("protocol version") != std::string::npos) {
      ++warnings;
    }
  }
  EXPECT_EQ(warnings, 5);
}

TEST_F(JobdTest, NoDaemonMeansExitTwoWithinASecondNamingThePlace) {
  TempDir dir;
  const std::string endpoint = "ipc://" + dir.path() + "/nobody.sock";
  CommandResult missing = RunCommand({BinPath("jobctl"), "--socket", endpoint, "ping"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr(dir.path() + "/nobody.sock"));
  EXPECT_LT(missing.elapsed.count(), 1000);

  // A socket file that nobody listens on (a daemon that died).
  std::ofstream(dir.path() + "/stale.sock") << "";
  CommandResult stale = RunCommand(
      {BinPath("jobctl"), "--socket", "ipc://" + dir.path() + "/stale.sock", "map", "echo", "x"});
  EXPECT_EQ(stale.exit_code, 2);
  EXPECT_THAT(stale.err, HasSubstr("stale.sock"));
  EXPECT_LT(stale.elapsed.count(), 1000);

  CommandResult from_env =
      RunCommand({BinPath("jobctl"), "ping"}, {{"JOBD_SOCKET", endpoint}});
  EXPECT_EQ(from_env.exit_code, 2);
  EXPECT_THAT(from_env.err, HasSubstr("nobody.sock"));
}

TEST_F(JobdTest, UsageErrorsExitTwo) {
  StartJobd(1);
  EXPECT_EQ(jobd_->Jobctl({"map"}).exit_code, 2);
  EXPECT_EQ(jobd_->Jobctl({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(jobd_->Jobctl({"map", "--timeout", "soon", "echo", "x"}).exit_code, 2);
}

TEST_F(JobdTest, SubmitReturnsAtOnceAndWatchStreamsLikeMap) {
  StartJobd(2);
  CommandResult submitted = jobd_->Jobctl({"submit", "sleep", "300", "10"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string job = submitted.out.substr(0, submitted.out.find('\n'));
  EXPECT_EQ(submitted.out, job + "\n") << "submit must print the job id alone";
  EXPECT_LT(submitted.elapsed.count(), 300 + 1000);

  CommandResult watched = jobd_->Jobctl({"--json", "watch", job});
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  auto lines = JsonLines(watched.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["index"], 1);
  EXPECT_EQ(std::to_string(lines[0]["job"].get<int>()), job);

  // Watching a finished job replays everything.
  CommandResult again = jobd_->Jobctl({"--json", "watch", "--ordered", job});
  ASSERT_EQ(again.exit_code, 0);
  auto replay = JsonLines(again.out);
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay[0]["index"], 0);

  CommandResult status = jobd_->Jobctl({"--json", "status", job});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("\"ok\":2"));
  CommandResult no_job = jobd_->Jobctl({"status", "999"});
  EXPECT_NE(no_job.exit_code, 0);
  EXPECT_THAT(no_job.err, HasSubstr("999"));
}

TEST_F(JobdTest, WorkersHaveDistinctPidsInResultsAndLogs) {
  StartJobd(2, {"--log-level", "debug"});
  CommandResult r = jobd_->Jobctl({"--json", "map", "spin", "100", "100", "100", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<int> result_pids;
  for (const json& line : JsonLines(r.out)) result_pids.insert(line["pid"].get<int>());
  EXPECT_EQ(result_pids.size(), 2u);

  CommandResult workers = jobd_->Jobctl({"--json", "workers"});
  ASSERT_EQ(workers.exit_code, 0) << workers.err;
  EXPECT_EQ(JsonLines(workers.out).size(), 2u);
  for (const json& worker : JsonLines(workers.out)) {
    // A number, or null from a jobd that does not say; with an account, its name.
    ASSERT_TRUE(worker.contains("uid")) << worker;
    EXPECT_TRUE(worker["uid"].is_null() || worker["uid"].is_number_unsigned()) << worker;
    if (worker.contains("user")) {
      EXPECT_TRUE(worker["uid"].is_number()) << worker;
    }
  }
  CommandResult table = jobd_->Jobctl({"workers"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("SLOT  PID", 0), 0u) << table.out;
  EXPECT_THAT(table.out, HasSubstr("  USER  ")) << table.out;

  const int jobd_pid = jobd_->pid();
  EXPECT_EQ(jobd_->StopWith(SIGTERM), 0);
  std::set<int> worker_log_pids;
  int task_records = 0;
  for (const std::string& text : ReadLines(jobd_->log_path())) {
    json line = json::parse(text);
    for (const char* key : {"ts", "level", "pid", "role", "msg"}) {
      ASSERT_TRUE(line.contains(key)) << key << " missing in " << text;
    }
    if (line["role"] == "worker") {
      worker_log_pids.insert(line["pid"].get<int>());
      EXPECT_NE(line["pid"], jobd_pid);
      if (line.contains("job") && line.contains("task")) ++task_records;
    } else {
      EXPECT_EQ(line["role"], "coordinator");
      EXPECT_EQ(line["pid"], jobd_pid);
    }
  }
  for (int pid : result_pids) EXPECT_TRUE(worker_log_pids.count(pid)) << pid;
  EXPECT_GE(task_records, 4);
}

TEST_F(JobdTest, LogsVerbFiltersByPidAndJobAndShowsPidFirst) {
  StartJobd(2, {"--log-level", "debug"});
  CommandResult r = jobd_->Jobctl({"--json", "map", "echo", "x", "y"});
  ASSERT_EQ(r.exit_code, 0);
  const int pid = JsonLines(r.out)[0]["pid"];
  const int job = JsonLines(r.out)[0]["job"];

  // The worker's records travel through the coordinator; wait (bounded) for
  // the writer thread to have written them.
  CommandResult logs;
  for (int i = 0; i < 50; ++i) {
    logs = jobd_->Jobctl({"logs", "--pid", std::to_string(pid)});
    if (logs.out.find("job=" + std::to_string(job)) != std::string::npos) break;
    usleep(100 * 1000);
  }
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  ASSERT_FALSE(logs.out.empty());
  std::istringstream lines(logs.out);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.rfind("PID " + std::to_string(pid) + " ", 0), 0u) << line;
  }
  EXPECT_THAT(logs.out, HasSubstr("job=" + std::to_string(job)));

  CommandResult by_job = jobd_->Jobctl({"--json", "logs", "--job", std::to_string(job)});
  ASSERT_EQ(by_job.exit_code, 0);
  for (const json& line : JsonLines(by_job.out)) EXPECT_EQ(line["job"], job);
}

TEST_F(JobdTest, SigtermDrainsRunningTasksAndExitsZero) {
  // Without a store, queued tasks cannot outlive jobd: the drain cancels them.
  StartJobd(2, {"--no-store"});
  // Two tasks start at once; the other two wait and are cancelled by the drain.
  CommandResult submitted = jobd_->Jobctl({"submit", "sleep", "700", "700", "700", "700"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string job = submitted.out.substr(0, submitted.out.find('\n'));
  jobd_->Signal(SIGTERM);
  // A client still gets the results of the drain.
  CommandResult watched = jobd_->Jobctl({"--json", "watch", "--ordered", job});
  EXPECT_EQ(jobd_->WaitForExit(), 0) << jobd_->Stderr();
  std::map<std::string, int> statuses;
  for (const json& line : JsonLines(watched.out)) statuses[line["status"]]++;
  EXPECT_EQ(statuses["ok"], 2) << watched.out << watched.err;
  EXPECT_EQ(statuses["cancelled"], 2) << watched.out;
}

TEST_F(JobdTest, SigtermExitsZeroAfterRunningTasksFinish) {
  StartJobd(2);
  CommandResult submitted = jobd_->Jobctl({"submit", "sleep", "500", "500"});
  ASSERT_EQ(submitted.exit_code, 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(jobd_->StopWith(SIGTERM), 0) << jobd_->Stderr();
  const auto took = std::chrono::steady_clock::now() - start;
  // It waited for the running tasks rather than killing them.
  EXPECT_GE(took, std::chrono::milliseconds(300));
  bool drained = false, finished = false;
  for (const std::string& line : ReadLines(jobd_->log_path())) {
    if (line.find("draining") != std::string::npos) drained = true;
    if (line.find("job finished: 2 ok") != std::string::npos) finished = true;
  }
  EXPECT_TRUE(drained);
  EXPECT_TRUE(finished);
}

TEST_F(JobdTest, KilledCoordinatorLeavesNoOrphanWorkers) {
  StartJobd(2);
  ASSERT_EQ(jobd_->Jobctl({"submit", "spin", "20000", "20000"}).exit_code, 0);
  CommandResult workers = jobd_->Jobctl({"--json", "workers"});
  ASSERT_EQ(workers.exit_code, 0);
  std::vector<pid_t> pids;
  for (const json& w : JsonLines(workers.out)) pids.push_back(w["pid"].get<pid_t>());
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_EQ(jobd_->StopWith(SIGKILL), 128 + SIGKILL);
  for (pid_t pid : pids) {
    EXPECT_TRUE(WaitForProcessGone(pid, std::chrono::seconds(5))) << "worker " << pid << " outlived jobd";
  }
}

TEST_F(JobdTest, SecondDaemonOnTheSameSocketIsRefused) {
  StartJobd(1);
  CommandResult second = RunCommand({BinPath("jobd"), "--socket", jobd_->endpoint(), "--workers",
                                     "1", "--state-dir", jobd_->dir() + "/s2"},
                                    {}, std::chrono::seconds(20));
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("already listening"));
  EXPECT_EQ(jobd_->Jobctl({"ping"}).exit_code, 0);
}

TEST_F(JobdTest, TasksListsTheBuiltInsWithTheirKind) {
  StartJobd(1);
  CommandResult r = jobd_->Jobctl({"--json", "tasks"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> names;
  for (const json& task : JsonLines(r.out)) {
    names.insert(task["name"].get<std::string>());
    if (task["kind"] == "built-in") {
      EXPECT_TRUE(task["file"].is_null());
    }
    EXPECT_EQ(task["runs_code"], false) << task;  // no built-in runs its caller's code
    EXPECT_FALSE(task["description"].get<std::string>().empty());
  }
  for (const char* name : {"sum_to_num", "spin", "sleep", "echo", "fail", "crash"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
}

TEST_F(JobdTest, PingAnswersWhileEveryWorkerIsBusy) {
  StartJobd(2);
  CommandResult submitted = jobd_->Jobctl({"submit", "spin", "3000", "3000", "3000"});
  ASSERT_EQ(submitted.exit_code, 0);
  CommandResult ping = jobd_->Jobctl({"--json", "ping"});
  ASSERT_EQ(ping.exit_code, 0) << ping.err;
  json pong = JsonLines(ping.out).at(0);
  EXPECT_LT(pong["rtt_ms"].get<double>(), 500.0);
  EXPECT_EQ(pong["workers"], 2);
}

}  // namespace
}  // namespace jobd::testing
