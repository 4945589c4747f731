// The task thread on its own: order, the release handshake, idleness and
// stopping. Every wait is a bounded poll(2) on the runner's eventfd.
#include "worker/task_runner.h"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "util/record_sink.h"
#include "worker/builtin_tasks.h"
#include "worker/command_task.h"
#include "worker/pending_logs.h"

namespace jobd {
namespace {

constexpr int kWaitMs = 10000;

class TaskRunnerTest : public ::testing::Test {
 protected:
  TaskRunnerTest()
      : logger_("runner-test", std::make_shared<RecordSink>(LogRecord{}, [this](LogRecord r) {
                  logs_.Add(std::move(r));
                })) {
    logger_.set_level(spdlog::level::debug);
    RegisterBuiltinTasks(registry_);
    RegisterCommandTask(registry_, 1 << 20);
    auto count = [this](const std::vector<std::string>&) {
      ++bodies_run_;
      return TaskOutput::Success("counted");
    };
    EXPECT_TRUE(
        registry_.Register(TaskEntry{"count", TaskKind::kBuiltin, "for tests", count, "", {}}).ok());
  }

  void MakeRunner() {
    Result<std::unique_ptr<TaskRunner>> runner = TaskRunner::Start(registry_, logger_, logs_);
    ASSERT_TRUE(runner.ok()) << runner.status().message();
    runner_ = std::move(*runner);
  }

  // The runner's next events, after waiting (bounded) for its eventfd.
  TaskRunner::Events Next() {
    pollfd item{runner_->fd(), POLLIN, 0};
    EXPECT_EQ(poll(&item, 1, kWaitMs), 1) << "no news from the task thread";
    return runner_->TakeEvents();
  }

  // Releases each task as it asks and collects `n` outcomes.
  std::vector<Outcome> RunAll(size_t n) {
    std::vector<Outcome> outcomes;
    while (outcomes.size() < n) {
      TaskRunner::Events events = Next();
      if (events.outcomes.empty() && !events.awaiting_release) {
        ADD_FAILURE() << "woken with nothing to do";
        break;
      }
      for (Outcome& o : events.outcomes) outcomes.push_back(std::move(o));
      if (events.awaiting_release) runner_->Release();
    }
    return outcomes;
  }

  PendingLogs logs_;
  spdlog::logger logger_;
  TaskRegistry registry_;
  std::atomic<int> bodies_run_{0};
  std::unique_ptr<TaskRunner> runner_;  // last: its thread uses the above
};

TEST_F(TaskRunnerTest, RunsTasksInOrderWithTheirLogContext) {
  MakeRunner();
  EXPECT_TRUE(runner_->idle());
  runner_->Submit({Assignment{4, 0, 1, "echo", {"a"}, std::nullopt},
                   Assignment{4, 1, 2, "fail", {"b"}, std::nullopt}});
  EXPECT_FALSE(runner_->idle());
  std::vector<Outcome> outcomes = RunAll(2);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].index, 0u);
  EXPECT_EQ(outcomes[0].value, "a");
  EXPECT_EQ(outcomes[1].index, 1u);
  EXPECT_EQ(outcomes[1].attempt, 2u);
  EXPECT_EQ(outcomes[1].error, "b");
  EXPECT_TRUE(runner_->idle());

  std::vector<std::string> messages;
  for (const LogRecord& r : logs_.TakeAll()) {
    EXPECT_EQ(r.job, std::optional<uint64_t>(4));
    messages.push_back(r.msg.substr(0, r.msg.find(' ')));
  }
  EXPECT_EQ(messages, (std::vector<std::string>{"running", "done", "running", "failed:"}));
}

TEST_F(TaskRunnerTest, BodyWaitsForReleaseAfterLoggingRunning) {
  MakeRunner();
  runner_->Submit({Assignment{1, 7, 1, "count", {}, std::nullopt}});
  TaskRunner::Events events = Next();
  ASSERT_TRUE(events.awaiting_release);
  EXPECT_TRUE(events.outcomes.empty());
  // The task thread is parked in the handshake: "running" is logged, the
  // body has not run, and it stays so until Release().
  std::vector<LogRecord> records = logs_.TakeAll();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].msg, "running");
  EXPECT_EQ(records[0].task, std::optional<uint32_t>(7));
  EXPECT_EQ(bodies_run_.load(), 0);
  EXPECT_FALSE(runner_->idle());

  runner_->Release();
  events = Next();
  ASSERT_EQ(events.outcomes.size(), 1u);
  EXPECT_EQ(events.outcomes[0].value, "counted");
  EXPECT_FALSE(events.awaiting_release);
  EXPECT_EQ(bodies_run_.load(), 1);
}

