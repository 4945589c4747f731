// The jobctl program against the fake daemon: the cancel verb and Ctrl-C
// during map and watch. Runs bin/jobctl with its output on pipes; every wait
// has a deadline, and signals are sent only once jobctl's output shows it is
// where the test wants it.
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_jobd.h"

extern char** environ;

namespace jobd {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

const std::string kJobctl = std::string(JOBD_BIN_DIR) + "/jobctl";

// One run of jobctl, its stdout and stderr collected as they come.
class Jobctl {
 public:
  explicit Jobctl(const std::vector<std::string>& args) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> argv = {const_cast<char*>(kJobctl.c_str())};
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, kJobctl.c_str(), &actions, &attr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out[1]);
    ::close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
  }
  Jobctl(const Jobctl&) = delete;
  Jobctl& operator=(const Jobctl&) = delete;
  ~Jobctl() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }

  bool started() const { return pid_ > 0; }
  void Interrupt() { ::kill(pid_, SIGINT); }

  // Reads until `text` shows in stderr (or stdout), or `limit` passes.
  bool WaitForStderr(const std::string& text, milliseconds limit = milliseconds(5000)) {
    return PumpUntil([&] { return err_.find(text) != std::string::npos; }, limit);
  }
  bool WaitForStdout(const std::string& text, milliseconds limit = milliseconds(5000)) {
    return PumpUntil([&] { return out_.find(text) != std::string::npos; }, limit);
  }

  // Reads to the end of both pipes and reaps: the exit status, or -1 when
  // jobctl did not end within `limit` (or died of a signal).
  int Finish(milliseconds limit = milliseconds(5000)) {
    if (!PumpUntil([&] { return fds_[0] < 0 && fds_[1] < 0; }, limit)) return -1;
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  template <typename Done>
  bool PumpUntil(Done done, milliseconds limit) {
    const auto deadline = steady_clock::now() + limit;
    while (!done()) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
      if (left <= milliseconds(0)) return false;
      pollfd items[2];
      nfds_t count = 0;
      for (int fd : fds_) {
        if (fd >= 0) items[count++] = pollfd{fd, POLLIN, 0};
      }
      if (count == 0) return false;  // both closed and still not done
      if (::poll(items, count, static_cast<int>(left.count())) <= 0) continue;
      for (nfds_t i = 0; i < count; ++i) {
        if (items[i].revents == 0) continue;
        char buffer[4096];
        const ssize_t n = ::read(items[i].fd, buffer, sizeof buffer);
        const int slot = items[i].fd == fds_[0] ? 0 : 1;
        if (n > 0) {
          (slot == 0 ? out_ : err_).append(buffer, static_cast<size_t>(n));
        } else if (n == 0) {
          ::close(fds_[slot]);
          fds_[slot] = -1;
        }
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};  // stdout, stderr
  std::string out_;
  std::string err_;
};

TaskResult At(JobId job, uint32_t index, TaskStatus status, uint64_t seq) {
  TaskResult result;
  result.job = job;
  result.index = index;
  result.seq = seq;
  result.status = status;
  result.result = "r" + std::to_string(index);
  result.pid = 4242;
  result.attempts = status == TaskStatus::kCancelled ? 0 : 1;
  return result;
}

// A 3-task job 4: task 0 ends ok at once, the others only when cancelled
// (if `answer_cancel`; otherwise the Cancel gets no answer at all).
class SlowJob {
 public:
  explicit SlowJob(bool answer_cancel = true) : answer_cancel_(answer_cancel) {}

  std::vector<Reply> operator()(const Request& request) {  // the server thread
    if (std::holds_alternative<PingRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, PongReply{4242, 2, 0, 0})};
    }
    if (std::holds_alternative<SubmitRequest>(request.body) ||
        std::holds_alternative<WatchRequest>(request.body)) {
      stream_id_ = request.request_id;
      JobInfo job;
      job.job = 4;
      job.total = 3;
      return {FakeJobd::ReplyTo(request, AcceptedReply{job}),
              FakeJobd::ReplyTo(request, ResultBatch{4, {At(4, 0, TaskStatus::kOk, 0)}, false})};
    }
    if (std::holds_alternative<CancelRequest>(request.body)) {
      cancels_++;
      if (!answer_cancel_) return {};
      CancelReply cancelled;
      cancelled.job.job = 4;
      cancelled.cancelled_queued = 1;
      cancelled.stopped_running = 1;
      return {FakeJobd::ReplyTo(request, cancelled),
              Reply{kProtocolVersion, stream_id_,
                    ResultBatch{4,
                                {At(4, 2, TaskStatus::kCancelled, 1),
                                 At(4, 1, TaskStatus::kCancelled, 2)},
                                true}}};
    }
    return {};
  }

  int cancels() const { return cancels_; }

 private:
  const bool answer_cancel_;
  RequestId stream_id_ = 0;
  std::atomic<int> cancels_{0};
};

class JobctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kJobctl)) GTEST_SKIP() << kJobctl << " is not built";
  }
};

TEST_F(JobctlTest, CtrlCInMapCancelsAndPrintsTheRest) {
  SlowJob job;
  FakeJobd server(std::ref(job));
  Jobctl jobctl({"--socket", server.endpoint(), "map", "echo", "a", "b", "c"});
  ASSERT_TRUE(jobctl.started());
  ASSERT_TRUE(jobctl.WaitForStdout("[0] ok r0")) << jobctl.err();
  jobctl.Interrupt();
  EXPECT_EQ(jobctl.Finish(), 1) << jobctl.err();
  EXPECT_EQ(jobctl.err(), "jobctl: cancelling job 4 (Ctrl-C again to stop waiting for its last results)\n");
  EXPECT_EQ(jobctl.out(),
            "[0] ok r0  (pid 4242, 0.0 ms)\n"
            "[2] cancelled  (never ran)\n"
            "[1] cancelled  (never ran)\n");
  EXPECT_EQ(job.cancels(), 1);
}

TEST_F(JobctlTest, SecondCtrlCLeavesAtOnce) {
  SlowJob job(/*answer_cancel=*/false);
  FakeJobd server(std::ref(job));
  Jobctl jobctl({"--socket", server.endpoint(), "map", "echo", "a", "b", "c"});
  ASSERT_TRUE(jobctl.started());
  ASSERT_TRUE(jobctl.WaitForStdout("[0] ok r0")) << jobctl.err();
  jobctl.Interrupt();
  ASSERT_TRUE(jobctl.WaitForStderr("cancelling job 4")) << jobctl.err();
  // The line comes just before the Cancel leaves: a second Ctrl-C before it
  // has arrived would drop it with the socket (linger 0).
  const auto sent_by = steady_clock::now() + milliseconds(5000);
  while (job.cancels() == 0 && steady_clock::now() < sent_by) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(job.cancels(), 1);
  const auto start = steady_clock::now();
  jobctl.Interrupt();  // while jobctl waits for the unanswered Cancel
  EXPECT_EQ(jobctl.Finish(), 130) << jobctl.err();
  EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
  EXPECT_EQ(job.cancels(), 1);
}

TEST_F(JobctlTest, CtrlCInDetachedMapLeavesTheJobRunning) {
  SlowJob job;
  FakeJobd server(std::ref(job));
  Jobctl jobctl({"--socket", server.endpoint(), "map", "--detach", "echo", "a", "b", "c"});
  ASSERT_TRUE(jobctl.started());
  ASSERT_TRUE(jobctl.WaitForStdout("[0] ok r0")) << jobctl.err();
  jobctl.Interrupt();
  EXPECT_EQ(jobctl.Finish(), 130) << jobctl.err();
  EXPECT_EQ(jobctl.err(), "jobctl: leaving job 4 running\n");
  EXPECT_EQ(job.cancels(), 0);
}

TEST_F(JobctlTest, CtrlCInWatchLeavesTheJobRunning) {
  SlowJob job;
  FakeJobd server(std::ref(job));
  Jobctl jobctl({"--socket", server.endpoint(), "--json", "watch", "4"});
  ASSERT_TRUE(jobctl.started());
  ASSERT_TRUE(jobctl.WaitForStdout(R"("index":0)")) << jobctl.err();
  jobctl.Interrupt();
  EXPECT_EQ(jobctl.Finish(), 130) << jobctl.err();
  EXPECT_EQ(jobctl.err(), "jobctl: leaving job 4 running\n");
  EXPECT_EQ(job.cancels(), 0);
}

FakeJobd::Handler CancelAnswers(CancelReply reply) {
  return [reply](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, PongReply{})};
    }
    const auto* cancel = std::get_if<CancelRequest>(&request.body);
    if (cancel == nullptr || cancel->job != 7) {
      return {FakeJobd::ReplyTo(request, ErrorReply{ErrorCode::kUnknownJob, "unknown job 77"})};
    }
    return {FakeJobd::ReplyTo(request, reply)};
  };
}

