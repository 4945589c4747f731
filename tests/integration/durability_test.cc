// The durable store with the real programs: kill -9 and SIGTERM restarts,
// refused stores, a full disk, and streams under a credit window.
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zmq.hpp>

#include "client/client.h"
#include "proto/codec.h"
#include "tests/integration/harness.h"
#include "util/resident_set.h"

namespace jobd::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyTime = std::chrono::steady_clock;

std::optional<JobInfo> StatusOf(const Jobd& jobd, JobId job) {
  auto client = Client::Connect(ClientOptions{jobd.endpoint()});
  if (!client.ok()) return std::nullopt;
  auto status = (*client)->Status(job);
  if (!status.ok()) return std::nullopt;
  return *status;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Restarts jobd after `stop` in the middle of a job of `tasks` spin tasks,
// then checks every task ended ok once. Returns how many ran more than once.
int RestartMidJob(int stop_signal, int tasks) {
  auto jobd = Jobd::Start({}, 2);
  if (jobd == nullptr) return -1;
  CommandResult submitted = jobd->Jobctl(Concat({"submit", "spin"}, Repeat("1", tasks)));
  EXPECT_EQ(submitted.exit_code, 0) << submitted.err;
  const JobId job = std::stoull(submitted.out);
  EXPECT_TRUE(Eventually([&] {
    auto info = StatusOf(*jobd, job);
    return info && info->ok >= static_cast<uint32_t>(tasks / 4);
  }));
  const int stopped = jobd->StopWith(stop_signal, seconds(30));
  EXPECT_EQ(stopped, stop_signal == SIGKILL ? 128 + SIGKILL : 0);
  const auto restarted_at = SteadyTime::now();
  EXPECT_TRUE(jobd->Restart());

  CommandResult watched = jobd->Jobctl({"--json", "watch", std::to_string(job)}, seconds(120));
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  std::map<int, int> seen;
  int reruns = 0, not_ok = 0;
  for (const json& line : JsonLines(watched.out)) {
    ++seen[line["index"].get<int>()];
    if (line["attempts"].get<int>() > 1) ++reruns;
    if (line["status"] != "ok") ++not_ok;
  }
  int duplicates = 0;
  for (const auto& [index, count] : seen) duplicates += count - 1;
  const int lost = tasks - static_cast<int>(seen.size());
  std::printf("restart after %s: %d tasks, %d lost, %d duplicates, %d not ok, %d ran again; "
              "job done %.1f s after the restart\n",
              stop_signal == SIGKILL ? "kill -9" : "SIGTERM", tasks, lost, duplicates, not_ok,
              reruns,
              std::chrono::duration<double>(SteadyTime::now() - restarted_at).count());
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(not_ok, 0);
  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);
  return reruns;
}

TEST(DurabilityTest, KillDashNineMidJobLosesNothing) {
  const int reruns = RestartMidJob(SIGKILL, 3000);
  // What ran when jobd died runs again: at least once, never lost.
  EXPECT_GE(reruns, 0);
}

TEST(DurabilityTest, SigtermAndRestartLosesNothingAndRunsNothingTwice) {
  // The drain lets running tasks finish and keeps the queued ones.
  EXPECT_EQ(RestartMidJob(SIGTERM, 2000), 0);
}

