// Identity changes for forked test children (tests/unit/forked_child.h),
// made without jobd's code so that they can be the ground its code is
// tested on. Each returns "" or what failed. Header only; needs libcap.
#pragma once

#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace jobd {

inline constexpr uid_t kNobodyUid = 65534;
inline constexpr gid_t kNogroupGid = 65534;

inline std::string Failure(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// Root to `uid`:`gid` with no other group; the kernel clears the
// capabilities of a process that leaves uid 0.
inline std::string DropToUser(uid_t uid, gid_t gid) {
  if (setgroups(1, &gid) != 0) return Failure("setgroups");
  if (setresgid(gid, gid, gid) != 0) return Failure("setresgid");
  if (setresuid(uid, uid, uid) != 0) return Failure("setresuid");
  return "";
}

// Root to `uid`:`gid` still holding `caps` in every set, ambient included:
// what systemd's AmbientCapabilities= makes of jobd's service user.
inline std::string DropToUserKeeping(uid_t uid, gid_t gid, const std::vector<cap_value_t>& caps) {
  if (prctl(PR_SET_KEEPCAPS, 1) != 0) return Failure("PR_SET_KEEPCAPS");
  if (std::string dropped = DropToUser(uid, gid); !dropped.empty()) return dropped;
  if (prctl(PR_SET_KEEPCAPS, 0) != 0) return Failure("PR_SET_KEEPCAPS");
  cap_t state = cap_init();
  if (state == nullptr) return Failure("cap_init");
  const int count = static_cast<int>(caps.size());
  const bool set = cap_set_flag(state, CAP_PERMITTED, count, caps.data(), CAP_SET) == 0 &&
                   cap_set_flag(state, CAP_EFFECTIVE, count, caps.data(), CAP_SET) == 0 &&
                   cap_set_flag(state, CAP_INHERITABLE, count, caps.data(), CAP_SET) == 0 &&
                   cap_set_proc(state) == 0;
  cap_free(state);
  if (!set) return Failure("cap_set_proc");
  for (cap_value_t cap : caps) {
    if (cap_set_ambient(cap, CAP_SET) != 0) return Failure("cap_set_ambient");
  }
  return "";
}

}  // namespace jobd
