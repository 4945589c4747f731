// The plugin loader against real shared libraries built for the test
// (examples/plugins/testing/*.c, in lib/jobd/test-plugins/), copied into a
// temporary plugin directory under the names each test needs.
#include "worker/plugin_loader.h"

#include <signal.h>

#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include "tests/unit/worker/plugin_test_util.h"
#include "worker/builtin_tasks.h"

namespace jobd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using plugin_testing::CopyInto;
using plugin_testing::ScratchDir;
using plugin_testing::TestPluginDir;
using plugin_testing::WriteFile;

class PluginLoaderTest : public ::testing::Test {
 protected:
  PluginLoaderTest()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_st>(log_)),
        logger_("plugin-loader-test", sink_) {
    sink_->set_pattern("%l: %v");
    RegisterBuiltinTasks(registry_);
  }

  // Copies test plugin `plugin` (e.g. "good") into the plugin dir as `name`.
  std::string Add(const std::string& plugin, const std::string& name) {
    return CopyInto(TestPluginDir() + "/" + plugin + ".so", dir_.path(), name);
  }

  std::vector<std::string> Load(uint64_t max_output = kDefaultMaxOutputBytes) {
    return LoadPlugins(dir_.path(), max_output, registry_, logger_);
  }

  ScratchDir dir_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::sinks::ostream_sink_st> sink_;
  spdlog::logger logger_;
  TaskRegistry registry_;
};

TEST_F(PluginLoaderTest, AGoodPluginLoadsAndRuns) {
  const std::string file = Add("good", "good.so");
  EXPECT_THAT(Load(), ::testing::IsEmpty());

  const TaskEntry* echo = registry_.Find("t_echo");
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(echo->kind, TaskKind::kPlugin);
  EXPECT_EQ(TaskKindName(echo->kind), "plugin");
  EXPECT_EQ(echo->file, file);
  EXPECT_EQ(echo->description, "joins its arguments");
  EXPECT_FALSE(echo->runs_code);  // good.so has no jobd_plugin_runs_caller_code
  ASSERT_NE(registry_.Find("t_count"), nullptr);
  EXPECT_EQ(registry_.Find("t_count")->description, "");  // NULL in the table
  EXPECT_EQ(registry_.Find("echo")->kind, TaskKind::kBuiltin);

  TaskOutput out = registry_.Run("t_echo", {"a", "b c", ""});
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.value, "a b c ");
  out = registry_.Run("t_echo", {});
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.value, "");

  // Plugin state lives as long as the process.
  EXPECT_EQ(registry_.Run("t_count", {}).value, "1");
  EXPECT_EQ(registry_.Run("t_count", {}).value, "2");

  EXPECT_THAT(log_.str(), HasSubstr("info: loaded plugin " + file + ": 5 tasks (t_bytes, "));
}

// An interpreter's plugin says so with jobd_plugin_runs_caller_code; the
// flag is the library's, so every one of its tasks has it, and no other task.
TEST_F(PluginLoaderTest, APluginThatRunsCallerCodeMarksEachOfItsTasks) {
  const std::string file = Add("runs_code", "interpreter.so");
  Add("good", "good.so");
  ASSERT_THAT(Load(), ::testing::IsEmpty());
  for (const char* name : {"t_interpret", "t_interpret_file"}) {
    const TaskEntry* entry = registry_.Find(name);
    ASSERT_NE(entry, nullptr) << name;
    EXPECT_EQ(entry->kind, TaskKind::kPlugin);
    EXPECT_TRUE(entry->runs_code) << name;
  }
  EXPECT_FALSE(registry_.Find("t_echo")->runs_code) << "an ordinary plugin";
  EXPECT_FALSE(registry_.Find("echo")->runs_code) << "a built-in";
  EXPECT_EQ(registry_.Run("t_interpret", {"print(1)"}).value, "print(1)");
  EXPECT_THAT(log_.str(), HasSubstr("info: loaded plugin " + file +
                                    ": 2 tasks (t_interpret, t_interpret_file), which run "
                                    "their callers' code"));
  EXPECT_THAT(log_.str(),
              HasSubstr("good.so: 5 tasks (t_bytes, t_count, t_crash, t_echo, t_fail)\n"));
}

// The value is read, not only the symbol's presence.
TEST_F(PluginLoaderTest, ARunsCallerCodeOfZeroIsAnOrdinaryPlugin) {
  Add("runs_code_zero", "zero.so");
  ASSERT_THAT(Load(), ::testing::IsEmpty());
  ASSERT_NE(registry_.Find("t_interpret"), nullptr);
  EXPECT_FALSE(registry_.Find("t_interpret")->runs_code);
}

TEST_F(PluginLoaderTest, AnErrorFailsTheTaskWithTheFirstMessageAndDropsTheOutput) {
  Add("good", "good.so");
  ASSERT_THAT(Load(), ::testing::IsEmpty());
  TaskOutput out = registry_.Run("t_fail", {"it broke"});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "it broke");
  EXPECT_EQ(out.value, "");
  out = registry_.Run("t_fail", {});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "task failed");
}

