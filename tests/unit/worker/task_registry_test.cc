#include "worker/task_registry.h"

#include <stdexcept>

#include <gtest/gtest.h>

#include "worker/builtin_tasks.h"

namespace jobd {
namespace {

TaskEntry Entry(std::string name, TaskFunction function) {
  return TaskEntry{std::move(name), TaskKind::kBuiltin, "for tests", std::move(function), "", {}};
}

TEST(TaskRegistryTest, FindsRegisteredTasksOnly) {
  TaskRegistry registry;
  ASSERT_TRUE(registry.Register(Entry("twice", [](const std::vector<std::string>& args) {
                        return TaskOutput::Success(args.at(0) + args.at(0));
                      })).ok());
  const TaskEntry* entry = registry.Find("twice");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->name, "twice");
  EXPECT_EQ(TaskKindName(entry->kind), "built-in");
  EXPECT_EQ(registry.Find("thrice"), nullptr);

  TaskOutput output = registry.Run("twice", {"ab"});
  EXPECT_TRUE(output.ok);
  EXPECT_EQ(output.value, "abab");
  EXPECT_EQ(output.error, "");
}

TEST(TaskRegistryTest, RejectsDuplicateEmptyOrFunctionlessEntries) {
  TaskRegistry registry;
  auto noop = [](const std::vector<std::string>&) { return TaskOutput::Success(""); };
  ASSERT_TRUE(registry.Register(Entry("a", noop)).ok());
  Status duplicate = registry.Register(Entry("a", noop));
  EXPECT_EQ(duplicate.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(duplicate.message(), "task 'a' is already registered");
  EXPECT_FALSE(registry.Register(Entry("", noop)).ok());
  EXPECT_FALSE(registry.Register(Entry("b", nullptr)).ok());
  EXPECT_EQ(registry.List().size(), 1u);
}

TEST(TaskRegistryTest, UnknownTaskNamesTheKnownOnes) {
  TaskRegistry registry;
  RegisterBuiltinTasks(registry);
  TaskOutput output = registry.Run("nope", {"1"});
  EXPECT_FALSE(output.ok);
  EXPECT_EQ(output.value, "");
  EXPECT_EQ(output.error,
            "unknown task 'nope' (known: crash, echo, fail, sleep, spin, sum_to_num)");
}

TEST(TaskRegistryTest, ListIsSortedByNameWithDescriptions) {
  TaskRegistry registry;
  RegisterBuiltinTasks(registry);
  std::vector<std::string> names;
  for (const TaskEntry* entry : registry.List()) {
    names.push_back(entry->name);
    EXPECT_FALSE(entry->description.empty()) << entry->name;
    EXPECT_EQ(entry->kind, TaskKind::kBuiltin);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"crash", "echo", "fail", "sleep", "spin",
                                             "sum_to_num"}));
}

TEST(TaskRegistryTest, ExceptionFromATaskBecomesAFailure) {
  TaskRegistry registry;
  ASSERT_TRUE(registry.Register(Entry("throws", [](const std::vector<std::string>&) -> TaskOutput {
                        throw std::runtime_error("boom");
                      })).ok());
  TaskOutput output = registry.Run("throws", {});
  EXPECT_FALSE(output.ok);
  EXPECT_EQ(output.error, "task 'throws' threw: boom");
}

}  // namespace
}  // namespace jobd
