#include "client/output.h"

#include <signal.h>

#include <gtest/gtest.h>

#include "client/progress_line.h"

namespace jobd {
namespace {

TaskResult OkResult() {
  TaskResult r;
  r.job = 1;
  r.index = 0;
  r.status = TaskStatus::kOk;
  r.result = "1250000525000055";
  r.pid = 4242;
  r.attempts = 1;
  r.duration_us = 41200;
  r.seq = 3;
  return r;
}

TaskResult CrashedResult() {
  TaskResult r;
  r.job = 1;
  r.index = 2;
  r.status = TaskStatus::kCrashed;
  r.error = "worker 4243 killed by SIGSEGV";
  r.pid = 4243;
  r.attempts = 1;
  r.duration_us = 1500;
  r.seq = 7;
  return r;
}

TEST(OutputTest, OkResultJsonLine) {
  EXPECT_EQ(ResultJsonLine(OkResult()),
            R"({"job":1,"index":0,"seq":3,"status":"ok","result":"1250000525000055","error":null,)"
            R"("pid":4242,"uid":null,"attempts":1,"duration_ms":41.2})");
}

TEST(OutputTest, FailedResultJsonLine) {
  TaskResult r = CrashedResult();
  r.status = TaskStatus::kFailed;
  r.error = "bad \"input\"";
  r.result = "ignored";
  EXPECT_EQ(ResultJsonLine(r),
            R"({"job":1,"index":2,"seq":7,"status":"failed","result":null,"error":"bad \"input\"",)"
            R"("pid":4243,"uid":null,"attempts":1,"duration_ms":1.5})");
}

TEST(OutputTest, ResultJsonLineCarriesTheUidItRanAs) {
  TaskResult r = OkResult();
  r.uid = 1000;
  EXPECT_EQ(ResultJsonLine(r),
            R"({"job":1,"index":0,"seq":3,"status":"ok","result":"1250000525000055","error":null,)"
            R"("pid":4242,"uid":1000,"attempts":1,"duration_ms":41.2})");
  TaskResult command = CrashedResult();
  command.status = TaskStatus::kFailed;
  command.uid = 0;
  command.command = CommandEnd{};
  EXPECT_NE(ResultJsonLine(command).find(R"("pid":4243,"uid":0,"attempts":1,)"),
            std::string::npos)
      << ResultJsonLine(command);
}

// The text line stays as short as it was: who ran it is for --json and
// `jobctl workers`.
TEST(OutputTest, ResultHumanLineDoesNotNameTheUid) {
  TaskResult r = OkResult();
  r.uid = 1000;
  EXPECT_EQ(ResultHumanLine(r, 3), "[0] ok 1250000525000055  (pid 4242, 41.2 ms)");
}

TEST(OutputTest, InvalidUtf8DoesNotThrow) {
  TaskResult r = OkResult();
  r.result = "\xff\xfe";
  EXPECT_NO_THROW(ResultJsonLine(r));
}

TEST(OutputTest, ResultHumanLines) {
  EXPECT_EQ(ResultHumanLine(OkResult(), 3), "[0] ok 1250000525000055  (pid 4242, 41.2 ms)");
  EXPECT_EQ(ResultHumanLine(CrashedResult(), 3),
            "[2] crashed: worker 4243 killed by SIGSEGV  (pid 4243, 1 attempt)");
  // The index is padded to the width of the largest one.
  EXPECT_EQ(ResultHumanLine(OkResult(), 100), "[ 0] ok 1250000525000055  (pid 4242, 41.2 ms)");
  TaskResult retried = OkResult();
  retried.attempts = 2;
  EXPECT_EQ(ResultHumanLine(retried, 1),
            "[0] ok 1250000525000055  (pid 4242, 41.2 ms, 2 attempts)");
  TaskResult cancelled;
  cancelled.index = 1;
  cancelled.status = TaskStatus::kCancelled;
  EXPECT_EQ(ResultHumanLine(cancelled, 2), "[1] cancelled  (never ran)");
}

TEST(OutputTest, PingLines) {
  PongReply pong{1234, 2, 0, 0};
  EXPECT_EQ(PingHumanLine(pong, Micros(210)),
            "jobd pid 1234 answered in 0.21 ms (2 workers, 0 queued, 0 running)");
  EXPECT_EQ(PingJsonLine(pong, Micros(210)),
            R"({"rtt_ms":0.21,"pid":1234,"workers":2,"queued":0,"running":0})");
}

TEST(OutputTest, JobLines) {
  JobInfo job;
  job.job = 7;
  job.task = "spin";
  job.total = 4;
  job.ok = 2;
  job.crashed = 1;
  job.running = 1;
  EXPECT_EQ(SubmittedJsonLine(7), R"({"job":7})");
  EXPECT_EQ(JobJsonLine(job),
            R"({"job":7,"task":"spin","state":"running","total":4,"queued":0,"running":1,)"
            R"("ok":2,"failed":0,"crashed":1,"timeout":0,"cancelled":0,"submitted":null})");
  const std::string text = JobHumanText(job);
  EXPECT_NE(text.find("state      running"), std::string::npos) << text;
  EXPECT_NE(text.find("crashed    1"), std::string::npos) << text;
  const std::string table = JobsTable({job});
  EXPECT_EQ(table.substr(0, table.find('\n')),
            "JOB  STATE    TASK  TOTAL  QUEUED  RUNNING  OK  FAILED  CANCELLED  SUBMITTED");
}

// `jobctl status` says "failed 0, cancelled 39" for a cancelled job: the
// table must not call those 39 failures.
TEST(OutputTest, JobsTableCountsCancelledApartFromFailed) {
  JobInfo cancelled;
  cancelled.job = 9;
  cancelled.task = "sleep";
  cancelled.state = JobState::kDone;
  cancelled.total = 39;
  cancelled.cancelled = 39;
  JobInfo mixed;
  mixed.job = 10;
  mixed.task = "spin";
  mixed.state = JobState::kDone;
  mixed.total = 20;
  mixed.ok = 10;
  mixed.failed = 1;
  mixed.crashed = 2;
  mixed.timeout = 3;
  mixed.cancelled = 4;
  EXPECT_EQ(JobsTable({cancelled, mixed}),
            "JOB  STATE  TASK   TOTAL  QUEUED  RUNNING  OK  FAILED  CANCELLED  SUBMITTED\n"
            "9    done   sleep  39     0       0        0   0       39         -\n"
            "10   done   spin   20     0       0        10  6       4          -");
}

// A fixed account table, so that the tests need no passwd entries.
std::optional<std::string> TestAccounts(uint32_t uid) {
  if (uid == 1000) return "alice";
  if (uid == 0) return "root";
  return std::nullopt;
}

TEST(OutputTest, WorkerLines) {
  WorkerInfo idle{0, 100, WorkerState::kIdle, 0, 0, 5, 2u << 20, 125000000, 1000};
  WorkerInfo busy{1, 101, WorkerState::kBusy, 7, 3, 6, 3u << 20, 5000000, 0};
  EXPECT_EQ(WorkersTable({idle, busy}, TestAccounts),
            "SLOT  PID  USER   STATE  JOB  TASK  DONE  RSS   UPTIME\n"
            "0     100  alice  idle   -    -     5     2.0M  2m05s\n"
            "1     101  root   busy   7    3     6     3.0M  5.00 s");
  EXPECT_EQ(WorkerJsonLine(idle, TestAccounts),
            R"({"slot":0,"pid":100,"uid":1000,"user":"alice","state":"idle","job":null,)"
            R"("task":null,"tasks_done":5,"rss_bytes":2097152,"uptime_s":125.0})");
}

TEST(OutputTest, WorkerStatesRetiringAndLost) {
  WorkerInfo retiring{0, 100, WorkerState::kRetiring, 7, 3, 500, 1u << 20, 1000000, 1000};
  WorkerInfo lost{1, 101, WorkerState::kLost, 0, 0, 6, 0, 2000000, 1000};
  EXPECT_EQ(WorkersTable({retiring, lost}, TestAccounts),
            "SLOT  PID  USER   STATE     JOB  TASK  DONE  RSS   UPTIME\n"
            "0     100  alice  retiring  7    3     500   1.0M  1.00 s\n"
            "1     101  alice  lost      -    -     6     0B    2.00 s");
  EXPECT_NE(WorkerJsonLine(lost, TestAccounts).find(R"("state":"lost")"), std::string::npos);
  EXPECT_NE(WorkerJsonLine(retiring, TestAccounts).find(R"("state":"retiring")"),
            std::string::npos);
}

// A per-user slot with no process yet: only its slot and state mean anything.
TEST(OutputTest, VacantSlotShowsDashesForEverythingOfAProcess) {
  WorkerInfo vacant{2, 0, WorkerState::kVacant, 0, 0, 0, 0, 0, std::nullopt};
  WorkerInfo idle{3, 103, WorkerState::kIdle, 0, 0, 1, 1u << 20, 1000000, 1000};
  EXPECT_EQ(WorkersTable({vacant, idle}, TestAccounts),
            "SLOT  PID  USER   STATE   JOB  TASK  DONE  RSS   UPTIME\n"
            "2     -    -      vacant  -    -     -     -     -\n"
            "3     103  alice  idle    -    -     1     1.0M  1.00 s");
  EXPECT_EQ(WorkerJsonLine(vacant, TestAccounts),
            R"({"slot":2,"pid":0,"uid":null,"state":"vacant","job":null,"task":null,)"
            R"("tasks_done":0,"rss_bytes":0,"uptime_s":0.0})");
}

// A uid with no account (a container's, a deleted user's) is shown as its
// number; one jobd does not report (an older jobd) as "-".
TEST(OutputTest, WorkerUserIsTheNumberWithoutAnAccountAndADashWhenUnknown) {
  WorkerInfo numbered{0, 100, WorkerState::kIdle, 0, 0, 5, 2u << 20, 1000000, 4321};
  WorkerInfo unknown{1, 101, WorkerState::kBusy, 7, 3, 6, 3u << 20, 1000000, std::nullopt};
  EXPECT_EQ(WorkersTable({numbered, unknown}, TestAccounts),
            "SLOT  PID  USER  STATE  JOB  TASK  DONE  RSS   UPTIME\n"
            "0     100  4321  idle   -    -     5     2.0M  1.00 s\n"
            "1     101  -     busy   7    3     6     3.0M  1.00 s");
  const std::string numbered_line = WorkerJsonLine(numbered, TestAccounts);
  EXPECT_NE(numbered_line.find(R"("pid":100,"uid":4321,"state":"idle")"), std::string::npos)
      << numbered_line;
  EXPECT_EQ(numbered_line.find("\"user\""), std::string::npos) << numbered_line;
  const std::string unknown_line = WorkerJsonLine(unknown, TestAccounts);
  EXPECT_NE(unknown_line.find(R"("pid":101,"uid":null,"state":"busy")"), std::string::npos)
      << unknown_line;
  EXPECT_EQ(unknown_line.find("\"user\""), std::string::npos) << unknown_line;
}

TEST(OutputTest, CancelLines) {
  CancelReply reply;
  reply.job.job = 7;
  reply.cancelled_queued = 120;
  reply.stopped_running = 2;
  EXPECT_EQ(CancelHumanLine(reply),
            "job 7 cancelled: 120 queued tasks cancelled, 2 running tasks stopped");
  EXPECT_EQ(CancelJsonLine(reply),
            R"({"job":7,"cancelled_queued":120,"stopped_running":2,"already_finished":false})");
  reply.cancelled_queued = 1;
  reply.stopped_running = 1;
  EXPECT_EQ(CancelHumanLine(reply),
            "job 7 cancelled: 1 queued task cancelled, 1 running task stopped");
  CancelReply finished;
  finished.job.job = 7;
  finished.already_finished = true;
  EXPECT_EQ(CancelHumanLine(finished), "job 7 had already finished; nothing to cancel");
  EXPECT_EQ(CancelJsonLine(finished),
            R"({"job":7,"cancelled_queued":0,"stopped_running":0,"already_finished":true})");
}

TEST(OutputTest, ProgressLineFormat) {
  EXPECT_EQ(ProgressLine::Format(37, 100, 2, 12.5), "37/100 done, 2 failed, 12.5/s, ETA 5.04 s");
  EXPECT_EQ(ProgressLine::Format(0, 10, 0, 0), "0/10 done, 0 failed, 0.0/s, ETA ?");
  EXPECT_EQ(ProgressLine::Format(10, 10, 0, 3), "10/10 done, 0 failed, 3.0/s");
}

TEST(OutputTest, ProgressLineDisabledWritesNothing) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    ProgressLine progress(out, false, 2, TimePoint{});
    progress.Add(OkResult(), TimePoint{} + std::chrono::seconds(1));
  }
  EXPECT_EQ(std::ftell(out), 0);
  std::fclose(out);
}

