// What the supervisor asks of the outside world. The real implementation
// (daemon/io) owns sockets and processes; tests record the calls instead.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/core/job.h"
#include "proto/messages.h"
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
  // Starts a worker process for `slot` and returns its pid.
  virtual Result<int32_t> SpawnWorker(uint32_t slot) = 0;
  // SIGKILLs a live worker; its exit is reported later through OnWorkerExited.
  virtual void KillWorker(int32_t pid) = 0;
  // False when the worker cannot be reached (it is dying).
  virtual bool SendToWorker(int32_t pid, const ToWorker& message) = 0;
  virtual Delivery SendToClient(const ClientId& client, const Reply& reply) = 0;
};

// How a child process ended, as waitpid reports it.
struct ExitStatus {
  bool signaled = false;
  int value = 0;  // the signal number, or the exit code

  // "killed by SIGSEGV", "exited with code 3"
  std::string Describe() const;
};

}  // namespace jobd
