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
// its stdout. The error is stderr's tail; when that is empty and the command
// failed, how it ended ("exited with code 3", "killed by SIGKILL") or why it
// never started.
TaskOutput CommandOutput(CommandRun run);

}  // namespace jobd