TEST_F(TaskRunnerTest, WithNothingPendingTheBodyStartsWithoutAHandshake) {
  logger_.set_level(spdlog::level::info);  // no "running" record
  MakeRunner();
  runner_->Submit({Assignment{1, 0, 1, "count", {}, std::nullopt}});
  TaskRunner::Events events = Next();
  while (events.outcomes.empty()) {
    EXPECT_FALSE(events.awaiting_release);
    events = Next();
  }
  EXPECT_EQ(bodies_run_, 1);
}

TEST_F(TaskRunnerTest, StrayReleaseDoesNotSkipTheNextHandshake) {
  MakeRunner();
  runner_->Release();  // nothing awaits release
  runner_->Submit({Assignment{1, 0, 1, "count", {}, std::nullopt}});
  ASSERT_TRUE(Next().awaiting_release);
  EXPECT_EQ(bodies_run_.load(), 0);
  runner_->Release();
  EXPECT_EQ(RunAll(1).size(), 1u);
}

TEST_F(TaskRunnerTest, DestroyingDropsQueuedAndUnreleasedTasks) {
  MakeRunner();
  runner_->Submit({Assignment{1, 0, 1, "count", {}, std::nullopt}, Assignment{1, 1, 1, "count", {}, std::nullopt}});
  ASSERT_TRUE(Next().awaiting_release);
  runner_.reset();  // joins a thread parked in the handshake
  EXPECT_EQ(bodies_run_.load(), 0);
}

TEST_F(TaskRunnerTest, CommandTaskReportsItsGroupThenItsEndWithTheJobsOptions) {
  MakeRunner();
  CommandOptions options;
  options.env = {"GREETING=hello from env"};
  runner_->Submit({Assignment{3, 1, 2, kCommandTaskName,
                              {"/bin/sh", "-c", "echo \"$GREETING\"; echo oops >&2; exit 4"},
                              options}});
  std::vector<CommandStarted> started;
  std::vector<Outcome> outcomes;
  while (outcomes.empty()) {
    TaskRunner::Events events = Next();
    if (events.started.empty() && events.outcomes.empty() && !events.awaiting_release) {
      ADD_FAILURE() << "woken with nothing to do";
      break;
    }
    started.insert(started.end(), events.started.begin(), events.started.end());
    for (Outcome& o : events.outcomes) outcomes.push_back(std::move(o));
    if (events.awaiting_release) runner_->Release();
  }
  ASSERT_EQ(started.size(), 1u);  // before the outcome, or with it
  EXPECT_EQ(started[0].job, 3u);
  EXPECT_EQ(started[0].index, 1u);
  EXPECT_EQ(started[0].attempt, 2u);
  EXPECT_GT(started[0].pgid, 1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].ok);
  EXPECT_EQ(outcomes[0].value, "hello from env\n");
  EXPECT_EQ(outcomes[0].error, "oops\n");
  ASSERT_TRUE(outcomes[0].command.has_value());
  EXPECT_EQ(outcomes[0].command->exit_code, 4);
}

TEST_F(TaskRunnerTest, ACommandThatCannotStartSaysWhyAndHasNoEnd) {
  MakeRunner();
  runner_->Submit({Assignment{3, 0, 1, kCommandTaskName, {"no-such-program-here"}, std::nullopt}});
  std::vector<Outcome> outcomes = RunAll(1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].ok);
  EXPECT_EQ(outcomes[0].error, "command not found: no-such-program-here");
  EXPECT_FALSE(outcomes[0].command.has_value());
}

TEST_F(TaskRunnerTest, HoldsCommandsWhileOneIsQueuedOrRunningOnly) {
  MakeRunner();
  EXPECT_FALSE(runner_->holds_commands());
  runner_->Submit({Assignment{1, 0, 1, "count", {}, std::nullopt}});
  EXPECT_FALSE(runner_->holds_commands()) << "a function's start needs no watching";
  RunAll(1);
  runner_->Submit({Assignment{2, 0, 1, kCommandTaskName, {"/bin/true"}, std::nullopt},
                   Assignment{3, 0, 1, kCommandTaskName, {"/bin/true"}, std::nullopt}});
  EXPECT_TRUE(runner_->holds_commands());
  const std::vector<DroppedTask> dropped = runner_->Forget(3);
  RunAll(2 - dropped.size());
  EXPECT_FALSE(runner_->holds_commands()) << dropped.size() << " dropped";
}

}  // namespace
}  // namespace jobd
