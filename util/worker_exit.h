// Exit statuses of jobd-worker that the coordinator tells apart.
#pragma once

namespace jobd {

// The worker could not become the user it was started for (--user): no
// account, or jobd cannot change identity. Its user's tasks cannot run.
inline constexpr int kWorkerExitCannotRunAs = 5;

}  // namespace jobd