TEST_F(JobctlTest, CancelVerb) {
  CancelReply reply;
  reply.job.job = 7;
  reply.cancelled_queued = 120;
  reply.stopped_running = 2;
  FakeJobd server(CancelAnswers(reply));
  {
    Jobctl jobctl({"--socket", server.endpoint(), "cancel", "7"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
    EXPECT_EQ(jobctl.out(),
              "job 7 cancelled: 120 queued tasks cancelled, 2 running tasks stopped\n");
  }
  {
    Jobctl jobctl({"--socket", server.endpoint(), "cancel", "7", "--json"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
    EXPECT_EQ(jobctl.out(),
              R"({"job":7,"cancelled_queued":120,"stopped_running":2,"already_finished":false})"
              "\n");
  }
  {
    Jobctl jobctl({"--socket", server.endpoint(), "cancel", "77"});
    EXPECT_EQ(jobctl.Finish(), 1);
    EXPECT_EQ(jobctl.out(), "");
    EXPECT_EQ(jobctl.err(), "jobctl: unknown job 77\n");
  }
}

TEST_F(JobctlTest, CancelOfAFinishedJob) {
  CancelReply reply;
  reply.job.job = 7;
  reply.already_finished = true;
  FakeJobd server(CancelAnswers(reply));
  Jobctl jobctl({"--socket", server.endpoint(), "cancel", "7"});
  EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  EXPECT_EQ(jobctl.out(), "job 7 had already finished; nothing to cancel\n");
}

// Job 8 for watch/results: `results` (seq from 0) and `state` as given; the
// stream ends after them. Jobs lists job 1 running and job 2 done; a
// submit is accepted as job 3.
FakeJobd::Handler JobEight(JobState state, uint32_t total, std::vector<TaskResult> results) {
  return [=](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, PongReply{})};
    }
    if (const auto* watch = std::get_if<WatchRequest>(&request.body)) {
      JobInfo job;
      job.job = 8;
      job.state = state;
      job.total = total;
      std::vector<TaskResult> sent;
      for (const TaskResult& result : results) {
        if (result.seq >= watch->from_seq) sent.push_back(result);
      }
      return {FakeJobd::ReplyTo(request, AcceptedReply{job}),
              FakeJobd::ReplyTo(request, ResultBatch{8, sent, true})};
    }
    if (std::holds_alternative<JobsRequest>(request.body)) {
      JobInfo running;
      running.job = 1;
      running.task = "spin";
      JobInfo done;
      done.job = 2;
      done.task = "echo";
      done.state = JobState::kDone;
      return {FakeJobd::ReplyTo(request, StatusReply{{running, done}})};
    }
    if (std::holds_alternative<SubmitRequest>(request.body)) {
      JobInfo job;
      job.job = 3;
      job.total = 1;
      return {FakeJobd::ReplyTo(request, AcceptedReply{job}),
              FakeJobd::ReplyTo(request, ResultBatch{3, {At(3, 0, TaskStatus::kOk, 0)}, true})};
    }
    return {};
  };
}

// The only WatchRequest `server` received.
std::optional<WatchRequest> OnlyWatch(const FakeJobd& server) {
  std::optional<WatchRequest> found;
  for (const Request& request : server.requests()) {
    if (const auto* watch = std::get_if<WatchRequest>(&request.body)) {
      if (found) return std::nullopt;
      found = *watch;
    }
  }
  return found;
}

TEST_F(JobctlTest, ResultsOfADoneJobAskForASnapshot) {
  FakeJobd server(JobEight(JobState::kDone, 2,
                           {At(8, 1, TaskStatus::kOk, 0), At(8, 0, TaskStatus::kOk, 1)}));
  Jobctl jobctl({"--socket", server.endpoint(), "--json", "results", "8"});
  EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  EXPECT_EQ(jobctl.err(), "");
  EXPECT_EQ(jobctl.out(),
            R"({"job":8,"index":1,"seq":0,"status":"ok","result":"r1","error":null,)"
            R"("pid":4242,"uid":null,"attempts":1,"duration_ms":0.0})"
            "\n"
            R"({"job":8,"index":0,"seq":1,"status":"ok","result":"r0","error":null,)"
            R"("pid":4242,"uid":null,"attempts":1,"duration_ms":0.0})"
            "\n");
  const std::optional<WatchRequest> watch = OnlyWatch(server);
  ASSERT_TRUE(watch.has_value());
  EXPECT_EQ(watch->job, 8u);
  EXPECT_EQ(watch->from_seq, 0u);
  EXPECT_FALSE(watch->follow);
}

TEST_F(JobctlTest, ResultsOrdered) {
  FakeJobd server(JobEight(JobState::kDone, 2,
                           {At(8, 1, TaskStatus::kOk, 0), At(8, 0, TaskStatus::kOk, 1)}));
  Jobctl jobctl({"--socket", server.endpoint(), "results", "--ordered", "8"});
  EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  EXPECT_EQ(jobctl.out(), "[0] ok r0  (pid 4242, 0.0 ms)\n[1] ok r1  (pid 4242, 0.0 ms)\n");
}

TEST_F(JobctlTest, ResultsOfARunningJobExitOneWithANote) {
  FakeJobd server(JobEight(JobState::kRunning, 3, {At(8, 2, TaskStatus::kOk, 0)}));
  Jobctl jobctl({"--socket", server.endpoint(), "results", "8"});
  EXPECT_EQ(jobctl.Finish(), 1) << jobctl.err();
  EXPECT_EQ(jobctl.out(), "[2] ok r2  (pid 4242, 0.0 ms)\n");
  EXPECT_EQ(jobctl.err(), "jobctl: job 8 is still running: 1 of 3 results\n");
}

TEST_F(JobctlTest, ResultsOfAJobWithAFailureExitOne) {
  FakeJobd server(JobEight(JobState::kDone, 2,
                           {At(8, 0, TaskStatus::kOk, 0), At(8, 1, TaskStatus::kCancelled, 1)}));
  Jobctl jobctl({"--socket", server.endpoint(), "results", "8"});
  EXPECT_EQ(jobctl.Finish(), 1) << jobctl.err();
  EXPECT_EQ(jobctl.err(), "");
}

TEST_F(JobctlTest, WatchFromSeqResumes) {
  FakeJobd server(JobEight(JobState::kDone, 3,
                           {At(8, 2, TaskStatus::kOk, 0), At(8, 0, TaskStatus::kOk, 1),
                            At(8, 1, TaskStatus::kOk, 2)}));
  Jobctl jobctl({"--socket", server.endpoint(), "--json", "watch", "8", "--from-seq", "2"});
  EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  EXPECT_EQ(jobctl.err(), "");
  EXPECT_EQ(jobctl.out(),
            R"({"job":8,"index":1,"seq":2,"status":"ok","result":"r1","error":null,)"
            R"("pid":4242,"uid":null,"attempts":1,"duration_ms":0.0})"
            "\n");
  const std::optional<WatchRequest> watch = OnlyWatch(server);
  ASSERT_TRUE(watch.has_value());
  EXPECT_EQ(watch->from_seq, 2u);
  EXPECT_TRUE(watch->follow);
}

TEST_F(JobctlTest, WatchFromSeqWithOrderedIsAUsageError) {
  FakeJobd server(JobEight(JobState::kDone, 1, {}));
  Jobctl jobctl({"--socket", server.endpoint(), "watch", "8", "--from-seq", "2", "--ordered"});
  EXPECT_EQ(jobctl.Finish(), 2) << jobctl.err();
  EXPECT_EQ(OnlyWatch(server), std::nullopt);
}

TEST_F(JobctlTest, NoStoreReachesTheSubmitRequest) {
  FakeJobd server(JobEight(JobState::kDone, 1, {}));
  {
    Jobctl jobctl({"--socket", server.endpoint(), "submit", "--no-store", "echo", "a"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
    EXPECT_EQ(jobctl.out(), "3\n");
  }
  {
    Jobctl jobctl({"--socket", server.endpoint(), "map", "echo", "--no-store", "a"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  }
  {
    Jobctl jobctl({"--socket", server.endpoint(), "submit", "echo", "a"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  }
  std::vector<SubmitRequest> submits;
  for (const Request& request : server.requests()) {
    if (const auto* submit = std::get_if<SubmitRequest>(&request.body)) submits.push_back(*submit);
  }
  ASSERT_EQ(submits.size(), 3u);
  EXPECT_TRUE(submits[0].no_store);
  EXPECT_FALSE(submits[0].watch);
  EXPECT_TRUE(submits[1].no_store);
  EXPECT_TRUE(submits[1].watch);
  EXPECT_FALSE(submits[2].no_store);
}

// The SubmitRequests `server` received.
std::vector<SubmitRequest> Submits(const FakeJobd& server) {
  std::vector<SubmitRequest> submits;
  for (const Request& request : server.requests()) {
    if (const auto* submit = std::get_if<SubmitRequest>(&request.body)) submits.push_back(*submit);
  }
  return submits;
}

TEST_F(JobctlTest, ArgsPerTaskAndRepeatShapeTheTasks) {
  FakeJobd server(JobEight(JobState::kDone, 1, {}));
  {
    Jobctl jobctl({"--socket", server.endpoint(), "submit", "-n", "2", "echo", "a", "b", "c", "d"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  }
  {
    Jobctl jobctl({"--socket", server.endpoint(), "submit", "--repeat", "3", "crash"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  }
  {
    Jobctl jobctl({"--socket", server.endpoint(), "submit", "crash"});  // no ARG: once
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  }
  const std::vector<SubmitRequest> submits = Submits(server);
  ASSERT_EQ(submits.size(), 3u);
  EXPECT_EQ(submits[0].default_task, "echo");
  ASSERT_EQ(submits[0].tasks.size(), 2u);
  EXPECT_EQ(submits[0].tasks[0].args, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(submits[0].tasks[1].args, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(submits[1].default_task, "crash");
  ASSERT_EQ(submits[1].tasks.size(), 3u);
  for (const TaskInput& task : submits[1].tasks) EXPECT_TRUE(task.args.empty());
  EXPECT_EQ(submits[2].default_task, "crash");
  ASSERT_EQ(submits[2].tasks.size(), 1u);
  EXPECT_TRUE(submits[2].tasks[0].args.empty());
}

TEST_F(JobctlTest, BadTaskShapesAreUsageErrorsAndSendNothing) {
  FakeJobd server(JobEight(JobState::kDone, 1, {}));
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"map", "-n", "2", "echo", "a", "b", "c"},
       "jobctl: -n 2: 3 ARGs are not a multiple of 2 (1 left over)\n"},
      {{"map", "--repeat", "2000000", "crash"},
       "jobctl: --repeat 2000000 is over jobctl's limit of 1000000 tasks a job (jobd's default "
       "--max-tasks-per-job; split the job)\n"},
      {{"submit", "--exec", "ls {}", "-n", "2", "a", "b"},
       "jobctl: -n applies to TASK ARG..., not to --exec (one command per ITEM)\n"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> line = {"--socket", server.endpoint()};
    line.insert(line.end(), args.begin(), args.end());
    Jobctl jobctl(line);
    EXPECT_EQ(jobctl.Finish(), 2) << args[1];
    EXPECT_EQ(jobctl.err(), message);
  }
  EXPECT_TRUE(Submits(server).empty());
}

TEST_F(JobctlTest, JobsFilteredByState) {
  FakeJobd server(JobEight(JobState::kDone, 1, {}));
  {
    Jobctl jobctl({"--socket", server.endpoint(), "--json", "jobs", "--state", "done"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
    EXPECT_EQ(jobctl.out().find(R"("job":1,)"), std::string::npos) << jobctl.out();
    EXPECT_NE(jobctl.out().find(R"({"job":2,"task":"echo","state":"done")"), std::string::npos)
        << jobctl.out();
  }
  {
    Jobctl jobctl({"--socket", server.endpoint(), "jobs", "--state", "running"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
    EXPECT_NE(jobctl.out().find("\n1    running  spin"), std::string::npos) << jobctl.out();
    EXPECT_EQ(jobctl.out().find("done"), std::string::npos) << jobctl.out();
  }
  {
    Jobctl jobctl({"--socket", server.endpoint(), "--json", "jobs"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
    EXPECT_NE(jobctl.out().find(R"("job":1,)"), std::string::npos) << jobctl.out();
    EXPECT_NE(jobctl.out().find(R"("job":2,)"), std::string::npos) << jobctl.out();
  }
  {
    Jobctl jobctl({"--socket", server.endpoint(), "jobs", "--state", "sleeping"});
    EXPECT_EQ(jobctl.Finish(), 2);
  }
}

// Any submit is accepted as job 5, whose one task is the command of
// `map --exec "sh -c 'echo out-{}; echo err-{} >&2; exit 4'" a`, failed.
FakeJobd::Handler FailedCommandJob() {
  return [](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, PongReply{})};
    }
    if (!std::holds_alternative<SubmitRequest>(request.body)) return {};
    JobInfo job;
    job.job = 5;
    job.total = 1;
    TaskResult failed = At(5, 0, TaskStatus::kFailed, 0);
    failed.pid = 12;
    failed.result = "out-a\n";
    failed.error = "err-a\n";
    failed.command = CommandEnd{4, 0, 0, 0, false, false};
    return {FakeJobd::ReplyTo(request, AcceptedReply{job}),
            FakeJobd::ReplyTo(request, ResultBatch{5, {failed}, true})};
  };
}

TEST_F(JobctlTest, FailedCommandKeepsItsStdout) {
  FakeJobd server(FailedCommandJob());
  const std::string command = "sh -c 'echo out-{}; echo err-{} >&2; exit 4'";
  {
    Jobctl jobctl({"--socket", server.endpoint(), "map", "--exec", command, "a"});
    EXPECT_EQ(jobctl.Finish(), 1) << jobctl.err();
    EXPECT_EQ(jobctl.out(), "[0] failed: err-a  (exit 4, pid 12, 1 attempt); stdout: out-a\n");
  }
  for (const char* verb : {"map", "run"}) {
    std::vector<std::string> args = {"--socket", server.endpoint(), "--json", verb};
    if (std::string(verb) == "map") {
      args.insert(args.end(), {"--exec", command, "a"});
    } else {
      args.insert(args.end(), {"--", "sh", "-c", "echo out-a; echo err-a >&2; exit 4"});
    }
    Jobctl jobctl(args);
    EXPECT_EQ(jobctl.Finish(), 1) << jobctl.err();
    EXPECT_NE(jobctl.out().find(R"("status":"failed","result":"out-a\n","error":"err-a\n")"),
              std::string::npos)
        << verb << ": " << jobctl.out();
  }
  {
    // Raw mode, as before: stdout to stdout, stderr to stderr, then how it ended.
    Jobctl jobctl({"--socket", server.endpoint(), "run", "--", "sh", "-c", "exit 4"});
    EXPECT_EQ(jobctl.Finish(), 1) << jobctl.err();
    EXPECT_EQ(jobctl.out(), "out-a\n");
    EXPECT_NE(jobctl.err().find("err-a\n"), std::string::npos) << jobctl.err();
  }
}

// Usage errors need no daemon: jobctl refuses the line before it connects.
TEST_F(JobctlTest, UnknownCommandNamesTheNearOne) {
  Jobctl jobctl({"mpa", "echo", "a"});
  EXPECT_EQ(jobctl.Finish(), 2);
  EXPECT_EQ(jobctl.out(), "");
  EXPECT_EQ(jobctl.err(),
            "jobctl: unknown command 'mpa' (did you mean 'map'?)\n"
            "Run with --help for more information.\n");
}

TEST_F(JobctlTest, UnknownCommandFarFromAllListsThem) {
  Jobctl jobctl({"frobnicate"});
  EXPECT_EQ(jobctl.Finish(), 2);
  EXPECT_EQ(jobctl.err(),
            "jobctl: unknown command 'frobnicate'; the commands are: ping, reload, map, submit, "
            "run, watch, results, status, cancel, jobs, workers, tasks, logs, keygen\n"
            "Run with --help for more information.\n");
}

TEST_F(JobctlTest, NoCommandListsThem) {
  Jobctl jobctl({"--json"});
  EXPECT_EQ(jobctl.Finish(), 2);
  EXPECT_EQ(jobctl.err(),
            "jobctl: a command is required: ping, reload, map, submit, run, watch, results, "
            "status, cancel, jobs, workers, tasks, logs, keygen\n"
            "Run with --help for more information.\n");
}

TEST_F(JobctlTest, OptionLikeWordOfACommandSaysWhereDashDashGoes) {
  Jobctl jobctl({"run", "--timeout", "5s", "ls", "-la"});
  EXPECT_EQ(jobctl.Finish(), 2);
  EXPECT_EQ(jobctl.err(),
            "jobctl: run: '-la' is not an option of jobctl run; put the command after --: "
            "jobctl run --timeout 5s -- ls -la\n"
            "Run with --help for more information.\n");
}

TEST_F(JobctlTest, MisspeltOptionNamesTheNearOne) {
  Jobctl jobctl({"map", "--orderd", "echo", "a"});
  EXPECT_EQ(jobctl.Finish(), 2);
  EXPECT_EQ(jobctl.err(),
            "jobctl: map: unknown option '--orderd' (did you mean '--ordered'?)\n"
            "Run with --help for more information.\n");
}

TEST_F(JobctlTest, TheSuggestedLineParses) {
  // Against a daemon that is not there: past parsing, it fails to connect.
  Jobctl jobctl({"--socket", "ipc:///nonexistent/jobd.sock", "run", "--timeout", "5s", "--", "ls",
                 "-la"});
  EXPECT_EQ(jobctl.Finish(), 2);
  EXPECT_NE(jobctl.err().find("no jobd at"), std::string::npos) << jobctl.err();
}

// Both are a wrong --out, for the caller to fix, with nothing written.
TEST_F(JobctlTest, KeygenIntoNoFolderOrOverAPairExitsTwo) {
  char pattern[] = "/tmp/jobctl-keygen.XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  {
    Jobctl jobctl({"keygen", "--out", dir + "/missing/alice"});
    EXPECT_EQ(jobctl.Finish(), 2) << jobctl.err();
    EXPECT_EQ(jobctl.out(), "");
    EXPECT_EQ(jobctl.err(), "jobctl: cannot write " + dir + "/missing/alice.key: no folder " + dir +
                                "/missing (nothing written)\n");
  }
  {
    Jobctl jobctl({"keygen", "--out", dir + "/alice"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  }
  {
    Jobctl jobctl({"keygen", "--out", dir + "/alice"});
    EXPECT_EQ(jobctl.Finish(), 2) << jobctl.err();
    EXPECT_EQ(jobctl.out(), "");
    EXPECT_EQ(jobctl.err(), "jobctl: " + dir +
                                "/alice.key exists; not overwritten (choose another --out)\n");
  }
  std::filesystem::remove_all(dir);
}

// jobctl names a worker's uid by its account, as the machine jobctl runs on
// knows it; a vacant slot has neither uid nor process.
FakeJobd::Handler TwoWorkers(uint32_t uid) {
  return [uid](const Request& request) -> std::vector<Reply> {
    if (std::holds_alternative<PingRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, PongReply{})};
    }
    if (!std::holds_alternative<WorkersRequest>(request.body)) {
      return {FakeJobd::ReplyTo(request, ErrorReply{ErrorCode::kBadRequest, "unexpected"})};
    }
    WorkerInfo idle{0, 4242, WorkerState::kIdle, 0, 0, 3, 1u << 20, 2000000, uid};
    WorkerInfo vacant{1, 0, WorkerState::kVacant, 0, 0, 0, 0, 0, std::nullopt};
    return {FakeJobd::ReplyTo(request, WorkersReply{{idle, vacant}})};
  };
}

TEST_F(JobctlTest, WorkersNameTheUserOfEachWorker) {
  const passwd* self = getpwuid(getuid());
  if (self == nullptr) GTEST_SKIP() << "uid " << getuid() << " has no account here";
  const std::string name = self->pw_name;
  FakeJobd server(TwoWorkers(getuid()));
  {
    Jobctl jobctl({"--socket", server.endpoint(), "--json", "workers"});
    EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
    EXPECT_EQ(jobctl.out(),
              R"({"slot":0,"pid":4242,"uid":)" + std::to_string(getuid()) + R"(,"user":")" +
                  name + R"(","state":"idle","job":null,"task":null,"tasks_done":3,)"
                  R"("rss_bytes":1048576,"uptime_s":2.0})"
                  "\n"
                  R"({"slot":1,"pid":0,"uid":null,"state":"vacant","job":null,"task":null,)"
                  R"("tasks_done":0,"rss_bytes":0,"uptime_s":0.0})"
                  "\n");
  }
  Jobctl jobctl({"--socket", server.endpoint(), "workers"});
  EXPECT_EQ(jobctl.Finish(), 0) << jobctl.err();
  const std::string& out = jobctl.out();
  const size_t first_row = out.find('\n') + 1;
  EXPECT_EQ(out.substr(first_row, out.find('\n', first_row) - first_row),
            "0     4242  " + name + std::string(std::max<size_t>(name.size(), 4) - name.size(), ' ') +
                "  idle    -    -     3     1.0M  2.00 s")
      << out;
  EXPECT_NE(out.find("vacant"), std::string::npos) << out;
}

}  // namespace
}  // namespace jobd
