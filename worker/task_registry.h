// TaskRegistry: the tasks a worker can run, by name: the built-in tasks,
// those of plugins (worker/plugin_loader.h) and the command task "exec"
// (worker/command_task.h).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.h"
#include "util/status.h"
#include "worker/command_runner.h"

namespace jobd {

// What one run of a task produced: a value, or an error meant for the user.
struct TaskOutput {
  bool ok = false;
  std::string value;  // when ok
  std::string error;  // when not

  static TaskOutput Success(std::string value) { return {true, std::move(value), ""}; }
  static TaskOutput Failure(std::string error) { return {false, "", std::move(error)}; }
};

using TaskFunction = std::function<TaskOutput(const std::vector<std::string>& args)>;

// Where a task comes from.
enum class TaskKind { kBuiltin, kPlugin, kCommand };

// "built-in", "plugin", "exec"
std::string_view TaskKindName(TaskKind kind);

struct TaskEntry {
  std::string name;
  TaskKind kind = TaskKind::kBuiltin;
  std::string description;  // one line, for `jobctl tasks`
  TaskFunction function;
  std::string file;  // the shared library of a plugin task; empty for built-ins
  // For kCommand: runs argv with the job's options, calling on_start with the
  // command's process group (RunCommand). `function` runs with default options.
  std::function<CommandRun(const std::vector<std::string>& argv, const CommandOptions& options,
                           const std::function<void(int32_t pgid)>& on_start)>
      command;
  // A plugin task that runs code its caller gives (an interpreter's; the
  // plugin exports JOBD_PLUGIN_RUNS_CODE_SYMBOL): a code task, refused like
  // a command to callers who may not run code. Commands are code tasks by
  // their kind and leave this false.
  bool runs_code = false;
};

// Not thread safe; fill it at start-up, then only read it.
class TaskRegistry {
 public:
  TaskRegistry() = default;
  TaskRegistry(const TaskRegistry&) = delete;
  TaskRegistry& operator=(const TaskRegistry&) = delete;

  // Fails with kInvalidArgument, changing nothing, when the name is empty,
  // already taken, or the entry has no function.
  Status Register(TaskEntry entry);

  // nullptr when there is no task of that name.
  const TaskEntry* Find(std::string_view name) const;

  // Runs the task on this thread. An unknown name, or an exception escaping
  // the task, becomes a failed output, e.g.
  // "unknown task 'x' (known: crash, echo, fail, sleep, spin, sum_to_num)".
  TaskOutput Run(std::string_view name, const std::vector<std::string>& args) const;

  // Every entry, sorted by name. The pointers live as long as the registry.
  std::vector<const TaskEntry*> List() const;

 private:
  std::map<std::string, TaskEntry, std::less<>> entries_;
};

}  // namespace jobd