std::string ReadAll(std::FILE* file) {
  std::rewind(file);
  std::string text;
  for (int c; (c = std::fgetc(file)) != EOF;) text += static_cast<char>(c);
  return text;
}

TEST(OutputTest, ProgressLineRedrawsAtMostTenTimesASecond) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  const TimePoint start{};
  ProgressLine progress(out, true, 4, start);
  progress.Add(OkResult(), start + std::chrono::milliseconds(10));   // drawn
  progress.Add(OkResult(), start + std::chrono::milliseconds(50));   // too soon
  progress.Clear();
  progress.Add(CrashedResult(), start + std::chrono::milliseconds(60));  // still too soon
  progress.Add(OkResult(), start + std::chrono::milliseconds(200));  // drawn
  progress.Clear();
  EXPECT_EQ(ReadAll(out),
            "\r1/4 done, 0 failed, 100.0/s, ETA 30.0 ms\033[K"
            "\r\033[K"
            "\r4/4 done, 1 failed, 20.0/s\033[K"
            "\r\033[K");
  std::fclose(out);
}

TEST(OutputTest, TaskJsonLineHasNullFileForBuiltIns) {
  EXPECT_EQ(TaskJsonLine(TaskInfo{"echo", "built-in", "", "returns"}),
            R"({"name":"echo","kind":"built-in","file":null,"description":"returns",)"
            R"("runs_code":false})");
  EXPECT_EQ(TaskJsonLine(TaskInfo{"sha256", "plugin", "/p/sha256.so", "digest"}),
            R"({"name":"sha256","kind":"plugin","file":"/p/sha256.so","description":"digest",)"
            R"("runs_code":false})");
}

