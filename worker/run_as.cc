#include "worker/run_as.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace jobd {
namespace {

constexpr size_t kMaxPasswdBuffer = 1 << 20;

// Variables the service manager gives jobd: a worker that kept them could
// speak to systemd in jobd's name or take descriptors meant for it.
constexpr const char* kServiceManagerVariables[] = {
    "NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"};

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
  std::vector<gid_t> groups;  // supplementary, the primary one included
};

struct CapFree {
  void operator()(void* caps) const { cap_free(caps); }
};
using CapState = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

std::string Decimal(uint32_t value) { return std::to_string(value); }

Result<Account> LookUpAccount(uid_t uid) {
  std::vector<char> buffer(4096);
  passwd entry{};
  passwd* found = nullptr;
  int rc = 0;
  while ((rc = getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found)) == ERANGE &&
         buffer.size() < kMaxPasswdBuffer) {
    buffer.resize(buffer.size() * 2);
  }
  // Some NSS modules say "not found" with an error number instead of 0.
  if ((rc == 0 || rc == ENOENT || rc == ESRCH) && found == nullptr) {
    return Status::NotFound("no account for uid " + Decimal(uid) + " on this machine");
  }
  if (rc != 0) return SysError("look up uid", Decimal(uid), rc);

  Account account;
  account.name = entry.pw_name;
  account.uid = entry.pw_uid;
  account.gid = entry.pw_gid;
  account.home = entry.pw_dir != nullptr ? entry.pw_dir : "";
  // passwd(5): an empty shell field means /bin/sh.
  account.shell = entry.pw_shell != nullptr && *entry.pw_shell != '\0' ? entry.pw_shell : "/bin/sh";

  std::vector<gid_t> groups(64);
  while (true) {
    int count = static_cast<int>(groups.size());
    if (getgrouplist(account.name.c_str(), account.gid, groups.data(), &count) != -1) {
      groups.resize(static_cast<size_t>(count));
      break;
    }
    // -1: the list was too short; count says how long it must be.
    const size_t needed = std::max(static_cast<size_t>(count), groups.size() * 2);
    if (needed > NGROUPS_MAX) {
      return Status::Failed("user " + account.name + " is in more than " +
                            Decimal(NGROUPS_MAX) + " groups");
    }
    groups.resize(needed);
  }
  account.groups = std::move(groups);
  return account;
}

bool InEffectiveSet(cap_t caps, cap_value_t cap) {
  cap_flag_value_t value = CAP_CLEAR;
  return cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
}

bool MayChangeIdentity() {
  CapState caps(cap_get_proc());
  return caps != nullptr && InEffectiveSet(caps.get(), CAP_SETUID) &&
         InEffectiveSet(caps.get(), CAP_SETGID);
}

// Permitted, effective and inheritable empty, and no ambient capability.
bool HoldsNoCapability() {
  CapState now(cap_get_proc());
  CapState none(cap_init());
  if (now == nullptr || none == nullptr || cap_compare(now.get(), none.get()) != 0) return false;
  const auto known = static_cast<cap_value_t>(cap_max_bits());
  for (cap_value_t cap = 0; cap < known; ++cap) {
    // -1 (cannot tell) counts as held: this is a check that fails closed.
    if (cap_get_ambient(cap) != 0) return false;
  }
  return true;
}

bool RunsAsOnly(uid_t uid) {
  uid_t real = 0, effective = 0, saved = 0;
  return getresuid(&real, &effective, &saved) == 0 && real == uid && effective == uid &&
         saved == uid;
}

// A process that held CAP_SETUID as another non-root user keeps every
// capability across setresuid: they go only when cleared.
Status DropAllCapabilities() {
  if (cap_reset_ambient() != 0) return SysError("clear", "the ambient capabilities", errno);
  CapState none(cap_init());
  if (none == nullptr || cap_set_proc(none.get()) != 0) {
    return SysError("clear", "the capability sets", errno);
  }
  return Status::Ok();
}

Status ChangeIdentity(const Account& account) {
  if (setgroups(account.groups.size(), account.groups.data()) != 0) {
    return SysError("setgroups", "for " + account.name, errno);
  }
  if (setresgid(account.gid, account.gid, account.gid) != 0) {
    return SysError("setresgid", Decimal(account.gid), errno);
  }
  if (setresuid(account.uid, account.uid, account.uid) != 0) {
    return SysError("setresuid", Decimal(account.uid), errno);
  }
  return DropAllCapabilities();
}

