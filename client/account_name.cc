#include "client/account_name.h"

#include <errno.h>
#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace jobd {

std::optional<std::string> AccountName(uint32_t uid) {
  const long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(suggested > 0 ? static_cast<size_t>(suggested) : 1024);
  // Entries with long fields (an LDAP gecos) need more than the suggestion.
  constexpr size_t kMaxBuffer = size_t{1} << 20;
  while (true) {
    passwd entry{};
    passwd* found = nullptr;
    const int error = getpwuid_r(static_cast<uid_t>(uid), &entry, buffer.data(), buffer.size(),
                                 &found);
    if (error == ERANGE && buffer.size() < kMaxBuffer) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (error != 0 || found == nullptr || found->pw_name == nullptr) return std::nullopt;
    return std::string(found->pw_name);
  }
}

}  // namespace jobd
