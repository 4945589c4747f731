#include "worker/task_runner.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <utility>

#include "util/log_context.h"
#include "worker/command_task.h"

namespace jobd {

Result<std::unique_ptr<TaskRunner>> TaskRunner::Start(const TaskRegistry& registry,
                                                      spdlog::logger& logger,
                                                      const PendingLogs& pending) {
  UniqueFd event_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event_fd.valid()) return SysError("eventfd", "task runner", errno);
  return std::unique_ptr<TaskRunner>(
      new TaskRunner(registry, logger, pending, std::move(event_fd)));
}

TaskRunner::TaskRunner(const TaskRegistry& registry, spdlog::logger& logger,
                       const PendingLogs& pending, UniqueFd event_fd)
    : registry_(registry), logger_(logger), pending_(pending), event_fd_(std::move(event_fd)) {
  thread_ = std::thread([this] { ThreadMain(); });
}

TaskRunner::~TaskRunner() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TaskRunner::Submit(std::vector<Assignment> tasks) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Assignment& task : tasks) {
      if (task.name == kCommandTaskName) ++commands_held_;
      queue_.push_back(std::move(task));
    }
  }
  wake_.notify_all();
}

std::vector<DroppedTask> TaskRunner::Forget(JobId job) {
  std::vector<DroppedTask> dropped;
  std::lock_guard<std::mutex> lock(mutex_);
  std::erase_if(queue_, [&](const Assignment& task) {
    if (task.job != job) return false;
    if (task.name == kCommandTaskName) --commands_held_;
    dropped.push_back(DroppedTask{task.job, task.index, task.attempt});
    return true;
  });
  return dropped;
}

TaskRunner::Events TaskRunner::TakeEvents() {
  // Clear the eventfd before looking, so that news arriving meanwhile leaves
  // it readable for the next poll instead of being lost.
  uint64_t count = 0;
  while (read(event_fd_.get(), &count, sizeof count) < 0 && errno == EINTR) {
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return Events{std::exchange(started_, {}), std::exchange(outcomes_, {}), awaiting_release_};
}

void TaskRunner::Release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Only a waiting task is released: a stray call must not let the next
    // task skip its handshake.
    if (!awaiting_release_) return;
    awaiting_release_ = false;
    released_ = true;
  }
  wake_.notify_all();
}

bool TaskRunner::idle() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.empty() && !in_flight_ && outcomes_.empty();
}

bool TaskRunner::holds_commands() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return commands_held_ != 0;
}

void TaskRunner::Notify() {
  const uint64_t one = 1;
  // Cannot fail short of overflowing a 64-bit counter.
  while (write(event_fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void TaskRunner::ThreadMain() {
  while (true) {
    Assignment task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      in_flight_ = true;  // with the pop, so that idle() never sees neither
    }
    // The context is thread_local: set here, on the thread that logs.
    ScopedLogContext context(task.job, task.index);
    logger_.debug("running");
    if (!pending_.empty()) {
      std::unique_lock<std::mutex> lock(mutex_);
      awaiting_release_ = true;
      Notify();
      wake_.wait(lock, [this] { return stop_ || released_; });
      released_ = false;
      if (stop_) return;
    }
    Outcome outcome = RunBody(task);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      outcomes_.push_back(std::move(outcome));
      in_flight_ = false;
      if (task.name == kCommandTaskName) --commands_held_;
      Notify();
    }
  }
}

Outcome TaskRunner::RunBody(const Assignment& task) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<CommandEnd> command_end;
  const TaskEntry* entry = registry_.Find(task.name);
  TaskOutput output = entry != nullptr && entry->command
                          ? RunCommandBody(*entry, task, command_end)
                          : registry_.Run(task.name, task.args);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);

  if (output.ok) {
    logger_.debug("done in {:.3f} ms", static_cast<double>(micros.count()) / 1000.0);
  } else {
    logger_.debug("failed: {}", output.error);
  }
  return Outcome{task.job,
                 task.index,
                 task.attempt,
                 output.ok,
                 std::move(output.value),
                 std::move(output.error),
                 static_cast<uint64_t>(micros.count()),
                 std::move(command_end)};
}

TaskOutput TaskRunner::RunCommandBody(const TaskEntry& entry, const Assignment& task,
                                      std::optional<CommandEnd>& end) {
  const auto on_start = [&](int32_t pgid) {
    logger_.debug("command started, process group {}", pgid);
    std::lock_guard<std::mutex> lock(mutex_);
    started_.push_back(CommandStarted{task.job, task.index, task.attempt, pgid});
  };
  CommandRun run = entry.command(task.args, task.command.value_or(CommandOptions{}), on_start);
  if (run.started) end = run.end;
  return CommandOutput(std::move(run));
}

}  // namespace jobd
