#include "worker/command_task.h"

#include <string>
#include <utility>
#include <vector>


namespace jobd {

TaskOutput CommandOutput(CommandRun run) {
  return TaskOutput{run.ok(), std::move(run.out), std::move(run.err)};
}

void RegisterCommandTask(TaskRegistry& registry, uint64_t default_max_output) {
  TaskEntry entry;
  entry.name = kCommandTaskName;
  entry.kind = TaskKind::kCommand;
  entry.description =
      "run a command: exec PROGRAM ARG... (jobctl map --exec, jobctl run); stdout is the result";
  entry.command = [default_max_output](const std::vector<std::string>& argv,
                                       const CommandOptions& options,
                                       const std::function<void(int32_t)>& on_start) {
    return RunCommand(argv, options, default_max_output, on_start);
  };
  entry.function = [default_max_output](const std::vector<std::string>& argv) {
    return CommandOutput(RunCommand(argv, CommandOptions{}, default_max_output));
  };
  // The name is fixed and registered first: it cannot clash.
  (void)registry.Register(std::move(entry));
}

}  // namespace jobd
