// Signals as readable events in the poll set (signalfd), so that no signal
// handler ever runs our code.
#pragma once

#include <signal.h>

#include <optional>

#include "util/status.h"
#include "util/unique_fd.h"

namespace jobd {

// The signals the coordinator handles through its loop. Block them in
// main() before any thread exists, so that every thread inherits the mask.
sigset_t CoordinatorSignals();
Status BlockSignals(const sigset_t& signals);

class SignalFd {
 public:
  static Result<SignalFd> Open(const sigset_t& signals);
  int fd() const { return fd_.get(); }
  // The next pending signal, or nullopt when none is pending.
  std::optional<int> Read();

 private:
  explicit SignalFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace jobd
