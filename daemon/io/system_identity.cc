#include "daemon/io/system_identity.h"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <charconv>
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

}  // namespace

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