// An interpreter plugin's tasks are code tasks: the table says so in KIND,
// the JSON in runs_code, and the kind itself stays "plugin".
TEST(OutputTest, TasksThatRunCallerCodeAreMarked) {
  const TaskInfo lua{"lua", "plugin", "/p/lua.so", "runs SCRIPT", true};
  const TaskInfo sha{"sha256", "plugin", "/p/sha256.so", "digest", false};
  EXPECT_EQ(TasksTable({lua, sha}),
            "NAME    KIND                DESCRIPTION  FILE\n"
            "lua     plugin (runs code)  runs SCRIPT  /p/lua.so\n"
            "sha256  plugin              digest       /p/sha256.so");
  EXPECT_EQ(TaskJsonLine(lua),
            R"({"name":"lua","kind":"plugin","file":"/p/lua.so","description":"runs SCRIPT",)"
            R"("runs_code":true})");
}


// ---- command results --------------------------------------------------------

CommandEnd Exited(int32_t code) {
  CommandEnd end;
  end.exit_code = code;
  end.signal = 0;
  end.cpu_us = 12345;
  end.max_rss_bytes = 2'097'152;
  return end;
}

CommandEnd Signalled(int32_t signal) {
  CommandEnd end;
  end.exit_code = -1;
  end.signal = signal;
  end.cpu_us = 500;
  end.max_rss_bytes = 1'500'000;
  return end;
}

