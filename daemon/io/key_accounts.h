// Which local account each authorised CURVE key's tasks run as. The lookups
// go to the user database (NSS, which may block): at start, and on the ZAP
// handler's thread on reload, never on the event loop.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "daemon/io/system_identity.h"
#include "util/curve_keys.h"
#include "util/status.h"

namespace jobd {

// An authorised key and the account its tasks run as.
struct MappedKey {
  AuthorizedKey key;
  // None: the key may run built-in tasks only, never code.
  std::optional<LocalAccount> account;
};

// What to do with a user=ACCOUNT that names no account.
enum class UnknownAccount {
  kRefuse,     // at start: an error, jobd does not start
  kNoAccount,  // on reload: a warning; the key keeps working, with no account
};

struct KeyMapping {
  std::vector<MappedKey> keys;
  std::vector<std::string> warnings;  // for the log
};

// Each key's account: its user=ACCOUNT; without one, the local account of
// the key's name, if there is one; else none. `path` (the keys file) names
// the line in errors and warnings.
Result<KeyMapping> MapKeysToAccounts(std::vector<AuthorizedKey> keys, const std::string& path,
                                     UnknownAccount unknown);

// "runs as alice (uid 1000)", or "no account: built-in tasks only".
std::string DescribeAccount(const MappedKey& key);

}  // namespace jobd
