// A process's resident set size, from /proc (memory, not disk: reading it
// does not block).
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace jobd {

// Bytes resident for `pid` (0: this process). 0 when it cannot be read.
uint64_t ResidentBytes(pid_t pid = 0);

}  // namespace jobd