TaskResult CommandOk() {
  TaskResult r = OkResult();
  r.result = "hello\n";
  r.error = "a warning\n";
  r.command = Exited(0);
  return r;
}

TaskResult CommandFailed(CommandEnd end) {
  TaskResult r = CrashedResult();
  r.status = TaskStatus::kFailed;
  r.result = "partial\n";
  r.error = "boom\n";
  r.command = end;
  return r;
}

TEST(OutputTest, CommandEndText) {
  EXPECT_EQ(CommandEndText(Exited(0)), "exit 0");
  EXPECT_EQ(CommandEndText(Exited(3)), "exit 3");
  EXPECT_EQ(CommandEndText(Exited(255)), "exit 255");
  EXPECT_EQ(CommandEndText(Signalled(SIGTERM)), "killed by SIGTERM");
  EXPECT_EQ(CommandEndText(Signalled(SIGKILL)), "killed by SIGKILL");
  EXPECT_EQ(CommandEndText(Signalled(SIGSEGV)), "killed by SIGSEGV");
  // A number no signal has is still shown.
  EXPECT_NE(CommandEndText(Signalled(200)).find("200"), std::string::npos)
      << CommandEndText(Signalled(200));
}

TEST(OutputTest, CommandOkJsonLine) {
  EXPECT_EQ(ResultJsonLine(CommandOk()),
            R"({"job":1,"index":0,"seq":3,"status":"ok","result":"hello\n","error":null,)"
            R"("pid":4242,"uid":null,"attempts":1,"duration_ms":41.2,)"
            R"("exit_code":0,"signal":null,"stderr":"a warning\n","cpu_ms":12.345,)"
            R"("max_rss_kb":2048,"stdout_truncated":false,"stderr_truncated":false})");
}

