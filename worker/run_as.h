// A worker becomes the user whose tasks it runs (`jobd-worker --user UID`),
// first thing in main(): before it loads plugins, starts a thread or
// connects, so that nothing of the task's owner runs with jobd's rights.
#pragma once

#include <cstdint>

#include "util/status.h"

namespace jobd {

// Makes this process `uid`, with that account's primary and supplementary
// groups and no capability left in any set (ambient included), and checks
// that it cannot come back; sets HOME, USER, LOGNAME and SHELL from the
// account and unsets systemd's variables, which were meant for jobd alone.
// The working directory stays. Needs CAP_SETUID and CAP_SETGID (root has
// them), unless `uid` is already the process's and it holds no capability:
// then nothing is done. A parent-death signal is armed again after the
// change, which the kernel forgets: the caller checks its parent is still
// there afterwards. Call it while the process has one thread (setenv).
// An error says why, and the process must not go on to run tasks.
Status BecomeUser(uint32_t uid);

}  // namespace jobd
