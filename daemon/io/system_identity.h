// What access control needs from the system's user and group databases,
// looked up once at start, before the loop: NSS lookups may block (LDAP, a
// slow sssd), so the event loop never makes one.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "util/status.h"

namespace jobd {

struct AdminGroup {
  std::string name;
  uint32_t gid = 0;
  // The users the group lists as members (supplementary members), by uid.
  // Users whose primary group it is are recognised by their gid instead.
  std::set<uint32_t> member_uids;
  // Listed members that are no known user (skipped).
  std::vector<std::string> unknown_members;
};

// The group `name` and its members. A numeric gid the group database does
// not know is taken as it is (no members); an unknown name is an error.
Result<AdminGroup> ResolveAdminGroup(const std::string& name);

}  // namespace jobd
