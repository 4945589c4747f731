// TaskRunner: the worker's task thread. The loop thread hands it assignments
// and takes outcomes back, so that the loop (which owns the socket) keeps
// heartbeating while a task runs for minutes or hangs in a syscall.
//
// Each task starts with a handshake when log records are pending: the task
// thread logs "running", then waits until the loop has sent the pending
// records and calls Release(). So a record logged before a task that then
// kills the process has left the worker before the task body starts. With
// nothing pending (the usual case at info level) the body starts at once:
// the handshake costs two thread switches a task, half the throughput of
// no-op tasks.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "proto/messages.h"
#include "util/status.h"
#include "util/unique_fd.h"
#include "worker/pending_logs.h"
#include "worker/task_registry.h"

namespace jobd {

class TaskRunner {
 public:
  // What the task thread has to say since the last TakeEvents().
  struct Events {
    std::vector<CommandStarted> started;  // commands started, before their outcomes
    std::vector<Outcome> outcomes;  // in completion (= submission) order
    bool awaiting_release = false;  // a task logged "running"; see Release()
  };

  // Starts the task thread. Fails (errno as Status) when no eventfd can be
  // made. `registry`, `logger` and `pending` (the records not yet sent) must
  // outlive the runner.
  static Result<std::unique_ptr<TaskRunner>> Start(const TaskRegistry& registry,
                                                   spdlog::logger& logger,
                                                   const PendingLogs& pending);
  // Stops the thread: queued tasks are dropped, but a task body in progress
  // cannot be interrupted, so this waits for it to return. A process that
  // must end promptly exits without destroying its runner.
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Readable (level-triggered) whenever TakeEvents() has a new outcome or a
  // task awaits release. A command's start alone does not make it readable
  // (most commands end soon, and their start is then not worth a wake-up):
  // a caller that wants starts looks now and then while tasks run.
  int fd() const { return event_fd_.get(); }

  // The rest is for the loop thread only.

  // Queues tasks to run after those already queued, in order.
  void Submit(std::vector<Assignment> tasks);
  // Takes the queued tasks of `job` out, unrun, and returns them. A task of
  // the job that has begun (or awaits release) is not queued any more: it
  // runs on.
  std::vector<DroppedTask> Forget(JobId job);
  // Clears fd() and returns what happened since the last call.
  Events TakeEvents();
  // Lets the task that is awaiting release run its body; does nothing when
  // no task awaits release.
  void Release();
  // True when the runner holds nothing: no task queued or running and no
  // outcome left to take.
  bool idle() const;
  // True while a command task is queued or running: its start is not
  // signalled on fd() (see TaskEvents.started), so the loop looks for it.
  bool holds_commands() const;

 private:
  TaskRunner(const TaskRegistry& registry, spdlog::logger& logger, const PendingLogs& pending,
             UniqueFd event_fd);
  void ThreadMain();
  Outcome RunBody(const Assignment& task);
  // A command task: RunCommand, reporting the process group once started.
  TaskOutput RunCommandBody(const TaskEntry& entry, const Assignment& task,
                            std::optional<CommandEnd>& end);
  void Notify();  // wakes the loop through event_fd_

  // Constant after construction.
  const TaskRegistry& registry_;
  spdlog::logger& logger_;
  const PendingLogs& pending_;
  // An eventfd rather than an inproc PAIR: zmq::poll takes it as a raw fd,
  // the task thread needs no zmq socket of its own, and the data (structs)
  // stays behind the mutex instead of being encoded for a pipe.
  const UniqueFd event_fd_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;        // task thread waits on it
  std::deque<Assignment> queue_;        // guarded by mutex_
  std::vector<CommandStarted> started_;  // guarded by mutex_
  std::vector<Outcome> outcomes_;       // guarded by mutex_
  size_t commands_held_ = 0;            // guarded by mutex_: queued or running
  bool in_flight_ = false;              // guarded: popped, outcome not yet pushed
  bool awaiting_release_ = false;       // guarded
  bool released_ = false;               // guarded
  bool stop_ = false;                   // guarded

  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace jobd
