// jobd's access-control options (--socket-mode, --admin-group, --curve-*),
// checked and turned into ServerConfig fields at start, before the loop:
// group lookups (NSS) and key files are read here, once.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "daemon/io/server.h"
#include "util/status.h"

namespace jobd {

// "none" in a string option means "not set": the option's shown default, so
// that it can be written in a configuration file too.
inline constexpr const char* kOptionNone = "none";

struct AccessFlags {
  std::string endpoint;  // --socket
  std::string socket_mode = "0660";
  std::string admin_group = kOptionNone;
  std::string curve_secret_key = kOptionNone;
  std::string curve_authorized_keys = kOptionNone;
};

struct AccessError {
  std::string option;  // "--admin-group"
  Status status;
};

// What the options come to: the ServerConfig fields of the same names.
struct AccessSettings {
  mode_t socket_mode = 0660;
  AccessOptions access;
  std::optional<CurveKeyPair> curve;
  std::vector<MappedKey> authorized_keys;  // with the account each runs as
  std::string authorized_keys_path;
  // Worth a line in the log once there is one.
  std::vector<std::string> warnings;

  void ApplyTo(ServerConfig& config) const;
};

// Checks the options, resolves the admin group, reads the key files and
// looks up the account each authorised key runs as. On a bad value (a
// user= naming no account too), says which option (jobd then exits 2). A tcp:// endpoint
// without both CURVE options is such an error: plain-text TCP is refused.
std::variant<AccessSettings, AccessError> LoadAccessSettings(const AccessFlags& flags);

// An octal permission mode like 0660 (the owner must keep read and write).
Result<mode_t> ParseSocketMode(const std::string& text);

}  // namespace jobd
