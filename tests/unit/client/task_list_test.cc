// map/submit TASK [ARG...] as tasks: -n, --repeat and their bounds.
#include "client/task_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jobd {
namespace {

using ::testing::HasSubstr;

std::vector<std::vector<std::string>> ArgsOf(const std::vector<TaskInput>& tasks) {
  std::vector<std::vector<std::string>> args;
  for (const TaskInput& task : tasks) {
    EXPECT_EQ(task.name, "");  // the job's default task
    args.push_back(task.args);
  }
  return args;
}

using Args = std::vector<std::vector<std::string>>;

TEST(TaskListTest, OneTaskPerArgByDefault) {
  Result<std::vector<TaskInput>> tasks = TasksFromArgs({"a", "b", "c"}, {});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  EXPECT_EQ(ArgsOf(*tasks), (Args{{"a"}, {"b"}, {"c"}}));
}

TEST(TaskListTest, NoArgIsOneTaskWithNoArguments) {
  Result<std::vector<TaskInput>> tasks = TasksFromArgs({}, {});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  EXPECT_EQ(ArgsOf(*tasks), (Args{{}}));
  // Also with -n: no ARGs are a multiple of any N.
  tasks = TasksFromArgs({}, {.args_per_task = 2});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  EXPECT_EQ(ArgsOf(*tasks), (Args{{}}));
}

TEST(TaskListTest, ArgsPerTaskGroupsInOrder) {
  Result<std::vector<TaskInput>> tasks = TasksFromArgs({"a", "b", "c", "d"}, {.args_per_task = 2});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  EXPECT_EQ(ArgsOf(*tasks), (Args{{"a", "b"}, {"c", "d"}}));
  tasks = TasksFromArgs({"a", "b", "c"}, {.args_per_task = 3});
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(ArgsOf(*tasks), (Args{{"a", "b", "c"}}));
}

TEST(TaskListTest, ArgsThatDoNotDivideAreRefusedNamingBothNumbers) {
  Result<std::vector<TaskInput>> tasks =
      TasksFromArgs({"a", "b", "c", "d", "e"}, {.args_per_task = 2});
  ASSERT_FALSE(tasks.ok());
  EXPECT_EQ(tasks.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tasks.status().message(), "-n 2: 5 ARGs are not a multiple of 2 (1 left over)");
  for (int64_t n : {0, -1}) {
    tasks = TasksFromArgs({"a"}, {.args_per_task = n});
    ASSERT_FALSE(tasks.ok()) << n;
    EXPECT_EQ(tasks.status().message(),
              "-n " + std::to_string(n) + ": a task takes at least one ARG");
  }
}

TEST(TaskListTest, RepeatRunsTheWholeListOver) {
  Result<std::vector<TaskInput>> tasks = TasksFromArgs({}, {.repeat = 3});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  EXPECT_EQ(ArgsOf(*tasks), (Args{{}, {}, {}}));
  tasks = TasksFromArgs({"a", "b", "c", "d"}, {.args_per_task = 2, .repeat = 2});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  EXPECT_EQ(ArgsOf(*tasks), (Args{{"a", "b"}, {"c", "d"}, {"a", "b"}, {"c", "d"}}));
}

TEST(TaskListTest, RepeatIsBoundedBeforeAnythingIsBuilt) {
  EXPECT_TRUE(TasksFromArgs({}, {.repeat = int64_t{kMaxTasksPerJob}}).ok());
  Result<std::vector<TaskInput>> tasks =
      TasksFromArgs({}, {.repeat = int64_t{kMaxTasksPerJob} + 1});
  ASSERT_FALSE(tasks.ok());
  EXPECT_EQ(tasks.status().message(),
            "--repeat 1000001 is over jobctl's limit of 1000000 tasks a job (jobd's default "
            "--max-tasks-per-job; split the job)");
  // Far past it: refused as fast, no overflow.
  tasks = TasksFromArgs({"a", "b"}, {.repeat = INT64_MAX});
  ASSERT_FALSE(tasks.ok());
  EXPECT_THAT(tasks.status().message(), HasSubstr("over jobctl's limit"));
  // The product counts.
  tasks = TasksFromArgs({"a", "b", "c"}, {.repeat = 400'000});
  ASSERT_FALSE(tasks.ok());
  EXPECT_EQ(tasks.status().message(),
            "3 tasks times --repeat 400000 is over jobctl's limit of 1000000 tasks a job "
            "(jobd's default --max-tasks-per-job; split the job)");
  for (int64_t repeat : {0, -3}) {
    tasks = TasksFromArgs({}, {.repeat = repeat});
    ASSERT_FALSE(tasks.ok()) << repeat;
    EXPECT_EQ(tasks.status().message(),
              "--repeat " + std::to_string(repeat) + ": a job runs its tasks at least once");
  }
}

TEST(TaskListTest, RepeatOfAListMadeElsewhere) {
  EXPECT_TRUE(CheckRepeat(10, 100'000).ok());
  EXPECT_FALSE(CheckRepeat(10, 100'001).ok());
  EXPECT_FALSE(CheckRepeat(kMaxTasksPerJob + 1, 1).ok());
  std::vector<TaskInput> tasks = {TaskInput{"exec", {"ls", "a"}}, TaskInput{"exec", {"ls", "b"}}};
  RepeatTasks(2, tasks);
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_EQ(tasks[2].args, (std::vector<std::string>{"ls", "a"}));
  EXPECT_EQ(tasks[3].args, (std::vector<std::string>{"ls", "b"}));
}

}  // namespace
}  // namespace jobd
