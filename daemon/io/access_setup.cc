#include "daemon/io/access_setup.h"

#include <unistd.h>

#include <fmt/format.h>

#include "daemon/io/key_accounts.h"
#include "daemon/io/system_identity.h"
#include "daemon/io/zap_handler.h"
#include "util/endpoints.h"

namespace jobd {
namespace {

bool IsSet(const std::string& value) { return !value.empty() && value != kOptionNone; }

}  // namespace

Result<mode_t> ParseSocketMode(const std::string& text) {
  std::string digits = text;
  if (digits.rfind("0o", 0) == 0) digits.erase(0, 2);
  if (digits.empty() || digits.size() > 4 ||
      digits.find_first_not_of("01234567") != std::string::npos) {
    return Status::InvalidArgument("'" + text + "' is not an octal mode like 0660");
  }
  const auto mode = static_cast<mode_t>(std::stoul(digits, nullptr, 8));
  if (mode > 0777) {
    return Status::InvalidArgument("'" + text + "': permission bits only (at most 0777)");
  }
  if ((mode & 0600) != 0600) {
    return Status::InvalidArgument(
        "'" + text + "': jobd's own user must keep read and write (06xx), or the next jobd "
        "could not tell that this one is running");
  }
  return mode;
}

void AccessSettings::ApplyTo(ServerConfig& config) const {
  config.socket_mode = socket_mode;
  config.access = access;
  config.curve = curve;
  config.authorized_keys = authorized_keys;
  config.authorized_keys_path = authorized_keys_path;
}

std::variant<AccessSettings, AccessError> LoadAccessSettings(const AccessFlags& flags) {
  AccessSettings config;
  std::vector<std::string>& warnings = config.warnings;
  Result<mode_t> mode = ParseSocketMode(flags.socket_mode);
  if (!mode.ok()) return AccessError{"--socket-mode", mode.status()};
  config.socket_mode = *mode;
  if ((*mode & 0006) != 0 && !IpcPath(flags.endpoint).empty()) {
    warnings.push_back(fmt::format(
        "--socket-mode {:04o}: every local user may connect (each sees only their own jobs)",
        *mode));
  }

  if (flags.endpoint.rfind("ipc://@", 0) == 0) {
    warnings.push_back(flags.endpoint + " is an abstract socket: no file, so no permissions; "
                       "every local user may connect (each sees only their own jobs)");
  }
  config.access.own_uid = static_cast<uint32_t>(::getuid());
  if (IsSet(flags.admin_group)) {
    Result<AdminGroup> group = ResolveAdminGroup(flags.admin_group);
    if (!group.ok()) return AccessError{"--admin-group", group.status()};
    config.access.admin_gid = group->gid;
    config.access.admin_uids = group->member_uids;
    for (const std::string& member : group->unknown_members) {
      warnings.push_back("--admin-group " + group->name + ": member '" + member +
                         "' is no known user; skipped");
    }
  }

  const bool secret = IsSet(flags.curve_secret_key);
  const bool authorized = IsSet(flags.curve_authorized_keys);
  if (!IsTcpEndpoint(flags.endpoint)) {
    if (secret || authorized) {
      warnings.push_back("--curve-secret-key and --curve-authorized-keys apply to a tcp:// "
                         "endpoint only; " + flags.endpoint + " does not use them");
    }
    return config;
  }
  if (!secret || !authorized) {
    return AccessError{
        "--socket",
        Status::InvalidArgument(
            "refusing plain-text TCP on " + flags.endpoint +
            ": a tcp:// endpoint needs CURVE, --curve-secret-key FILE (jobd's key pair, from "
            "jobctl keygen) and --curve-authorized-keys FILE (the clients' public keys)")};
  }
  Result<CurveKeyPair> keys = LoadCurveKeyPair(flags.curve_secret_key);
  if (!keys.ok()) return AccessError{"--curve-secret-key", keys.status()};
  Result<std::vector<AuthorizedKey>> clients = LoadAuthorizedKeys(flags.curve_authorized_keys);
  if (!clients.ok()) return AccessError{"--curve-authorized-keys", clients.status()};
  if (clients->empty()) {
    warnings.push_back(flags.curve_authorized_keys +
                       " lists no key yet: no client can connect until one is added (SIGHUP "
                       "reads it again)");
  }
  Result<KeyMapping> mapped =
      MapKeysToAccounts(std::move(*clients), flags.curve_authorized_keys, UnknownAccount::kRefuse);
  if (!mapped.ok()) return AccessError{"--curve-authorized-keys", mapped.status()};
  warnings.insert(warnings.end(), mapped->warnings.begin(), mapped->warnings.end());
  config.curve = std::move(*keys);
  config.authorized_keys = std::move(mapped->keys);
  config.authorized_keys_path = flags.curve_authorized_keys;
  return config;
}

}  // namespace jobd