TEST(OutputTest, CommandFailedJsonLine) {
  EXPECT_EQ(ResultJsonLine(CommandFailed(Exited(3))),
            R"({"job":1,"index":2,"seq":7,"status":"failed","result":"partial\n","error":"boom\n",)"
            R"("pid":4243,"uid":null,"attempts":1,"duration_ms":1.5,)"
            R"("exit_code":3,"signal":null,"stderr":"boom\n","cpu_ms":12.345,)"
            R"("max_rss_kb":2048,"stdout_truncated":false,"stderr_truncated":false})");
}

TEST(OutputTest, CommandSignalledJsonLineHasNullExitCode) {
  TaskResult r = CommandFailed(Signalled(SIGTERM));
  r.error = "";
  r.command->stdout_truncated = true;
  r.command->stderr_truncated = true;
  // Nothing on stderr: the error says how it ended; "stderr" stays as it was.
  EXPECT_EQ(ResultJsonLine(r),
            R"({"job":1,"index":2,"seq":7,"status":"failed","result":"partial\n",)"
            R"("error":"killed by SIGTERM",)"
            R"("pid":4243,"uid":null,"attempts":1,"duration_ms":1.5,)"
            R"("exit_code":null,"signal":"SIGTERM","stderr":"","cpu_ms":0.5,)"
            R"("max_rss_kb":1464,"stdout_truncated":true,"stderr_truncated":true})");
}

