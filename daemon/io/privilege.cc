#include "daemon/io/privilege.h"

#include <signal.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <type_traits>

namespace jobd {
namespace {

struct CapFree {
  void operator()(void* caps) const { cap_free(caps); }
};
using CapState = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

bool InEffectiveSet(cap_t caps, cap_value_t cap) {
  cap_flag_value_t value = CAP_CLEAR;
  return cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
}

// The raw syscall changes the calling thread only; glibc's setresuid would
// change every thread of the process (the coordinator has ZeroMQ's and the
// loggers'). The saved uid stays, which keeps the way back open.
int SetThreadUids(uid_t real, uid_t effective) {
  return syscall(SYS_setresuid, real, effective, static_cast<uid_t>(-1)) == 0 ? 0 : errno;
}

[[noreturn]] void Fatal(const char* what, int err) {
  std::fprintf(stderr, "jobd: %s (errno %d): this thread would go on with the wrong rights\n",
               what, err);
  std::abort();
}

}  // namespace

bool CanChangeIdentity() {
  CapState caps(cap_get_proc());
  return caps != nullptr && InEffectiveSet(caps.get(), CAP_SETUID) &&
         InEffectiveSet(caps.get(), CAP_SETGID);
}

int SignalAs(uint32_t uid, pid_t target, int sig) {
  if (uid == geteuid()) return ::kill(target, sig) == 0 ? 0 : errno;

  uid_t real = 0, effective = 0, saved = 0;
  if (getresuid(&real, &effective, &saved) != 0) return errno;
  CapState before(cap_get_proc());
  if (before == nullptr) return errno;
  // A non-root thread keeps its capabilities across the switch, and root's
  // with SECBIT_NO_SETUID_FIXUP: CAP_KILL would override the uid check.
  if (InEffectiveSet(before.get(), CAP_KILL)) {
    CapState lowered(cap_dup(before.get()));
    const cap_value_t kill_cap = CAP_KILL;
    if (lowered == nullptr ||
        cap_set_flag(lowered.get(), CAP_EFFECTIVE, 1, &kill_cap, CAP_CLEAR) != 0 ||
        cap_set_proc(lowered.get()) != 0) {
      return errno;
    }
  }
  // The real uid too: kill(2) lets a sender whose real uid matches the
  // target's, so root's would still reach every root-owned process.
  const int switched = SetThreadUids(uid, uid);
  const int result = switched != 0 ? switched : (::kill(target, sig) == 0 ? 0 : errno);
  if (switched == 0 && SetThreadUids(real, effective) != 0) {
    Fatal("cannot switch the thread's uid back after a signal", errno);
  }
  // Root's effective set comes back whole with the uid; make it what it was.
  if (cap_set_proc(before.get()) != 0) Fatal("cannot restore the thread's capabilities", errno);
  return result;
}

}  // namespace jobd
