#include "daemon/io/system_identity.h"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <vector>

namespace jobd {
namespace {

constexpr size_t kMaxBuffer = 1 << 20;  // a group of many thousand members

// Runs `lookup(buffer, size, &result)` (a getgrnam_r-like call) with a
// buffer grown while it says ERANGE. Returns 0 or the error number.
template <typename Lookup>
int WithBuffer(std::vector<char>& buffer, Lookup lookup) {
  buffer.resize(4096);
  while (true) {
    const int rc = lookup(buffer.data(), buffer.size());
    if (rc != ERANGE || buffer.size() >= kMaxBuffer) return rc;
    buffer.resize(buffer.size() * 2);
  }
}

// Whether `text` is a number of type T, written in decimal digits only.
template <typename T>
bool ParseNumber(const std::string& text, T& value) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// getpwnam_r, or getpwuid_r when `uid` is given; `what` names it in errors.
Result<LocalAccount> LookUpPasswd(const std::string& name, std::optional<uid_t> uid,
                                  const std::string& what) {
  std::vector<char> buffer;
  passwd entry{};
  passwd* found = nullptr;
  const int rc = WithBuffer(buffer, [&](char* data, size_t size) {
    return uid ? getpwuid_r(*uid, &entry, data, size, &found)
               : getpwnam_r(name.c_str(), &entry, data, size, &found);
  });
  // Some NSS modules say "no such user" with an error number (getpwnam_r(3)).
  const bool missing = found == nullptr && (rc == 0 || rc == ENOENT || rc == ESRCH);
  if (rc != 0 && !missing) return SysError("look up account", what, rc);
  if (missing) return Status::NotFound("no local account " + what);
  return LocalAccount{entry.pw_name, entry.pw_uid, entry.pw_gid};
}

}  // namespace

Result<LocalAccount> LookUpAccount(const std::string& name_or_uid) {
  uid_t uid = 0;
  if (ParseNumber(name_or_uid, uid)) {
    return LookUpPasswd(name_or_uid, uid, "with uid " + name_or_uid);
  }
  return LookUpAccountByName(name_or_uid);
}

Result<LocalAccount> LookUpAccountByName(const std::string& name) {
  return LookUpPasswd(name, std::nullopt, "'" + name + "'");
}

Result<AdminGroup> ResolveAdminGroup(const std::string& name) {
  std::vector<char> buffer;
  group entry{};
  group* found = nullptr;
  gid_t gid = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), gid);
  const bool numeric = !name.empty() && ec == std::errc() && end == name.data() + name.size();
  const int rc = WithBuffer(buffer, [&](char* data, size_t size) {
    return numeric ? getgrgid_r(gid, &entry, data, size, &found)
                   : getgrnam_r(name.c_str(), &entry, data, size, &found);
  });
  if (rc != 0) return SysError("look up group", name, rc);
  if (found == nullptr && numeric) {
    // A gid the group database does not know (a container's, say) still
    // names the processes running with it; it just lists no members.
    AdminGroup unlisted;
    unlisted.name = name;
    unlisted.gid = gid;
    return unlisted;
  }
  if (found == nullptr) return Status::NotFound("no group '" + name + "'");

  AdminGroup admin;
  admin.name = entry.gr_name;
  admin.gid = entry.gr_gid;
  for (char** member = entry.gr_mem; member != nullptr && *member != nullptr; ++member) {
    std::vector<char> user_buffer;
    passwd user{};
    passwd* user_found = nullptr;
    const int user_rc = WithBuffer(user_buffer, [&](char* data, size_t size) {
      return getpwnam_r(*member, &user, data, size, &user_found);
    });
    if (user_rc != 0 || user_found == nullptr) {
      admin.unknown_members.emplace_back(*member);
      continue;
    }
    admin.member_uids.insert(user.pw_uid);
  }
  return admin;
}

}  // namespace jobd
