// Who may see and change which job. Every client request comes with the
// identity the transport vouches for: on ipc the peer's uid, gid and pid
// (SO_PEERCRED, which ZeroMQ reports as the "Peer-Address"
// "localhost:<uid>:<gid>:<pid>"); on tcp the name the CURVE handshake gave
// the client's key. A job belongs to whoever submitted it; its owner, root,
// jobd's own user and the admin group may watch, read, cancel and list it.
//
// Plain logic, no syscalls: the io layer resolves the admin group once, at
// start, and hands the result in.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace jobd {

// Who a job belongs to. Exactly one of `uid` and `key` is set for a job
// submitted since jobd records owners; neither for an older one, which only
// privileged callers may see.
struct JobOwner {
  std::optional<uint32_t> uid;  // a local user (ipc)
  std::string key;              // a CURVE client: its name in --curve-authorized-keys

  bool known() const { return uid.has_value() || !key.empty(); }
  bool operator==(const JobOwner&) const = default;
};

// "uid 1000", "key alice", or "unknown".
std::string Describe(const JobOwner& owner);

// The sender of one request.
struct Caller {
  JobOwner id;              // what a job it submits belongs to
  bool privileged = false;  // root, jobd's own user or the admin group: every job
  // The local account its tasks run as: a local peer's own uid; for a CURVE
  // key, the account the authorised keys file maps it to. None: a key with
  // no account, which may run built-in tasks only, never code.
  std::optional<uint32_t> account;

  // jobd itself (in-process clients, tests): privileged, owner unknown.
  static Caller Internal() { return Caller{JobOwner{}, true, std::nullopt}; }
};

// A local peer's credentials, as the kernel gave them when it connected.
struct PeerCredentials {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int32_t pid = 0;
};

// Parses ZeroMQ's ipc "Peer-Address" metadata, "localhost:<uid>:<gid>:<pid>".
std::optional<PeerCredentials> ParsePeerAddress(std::string_view address);

struct AccessOptions {
  uint32_t own_uid = 0;  // jobd's user: privileged, like root
  // The admin group (--admin-group): a peer whose gid is this, or whose uid
  // is one of the group's listed members, is privileged.
  std::optional<uint32_t> admin_gid;
  std::set<uint32_t> admin_uids;
};

class AccessPolicy {
 public:
  explicit AccessPolicy(AccessOptions options) : options_(std::move(options)) {}

  // A local client (ipc).
  Caller LocalCaller(const PeerCredentials& peer) const;
  // A remote client authenticated by CURVE, by its key's name, and the
  // local account its tasks run as, if the key maps to one. Never
  // privileged: a key sees the jobs submitted with the same name only.
  static Caller KeyCaller(std::string name, std::optional<uint32_t> account = std::nullopt) {
    return Caller{JobOwner{std::nullopt, std::move(name)}, false, account};
  }

  const AccessOptions& options() const { return options_; }

 private:
  AccessOptions options_;
};

// Whether `caller` may see and change a job of `owner`: its own, or any
// when privileged. A job of unknown owner (stored by an older jobd) is for
// privileged callers only.
inline bool MayAccess(const Caller& caller, const JobOwner& owner) {
  return caller.privileged || (owner.known() && owner == caller.id);
}

}  // namespace jobd
