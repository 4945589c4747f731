#include "daemon/core/access.h"

#include <charconv>

namespace jobd {
namespace {

template <typename T>
std::optional<T> ParseNumber(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string Describe(const JobOwner& owner) {
  if (owner.uid) return "uid " + std::to_string(*owner.uid);
  if (!owner.key.empty()) return "key " + owner.key;
  return "unknown";
}

std::optional<PeerCredentials> ParsePeerAddress(std::string_view address) {
  constexpr std::string_view kPrefix = "localhost:";
  if (address.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  address.remove_prefix(kPrefix.size());
  const size_t first = address.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = address.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const auto uid = ParseNumber<uint32_t>(address.substr(0, first));
  const auto gid = ParseNumber<uint32_t>(address.substr(first + 1, second - first - 1));
  const auto pid = ParseNumber<int32_t>(address.substr(second + 1));
  if (!uid || !gid || !pid) return std::nullopt;
  return PeerCredentials{*uid, *gid, *pid};
}

Caller AccessPolicy::LocalCaller(const PeerCredentials& peer) const {
  Caller caller;
  caller.id.uid = peer.uid;
  caller.account = peer.uid;
  caller.privileged = peer.uid == 0 || peer.uid == options_.own_uid ||
                      (options_.admin_gid && peer.gid == *options_.admin_gid) ||
                      options_.admin_uids.count(peer.uid) != 0;
  return caller;
}

}  // namespace jobd