TEST(OutputTest, CommandJsonEscapesStderr) {
  TaskResult r = CommandOk();
  r.error = "line \"1\"\n\tétoile\n";
  const std::string line = ResultJsonLine(r);
  EXPECT_NE(line.find(R"("stderr":"line \"1\"\n\tétoile\n")"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
  r.error = "\xff";
  EXPECT_NO_THROW(ResultJsonLine(r));
}

TEST(OutputTest, PlainResultsHaveNoCommandKeys) {
  for (const TaskResult& r : {OkResult(), CrashedResult()}) {
    const std::string line = ResultJsonLine(r);
    for (const char* key : {"\"exit_code\"", "\"signal\"", "\"stderr\"", "\"cpu_ms\"",
                            "\"max_rss_kb\"", "\"stdout_truncated\"", "\"stderr_truncated\""}) {
      EXPECT_EQ(line.find(key), std::string::npos) << key << " in " << line;
    }
  }
}

TEST(OutputTest, CommandOkHumanLine) {
  // The final newline of stdout is dropped, and "exit 0" is not said.
  EXPECT_EQ(ResultHumanLine(CommandOk(), 3), "[0] ok hello  (pid 4242, 41.2 ms)");
  TaskResult r = CommandOk();
  r.result = "a\nb\n\n";  // only one newline is dropped
  EXPECT_EQ(ResultHumanLine(r, 1), "[0] ok a\nb\n  (pid 4242, 41.2 ms)");
  r.result = "";
  EXPECT_EQ(ResultHumanLine(r, 1), "[0] ok   (pid 4242, 41.2 ms)");
  r.result = "no newline";
  r.attempts = 2;
  EXPECT_EQ(ResultHumanLine(r, 1), "[0] ok no newline  (pid 4242, 41.2 ms, 2 attempts)");
}

TEST(OutputTest, PlainResultKeepsItsTrailingNewline) {
  TaskResult r = OkResult();
  r.result = "x\n";
  EXPECT_EQ(ResultHumanLine(r, 1), "[0] ok x\n  (pid 4242, 41.2 ms)");
  TaskResult failed = CrashedResult();
  failed.status = TaskStatus::kFailed;
  failed.error = "why\n";
  EXPECT_EQ(ResultHumanLine(failed, 3), "[2] failed: why\n  (pid 4243, 1 attempt)");
}

TEST(OutputTest, CommandFailedHumanLineShowsTheExitCode) {
  EXPECT_EQ(ResultHumanLine(CommandFailed(Exited(3)), 3),
            "[2] failed: boom  (exit 3, pid 4243, 1 attempt); stdout: partial");
  TaskResult quiet = CommandFailed(Exited(1));
  quiet.error = "";
  quiet.result = "";
  quiet.attempts = 2;
  EXPECT_EQ(ResultHumanLine(quiet, 3), "[2] failed  (exit 1, pid 4243, 2 attempts)");
}

TEST(OutputTest, CommandKilledHumanLineNamesTheSignal) {
  TaskResult r = CommandFailed(Signalled(SIGKILL));
  r.error = "";
  r.result = "";
  EXPECT_EQ(ResultHumanLine(r, 3), "[2] failed  (killed by SIGKILL, pid 4243, 1 attempt)");
  r.status = TaskStatus::kTimeout;
  r.command = Signalled(SIGTERM);
  r.error = "timed out after 500 ms";
  EXPECT_EQ(ResultHumanLine(r, 3),
            "[2] timeout: timed out after 500 ms  (killed by SIGTERM, pid 4243, 1 attempt)");
}

TEST(OutputTest, CommandTruncatedStdoutIsNoted) {
  TaskResult ok = CommandOk();
  ok.command->stdout_truncated = true;
  EXPECT_EQ(ResultHumanLine(ok, 1), "[0] ok hello  (stdout truncated, pid 4242, 41.2 ms)");
  TaskResult failed = CommandFailed(Exited(2));
  failed.command->stdout_truncated = true;
  EXPECT_EQ(ResultHumanLine(failed, 3),
            "[2] failed: boom  (exit 2, stdout truncated, pid 4243, 1 attempt); stdout: partial");
  // A truncated stderr is no news in the human line: only its tail is shown anyway.
  TaskResult tail = CommandOk();
  tail.command->stderr_truncated = true;
  EXPECT_EQ(ResultHumanLine(tail, 1), "[0] ok hello  (pid 4242, 41.2 ms)");
}

// A failed command's stdout often says why it failed (test runners, make):
// it is kept, as the worker sends it, in both forms of the line.
TEST(OutputTest, FailedCommandJsonLineCarriesItsStdout) {
  TaskResult r = CommandFailed(Exited(4));
  r.result = "out-a\n";
  r.error = "err-a\n";
  const std::string line = ResultJsonLine(r);
  EXPECT_NE(line.find(R"("status":"failed","result":"out-a\n","error":"err-a\n")"),
            std::string::npos)
      << line;
  r.status = TaskStatus::kTimeout;
  EXPECT_NE(ResultJsonLine(r).find(R"("result":"out-a\n")"), std::string::npos)
      << ResultJsonLine(r);
  // Nothing on stdout is an empty result, not a missing one.
  r.result = "";
  EXPECT_NE(ResultJsonLine(r).find(R"("result":"",)"), std::string::npos) << ResultJsonLine(r);
}

TEST(OutputTest, FailedNonCommandJsonLineHasNullResult) {
  for (TaskStatus status : {TaskStatus::kFailed, TaskStatus::kCrashed, TaskStatus::kTimeout,
                            TaskStatus::kCancelled}) {
    TaskResult r = CrashedResult();
    r.status = status;
    r.result = "";
    const std::string line = ResultJsonLine(r);
    EXPECT_NE(line.find(R"("result":null,)"), std::string::npos) << line;
  }
}

TEST(OutputTest, FailedCommandHumanLineShowsItsStdoutLast) {
  TaskResult r = CommandFailed(Exited(4));
  r.index = 0;
  r.pid = 12;
  r.result = "out-a\n";
  r.error = "err-a\n";
  EXPECT_EQ(ResultHumanLine(r, 1), "[0] failed: err-a  (exit 4, pid 12, 1 attempt); stdout: out-a");
  // Without stderr, and on more than one line (only the final newline goes).
  r.error = "";
  r.result = "line 1\nline 2\n";
  EXPECT_EQ(ResultHumanLine(r, 1),
            "[0] failed  (exit 4, pid 12, 1 attempt); stdout: line 1\nline 2");
  r.status = TaskStatus::kTimeout;
  r.error = "timed out after 500 ms";
  r.command = Signalled(SIGTERM);
  r.result = "half";
  EXPECT_EQ(ResultHumanLine(r, 1),
            "[0] timeout: timed out after 500 ms  (killed by SIGTERM, pid 12, 1 attempt); "
            "stdout: half");
}

TEST(OutputTest, FailedHumanLineWithoutStdoutSaysNothingOfIt) {
  TaskResult r = CommandFailed(Exited(4));
  for (const char* nothing : {"", "\n"}) {
    r.result = nothing;
    EXPECT_EQ(ResultHumanLine(r, 3), "[2] failed: boom  (exit 4, pid 4243, 1 attempt)");
  }
  // A failed plugin or built-in task has no stdout: its value is not shown.
  TaskResult plugin = CrashedResult();
  plugin.status = TaskStatus::kFailed;
  plugin.error = "bad input";
  plugin.result = "stale";
  EXPECT_EQ(ResultHumanLine(plugin, 3), "[2] failed: bad input  (pid 4243, 1 attempt)");
}

}  // namespace
}  // namespace jobd