// Whether `attempt` (a setresuid or setresgid back) is refused as it must be.
bool RefusedAsUnprivileged(int attempt) { return attempt == -1 && errno == EPERM; }

// The change is trusted only once it is seen from the inside.
Status VerifyIdentity(const Account& account, uid_t old_uid) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (getresuid(&ruid, &euid, &suid) != 0 || ruid != account.uid || euid != account.uid ||
      suid != account.uid) {
    return Status::Failed("the uids are " + Decimal(ruid) + "/" + Decimal(euid) + "/" +
                          Decimal(suid) + " after the change");
  }
  if (getresgid(&rgid, &egid, &sgid) != 0 || rgid != account.gid || egid != account.gid ||
      sgid != account.gid) {
    return Status::Failed("the gids are " + Decimal(rgid) + "/" + Decimal(egid) + "/" +
                          Decimal(sgid) + " after the change");
  }
  const int count = getgroups(0, nullptr);
  std::vector<gid_t> groups(count > 0 ? static_cast<size_t>(count) : 0);
  if (count < 0 || getgroups(count, groups.data()) != count) {
    return SysError("getgroups", "", errno);
  }
  std::vector<gid_t> wanted = account.groups;
  std::sort(groups.begin(), groups.end());  // the kernel keeps them sorted; sort anyway
  std::sort(wanted.begin(), wanted.end());
  if (groups != wanted) return Status::Failed("the supplementary groups differ after the change");
  if (!HoldsNoCapability()) return Status::Failed("capabilities remain after the change");
  if (account.uid != 0 && !RefusedAsUnprivileged(setresuid(0, 0, 0))) {
    return Status::Failed("the process could become root again");
  }
  if (old_uid != account.uid && old_uid != 0 &&
      !RefusedAsUnprivileged(setresuid(old_uid, old_uid, old_uid))) {
    return Status::Failed("the process could become uid " + Decimal(old_uid) + " again");
  }
  if (account.gid != 0 && !RefusedAsUnprivileged(setresgid(0, 0, 0))) {
    return Status::Failed("the process could take gid 0 again");
  }
  return Status::Ok();
}

Status SetUserEnvironment(const Account& account) {
  const std::pair<const char*, const std::string*> values[] = {
      {"HOME", &account.home},
      {"USER", &account.name},
      {"LOGNAME", &account.name},
      {"SHELL", &account.shell}};
  for (const auto& [name, value] : values) {
    if (setenv(name, value->c_str(), 1) != 0) return SysError("setenv", name, errno);
  }
  for (const char* name : kServiceManagerVariables) {
    if (unsetenv(name) != 0) return SysError("unsetenv", name, errno);
  }
  return Status::Ok();
}

}  // namespace

Status BecomeUser(uint32_t uid) {
  // Already this user with nothing to give up (an unprivileged jobd's own).
  if (RunsAsOnly(uid) && HoldsNoCapability()) return Status::Ok();
  if (!MayChangeIdentity()) {
    return Status::PermissionDenied("changing identity needs CAP_SETUID and CAP_SETGID, which "
                                    "this process (uid " + Decimal(geteuid()) + ") lacks");
  }
  Result<Account> account = LookUpAccount(uid);
  if (!account.ok()) return account.status();

  const uid_t old_uid = geteuid();
  int parent_death_signal = 0;
  if (prctl(PR_GET_PDEATHSIG, &parent_death_signal) != 0) {
    return SysError("prctl", "PR_GET_PDEATHSIG", errno);
  }
  if (Status changed = ChangeIdentity(*account); !changed.ok()) return changed;
  // The kernel clears it on every change of credentials.
  if (parent_death_signal != 0 && prctl(PR_SET_PDEATHSIG, parent_death_signal) != 0) {
    return SysError("prctl", "PR_SET_PDEATHSIG", errno);
  }
  if (Status verified = VerifyIdentity(*account, old_uid); !verified.ok()) return verified;
  return SetUserEnvironment(*account);
}

}  // namespace jobd
