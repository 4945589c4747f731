// Fault injection with the real programs: workers killed, stopped and timed
// out, jobs cancelled, workers recycled, fair share. Every wait is bounded.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/client.h"
#include "tests/integration/harness.h"

namespace jobd::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyTime = std::chrono::steady_clock;

std::unique_ptr<Client> Connect(const Jobd& jobd) {
  auto client = Client::Connect(ClientOptions{jobd.endpoint()});
  EXPECT_TRUE(client.ok()) << client.status().message();
  return client.ok() ? std::move(*client) : nullptr;
}

JobId SubmitJob(const Jobd& jobd, std::vector<std::string> args) {
  CommandResult r = jobd.Jobctl(Concat({"submit"}, args));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::stoull(r.out);
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

TEST(SupervisionTest, KillingBusyWorkersEvery50msLosesAndDuplicatesNothing) {
  auto jobd = Jobd::Start({}, 2);
  ASSERT_NE(jobd, nullptr);
  constexpr int kTasks = 3000;
  const JobId job = SubmitJob(*jobd, Concat({"--retries", "1000", "spin"}, Repeat("2", kTasks)));
  auto watcher = jobd->StartJobctl({"--json", "watch", std::to_string(job)});

  auto client = Connect(*jobd);
  ASSERT_NE(client, nullptr);
  std::mt19937 random(42);
  int kills = 0;
  const auto deadline = SteadyTime::now() + seconds(120);
  while (SteadyTime::now() < deadline) {
    auto status = client->Status(job);
    ASSERT_TRUE(status.ok()) << status.status().message();
    if (status->state == JobState::kDone) break;
    auto workers = client->Workers();
    ASSERT_TRUE(workers.ok());
    std::vector<int32_t> busy;
    for (const WorkerInfo& w : *workers) {
      if (w.state == WorkerState::kBusy) busy.push_back(w.pid);
    }
    if (!busy.empty()) {
      std::uniform_int_distribution<size_t> pick(0, busy.size() - 1);
      if (kill(busy[pick(random)], SIGKILL) == 0) ++kills;
    }
    std::this_thread::sleep_for(milliseconds(50));  // the fault rate, not a wait
  }
  CommandResult watched = watcher->Wait(seconds(60));
  EXPECT_EQ(watched.exit_code, 0) << watched.err;

  std::map<int, int> deliveries;
  int retries = 0;
  int not_ok = 0;
  for (const json& line : JsonLines(watched.out)) {
    ++deliveries[line["index"].get<int>()];
    retries += line["attempts"].get<int>() - 1;
    if (line["status"] != "ok") ++not_ok;
  }
  int duplicates = 0;
  for (const auto& [index, count] : deliveries) duplicates += count - 1;
  const int lost = kTasks - static_cast<int>(deliveries.size());

  std::vector<double> replacement_ms;
  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);
  for (const std::string& text : ReadLines(jobd->log_path())) {
    json line = json::parse(text);
    const std::string msg = line["msg"];
    const size_t at = msg.find(" ready ");
    if (at != std::string::npos && msg.find("after its predecessor died") != std::string::npos) {
      replacement_ms.push_back(std::stod(msg.substr(at + 7)));
    }
  }
  std::printf("fault run: %d tasks, %d kills, %d retries, %d lost, %d duplicates, %d not ok; "
              "worker death to replacement ready: median %.1f ms, max %.1f ms (%zu replacements)\n",
              kTasks, kills, retries, lost, duplicates, not_ok, Median(replacement_ms),
              replacement_ms.empty() ? 0.0 : *std::max_element(replacement_ms.begin(),
                                                                replacement_ms.end()),
              replacement_ms.size());
  EXPECT_GT(kills, 5);
  EXPECT_GT(retries, 0);
  EXPECT_LE(retries, kills);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(not_ok, 0);
}

