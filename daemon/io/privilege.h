// What the coordinator does with the right to act as other users: whether
// it has it, and signals sent with no more right than a given user has.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace jobd {

// True when the calling thread's effective set holds CAP_SETUID and
// CAP_SETGID (root's does), so workers can be started as their tasks' owner.
bool CanChangeIdentity();

// kill(target, sig) as `uid` would send it: a worker of user A that reports
// user B's process group cannot get it signalled. `target` is as kill(2)'s
// (negative: a process group). Returns 0 or the errno (EPERM: not `uid`'s to
// signal, or no right to act as `uid`; ESRCH: gone). Only the calling thread
// changes identity, for the call; if it cannot change back the process
// aborts rather than go on as the wrong user.
int SignalAs(uint32_t uid, pid_t target, int sig);

}  // namespace jobd
