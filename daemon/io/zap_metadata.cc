#include "daemon/io/zap_metadata.h"

#include <charconv>
#include <cstring>

namespace jobd {

std::string EncodeMetadataProperty(std::string_view name, std::string_view value) {
  std::string encoded;
  encoded.reserve(1 + name.size() + 4 + value.size());
  encoded += static_cast<char>(static_cast<uint8_t>(name.size()));
  encoded += name;
  const auto length = static_cast<uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    encoded += static_cast<char>(static_cast<uint8_t>(length >> shift));
  }
  encoded += value;
  return encoded;
}

std::optional<uint32_t> ParseAccountProperty(const char* value) {
  if (value == nullptr) return std::nullopt;
  const size_t length = std::strlen(value);
  uint32_t uid = 0;
  if (length == 0 || value[0] < '0' || value[0] > '9') return std::nullopt;
  auto [end, ec] = std::from_chars(value, value + length, uid);
  // (uid_t)-1 means "no uid" to the system calls that take one.
  if (ec != std::errc() || end != value + length || uid == UINT32_MAX) return std::nullopt;
  return uid;
}

}  // namespace jobd
