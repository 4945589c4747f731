#include "daemon/io/signal_fd.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace jobd {

sigset_t CoordinatorSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&signals, sig);
  return signals;
}

Status BlockSignals(const sigset_t& signals) {
  const int rc = pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (rc != 0) return SysError("pthread_sigmask", "", rc);
  return Status::Ok();
}

Result<SignalFd> SignalFd::Open(const sigset_t& signals) {
  const int fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return SysError("signalfd", "", errno);
  return SignalFd(UniqueFd(fd));
}

std::optional<int> SignalFd::Read() {
  signalfd_siginfo info;
  while (true) {
    const ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) return static_cast<int>(info.ssi_signo);
    if (n < 0 && errno == EINTR) continue;
    return std::nullopt;  // EAGAIN: nothing pending
  }
}

}  // namespace jobd
