// The time slice the kernel's scheduler gives this thread: a short one lets
// the coordinator, woken by a client, take a core from a CPU-bound worker at
// once instead of when the worker's slice ends (EEVDF, Linux 6.12 and later;
// older kernels ignore the request).
#pragma once

#include <chrono>

#include "util/status.h"

namespace jobd {

// Requests `slice` for the calling thread and for the threads it creates
// from then on (they inherit it, as do processes it starts, across exec).
// Zero asks for the kernel's default.
Status SetSchedulerSlice(std::chrono::microseconds slice);

}  // namespace jobd
