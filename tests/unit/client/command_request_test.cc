#include "client/command_request.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jobd {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kWorkingDir = "/home/u/work";

CommandOptions Build(const CommandFlags& flags) {
  Result<CommandOptions> options = BuildCommandOptions(flags, kWorkingDir);
  EXPECT_TRUE(options.ok()) << options.status().message();
  return options.ok() ? *options : CommandOptions{};
}

// The message BuildCommandOptions fails with, or "" (and a test failure).
std::string BuildError(const CommandFlags& flags) {
  Result<CommandOptions> options = BuildCommandOptions(flags, kWorkingDir);
  EXPECT_FALSE(options.ok()) << "accepted";
  if (options.ok()) return "";
  EXPECT_EQ(options.status().code(), StatusCode::kInvalidArgument);
  return options.status().message();
}

// ---- BuildCommandOptions ----------------------------------------------------

TEST(BuildCommandOptionsTest, DefaultsRunInTheWorkingDirectory) {
  CommandOptions expected;
  expected.cwd = kWorkingDir;
  EXPECT_EQ(Build(CommandFlags{}), expected);
  EXPECT_TRUE(Build(CommandFlags{}).stdin_path.empty());  // /dev/null
}

TEST(BuildCommandOptionsTest, RelativeCwdIsMadeAbsolute) {
  CommandFlags flags;
  flags.cwd = "sub/dir";
  EXPECT_EQ(Build(flags).cwd, "/home/u/work/sub/dir");
  flags.cwd = "../other";
  EXPECT_EQ(Build(flags).cwd, "/home/u/other");
  flags.cwd = "./a/./b//c";
  EXPECT_EQ(Build(flags).cwd, "/home/u/work/a/b/c");
  flags.cwd = "dir with spaces/é";
  EXPECT_EQ(Build(flags).cwd, "/home/u/work/dir with spaces/é");
}

TEST(BuildCommandOptionsTest, AbsoluteCwdIsKept) {
  CommandFlags flags;
  flags.cwd = "/srv/data";
  EXPECT_EQ(Build(flags).cwd, "/srv/data");
  flags.cwd = "/";
  EXPECT_EQ(Build(flags).cwd, "/");
}

TEST(BuildCommandOptionsTest, RelativeStdinIsMadeAbsolute) {
  CommandFlags flags;
  flags.stdin_path = "in.txt";
  EXPECT_EQ(Build(flags).stdin_path, "/home/u/work/in.txt");
  flags.stdin_path = "../in.txt";
  EXPECT_EQ(Build(flags).stdin_path, "/home/u/in.txt");
  flags.stdin_path = "/etc/hostname";
  EXPECT_EQ(Build(flags).stdin_path, "/etc/hostname");
  // The working directory is still the default cwd.
  EXPECT_EQ(Build(flags).cwd, kWorkingDir);
}

TEST(BuildCommandOptionsTest, EnvEntriesAreKeptInOrder) {
  CommandFlags flags;
  flags.env = {"B=2", "A=1", "EMPTY=", "EQ=x=y", "SPACE=a b"};
  EXPECT_THAT(Build(flags).env, ElementsAre("B=2", "A=1", "EMPTY=", "EQ=x=y", "SPACE=a b"));
}

TEST(BuildCommandOptionsTest, EnvWithoutEqualsOrKeyIsRefused) {
  CommandFlags flags;
  flags.env = {"A=1", "FOO"};
  EXPECT_EQ(BuildError(flags), "--env: 'FOO' is not K=V");
  flags.env = {"=value"};
  EXPECT_THAT(BuildError(flags), StartsWith("--env: '=value'"));
  flags.env = {""};
  EXPECT_THAT(BuildError(flags), StartsWith("--env: "));
  flags.env = {"="};
  EXPECT_THAT(BuildError(flags), StartsWith("--env: "));
}

TEST(BuildCommandOptionsTest, MaxOutput) {
  CommandFlags flags;
  flags.max_output = "1K";
  EXPECT_EQ(Build(flags).max_output, 1024u);
  flags.max_output = "2M";
  EXPECT_EQ(Build(flags).max_output, 2u << 20);
  flags.max_output = "1";
  EXPECT_EQ(Build(flags).max_output, 1u);
}

TEST(BuildCommandOptionsTest, BadMaxOutputIsRefusedNamingTheFlag) {
  CommandFlags flags;
  flags.max_output = "0";
  EXPECT_THAT(BuildError(flags), StartsWith("--max-output: "));
  flags.max_output = "0K";
  EXPECT_THAT(BuildError(flags), StartsWith("--max-output: "));
  flags.max_output = "abc";
  EXPECT_THAT(BuildError(flags), AllOf(StartsWith("--max-output: "), HasSubstr("'abc'")));
  flags.max_output = "12Q";
  EXPECT_THAT(BuildError(flags), StartsWith("--max-output: "));
  flags.max_output = "-1";
  EXPECT_THAT(BuildError(flags), StartsWith("--max-output: "));
}

