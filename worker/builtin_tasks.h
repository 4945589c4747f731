// The tasks every worker has (DESIGN.md "Built-in tasks"). Each does real
// work that the optimizer cannot fold away.
#pragma once

#include <cstdint>

#include "worker/task_registry.h"

namespace jobd {

// The longest `spin` or `sleep` accepted, in milliseconds (24 h).
inline constexpr uint64_t kMaxTaskMillis = 24ull * 60 * 60 * 1000;

// The largest N for which sum_to_num's result, (N+10)(N+11)/2, fits in 64 bits.
uint64_t MaxSumToNumArgument();

// Registers, with kind kBuiltin:
//   sum_to_num N  the sum of 0..N+10 in decimal, computed by a real loop;
//                 N above MaxSumToNumArgument() is an error.
//   spin MS       burns MS ms of this process's CPU time
//                 (CLOCK_PROCESS_CPUTIME_ID); returns "".
//   sleep MS      blocks MS ms of wall time; returns "".
//   echo S...     its arguments joined by single spaces.
//   fail MSG...   fails with its arguments joined by spaces as the error
//                 ("failed on request" without arguments).
//   crash         kills the worker with SIGSEGV, even under sanitizers;
//                 arguments are ignored. Never returns.
// MS is a non-negative integer up to kMaxTaskMillis. Wrong arguments give a
// failed output such as "sum_to_num takes 1 argument (N), got 2".
// Call it once, on a registry without these names: a clash is a bug and aborts.
void RegisterBuiltinTasks(TaskRegistry& registry);

}  // namespace jobd
