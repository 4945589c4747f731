// The account name of a uid, for `jobctl workers` to say whose tasks a
// worker runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace jobd {

// The name getpwuid_r gives for `uid` (the passwd file, or NSS: LDAP, sssd),
// or nullopt when the uid has no account or the lookup fails.
std::optional<std::string> AccountName(uint32_t uid);

}  // namespace jobd