TEST(SupervisionTest, StoppedWorkerIsDeclaredLostAndItsTaskFinishesElsewhere) {
  // 300 ms x 3: short enough to see the loss quickly, long enough that the
  // healthy worker is not lost too on a loaded machine (sanitizers, CI).
  auto jobd = Jobd::Start({"--heartbeat", "300ms", "--heartbeat-misses", "3"}, 2);
  ASSERT_NE(jobd, nullptr);
  const JobId job = SubmitJob(*jobd, {"spin", "1500"});
  auto client = Connect(*jobd);
  int32_t victim = 0;
  ASSERT_TRUE(Eventually([&] {
    auto workers = client->Workers();
    for (const WorkerInfo& w : *workers) {
      if (w.state == WorkerState::kBusy) victim = w.pid;
    }
    return victim != 0;
  }));
  const auto stopped_at = SteadyTime::now();
  ASSERT_EQ(kill(victim, SIGSTOP), 0);
  EXPECT_TRUE(WaitForProcessGone(victim, seconds(5))) << "a stopped worker was never killed";
  const auto lost_after = SteadyTime::now() - stopped_at;
  EXPECT_LT(lost_after, seconds(3));

  CommandResult watched = jobd->Jobctl({"--json", "watch", std::to_string(job)});
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  json result = JsonLines(watched.out).at(0);
  EXPECT_EQ(result["status"], "ok");
  EXPECT_EQ(result["attempts"], 2);
  EXPECT_NE(result["pid"], victim);
  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);
  bool logged = false;
  for (const std::string& line : ReadLines(jobd->log_path())) {
    if (line.find("declared lost") != std::string::npos) logged = true;
  }
  EXPECT_TRUE(logged);
}

TEST(SupervisionTest, WorkersLeaveByThemselvesWhenTheCoordinatorFallsSilent) {
  auto jobd = Jobd::Start({"--heartbeat", "100ms", "--heartbeat-misses", "3"}, 2);
  ASSERT_NE(jobd, nullptr);
  auto client = Connect(*jobd);
  std::vector<int32_t> pids;
  auto workers = client->Workers();
  ASSERT_TRUE(workers.ok());
  for (const WorkerInfo& w : *workers) pids.push_back(w.pid);
  ASSERT_EQ(pids.size(), 2u);
  // A stopped coordinator cannot answer: no PDEATHSIG fires, only heartbeats tell.
  jobd->Signal(SIGSTOP);
  for (int32_t pid : pids) {
    EXPECT_TRUE(WaitForProcessGone(pid, seconds(3))) << "worker " << pid << " stayed";
  }
  jobd->Signal(SIGCONT);
  // Back from the pause, jobd replaces them and serves again.
  EXPECT_EQ(jobd->Jobctl({"map", "echo", "back"}).exit_code, 0);
}