TEST_F(PluginLoaderTest, EachBadLibraryIsAnErrorNamingItAndTheRestLoad) {
  const std::string good = Add("good", "a_good.so");
  const std::string clash = Add("clash", "b_clash.so");
  const std::string junk = dir_.path() + "/c_junk.so";
  WriteFile(junk, "not an ELF file, just text\n");
  const std::string no_symbol = Add("no_symbol", "d_no_symbol.so");
  const std::string wrong_abi = Add("wrong_abi", "e_wrong_abi.so");
  const std::string second = Add("second", "f_second.so");
  WriteFile(dir_.path() + "/README.txt", "not a .so: ignored");
  WriteFile(dir_.path() + "/libz.so.1", "not *.so: ignored");

  const std::vector<std::string> errors = Load();
  ASSERT_EQ(errors.size(), 4u) << ::testing::PrintToString(errors);
  // In name order, each naming its file.
  EXPECT_EQ(errors[0], clash + ": task 'echo' is already registered (built-in)");
  EXPECT_THAT(errors[1], StartsWith(junk + ": "));
  EXPECT_THAT(errors[1], ::testing::AnyOf(HasSubstr("invalid ELF header"),
                                          HasSubstr("file too short")));
  EXPECT_THAT(errors[2], StartsWith(no_symbol + ": no jobd_plugin_tasks symbol ("));
  EXPECT_EQ(errors[3], wrong_abi + ": ABI version 999, but this worker loads version 1");

  // All or nothing: the clashing library's other task is not there either.
  EXPECT_EQ(registry_.Find("t_clash_ok"), nullptr);
  EXPECT_EQ(registry_.Find("t_future"), nullptr);
  EXPECT_EQ(registry_.Find("echo")->kind, TaskKind::kBuiltin);
  ASSERT_NE(registry_.Find("t_echo"), nullptr);
  EXPECT_EQ(registry_.Find("t_echo")->file, good);
  ASSERT_NE(registry_.Find("t_second"), nullptr);
  EXPECT_EQ(registry_.Find("t_second")->file, second);
  EXPECT_EQ(registry_.Run("t_second", {}).value, "second");

  // Each error is logged at warn level too.
  for (const std::string& error : errors) {
    EXPECT_THAT(log_.str(), HasSubstr("warning: plugin not loaded: " + error));
  }
}

TEST_F(PluginLoaderTest, ANameTakenByAnEarlierPluginIsAnError) {
  const std::string first = Add("good", "a.so");
  const std::string again = Add("good", "b.so");
  EXPECT_THAT(Load(), ElementsAre(again + ": task 't_echo' is already registered (plugin " +
                                  first + ")"));
  EXPECT_EQ(registry_.Find("t_echo")->file, first);
}

TEST_F(PluginLoaderTest, LoadPluginReportsTheSameErrors) {
  Status missing = LoadPlugin(dir_.path() + "/missing.so", 100, registry_);
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.message(), StartsWith(dir_.path() + "/missing.so: "));
  EXPECT_THAT(missing.message(), HasSubstr("No such file or directory"));
}

TEST_F(PluginLoaderTest, NoDirectoryMeansNoPluginsAndAMissingOneIsAnError) {
  const size_t builtins = registry_.List().size();
  EXPECT_THAT(LoadPlugins("", kDefaultMaxOutputBytes, registry_, logger_), ::testing::IsEmpty());
  EXPECT_THAT(Load(), ::testing::IsEmpty());  // an empty directory
  const std::string missing = dir_.path() + "/nowhere";
  std::vector<std::string> errors =
      LoadPlugins(missing, kDefaultMaxOutputBytes, registry_, logger_);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], StartsWith("plugin directory " + missing + ": "));
  EXPECT_THAT(errors[0], HasSubstr("No such file or directory"));
  EXPECT_EQ(registry_.List().size(), builtins);
}

TEST_F(PluginLoaderTest, OutputOverTheLimitFailsTheTask) {
  Add("good", "good.so");
  ASSERT_THAT(Load(/*max_output=*/1000), ::testing::IsEmpty());
  TaskOutput out = registry_.Run("t_bytes", {"1000"});
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.value, std::string(1000, 'x'));
  out = registry_.Run("t_bytes", {"1001"});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "output of 1001 bytes is over the limit of 1000");
  out = registry_.Run("t_bytes", {"5000000"});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "output of 5000000 bytes is over the limit of 1000");
  EXPECT_EQ(out.value, "");
}

TEST_F(PluginLoaderTest, TheDefaultLimitIsOneMebibyte) {
  Add("good", "good.so");
  ASSERT_THAT(Load(), ::testing::IsEmpty());
  EXPECT_TRUE(registry_.Run("t_bytes", {"1048576"}).ok);
  EXPECT_EQ(registry_.Run("t_bytes", {"1048577"}).error,
            "output of 1048577 bytes is over the limit of 1048576");
}

TEST(RunPluginTaskTest, AppendsAndErrorsThroughTheTable) {
  auto run = +[](const char* const* args, size_t count, jobd_output* out) {
    jobd_output_append(out, nullptr, 0);  // allowed
    jobd_output_append(out, args[0], 2);  // part of the argument
    jobd_output_append(out, "|", 1);
    const std::string n = std::to_string(count);
    jobd_output_append(out, n.data(), n.size());
  };
  TaskOutput out = RunPluginTask(run, {"abc", "d"}, 100);
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.value, "ab|2");

  auto null_data = +[](const char* const*, size_t, jobd_output* o) {
    jobd_output_append(o, nullptr, 3);
  };
  out = RunPluginTask(null_data, {}, 100);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "jobd_output_append: NULL data with a size of 3");

  // The task's own error wins over the limit.
  auto big_then_error = +[](const char* const*, size_t, jobd_output* o) {
    jobd_output_append(o, "0123456789", 10);
    jobd_output_error(o, "gave up");
  };
  out = RunPluginTask(big_then_error, {}, 5);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "gave up");
}

TEST_F(PluginLoaderTest, ACrashingPluginTaskKillsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Add("good", "good.so");
  ASSERT_THAT(Load(), ::testing::IsEmpty());
  EXPECT_EXIT(registry_.Run("t_crash", {}), ::testing::KilledBySignal(SIGSEGV), "");
}

}  // namespace
}  // namespace jobd
