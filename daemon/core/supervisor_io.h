// What the supervisor asks of the outside world. The real implementation
// (daemon/io) owns sockets and processes; tests record the calls instead.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/core/job.h"
#include "proto/messages.h"
#include "util/exit_status.h"
#include "util/status.h"

namespace jobd {

enum class Delivery {
  kSent,
  kWouldBlock,  // the client is slow: keep the data and try again later
  kGone,        // the client is not connected any more
};

class SupervisorIo {
 public:
  virtual ~SupervisorIo() = default;
  // Starts a worker process for `slot` that runs as `uid` (jobd's own, or
  // with per-user workers the tasks' owner's) and returns its pid.
  virtual Result<int32_t> SpawnWorker(uint32_t slot, uint32_t uid) = 0;
  // SIGKILLs a live worker running as `uid`; its exit is reported later
  // through OnWorkerExited.
  virtual void KillWorker(int32_t pid, uint32_t uid) = 0;
  // Sends `signal` to the process group of a command that a worker running
  // as `uid` started (pgid > 1), with no more right than `uid` has: a worker
  // that names another user's group cannot have it signalled. A group that
  // is gone is no error.
  virtual void SignalGroup(int32_t pgid, int signal, uint32_t uid) = 0;
  // False when the worker cannot be reached (it is dying).
  virtual bool SendToWorker(int32_t pid, const ToWorker& message) = 0;
  virtual Delivery SendToClient(const ClientId& client, const Reply& reply) = 0;
};


}  // namespace jobd
