// CURVE keys as jobd and jobctl keep them in files, in Z85 text (ZeroMQ's
// encoding of a 32-byte key in 40 characters). Parsing only: generating and
// checking keys needs libzmq and lives with its users.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace jobd {

inline constexpr size_t kZ85KeyLength = 40;

// 40 characters of the Z85 alphabet.
bool IsZ85Key(std::string_view text);

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
};

// The key pair file `jobctl keygen` writes (PREFIX.key, mode 0600), which
// jobd reads with --curve-secret-key and jobctl with --curve-key-file:
//   # comment lines
//   public-key = <Z85>
//   secret-key = <Z85>
std::string FormatKeyPairFile(const CurveKeyPair& keys);
// `path` names the file in errors.
Result<CurveKeyPair> ParseKeyPairFile(std::string_view text, const std::string& path);

// A public key given as an option value: the key itself, or a file holding
// it, either alone on a line (PREFIX.pub) or as a key pair file's public-key.
Result<std::string> ResolvePublicKey(const std::string& key_or_file);

// One line of jobd's --curve-authorized-keys file.
struct AuthorizedKey {
  std::string name;  // who owns the jobs submitted with the key
  std::string key;   // Z85
  // user=ACCOUNT as written (a user name, or a uid in digits); empty
  // without it. Looked up by jobd (daemon/io), not here.
  std::string account;
  size_t line = 0;  // its line in the file, for errors found later
};

// The authorized keys file: one key a line, "KEY" or "NAME KEY
// [user=ACCOUNT]"; blank lines and lines starting with # are skipped. NAME
// (letters, digits and . _ - @, up to 64) owns the jobs submitted with its
// key; several keys may share a name (one user, several machines); a key
// without a name is its own name. ACCOUNT (a user name: letters, digits and
// . _ - @ $, up to 256; or a uid, digits only) is the local account the
// key's tasks run as. A key listed twice, a field other than one user=, or
// a malformed line is an error naming the line.
Result<std::vector<AuthorizedKey>> ParseAuthorizedKeys(std::string_view text,
                                                       const std::string& path);

// A small text file, whole (keys files are never large: at most 1 MiB).
Result<std::string> ReadKeyFile(const std::string& path);

}  // namespace jobd
