// The command task "exec": its args are a program and its arguments, run by
// RunCommand (worker/command_runner.h) with the job's CommandOptions.
#pragma once

#include <cstdint>

#include "worker/command_runner.h"
#include "worker/task_registry.h"

namespace jobd {

// Registers "exec" (kind kCommand). `default_max_output` bounds stdout and
// stderr's tail when a job sets no bound of its own.
void RegisterCommandTask(TaskRegistry& registry, uint64_t default_max_output);

// A command's run as a task's output: ok when it exited with 0; the value is
// its stdout and the error its stderr's tail, as they are (how it ended
// travels apart, in its CommandEnd), or why it never started.
TaskOutput CommandOutput(CommandRun run);

}  // namespace jobd
