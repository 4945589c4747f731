// Plugins end to end: `jobd --plugin-dir DIR` hands DIR to its workers,
// `jobctl tasks` lists what they loaded and what they could not, and a
// plugin task runs through `jobctl map`. The plugins are the build's
// (lib/jobd/plugins, lib/jobd/test-plugins), copied into a directory of
// the test's own so that it can add broken ones.
#include <signal.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/client.h"
#include "tests/integration/harness.h"
#include "tests/unit/worker/plugin_test_util.h"

namespace jobd::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;
namespace pt = jobd::plugin_testing;

class PluginsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pt::CopyInto(pt::ExamplePluginDir() + "/grayscale.so", plugins_.path(), "grayscale.so");
    pt::CopyInto(pt::ExamplePluginDir() + "/sha256.so", plugins_.path(), "sha256.so");
    pt::CopyInto(pt::TestPluginDir() + "/wrong_abi.so", plugins_.path(), "wrong_abi.so");
    // Exports jobd_plugin_runs_caller_code: its tasks are code tasks.
    pt::CopyInto(pt::TestPluginDir() + "/runs_code.so", plugins_.path(), "interpreter.so");
    pt::WriteFile(plugins_.path() + "/broken.so", "not a shared library\n");
    jobd_ = Jobd::Start({"--plugin-dir", plugins_.path()}, 2);
    ASSERT_NE(jobd_, nullptr);
  }

  std::string Data(const std::string& name) const { return data_.path() + "/" + name; }

  pt::ScratchDir plugins_;
  pt::ScratchDir data_;
  std::unique_ptr<Jobd> jobd_;
};

