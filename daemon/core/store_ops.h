// What the supervisor asks the durable store to remember, as plain values.
// The store (daemon/store) applies them in order, many per transaction; the
// supervisor never waits for it, except to acknowledge a new job, which it
// does only once the job's JobCreated has been committed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "daemon/core/access.h"
#include "proto/messages.h"

namespace jobd {

class TaskSpecs;  // daemon/core/task_specs.h

// A task as stored. `finished` is set once it has its final result.
struct StoredTask {
  uint32_t index = 0;
  std::string name;  // empty: the job's default task
  std::vector<std::string> args;
  uint32_t attempts = 0;
  bool running = false;  // started and not finished: runs again after a restart
  struct Final {
    TaskStatus status = TaskStatus::kOk;
    std::string result;
    std::string error;
    int32_t pid = 0;
    uint64_t duration_us = 0;
    uint64_t seq = 0;  // position in the job's completion order
    std::optional<CommandEnd> command;  // for a command that started
  };
  std::optional<Final> finished;
};

struct StoredJob {
  JobId id = 0;
  std::string default_task;
  uint32_t retries = 0;
  uint64_t timeout_us = 0;
  int32_t priority = 0;
  bool retry_timeouts = false;
  int64_t submitted_unix_us = 0;
  std::optional<int64_t> finished_unix_us;
  std::optional<CommandOptions> command;  // for its command tasks
  std::vector<StoredTask> tasks;  // by index
  JobOwner owner;  // who submitted it; unknown for jobs stored before schema version 3
  // The local account its tasks run as; none for a key with no account, and
  // for jobs stored before schema version 5.
  std::optional<uint32_t> run_as;
};

// ---- the changes ------------------------------------------------------------

// A new job, all its tasks queued. The supervisor passes the tasks as the
// job's own TaskSpecs (immutable, so the store thread may read them while
// the job runs) and leaves job.tasks empty: a copy of a big job's tasks
// would cost as much memory as the job itself until committed. Without
// specs, job.tasks are stored as they are (tests, and tools that copy jobs).
struct JobCreated {
  explicit JobCreated(StoredJob stored) : job(std::move(stored)) {}
  JobCreated(StoredJob settings, std::shared_ptr<const TaskSpecs> task_specs)
      : job(std::move(settings)), specs(std::move(task_specs)) {}

  StoredJob job;
  std::shared_ptr<const TaskSpecs> specs;
};
// A task handed to a worker: attempt `attempt` has begun.
struct TaskStarted { JobId job = 0; uint32_t index = 0; uint32_t attempt = 0; };
// A started task put back in the queue (a retry, or a send that failed).
struct TaskRequeued { JobId job = 0; uint32_t index = 0; uint32_t attempts = 0; };
// A task's final result.
struct TaskFinished { JobId job = 0; uint32_t index = 0; uint32_t attempts = 0; StoredTask::Final final; };
// Every task of the job has finished.
struct JobFinished { JobId job = 0; int64_t finished_unix_us = 0; };

using StoreOp = std::variant<JobCreated, TaskStarted, TaskRequeued, TaskFinished, JobFinished>;

}  // namespace jobd