TEST(BuildCommandOptionsTest, MemoryLimit) {
  CommandFlags flags;
  flags.memory_limit = "512M";
  EXPECT_EQ(Build(flags).memory_limit, 512ull << 20);
  flags.memory_limit = "2G";
  EXPECT_EQ(Build(flags).memory_limit, 2ull << 30);
  flags.memory_limit = "lots";
  EXPECT_THAT(BuildError(flags), AllOf(StartsWith("--memory-limit: "), HasSubstr("'lots'")));
}

TEST(BuildCommandOptionsTest, CpuLimit) {
  CommandFlags flags;
  flags.cpu_limit = "2s";
  EXPECT_EQ(Build(flags).cpu_limit_us, 2'000'000u);
  flags.cpu_limit = "1m";
  EXPECT_EQ(Build(flags).cpu_limit_us, 60'000'000u);
  flags.cpu_limit = "1500ms";
  EXPECT_EQ(Build(flags).cpu_limit_us, 1'500'000u);
}

TEST(BuildCommandOptionsTest, BadCpuLimitIsRefusedNamingTheFlag) {
  CommandFlags flags;
  for (const char* bad : {"soon", "2x", "-1s", "s", "0s"}) {
    flags.cpu_limit = bad;
    EXPECT_THAT(BuildError(flags), StartsWith("--cpu-limit: ")) << bad;
  }
}

TEST(BuildCommandOptionsTest, EveryFlagTogether) {
  CommandFlags flags;
  flags.exec = "ignored here";
  flags.shell = true;
  flags.cwd = "out";
  flags.env = {"K=V"};
  flags.stdin_path = "/dev/zero";
  flags.max_output = "64K";
  flags.memory_limit = "1G";
  flags.cpu_limit = "30s";
  CommandOptions expected;
  expected.cwd = "/home/u/work/out";
  expected.env = {"K=V"};
  expected.stdin_path = "/dev/zero";
  expected.max_output = 64u << 10;
  expected.memory_limit = 1ull << 30;
  expected.cpu_limit_us = 30'000'000u;
  EXPECT_EQ(Build(flags), expected);
}

// ---- CommandTasks -----------------------------------------------------------

TEST(CommandTasksTest, OneTaskPerItemFromTheTemplate) {
  CommandFlags flags;
  flags.exec = "convert {} 'out dir'/{/.}.png";
  Result<std::vector<TaskInput>> tasks = CommandTasks(flags, {"/in/a.jpg", "b c.jpg", "it's"});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  ASSERT_EQ(tasks->size(), 3u);
  // No name: the job's default task (exec) runs them.
  for (const TaskInput& task : *tasks) EXPECT_EQ(task.name, "");
  EXPECT_THAT((*tasks)[0].args, ElementsAre("convert", "/in/a.jpg", "out dir/a.png"));
  EXPECT_THAT((*tasks)[1].args, ElementsAre("convert", "b c.jpg", "out dir/b c.png"));
  EXPECT_THAT((*tasks)[2].args, ElementsAre("convert", "it's", "out dir/it's.png"));
}

TEST(CommandTasksTest, WithoutPlaceholderTheItemIsAppended) {
  CommandFlags flags;
  flags.exec = "gzip -k";
  Result<std::vector<TaskInput>> tasks = CommandTasks(flags, {"x"});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_THAT((*tasks)[0].args, ElementsAre("gzip", "-k", "x"));
}

TEST(CommandTasksTest, ShellRunsTheTextWithItemsAsParameters) {
  CommandFlags flags;
  flags.shell = true;
  flags.exec = "wc -c < {} | tr -d ' '";
  Result<std::vector<TaskInput>> tasks = CommandTasks(flags, {"a b", "it's", ""});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  ASSERT_EQ(tasks->size(), 3u);
  EXPECT_EQ((*tasks)[0].name, "");
  EXPECT_THAT((*tasks)[0].args, ElementsAre("/bin/sh", "-c", "wc -c < \"${1}\" | tr -d ' '", "sh",
                                            "a b", "a b", "a b", ".", "a b"));
  EXPECT_EQ((*tasks)[1].args[4], "it's");
  EXPECT_EQ((*tasks)[2].args[4], "");
}

TEST(CommandTasksTest, ShellWithoutPlaceholderAppendsTheItemParameter) {
  CommandFlags flags;
  flags.shell = true;
  flags.exec = "echo $HOME";
  Result<std::vector<TaskInput>> tasks = CommandTasks(flags, {"$(id)"});
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].args[2], "echo $HOME \"${1}\"");
  EXPECT_EQ((*tasks)[0].args[4], "$(id)");
}