TEST_F(PluginsTest, TasksListsPluginsWithTheirFilesAndTheLoadErrors) {
  CommandResult r = jobd_->Jobctl({"--json", "tasks"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, json> tasks;
  for (const json& line : JsonLines(r.out)) tasks[line["name"]] = line;
  for (const char* name : {"grayscale", "sha256"}) {
    ASSERT_TRUE(tasks.count(name)) << r.out;
    EXPECT_EQ(tasks[name]["kind"], "plugin");
    EXPECT_EQ(tasks[name]["runs_code"], false) << "the examples do not opt in";
    EXPECT_EQ(tasks[name]["file"], plugins_.path() + "/" + name + ".so");
    EXPECT_FALSE(tasks[name]["description"].get<std::string>().empty());
  }
  ASSERT_TRUE(tasks.count("echo"));
  EXPECT_EQ(tasks["echo"]["kind"], "built-in");
  EXPECT_TRUE(tasks["echo"]["file"].is_null());
  EXPECT_FALSE(tasks.count("t_future"));  // wrong_abi.so's

  EXPECT_THAT(r.err, HasSubstr(plugins_.path() + "/broken.so: "));
  EXPECT_THAT(r.err, HasSubstr(plugins_.path() +
                               "/wrong_abi.so: ABI version 999, but this worker loads version 1"));
}

// What the worker read from the plugin reaches `jobctl tasks` in both forms.
TEST_F(PluginsTest, TasksMarkThePluginThatRunsItsCallersCode) {
  CommandResult r = jobd_->Jobctl({"--json", "tasks"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, json> tasks;
  for (const json& line : JsonLines(r.out)) tasks[line["name"]] = line;
  ASSERT_TRUE(tasks.count("t_interpret")) << r.out;
  EXPECT_EQ(tasks["t_interpret"]["kind"], "plugin");
  EXPECT_EQ(tasks["t_interpret"]["runs_code"], true);
  EXPECT_EQ(tasks["t_interpret"]["file"], plugins_.path() + "/interpreter.so");
  EXPECT_EQ(tasks["sha256"]["runs_code"], false);

  CommandResult table = jobd_->Jobctl({"tasks"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::map<std::string, std::string> rows;  // by the task's name
  std::istringstream lines(table.out);
  for (std::string row; std::getline(lines, row);) rows[row.substr(0, row.find(' '))] = row;
  EXPECT_THAT(rows["t_interpret"], HasSubstr("  plugin (runs code)  ")) << table.out;
  EXPECT_THAT(rows["sha256"], Not(HasSubstr("runs code"))) << table.out;
}

TEST_F(PluginsTest, MapGrayscaleWritesAGrayPng) {
  pt::PngIo png;
  const std::vector<uint8_t> rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 12, 34, 56};
  ASSERT_TRUE(png.Write(Data("in.png"), 2, 2, pt::kRgb, 8, rgb));

  CommandResult r = jobd_->Jobctl({"--json", "map", "grayscale", Data("in.png")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(lines[0]["status"], "ok");
  EXPECT_EQ(lines[0]["result"], Data("in.gray.png"));

  pt::PngImage gray = png.Read(Data("in.gray.png"));
  EXPECT_EQ(gray.color_type, pt::kGray);
  EXPECT_EQ(gray.bit_depth, 8);
  EXPECT_EQ(gray.width, 2u);
  EXPECT_EQ(gray.height, 2u);
  EXPECT_EQ(gray.pixels, (std::vector<uint8_t>{76, 150, 29, pt::Luma(12, 34, 56)}));
}

TEST_F(PluginsTest, PluginFailuresAreTaskFailures) {
  pt::WriteFile(Data("abc"), "abc");
  CommandResult r =
      jobd_->Jobctl({"--json", "map", "--ordered", "sha256", Data("abc"), Data("missing")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["status"], "ok");
  EXPECT_EQ(lines[0]["result"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(lines[1]["status"], "failed");
  EXPECT_EQ(lines[1]["error"],
            "sha256: " + Data("missing") + ": cannot open: No such file or directory");
}

TEST_F(PluginsTest, SighupReloadsPluginsWithoutARestart) {
  auto has_task = [&](const std::string& name) {
    CommandResult r = jobd_->Jobctl({"--json", "tasks"});
    for (const json& task : JsonLines(r.out)) {
      if (task["name"] == name) return true;
    }
    return false;
  };
  ASSERT_FALSE(has_task("t_echo"));
  const pid_t before = jobd_->pid();
  pt::CopyInto(pt::TestPluginDir() + "/good.so", plugins_.path(), "good.so");
  jobd_->Signal(SIGHUP);
  // The workers are replaced one by one; the newest lists the new plugin.
  EXPECT_TRUE(Eventually([&] { return has_task("t_echo"); }))
      << jobd_->Jobctl({"tasks"}).out;
  EXPECT_EQ(jobd_->pid(), before);
  CommandResult r = jobd_->Jobctl({"--json", "map", "t_echo", "loaded"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}


// Plugin tasks that go wrong, with the test plugin good.so (t_crash, t_bytes,
// t_echo): each test starts its own jobd, some with extra flags.
class PluginTaskFailuresTest : public ::testing::Test {
 protected:
  void StartJobd(const std::vector<std::string>& extra = {}) {
    pt::CopyInto(pt::TestPluginDir() + "/good.so", plugins_.path(), "good.so");
    jobd_ = Jobd::Start(Concat({"--plugin-dir", plugins_.path()}, extra), 2);
  }

  // The number of ready workers jobd reports, or -1.
  int ReadyWorkers() const {
    CommandResult r = jobd_->Jobctl({"--json", "ping"});
    std::vector<json> lines = JsonLines(r.out);
    if (r.exit_code != 0 || lines.size() != 1) return -1;
    return lines[0]["workers"].get<int>();
  }

  pt::ScratchDir plugins_;
  std::unique_ptr<Jobd> jobd_;
};

TEST_F(PluginTaskFailuresTest, CrashingTaskEndsCrashedWhileTheJobAndThePoolGoOn) {
  StartJobd();
  ASSERT_NE(jobd_, nullptr);
  ClientOptions options;
  options.endpoint = jobd_->endpoint();
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().message();

  std::vector<int> pids_before;
  for (const json& worker : JsonLines(jobd_->Jobctl({"--json", "workers"}).out)) {
    pids_before.push_back(worker["pid"].get<int>());
  }
  ASSERT_EQ(pids_before.size(), 2u);

  // One job: t_echo by default, t_crash in the middle, no retries.
  SubmitRequest request;
  request.default_task = "t_echo";
  request.tasks = {TaskInput{"", {"before"}}, TaskInput{"t_crash", {}},
                   TaskInput{"", {"after", "it"}}};
  request.retries = 0;
  Result<std::unique_ptr<ResultStream>> stream = (*client)->Map(std::move(request), true);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  std::vector<TaskResult> results;
  // Bounded: three results, then the end (each Next() is bounded too).
  for (int i = 0; i < 4; ++i) {
    Result<std::optional<TaskResult>> next = (*stream)->Next();
    ASSERT_TRUE(next.ok()) << next.status().message();
    if (!next->has_value()) break;
    results.push_back(**next);
  }
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].status, TaskStatus::kOk) << results[0].error;
  EXPECT_EQ(results[0].result, "before");
  EXPECT_EQ(results[2].status, TaskStatus::kOk) << results[2].error;
  EXPECT_EQ(results[2].result, "after it");

  const TaskResult& crashed = results[1];
  EXPECT_EQ(crashed.status, TaskStatus::kCrashed);
  EXPECT_EQ(crashed.attempts, 1u);
  // The pid is that of the worker that ran it, one of the pool's.
  EXPECT_THAT(pids_before, Contains(crashed.pid));
  EXPECT_THAT(crashed.error, StartsWith("worker pid " + std::to_string(crashed.pid) + " "));
  EXPECT_THAT(crashed.error, HasSubstr("SIGSEGV"));

  CommandResult status =
      jobd_->Jobctl({"--json", "status", std::to_string((*stream)->job().job)});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  std::vector<json> info = JsonLines(status.out);
  ASSERT_EQ(info.size(), 1u) << status.out;
  EXPECT_EQ(info[0]["state"], "done");
  EXPECT_EQ(info[0]["ok"], 2);
  EXPECT_EQ(info[0]["crashed"], 1);

  // The pool is whole again, without the worker that crashed, and runs the
  // next job.
  EXPECT_TRUE(Eventually([&] { return ReadyWorkers() == 2; })) << jobd_->Jobctl({"workers"}).out;
  CommandResult workers = jobd_->Jobctl({"--json", "workers"});
  for (const json& worker : JsonLines(workers.out)) EXPECT_NE(worker["pid"], crashed.pid);
  CommandResult next = jobd_->Jobctl({"--json", "map", "t_echo", "a", "b", "c", "d"});
  ASSERT_EQ(next.exit_code, 0) << next.out << next.err;
  std::vector<json> lines = JsonLines(next.out);
  ASSERT_EQ(lines.size(), 4u) << next.out;
  for (const json& line : lines) EXPECT_EQ(line["status"], "ok") << line;
}

TEST_F(PluginTaskFailuresTest, CrashIsRetriedThenReportedThroughJobctl) {
  StartJobd();
  ASSERT_NE(jobd_, nullptr);
  CommandResult r = jobd_->Jobctl({"--json", "map", "--retries", "1", "t_crash", "x"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(lines[0]["status"], "crashed");
  EXPECT_EQ(lines[0]["attempts"], 2);
  EXPECT_TRUE(lines[0]["result"].is_null());
  const int pid = lines[0]["pid"].get<int>();
  ASSERT_GT(pid, 0);
  EXPECT_THAT(lines[0]["error"].get<std::string>(),
              StartsWith("worker pid " + std::to_string(pid) + " killed by SIGSEGV"));
  // No command keys on a plugin task's result.
  EXPECT_FALSE(lines[0].contains("exit_code")) << r.out;

  CommandResult human = jobd_->Jobctl({"map", "--retries", "0", "t_crash", "y"});
  EXPECT_EQ(human.exit_code, 1) << human.err;
  EXPECT_THAT(human.out, HasSubstr("[0] crashed: worker pid "));
  EXPECT_THAT(human.out, HasSubstr(" killed by SIGSEGV"));
  EXPECT_TRUE(Eventually([&] { return ReadyWorkers() == 2; })) << jobd_->Jobctl({"workers"}).out;
}

TEST_F(PluginTaskFailuresTest, OutputOverTheWorkersBoundFailsTheTask) {
  StartJobd({"--max-output", "1K"});
  ASSERT_NE(jobd_, nullptr);
  CommandResult r =
      jobd_->Jobctl({"--json", "map", "--ordered", "t_bytes", "2048", "100", "1024", "1025"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;

  EXPECT_EQ(lines[0]["status"], "failed");
  EXPECT_TRUE(lines[0]["result"].is_null());
  EXPECT_THAT(lines[0]["error"].get<std::string>(), HasSubstr("2048 bytes"));
  EXPECT_THAT(lines[0]["error"].get<std::string>(), HasSubstr("limit of 1024"));

  EXPECT_EQ(lines[1]["status"], "ok") << lines[1];
  EXPECT_EQ(lines[1]["result"], std::string(100, 'x'));
  // Exactly at the bound is within it.
  EXPECT_EQ(lines[2]["status"], "ok") << lines[2]["error"];
  EXPECT_EQ(lines[2]["result"], std::string(1024, 'x'));
  EXPECT_EQ(lines[3]["status"], "failed");
  EXPECT_THAT(lines[3]["error"].get<std::string>(), HasSubstr("1025 bytes"));
  // A failure, not a crash: the workers that said no are still there.
  for (const json& line : lines) EXPECT_EQ(line["attempts"], 1) << line;
  EXPECT_EQ(ReadyWorkers(), 2);
}

TEST_F(PluginTaskFailuresTest, UnknownTaskFailsNamingItAndTheKnownTasks) {
  StartJobd();
  ASSERT_NE(jobd_, nullptr);
  CommandResult r = jobd_->Jobctl({"--json", "map", "no_such_task", "x"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out << r.err;
  EXPECT_EQ(lines[0]["status"], "failed");
  EXPECT_EQ(lines[0]["attempts"], 1);
  const std::string error = lines[0]["error"].get<std::string>();
  EXPECT_THAT(error, HasSubstr("unknown task 'no_such_task'"));
  EXPECT_THAT(error, HasSubstr("known: "));
  for (const char* known : {"t_echo", "t_crash", "t_bytes", "echo"}) {
    EXPECT_THAT(error, HasSubstr(known));
  }

  CommandResult human = jobd_->Jobctl({"map", "no_such_task", "y"});
  EXPECT_EQ(human.exit_code, 1) << human.err;
  EXPECT_THAT(human.out, HasSubstr("[0] failed: unknown task 'no_such_task' (known: "));

  // The daemon still answers, and still runs tasks.
  CommandResult ping = jobd_->Jobctl({"ping"});
  EXPECT_EQ(ping.exit_code, 0) << ping.err;
  EXPECT_EQ(ReadyWorkers(), 2);
  CommandResult ok = jobd_->Jobctl({"--json", "map", "t_echo", "fine"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
}

}  // namespace
}  // namespace jobd::testing
