// The plugin loader: registers the tasks of shared libraries that follow the
// C ABI of include/jobd/task.h, and runs them with a bounded output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "jobd/task.h"
#include "util/status.h"
#include "worker/task_registry.h"

namespace jobd {

// The default of `jobd-worker --max-output`: 1 MiB.
inline constexpr uint64_t kDefaultMaxOutputBytes = uint64_t{1} << 20;

// Runs `run` on this thread with `args`, collecting what it appends. Fails
// with the task's first jobd_output_error message, or, when it appended more
// than `max_output` bytes in all, with
// "output of N bytes is over the limit of M" (the bytes past the limit are
// not kept).
TaskOutput RunPluginTask(jobd_task_fn run, const std::vector<std::string>& args,
                         uint64_t max_output);

// dlopen()s one library (RTLD_NOW | RTLD_LOCAL), checks its
// jobd_plugin_tasks table and registers every task in it with kind kPlugin
// and `file` = `path`, each bounded by `max_output`, and with runs_code set
// when the library exports a nonzero JOBD_PLUGIN_RUNS_CODE_SYMBOL (absent: 0). All or nothing: on any
// failure (dlopen error, no symbol, another ABI version, an invalid table, a
// name already registered or repeated) nothing is registered, the library is
// closed, and the Status (kInvalidArgument) names `path`, e.g.
// "/p/x.so: task 'echo' is already registered (built-in)". A loaded library
// stays loaded for the life of the process.
Status LoadPlugin(const std::string& path, uint64_t max_output, TaskRegistry& registry);

// Loads every `*.so` file of `dir` (made absolute), in name order, with
// LoadPlugin. Returns the load errors, one per library that was skipped (or
// one for an unreadable `dir`), each also logged at warn level; loaded
// libraries are logged at info level. An empty `dir` means no plugins.
std::vector<std::string> LoadPlugins(const std::string& dir, uint64_t max_output,
                                     TaskRegistry& registry, spdlog::logger& logger);

}  // namespace jobd