TEST(SupervisionTest, CrashIsRetriedExactlyAsOftenAsAsked) {
  auto jobd = Jobd::Start({}, 2);
  ASSERT_NE(jobd, nullptr);
  for (int retries : {0, 1, 3}) {
    CommandResult r = jobd->Jobctl(
        {"--json", "map", "--retries", std::to_string(retries), "crash", "x"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    json result = JsonLines(r.out).at(0);
    EXPECT_EQ(result["status"], "crashed");
    EXPECT_EQ(result["attempts"], retries + 1) << "retries " << retries;
    EXPECT_THAT(result["error"].get<std::string>(), HasSubstr("SIGSEGV"));
  }
}

TEST(SupervisionTest, TimedOutTaskIsStoppedAndReportedWhileOthersFinish) {
  auto jobd = Jobd::Start({}, 2);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = jobd->Jobctl(
      {"--json", "map", "--ordered", "--timeout", "300ms", "sleep", "30000", "10"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(r.elapsed, seconds(10));
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["status"], "timeout");
  EXPECT_EQ(lines[0]["attempts"], 1);
  EXPECT_THAT(lines[0]["error"].get<std::string>(), HasSubstr("timed out after 300 ms"));
  EXPECT_EQ(lines[1]["status"], "ok");
  // The killed worker was replaced: the pool still has two.
  auto client = Connect(*jobd);
  EXPECT_TRUE(Eventually([&] { return client->Ping()->workers == 2; }));

  CommandResult retried = jobd->Jobctl({"--json", "map", "--timeout", "200ms", "--retries", "1",
                                        "--retry-timeouts", "sleep", "30000"});
  EXPECT_EQ(retried.exit_code, 1);
  EXPECT_EQ(JsonLines(retried.out).at(0)["attempts"], 2);
}

TEST(SupervisionTest, CancelEndsQueuedAndRunningTasks) {
  auto jobd = Jobd::Start({}, 2);
  ASSERT_NE(jobd, nullptr);
  const JobId job = SubmitJob(*jobd, Concat({"sleep"}, Repeat("30000", 5)));
  auto client = Connect(*jobd);
  ASSERT_TRUE(Eventually([&] { return client->Status(job)->running == 2; }));
  CommandResult cancel = jobd->Jobctl({"--json", "cancel", std::to_string(job)});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  json reply = JsonLines(cancel.out).at(0);
  EXPECT_EQ(reply["cancelled_queued"], 3);
  EXPECT_EQ(reply["stopped_running"], 2);
  EXPECT_EQ(reply["already_finished"], false);

  const JobInfo info = *client->Status(job);
  EXPECT_EQ(info.state, JobState::kDone);
  EXPECT_EQ(info.cancelled, 5u);
  CommandResult again = jobd->Jobctl({"cancel", std::to_string(job)});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.out, HasSubstr("already finished"));
  EXPECT_NE(jobd->Jobctl({"cancel", "4242"}).exit_code, 0);
  // The stopped workers were replaced.
  EXPECT_TRUE(Eventually([&] { return client->Ping()->workers == 2; }));
  EXPECT_EQ(jobd->Jobctl({"map", "echo", "x"}).exit_code, 0);
}

TEST(SupervisionTest, CtrlCInMapCancelsTheJobUnlessDetached) {
  auto jobd = Jobd::Start({}, 2);
  ASSERT_NE(jobd, nullptr);
  auto client = Connect(*jobd);
  auto map = jobd->StartJobctl({"--json", "map", "sleep", "30000", "30000", "30000"});
  ASSERT_TRUE(Eventually([&] {
    auto jobs = client->Jobs();
    return jobs.ok() && !jobs->empty() && jobs->back().running == 2;
  }));
  const JobId job = client->Jobs()->back().job;
  kill(map->pid(), SIGINT);
  CommandResult interrupted = map->Wait(seconds(10));
  EXPECT_EQ(interrupted.exit_code, 1) << interrupted.err;
  EXPECT_THAT(interrupted.err, HasSubstr("cancelling job"));
  EXPECT_EQ(JsonLines(interrupted.out).size(), 3u);
  EXPECT_EQ(client->Status(job)->cancelled, 3u);

  auto detached = jobd->StartJobctl({"map", "--detach", "sleep", "30000"});
  ASSERT_TRUE(Eventually([&] {
    auto jobs = client->Jobs();
    return jobs.ok() && jobs->back().job != job && jobs->back().running == 1;
  }));
  const JobId kept = client->Jobs()->back().job;
  kill(detached->pid(), SIGINT);
  CommandResult left = detached->Wait(seconds(10));
  EXPECT_EQ(left.exit_code, 130);
  EXPECT_EQ(client->Status(kept)->state, JobState::kRunning);
}

TEST(SupervisionTest, WorkersAreRecycledByTaskCount) {
  auto jobd = Jobd::Start({"--max-tasks-per-worker", "3"}, 1);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = jobd->Jobctl(Concat({"--json", "map", "--ordered", "echo"}, Repeat("x", 9)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 9u);
  std::vector<int> pids;
  for (const json& line : lines) pids.push_back(line["pid"]);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(pids[i], pids[i - i % 3]) << "task " << i;
  EXPECT_EQ(std::set<int>(pids.begin(), pids.end()).size(), 3u);
}

TEST(SupervisionTest, WorkersAreRecycledByResidentSetSize) {
  // Any real worker is over 1 MiB, so each retires after its first report.
  // 60 ms tasks go one at a time (short ones would share a batch, and a
  // report).
  auto jobd = Jobd::Start({"--max-worker-rss", "1M"}, 1);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = jobd->Jobctl({"--json", "map", "spin", "60", "60", "60"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<int> pids;
  for (const json& line : JsonLines(r.out)) pids.insert(line["pid"].get<int>());
  EXPECT_EQ(pids.size(), 3u);
}

TEST(SupervisionTest, SmallJobIsNotStuckBehindAHugeOne) {
  auto jobd = Jobd::Start({}, 2);
  ASSERT_NE(jobd, nullptr);
  constexpr int kHuge = 2000;
  const JobId huge = SubmitJob(*jobd, Concat({"spin"}, Repeat("5", kHuge)));
  CommandResult small = jobd->Jobctl(Concat({"--json", "map", "spin"}, Repeat("5", 10)));
  ASSERT_EQ(small.exit_code, 0) << small.err;
  auto client = Connect(*jobd);
  const JobInfo info = *client->Status(huge);
  // Round robin: while the small job ran, the huge one moved by about as
  // many tasks, not by all of them.
  EXPECT_GT(info.queued, kHuge - 200u) << "the small job waited for the huge one";
  EXPECT_LT(small.elapsed, seconds(5));
  ASSERT_EQ(jobd->Jobctl({"cancel", std::to_string(huge)}).exit_code, 0);
}

TEST(SupervisionTest, BrokenWorkersAreRestartedWithBackoffNotInAStorm) {
  TempDir dir;
  const std::string endpoint = "ipc://" + dir.path() + "/jobd.sock";
  // Every "worker" exits at once: a broken environment.
  RunningCommand jobd({BinPath("jobd"), "--socket", endpoint, "--workers", "2", "--state-dir",
                       dir.path() + "/state", "--log-dir", dir.path() + "/log",
                       "--worker-binary", "/bin/false"},
                      {});
  auto workers_json = [&] {
    return RunCommand({BinPath("jobctl"), "--socket", endpoint, "--json", "workers"}, {},
                      seconds(10));
  };
  std::vector<json> workers;
  ASSERT_TRUE(Eventually([&] {
    CommandResult r = workers_json();
    if (r.exit_code != 0) return false;
    workers = JsonLines(r.out);
    return workers.size() == 2 && workers[0]["state"] == "backoff";
  }));
  // In 1.5 s a storm would start hundreds of workers; back-off starts a few.
  std::this_thread::sleep_for(milliseconds(1500));
  kill(jobd.pid(), SIGTERM);
  CommandResult stopped = jobd.Wait(seconds(20));
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  int starts = 0;
  for (const std::string& line : ReadLines(dir.path() + "/log/jobd.jsonl")) {
    if (line.find("started with pid") != std::string::npos) ++starts;
  }
  EXPECT_GE(starts, 4);
  EXPECT_LE(starts, 2 * 8);
  EXPECT_THAT(stopped.err, HasSubstr("keeps failing"));
}

TEST(SupervisionTest, DrainKillsWhatOutlivesTheGracePeriod) {
  // Memory only: what the drain stops ends cancelled (a store would keep it).
  auto jobd = Jobd::Start({"--drain-timeout", "300ms", "--no-store"}, 1);
  ASSERT_NE(jobd, nullptr);
  const JobId job = SubmitJob(*jobd, {"sleep", "30000"});
  auto watcher = jobd->StartJobctl({"--json", "watch", std::to_string(job)});
  auto client = Connect(*jobd);
  ASSERT_TRUE(Eventually([&] { return client->Status(job)->running == 1; }));
  client.reset();
  const auto start = SteadyTime::now();
  EXPECT_EQ(jobd->StopWith(SIGTERM, seconds(10)), 0);
  EXPECT_LT(SteadyTime::now() - start, seconds(5));
  CommandResult watched = watcher->Wait(seconds(10));
  auto lines = JsonLines(watched.out);
  ASSERT_EQ(lines.size(), 1u) << watched.err;
  EXPECT_EQ(lines[0]["status"], "cancelled");
  EXPECT_THAT(lines[0]["error"].get<std::string>(), HasSubstr("shut down"));
}

}  // namespace
}  // namespace jobd::testing
