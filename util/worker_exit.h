// Exit statuses of jobd-worker that the coordinator tells apart. The rest
// are in worker/main.cc's header comment and worker/worker_loop.h.
#pragma once

namespace jobd {

// `--user UID` could not be carried out (no such account, no right to change
// identity, or a check after the change failed): the worker ran nothing.
inline constexpr int kWorkerExitCannotRunAs = 5;

}  // namespace jobd