TEST(CommandTasksTest, ShellWithAnUnclosedQuoteIsRefused) {
  CommandFlags flags;
  flags.shell = true;
  flags.exec = "echo '{}";
  EXPECT_EQ(CommandTasks(flags, {"x"}).status().message(), "--exec: unclosed ' in the command");
}

TEST(CommandTasksTest, NoItemsIsAnError) {
  CommandFlags flags;
  flags.exec = "echo {}";
  Result<std::vector<TaskInput>> tasks = CommandTasks(flags, {});
  ASSERT_FALSE(tasks.ok());
  EXPECT_EQ(tasks.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(tasks.status().message(), HasSubstr("ITEM"));
  flags.shell = true;
  tasks = CommandTasks(flags, {});
  ASSERT_FALSE(tasks.ok());
  EXPECT_THAT(tasks.status().message(), HasSubstr("ITEM"));
}

TEST(CommandTasksTest, BadTemplateIsAnErrorNamingExec) {
  CommandFlags flags;
  for (const char* bad : {"echo 'x", "echo \"x", "echo \\", "", "   "}) {
    flags.exec = bad;
    Result<std::vector<TaskInput>> tasks = CommandTasks(flags, {"item"});
    ASSERT_FALSE(tasks.ok()) << bad;
    EXPECT_EQ(tasks.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(tasks.status().message(), StartsWith("--exec: ")) << bad;
  }
  flags.exec = "echo 'x";
  Result<std::vector<TaskInput>> unclosed = CommandTasks(flags, {"item"});
  EXPECT_THAT(unclosed.status().message(), HasSubstr("unclosed '"));
}

TEST(CommandTasksTest, BlankShellCommandIsAnErrorNamingExec) {
  CommandFlags flags;
  flags.shell = true;
  for (const char* blank : {"", " ", "\t\n "}) {
    flags.exec = blank;
    Result<std::vector<TaskInput>> tasks = CommandTasks(flags, {"item"});
    ASSERT_FALSE(tasks.ok()) << "'" << blank << "'";
    EXPECT_THAT(tasks.status().message(), StartsWith("--exec: "));
  }
}

// ---- RunTask ----------------------------------------------------------------

TEST(RunTaskTest, WordsAsTheyAre) {
  CommandFlags flags;
  Result<TaskInput> task = RunTask(flags, {"ls", "-l", "a b", "$HOME", "{}"});
  ASSERT_TRUE(task.ok()) << task.status().message();
  EXPECT_EQ(task->name, "");
  EXPECT_THAT(task->args, ElementsAre("ls", "-l", "a b", "$HOME", "{}"));
}

TEST(RunTaskTest, ShellJoinsTheWordsWithSpaces) {
  CommandFlags flags;
  flags.shell = true;
  Result<TaskInput> task = RunTask(flags, {"echo", "$HOME", "|", "wc", "-c"});
  ASSERT_TRUE(task.ok()) << task.status().message();
  EXPECT_EQ(task->name, "");
  EXPECT_THAT(task->args, ElementsAre("/bin/sh", "-c", "echo $HOME | wc -c"));
  task = RunTask(flags, {"for i in 1 2; do echo $i; done"});
  ASSERT_TRUE(task.ok()) << task.status().message();
  EXPECT_THAT(task->args, ElementsAre("/bin/sh", "-c", "for i in 1 2; do echo $i; done"));
}

TEST(RunTaskTest, NoWordsIsAnError) {
  CommandFlags flags;
  Result<TaskInput> task = RunTask(flags, {});
  ASSERT_FALSE(task.ok());
  EXPECT_EQ(task.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(task.status().message(), HasSubstr("no command"));
  flags.shell = true;
  EXPECT_FALSE(RunTask(flags, {}).ok());
}

// ---- CommandFlags::AnyOption ------------------------------------------------

TEST(CommandFlagsTest, AnyOption) {
  CommandFlags none;
  EXPECT_FALSE(none.AnyOption());
  CommandFlags exec_only;
  exec_only.exec = "echo {}";
  EXPECT_FALSE(exec_only.AnyOption());

  std::vector<CommandFlags> each(7);
  each[0].shell = true;
  each[1].cwd = "d";
  each[2].env = {"K=V"};
  each[3].stdin_path = "f";
  each[4].max_output = "1K";
  each[5].memory_limit = "1G";
  each[6].cpu_limit = "1s";
  for (size_t i = 0; i < each.size(); ++i) EXPECT_TRUE(each[i].AnyOption()) << i;
}

}  // namespace
}  // namespace jobd
