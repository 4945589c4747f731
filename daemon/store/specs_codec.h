// A job's task specs (each task's own name and arguments) as one blob in the
// jobs row, so storing a new job writes one row however many tasks it has.
//
// Format, version 1; integers are 4-byte little-endian:
//   version byte (1)
//   task count
//   per task, by index: name length, name bytes ('' runs the job's default),
//                       argument count, then each argument as args_codec.h
//                       encodes it (length, bytes)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/store_ops.h"

namespace jobd {

class TaskSpecs;  // daemon/core/task_specs.h

inline constexpr char kSpecsFormatVersion = 1;

std::string EncodeSpecs(const TaskSpecs& specs);
// `tasks` must be by index: tasks[i].index == i. Only names and args are kept.
std::string EncodeSpecs(const std::vector<StoredTask>& tasks);

// The tasks, queued, by index; nullopt if the blob is not a whole specs blob
// of a known version.
std::optional<std::vector<StoredTask>> DecodeSpecs(std::string_view blob);

}  // namespace jobd
