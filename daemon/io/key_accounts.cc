#include "daemon/io/key_accounts.h"

#include <fmt/format.h>

namespace jobd {

Result<KeyMapping> MapKeysToAccounts(std::vector<AuthorizedKey> keys, const std::string& path,
                                     UnknownAccount unknown) {
  KeyMapping mapping;
  mapping.keys.reserve(keys.size());
  for (AuthorizedKey& key : keys) {
    MappedKey mapped;
    const std::string at = fmt::format("{}:{}: ", path, key.line);
    if (!key.account.empty()) {
      Result<LocalAccount> account = LookUpAccount(key.account);
      if (account.ok()) {
        mapped.account = std::move(*account);
      } else if (unknown == UnknownAccount::kRefuse) {
        return Status::InvalidArgument(at + "user=" + key.account + ": " +
                                       account.status().message());
      } else {
        mapping.warnings.push_back(
            fmt::format("{}user={}: {}; key '{}' has no account until it does (built-in tasks "
                        "only)",
                        at, key.account, account.status().message(), key.name));
      }
    } else if (key.name != key.key) {  // a key without a name has no account of its name
      Result<LocalAccount> account = LookUpAccountByName(key.name);
      if (account.ok() && account->uid == 0) {
        // A remote key runs as root only when the file says so (user=root),
        // never because someone named it so.
        mapping.warnings.push_back(fmt::format(
            "{}key '{}' is named after root's account but gets no account: write user=root "
            "to mean it",
            at, key.name));
      } else if (account.ok()) {
        mapped.account = std::move(*account);
      } else if (account.status().code() != StatusCode::kNotFound) {
        // The database failed to answer: no account rather than a guess.
        mapping.warnings.push_back(
            fmt::format("{}key '{}': {}; it has no account (built-in tasks only)", at, key.name,
                        account.status().message()));
      }
    }
    mapped.key = std::move(key);
    mapping.keys.push_back(std::move(mapped));
  }
  return mapping;
}

std::string DescribeAccount(const MappedKey& key) {
  if (!key.account) return "no account: built-in tasks only";
  return fmt::format("runs as {} (uid {})", key.account->name, key.account->uid);
}

}  // namespace jobd
