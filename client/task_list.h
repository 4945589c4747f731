// The tasks of `jobctl map|submit TASK [ARG...]`: the ARGs one at a time,
// N at a time (-n, like xargs -n), and the whole list N times over
// (--repeat). Kept apart from jobctl.cc so that tests need no daemon.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/messages.h"
#include "util/status.h"

namespace jobd {

// The most tasks jobctl builds for one job: jobd's default
// --max-tasks-per-job. Checked before the tasks are made, so that
// --repeat 10000000000 costs nothing; jobd still enforces its own limit.
inline constexpr uint64_t kMaxTasksPerJob = 1'000'000;

// Signed, so that -1 on the command line is refused rather than wrapped.
struct TaskShape {
  int64_t args_per_task = 1;  // -n: ARGs each task takes
  int64_t repeat = 1;         // --repeat: how many times over the list runs
};

// The tasks (of the job's default task) for `args`: one per `args_per_task`
// ARGs, in order, and that list `repeat` times over, so that task i takes
// the ARGs of group i mod (args / args_per_task). No ARG at all makes one
// task with no arguments (`jobctl map --repeat 3 crash`). Fails, before
// building anything, on a count of ARGs that is not a multiple of
// args_per_task, an -n or --repeat under 1, or more than kMaxTasksPerJob
// tasks.
Result<std::vector<TaskInput>> TasksFromArgs(const std::vector<std::string>& args,
                                             const TaskShape& shape);

// The checks of --repeat alone, for a list of `tasks` made another way
// (map --exec): ok when `tasks` times `repeat` is at most kMaxTasksPerJob.
Status CheckRepeat(uint64_t tasks, int64_t repeat);

// `tasks`, then the same again until there are `repeat` rounds.
void RepeatTasks(int64_t repeat, std::vector<TaskInput>& tasks);

}  // namespace jobd
