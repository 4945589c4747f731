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

// A local user account, as the user database (passwd, NSS) has it.
struct LocalAccount {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;  // its primary group
};

// The account named `name_or_uid`, or, when it is all digits, the account
// with that uid. NotFound when the database has no such account (a uid it
// does not list is not taken as it is: a task needs the account's group).
Result<LocalAccount> LookUpAccount(const std::string& name_or_uid);
// The account of this name only, even when `name` is all digits.
Result<LocalAccount> LookUpAccountByName(const std::string& name);

// The group `name` and its members. A numeric gid the group database does
// not know is taken as it is (no members); an unknown name is an error.
Result<AdminGroup> ResolveAdminGroup(const std::string& name);

}  // namespace jobd
