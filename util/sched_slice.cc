#include "util/sched_slice.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace jobd {
namespace {

// sched_setattr(2)'s argument; glibc has no wrapper before 2.41.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;  // for SCHED_OTHER: the slice asked for, in ns
  uint64_t sched_deadline;
  uint64_t sched_period;
};

}  // namespace

Status SetSchedulerSlice(std::chrono::microseconds slice) {
  if (slice.count() < 0) return Status::InvalidArgument("scheduler slice: negative");
  SchedAttr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  attr.sched_policy = SCHED_OTHER;
  // The call sets nice too: keep this thread's.
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, 0);
  if (nice == -1 && errno != 0) return Status::Failed(std::string("getpriority: ") + std::strerror(errno));
  attr.sched_nice = nice;
  attr.sched_runtime = static_cast<uint64_t>(slice.count()) * 1000;
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
    return Status::Failed(std::string("sched_setattr: ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace jobd
