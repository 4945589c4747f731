// Writes the seed corpus: real encoded messages of every kind for the
// decoder targets, and scripts of ordinary days (a map, a crash, a timeout,
// a cancel, a command, a stored job, a drain) for the supervisor target.
//   fuzz_make_corpus DIR   ->  DIR/<target>/<name>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz/supervisor_script.h"
#include "proto/codec.h"

namespace jobd::fuzz {
namespace {

namespace fs = std::filesystem;

SubmitRequest Map(const std::string& task, std::vector<std::string> items) {
  SubmitRequest submit;
  submit.default_task = task;
  for (std::string& item : items) submit.tasks.push_back(TaskInput{"", {std::move(item)}});
  submit.watch = true;
  return submit;
}

SubmitRequest CommandJob() {
  SubmitRequest submit = Map(kCommandTaskName, {});
  submit.tasks.push_back(TaskInput{"", {"sh", "-c", "echo hi"}});
  submit.tasks.push_back(TaskInput{"echo", {"not a command"}});
  submit.command =
      CommandOptions{"/tmp", {"LC_ALL=C", "A=1"}, "/dev/null", 1 << 20, 1 << 30, 5'000'000};
  submit.timeout_us = 2'000'000;
  submit.retries = 2;
  submit.priority = -3;
  submit.retry_timeouts = true;
  submit.window = 10;
  return submit;
}

std::vector<std::pair<std::string, Request>> Requests() {
  SubmitRequest stored = Map("echo", {"a", "b", "c"});
  stored.watch = false;
  SubmitRequest no_store = Map("sum_to_num", {"100", "200"});
  no_store.no_store = true;
  return {
      {"ping", Request{kProtocolVersion, 1, PingRequest{}}},
      {"submit-map", Request{kProtocolVersion, 2, Map("echo", {"a", "b"})}},
      {"submit-stored", Request{kProtocolVersion, 3, stored}},
      {"submit-no-store", Request{kProtocolVersion, 4, no_store}},
      {"submit-command", Request{kProtocolVersion, 5, CommandJob()}},
      {"watch", Request{kProtocolVersion, 6, WatchRequest{1, 0, 100, true}}},
      {"watch-done", Request{kProtocolVersion, 7, WatchRequest{1, 2, 0, false}}},
      {"status", Request{kProtocolVersion, 8, StatusRequest{1}}},
      {"jobs", Request{kProtocolVersion, 9, JobsRequest{}}},
      {"workers", Request{kProtocolVersion, 10, WorkersRequest{}}},
      {"logs", Request{kProtocolVersion, 11, LogsRequest{}}},
      {"cancel", Request{kProtocolVersion, 12, CancelRequest{1}}},
      {"ack", Request{kProtocolVersion, 2, AckRequest{2}}},
      {"tasks", Request{kProtocolVersion, 13, TasksRequest{}}},
      {"reload", Request{kProtocolVersion, 15, ReloadRequest{}}},
      {"version-2", Request{2, 14, PingRequest{}}},
  };
}

TaskResult MakeResult(uint32_t index, TaskStatus status, bool command) {
  TaskResult r{1, index, status, "out", "err", 4242, 1, 1500, index, std::nullopt, 1000u};
  if (command) r.command = CommandEnd{1, 0, 1200, 4 << 20, true, false};
  return r;
}

JobInfo Info() {
  return JobInfo{1, JobState::kRunning, 3, 1, 1, 1, 0, 0, 0, 0, 1'700'000'000'000'000, "echo"};
}

std::vector<std::pair<std::string, Reply>> Replies() {
  ResultBatch batch{
      1,
      {MakeResult(0, TaskStatus::kOk, false), MakeResult(2, TaskStatus::kFailed, true),
       MakeResult(1, TaskStatus::kCancelled, false)},
      true};
  WorkersReply workers{{WorkerInfo{0, 101, WorkerState::kBusy, 1, 2, 10, 8 << 20, 5'000'000, 1000u},
                        WorkerInfo{1, 0, WorkerState::kBackoff, 0, 0, 0, 0, 0, std::nullopt}}};
  TasksReply tasks{{TaskInfo{"echo", "built-in", "", "prints its arguments"},
                    TaskInfo{"sha256", "plugin", "/usr/lib/jobd/plugins/sha256.so", "hashes"}},
                   {"broken.so: undefined symbol"}};
  return {
      {"error", Reply{kProtocolVersion, 1, ErrorReply{ErrorCode::kBadRequest, "bad"}}},
      {"error-version", Reply{2, 1, ErrorReply{ErrorCode::kVersionMismatch, "version 2"}}},
      {"pong", Reply{kProtocolVersion, 1, PongReply{4242, 2, 10, 2, 64u << 20}}},
      {"accepted", Reply{kProtocolVersion, 2, AcceptedReply{Info()}}},
      {"results", Reply{kProtocolVersion, 2, batch}},
      {"status", Reply{kProtocolVersion, 3, StatusReply{{Info(), Info()}}}},
      {"workers", Reply{kProtocolVersion, 4, workers}},
      {"logs", Reply{kProtocolVersion, 5, LogsReply{"/var/log/jobd/jobd.jsonl"}}},
      {"tasks", Reply{kProtocolVersion, 6, tasks}},
      {"cancelled", Reply{kProtocolVersion, 7, CancelReply{Info(), 3, 1, false}}},
  };
}

std::vector<std::pair<std::string, ToWorker>> ToWorkers() {
  RunTasks run{
      {Assignment{1, 0, 1, "echo", {"a", "b"}, std::nullopt},
       Assignment{
           2, 5, 3, kCommandTaskName, {"ls", "-l"}, CommandOptions{"/srv", {"A=1"}, "", 0, 0, 0}}}};
  return {
      {"run", ToWorker{kProtocolVersion, run}},
      {"shutdown", ToWorker{kProtocolVersion, ShutdownWorker{}}},
      {"heartbeat", ToWorker{kProtocolVersion, Heartbeat{}}},
      {"forget", ToWorker{kProtocolVersion, ForgetTasks{2}}},
      {"version-2", ToWorker{2, Heartbeat{}}},
  };
}

std::vector<std::pair<std::string, FromWorker>> FromWorkers() {
  WorkerReady ready{101,
                    0,
                    1,
                    {TaskInfo{"echo", "built-in", "", "prints its arguments"}},
                    {"broken.so: cannot open shared object file"}};
  WorkerReport report;
  report.outcomes.push_back(Outcome{1, 0, 1, true, "a b", "", 120, std::nullopt});
  report.outcomes.push_back(
      Outcome{2, 5, 3, false, "", "exit 1", 9000, CommandEnd{1, 0, 800, 1 << 20, false, true}});
  report.started.push_back(CommandStarted{2, 5, 3, 4321});
  report.dropped.push_back(DroppedTask{2, 6, 1});
  LogRecord record;
  record.ts_unix_us = 1'700'000'000'000'000;
  record.level = LogLevel::kWarn;
  record.msg = "task 0 running";
  record.job = 1;
  record.task = 0;
  report.logs.push_back(record);
  report.rss_bytes = 12 << 20;
  return {
      {"ready", FromWorker{kProtocolVersion, ready}},
      {"report", FromWorker{kProtocolVersion, report}},
      {"heartbeat", FromWorker{kProtocolVersion, Heartbeat{}}},
      {"version-2", FromWorker{2, Heartbeat{}}},
  };
}

// Scripts (supervisor_script.h). Workers are pids 100, 101, ... by slot.
std::vector<std::pair<std::string, std::string>> Scripts() {
  auto submit = [](RequestId id, SubmitRequest s) {
    return EncodeRequest(Request{kProtocolVersion, id, std::move(s)});
  };
  const uint8_t two_workers = 1, stored = 4, commands = 8;
  std::vector<std::pair<std::string, std::string>> scripts;

  ScriptWriter map(two_workers);
  map.Add(kReady, {0, 1}).Add(kReady, {1, 1});
  map.Add(kRequest, {0, 0}).Frame(submit(1, Map("echo", {"a", "b", "c"})));
  map.Add(kComplete, {0, 1, 3}).Add(kComplete, {1, 1, 2}).Add(kComplete, {0, 1, 1});
  map.Add(kRequest, {0, 0}).Frame(EncodeRequest(Request{kProtocolVersion, 1, AckRequest{3}}));
  map.Add(kRequest, {1, 1}).Frame(EncodeRequest(Request{kProtocolVersion, 2, StatusRequest{1}}));
  scripts.emplace_back("map", map.script());

  ScriptWriter crash(0);
  crash.Add(kReady, {0, 1});
  crash.Add(kRequest, {0, 1}).Frame(submit(1, Map("crash", {"now"})));
  crash.Add(kExit, {0, 2 * 11 + 1}).Add(kTime, {40}).Add(kReady, {0, 1});
  crash.Add(kExit, {0, 2 * 11 + 1}).Add(kTime, {60}).Add(kReady, {0, 1});
  scripts.emplace_back("crash", crash.script());

  ScriptWriter timeout(0);
  SubmitRequest slow = Map("sleep", {"100000", "1"});
  slow.timeout_us = 300'000;
  timeout.Add(kReady, {0, 1}).Add(kRequest, {2, 2}).Frame(submit(4, slow));
  timeout.Add(kTime, {20}).Add(kExit, {0, 2 * 9 + 1}).Add(kReady, {0, 1});
  timeout.Add(kComplete, {0, 1, 0}).Add(kTime, {200}).Add(kTime, {200});
  scripts.emplace_back("timeout-and-heartbeats", timeout.script());

  ScriptWriter cancel(two_workers);
  cancel.Add(kReady, {0, 1}).Add(kReady, {1, 1});
  cancel.Add(kRequest, {0, 1}).Frame(submit(1, Map("sleep", {"1000", "1000", "1000", "1000"})));
  cancel.Add(kRequest, {1, 2}).Frame(EncodeRequest(Request{kProtocolVersion, 2, CancelRequest{1}}));
  cancel.Add(kRequest, {0, 1}).Frame(EncodeRequest(Request{kProtocolVersion, 3, CancelRequest{1}}));
  cancel.Add(kExit, {0, 19}).Add(kExit, {1, 19}).Add(kReady, {0, 1});
  scripts.emplace_back("cancel", cancel.script());

  ScriptWriter command(commands);
  command.Add(kReady, {0, 1}).Add(kRequest, {0, 1}).Frame(submit(1, CommandJob()));
  command.Add(kStarted, {0, 77}).Add(kTime, {30});
  command.Add(kRequest, {0, 1})
      .Frame(EncodeRequest(Request{kProtocolVersion, 2, CancelRequest{1}}));
  command.Add(kTime, {10}).Add(kComplete, {0, 2, 1}).Add(kReady, {0, 1});
  scripts.emplace_back("command", command.script());

  ScriptWriter store(two_workers | stored);
  store.Add(kReady, {0, 1}).Add(kReady, {1, 2});
  store.Add(kRequest, {0, 1}).Frame(submit(1, Map("echo", {"a", "b"})));
  store.Add(kCommit, {6}).Add(kComplete, {0, 1, 1}).Add(kCommit, {1}).Add(kCommit, {6});
  store.Add(kRequest, {3, 0})
      .Frame(EncodeRequest(Request{kProtocolVersion, 5, WatchRequest{1, 0, 1, true}}));
  store.Add(kRequest, {3, 0}).Frame(EncodeRequest(Request{kProtocolVersion, 6, StatusRequest{1}}));
  store.Add(kComplete, {1, 1, 1}).Add(kCommit, {6}).Add(kLoaded, {0});
  store.Add(kRequest, {2, 1}).Frame(EncodeRequest(Request{kProtocolVersion, 7, JobsRequest{}}));
  scripts.emplace_back("store", store.script());

  ScriptWriter drain(two_workers | stored);
  drain.Add(kReady, {0, 1}).Add(kReady, {1, 1});
  drain.Add(kRequest, {0, 0}).Frame(submit(1, Map("spin", {"10", "20", "30", "40"})));
  drain.Add(kCommit, {6}).Add(kDelivery, {1}).Add(kComplete, {0, 1, 1}).Add(kDrain);
  drain.Add(kRecycle).Add(kComplete, {1, 1, 1}).Add(kCommit, {6}).Add(kDelivery, {0});
  drain.Add(kTime, {255}).Add(kKillAll).Add(kExit, {0, 19}).Add(kExit, {1, 19});
  scripts.emplace_back("drain", drain.script());

  ScriptWriter recycle(0);
  recycle.Add(kReady, {0, 1}).Add(kRequest, {0, 0}).Frame(submit(1, Map("echo", {"a", "b", "c"})));
  recycle.Add(kComplete, {0, 1 | 16, 1}).Add(kRecycle).Add(kExit, {0, 0}).Add(kSpawnFailure, {1});
  recycle.Add(kTime, {100}).Add(kSpawnFailure, {0}).Add(kTime, {100}).Add(kReady, {0, 1});
  recycle.Add(kWorkerMessage, {0}).Frame(EncodeFromWorker(FromWorkers()[1].second));
  scripts.emplace_back("recycle", recycle.script());
  return scripts;
}

void Write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

}  // namespace
}  // namespace jobd::fuzz

int main(int argc, char** argv) {
  using namespace jobd;
  using namespace jobd::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  for (const auto& [name, m] : Requests()) {
    Write(out / "decode_request", name, EncodeRequest(m));
    Write(
        out / "supervisor", "request-" + name,
        ScriptWriter(0).Add(kReady, {0, 1}).Add(kRequest, {0, 0}).Frame(EncodeRequest(m)).script());
  }
  for (const auto& [name, m] : Replies()) Write(out / "decode_reply", name, EncodeReply(m));
  for (const auto& [name, m] : ToWorkers())
    Write(out / "decode_to_worker", name, EncodeToWorker(m));
  for (const auto& [name, m] : FromWorkers()) {
    Write(out / "decode_from_worker", name, EncodeFromWorker(m));
  }
  for (const auto& [name, script] : Scripts()) Write(out / "supervisor", name, script);
  return 0;
}