TEST(DurabilityTest, FinishedJobsStayReadableAfterARestart) {
  auto jobd = Jobd::Start({}, 2);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = jobd->Jobctl({"--json", "map", "--ordered", "echo", "a", "b c", "d"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = JsonLines(r.out);
  const std::string job = std::to_string(before.at(0)["job"].get<int>());
  ASSERT_EQ(jobd->StopWith(SIGKILL), 128 + SIGKILL);
  ASSERT_TRUE(jobd->Restart());

  CommandResult replay = jobd->Jobctl({"--json", "watch", "--ordered", job});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  const auto after = JsonLines(replay.out);
  ASSERT_EQ(after.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(after[i]["result"], before[i]["result"]);
    EXPECT_EQ(after[i]["pid"], before[i]["pid"]);
  }
  CommandResult status = jobd->Jobctl({"--json", "status", job});
  EXPECT_THAT(status.out, HasSubstr("\"ok\":3"));
  // A new job after the restart gets a new id.
  CommandResult next = jobd->Jobctl({"submit", "echo", "x"});
  EXPECT_GT(std::stoi(next.out), std::stoi(job));
}

TEST(DurabilityTest, JobsOlderThanTheMemoryWindowAreReadBackFromTheStore) {
  auto jobd = Jobd::Start({"--keep-finished", "2"}, 1);
  ASSERT_NE(jobd, nullptr);
  std::vector<std::string> firsts;
  for (int i = 0; i < 5; ++i) {
    CommandResult r = jobd->Jobctl({"--json", "map", "echo", "job" + std::to_string(i)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    firsts.push_back(std::to_string(JsonLines(r.out).at(0)["job"].get<int>()));
  }
  auto check_first = [&] {
    CommandResult status = jobd->Jobctl({"--json", "status", firsts[0]});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    EXPECT_THAT(status.out, HasSubstr("\"ok\":1"));
    CommandResult results = jobd->Jobctl({"--json", "results", firsts[0]});
    EXPECT_EQ(results.exit_code, 0) << results.err;
    EXPECT_EQ(JsonLines(results.out).at(0)["result"], "job0");
  };
  check_first();
  ASSERT_EQ(jobd->StopWith(SIGTERM), 0);
  ASSERT_TRUE(jobd->Restart());
  check_first();
  EXPECT_NE(jobd->Jobctl({"status", "999"}).exit_code, 0);
}

TEST(DurabilityTest, RetentionRemovesOldFinishedJobs) {
  auto jobd = Jobd::Start({"--retain", "1s"}, 1);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = jobd->Jobctl({"--json", "map", "echo", "old"});
  ASSERT_EQ(r.exit_code, 0);
  const std::string job = std::to_string(JsonLines(r.out).at(0)["job"].get<int>());
  ASSERT_EQ(jobd->StopWith(SIGTERM), 0);
  std::this_thread::sleep_for(milliseconds(1200));  // let the retention period pass
  ASSERT_TRUE(jobd->Restart());
  EXPECT_NE(jobd->Jobctl({"status", job}).exit_code, 0);
  bool logged = false;
  for (const std::string& line : ReadLines(jobd->log_path())) {
    if (line.find("past the retention period") != std::string::npos) logged = true;
  }
  EXPECT_TRUE(logged);
}

TEST(DurabilityTest, CorruptOrNewerStoreIsRefusedAndLeftUntouched) {
  auto jobd = Jobd::Start({}, 1);
  ASSERT_NE(jobd, nullptr);
  ASSERT_EQ(jobd->StopWith(SIGTERM), 0);
  const std::string db = jobd->dir() + "/state/jobd.db";
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");

  std::string garbage(8192, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7 + 3);
  std::ofstream(db, std::ios::binary | std::ios::trunc) << garbage;
  CommandResult corrupt = RunCommand({BinPath("jobd"), "--socket", jobd->endpoint(), "--workers",
                                      "1", "--state-dir", jobd->dir() + "/state", "--log-dir",
                                      jobd->dir() + "/log"},
                                     {}, seconds(20));
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_THAT(corrupt.err, HasSubstr("corrupt"));
  EXPECT_THAT(corrupt.err, HasSubstr(db));
  EXPECT_EQ(FileBytes(db), garbage);

  std::filesystem::remove(db);
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(handle, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(handle);
  const std::string newer_bytes = FileBytes(db);
  CommandResult newer = RunCommand({BinPath("jobd"), "--socket", jobd->endpoint(), "--workers",
                                    "1", "--state-dir", jobd->dir() + "/state", "--log-dir",
                                    jobd->dir() + "/log"},
                                   {}, seconds(20));
  EXPECT_EQ(newer.exit_code, 1);
  EXPECT_THAT(newer.err, HasSubstr("schema version 99"));
  EXPECT_EQ(FileBytes(db), newer_bytes);
}

TEST(DurabilityTest, FullDiskRefusesSubmissionsWhileWorkGoesOn) {
  // A file-size limit makes the store's writes fail as on a full disk: the
  // big job's packed task specs (about 1.3 MB) do not fit.
  auto jobd = Jobd::Start({}, 2, {"/usr/bin/prlimit", "--fsize=1000000", "--"});
  ASSERT_NE(jobd, nullptr);
  CommandResult small = jobd->Jobctl({"--json", "map", "echo", "fits"});
  ASSERT_EQ(small.exit_code, 0) << small.err;
  CommandResult running = jobd->Jobctl({"submit", "--no-store", "sleep", "1500"});
  ASSERT_EQ(running.exit_code, 0);

  CommandResult big = jobd->Jobctl(Concat({"submit", "echo"}, Numbers(40000, "a-long-argument-")));
  EXPECT_NE(big.exit_code, 0);
  EXPECT_THAT(big.err, HasSubstr("cannot store the job"));
  // Running work goes on, and so does the daemon.
  CommandResult watched = jobd->Jobctl({"--json", "watch", running.out.substr(0, running.out.find('\n'))});
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_EQ(jobd->Jobctl({"--json", "map", "--no-store", "echo", "still"}).exit_code, 0);
  EXPECT_EQ(jobd->Jobctl({"ping"}).exit_code, 0);
}

TEST(DurabilityTest, AKilledWatchResumesWithoutGapsOrDuplicates) {
  auto jobd = Jobd::Start({}, 2);
  ASSERT_NE(jobd, nullptr);
  constexpr int kTasks = 60;
  CommandResult submitted =
      jobd->Jobctl(Concat({"submit", "sleep"}, Repeat("20", kTasks)));
  ASSERT_EQ(submitted.exit_code, 0);
  const std::string job = submitted.out.substr(0, submitted.out.find('\n'));
  auto watch = jobd->StartJobctl({"--json", "watch", job});
  // Kill it mid-stream, once some results are done (about 100 a second).
  ASSERT_TRUE(Eventually([&] {
    auto info = StatusOf(*jobd, std::stoull(job));
    return info && info->ok >= 15;
  }));
  kill(watch->pid(), SIGKILL);
  CommandResult first = watch->Wait(seconds(10));
  std::map<int, int> seen;
  int64_t last_seq = -1;
  for (const json& line : JsonLines(first.out)) {
    ++seen[line["index"].get<int>()];
    last_seq = line["seq"].get<int64_t>();
  }
  ASSERT_GT(seen.size(), 0u);
  ASSERT_LT(seen.size(), static_cast<size_t>(kTasks)) << "the watch was not cut short";

  CommandResult rest = jobd->Jobctl(
      {"--json", "watch", "--from-seq", std::to_string(last_seq + 1), job}, seconds(60));
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  int64_t expected_seq = last_seq + 1;
  for (const json& line : JsonLines(rest.out)) {
    ++seen[line["index"].get<int>()];
    EXPECT_EQ(line["seq"].get<int64_t>(), expected_seq++);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kTasks));
  for (const auto& [index, count] : seen) EXPECT_EQ(count, 1) << "index " << index;
}

TEST(DurabilityTest, AJobOverTheQueueLimitIsRefusedWhole) {
  auto jobd = Jobd::Start({"--max-queued-tasks", "10"}, 1);
  ASSERT_NE(jobd, nullptr);
  CommandResult fits = jobd->Jobctl(Concat({"submit", "sleep"}, Repeat("1", 10)));
  EXPECT_EQ(fits.exit_code, 0) << fits.err;
  CommandResult over = jobd->Jobctl(Concat({"submit", "echo"}, Numbers(11)));
  EXPECT_EQ(over.exit_code, 2);
  EXPECT_THAT(over.err, HasSubstr("queue full"));
  auto client = Client::Connect(ClientOptions{jobd->endpoint()});
  ASSERT_TRUE(client.ok());
  auto jobs = (*client)->Jobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), 1u) << "nothing of the refused job may be kept";
}

// A raw client that asks for a window and never acknowledges.
TEST(DurabilityTest, AStalledReaderGetsNoMoreThanItsWindow) {
  auto jobd = Jobd::Start({}, 2);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = jobd->Jobctl(Concat({"--json", "map", "--no-store", "echo"}, Numbers(3000)));
  ASSERT_EQ(r.exit_code, 0);
  const JobId job = JsonLines(r.out).at(0)["job"].get<JobId>();

  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.connect(jobd->endpoint());
  auto send = [&](RequestBody body) {
    const std::string frame = EncodeRequest(Request{kProtocolVersion, 7, std::move(body)});
    socket.send(zmq::buffer(frame), zmq::send_flags::none);
  };
  // Counts the results that arrive within `wait`.
  auto receive = [&](milliseconds wait) {
    size_t results = 0;
    const auto deadline = SteadyTime::now() + wait;
    while (SteadyTime::now() < deadline) {
      zmq::pollitem_t item = {socket.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, milliseconds(50)) == 0) continue;
      zmq::message_t message;
      (void)socket.recv(message);
      auto reply = DecodeReply(std::string_view(message.data<char>(), message.size()));
      if (reply.ok() && std::holds_alternative<ResultBatch>(reply->body)) {
        results += std::get<ResultBatch>(reply->body).results.size();
      }
    }
    return results;
  };
  send(WatchRequest{job, 0, 100, true});
  EXPECT_EQ(receive(milliseconds(700)), 100u);
  send(AckRequest{100});
  EXPECT_EQ(receive(milliseconds(700)), 100u);

  // A fast job runs meanwhile; the stalled stream costs jobd no buffering.
  const uint64_t before = ResidentBytes(jobd->pid());
  CommandResult fast = jobd->Jobctl(Concat({"--json", "map", "--no-store", "echo"}, Numbers(20000)));
  EXPECT_EQ(fast.exit_code, 0);
  EXPECT_EQ(receive(milliseconds(300)), 0u);
  const uint64_t after = ResidentBytes(jobd->pid());
  std::printf("jobd RSS with a stalled reader: %.1f MiB before a 20,000-task job, %.1f MiB after\n",
              static_cast<double>(before) / (1 << 20), static_cast<double>(after) / (1 << 20));
#if !defined(__SANITIZE_ADDRESS__)  // ASan's quarantine makes RSS meaningless here
  EXPECT_LT(after, before + (64u << 20));
#endif
}

}  // namespace
}  // namespace jobd::testing
