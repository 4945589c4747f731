// TaskSpecs: names and arguments packed per job, read back as they came in.
#include "daemon/core/task_specs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jobd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(TaskSpecsTest, ReadsBackNamesAndArgumentsOfASubmission) {
  std::vector<TaskInput> inputs = {
      {"", {"a", "bc"}},
      {"shell", {"say \"hi\"", "", std::string("nul\0byte", 8)}},
      {"", {}},
      {"shell", {"x"}},
      {"sleep", {"10ms"}},
      {"echo", {"named as the default"}},
  };
  auto specs = TaskSpecs::FromInputs("echo", inputs);
  ASSERT_EQ(specs->size(), 6u);
  EXPECT_EQ(specs->default_task(), "echo");
  EXPECT_EQ(specs->name(0), "echo");
  EXPECT_EQ(specs->own_name(0), "");
  EXPECT_EQ(specs->name(1), "shell");
  EXPECT_EQ(specs->own_name(1), "shell");
  EXPECT_EQ(specs->name(3), "shell");
  EXPECT_EQ(specs->name(4), "sleep");
  EXPECT_EQ(specs->name(5), "echo");
  EXPECT_EQ(specs->own_name(5), "") << "a task named after the default reads as unnamed";
  for (uint32_t i = 0; i < specs->size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(specs->Args(i), inputs[i].args);
    ASSERT_EQ(specs->arg_count(i), inputs[i].args.size());
    for (uint32_t a = 0; a < specs->arg_count(i); ++a) {
      EXPECT_EQ(specs->arg(i, a), inputs[i].args[a]);
    }
  }
  EXPECT_EQ(specs->arg(1, 2).size(), 8u);
}

TEST(TaskSpecsTest, TasksOfTheDefaultOnlyAndNoArguments) {
  auto specs = TaskSpecs::FromInputs("noop", {{"", {}}, {"", {}}});
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ(specs->name(1), "noop");
  EXPECT_THAT(specs->Args(0), IsEmpty());
  EXPECT_EQ(specs->arg_count(1), 0u);
}

TEST(TaskSpecsTest, NamesAfterTheFirstTaskSwitchToPerTaskNames) {
  // The per-task name table starts only at the first named task.
  auto specs = TaskSpecs::FromInputs("echo", {{"", {"0"}}, {"", {"1"}}, {"exec", {"/bin/true"}}});
  EXPECT_EQ(specs->name(0), "echo");
  EXPECT_EQ(specs->name(1), "echo");
  EXPECT_EQ(specs->name(2), "exec");
}

TEST(TaskSpecsTest, UsesNamesTheDefaultAndEveryTaskName) {
  auto specs = TaskSpecs::FromInputs("echo", {{"", {}}, {"exec", {"ls"}}});
  EXPECT_TRUE(specs->Uses("echo"));
  EXPECT_TRUE(specs->Uses("exec"));
  EXPECT_FALSE(specs->Uses("sleep"));
  // No default: every task is named.
  auto named = TaskSpecs::FromInputs("", {{"sleep", {"1ms"}}});
  EXPECT_EQ(named->name(0), "sleep");
  EXPECT_FALSE(named->Uses("exec"));
}

TEST(TaskSpecsTest, FromStoredPlacesTasksByIndex) {
  StoredJob job;
  job.default_task = "echo";
  StoredTask second;
  second.index = 1;
  second.name = "sleep";
  second.args = {"5ms"};
  StoredTask first;
  first.index = 0;
  first.args = {"a", "b"};
  job.tasks = {second, first};
  auto specs = TaskSpecs::FromStored(job);
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ(specs->name(0), "echo");
  EXPECT_THAT(specs->Args(0), ElementsAre("a", "b"));
  EXPECT_EQ(specs->name(1), "sleep");
  EXPECT_THAT(specs->Args(1), ElementsAre("5ms"));
}

}  // namespace
}  // namespace jobd
