// The Supervisor's test harness: a FakeIo that records what the supervisor
// asks of the world, and a fixture with a FakeClock and helpers that play
// the workers' and clients' parts.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "daemon/core/supervisor.h"

namespace jobd {

// Records what the supervisor asks of the world; can refuse or stall.
class FakeIo : public SupervisorIo {
 public:
  Result<int32_t> SpawnWorker(uint32_t slot, uint32_t uid) override {
    if (fail_spawns) return Status::Failed("spawn refused by test");
    const int32_t pid = next_pid++;
    spawned.push_back({slot, pid});
    spawned_as[pid] = uid;
    return pid;
  }
  void KillWorker(int32_t pid, uint32_t uid) override {
    killed.push_back(pid);
    killed_as.push_back(uid);
  }
  void SignalGroup(int32_t pgid, int signal, uint32_t uid) override {
    signalled.push_back({pgid, signal});
    signalled_as.push_back(uid);
  }
  bool SendToWorker(int32_t pid, const ToWorker& message) override {
    to_workers[pid].push_back(message);
    return true;
  }
  Delivery SendToClient(const ClientId& client, const Reply& reply) override {
    if (client_delivery != Delivery::kSent) return client_delivery;
    to_clients[client].push_back(reply);
    return Delivery::kSent;
  }

  // The tasks sent to `pid` so far, flattened.
  std::vector<Assignment> TasksSentTo(int32_t pid) {
    std::vector<Assignment> tasks;
    for (const ToWorker& m : to_workers[pid]) {
      if (auto* run = std::get_if<RunTasks>(&m.body)) {
        tasks.insert(tasks.end(), run->tasks.begin(), run->tasks.end());
      }
    }
    return tasks;
  }
  int32_t LastSpawned() const { return spawned.back().second; }
  std::vector<TaskResult> ResultsFor(const ClientId& client, bool* done = nullptr) {
    std::vector<TaskResult> results;
    for (const Reply& r : to_clients[client]) {
      if (auto* batch = std::get_if<ResultBatch>(&r.body)) {
        results.insert(results.end(), batch->results.begin(), batch->results.end());
        if (done != nullptr && batch->done) *done = true;
      }
    }
    return results;
  }

  bool fail_spawns = false;
  Delivery client_delivery = Delivery::kSent;
  int32_t next_pid = 100;
  std::vector<std::pair<uint32_t, int32_t>> spawned;
  std::map<int32_t, uint32_t> spawned_as;  // pid -> the uid it runs as
  std::vector<int32_t> killed;
  std::vector<uint32_t> killed_as;  // with the rights of this uid
  std::vector<std::pair<int32_t, int>> signalled;  // (pgid, signal)
  std::vector<uint32_t> signalled_as;
  std::map<int32_t, std::vector<ToWorker>> to_workers;
  std::map<ClientId, std::vector<Reply>> to_clients;
};

class SupervisorTest : public ::testing::Test {
 protected:
  SupervisorTest()
      : log_("test", std::make_shared<spdlog::sinks::null_sink_mt>()) {}

  void Start(uint32_t workers) {
    options_.workers = workers;
    supervisor_ = std::make_unique<Supervisor>(options_, io_, clock_, log_);
    supervisor_->Start();
  }
  void Ready(int32_t pid, uint32_t slot, uint32_t credit = 1) {
    supervisor_->OnWorkerMessage(pid, FromWorker{kProtocolVersion, WorkerReady{pid, slot, credit, {}, {}}});
  }
  void Heartbeat(int32_t pid) {
    supervisor_->OnWorkerMessage(pid, FromWorker{kProtocolVersion, jobd::Heartbeat{}});
  }
  void Complete(int32_t pid, const Assignment& a, bool ok, std::string value,
                uint64_t rss_bytes = 0) {
    WorkerReport report;
    report.outcomes.push_back(Outcome{a.job, a.index, a.attempt, ok, ok ? value : "",
                                      ok ? "" : value, 1000, std::nullopt});
    report.rss_bytes = rss_bytes;
    supervisor_->OnWorkerMessage(pid, FromWorker{kProtocolVersion, report});
  }
  void CommandStartedIn(int32_t pid, const Assignment& a, int32_t pgid) {
    WorkerReport report;
    report.started.push_back(CommandStarted{a.job, a.index, a.attempt, pgid});
    supervisor_->OnWorkerMessage(pid, FromWorker{kProtocolVersion, report});
  }
  void CommandEnded(int32_t pid, const Assignment& a, CommandEnd end, std::string out,
                    std::string err) {
    WorkerReport report;
    const bool ok = end.signal == 0 && end.exit_code == 0;
    report.outcomes.push_back(
        Outcome{a.job, a.index, a.attempt, ok, std::move(out), std::move(err), 1000, end});
    supervisor_->OnWorkerMessage(pid, FromWorker{kProtocolVersion, report});
  }
  static SubmitRequest Commands(std::vector<std::vector<std::string>> argvs) {
    SubmitRequest request;
    request.default_task = kCommandTaskName;
    for (auto& argv : argvs) request.tasks.push_back(TaskInput{"", std::move(argv)});
    request.watch = true;
    request.command = CommandOptions{"/tmp", {"A=1"}, "", 0, 0, 0};
    return request;
  }
  // Without a store every job is accepted at once.
  Result<JobInfo> Submit(const ClientId& client, RequestId id, SubmitRequest request) {
    Result<std::optional<JobInfo>> accepted = supervisor_->Submit(client, id, std::move(request));
    if (!accepted.ok()) return accepted.status();
    return **accepted;
  }
  static SubmitRequest Map(const std::string& task, std::vector<std::string> items,
                           bool watch = true) {
    SubmitRequest request;
    request.default_task = task;
    for (auto& item : items) request.tasks.push_back(TaskInput{"", {item}});
    request.watch = watch;
    return request;
  }

  SupervisorOptions options_;
  FakeIo io_;
  FakeClock clock_;
  spdlog::logger log_;
  std::unique_ptr<Supervisor> supervisor_;
};

}  // namespace jobd
