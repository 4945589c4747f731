// The connection property by which the ZAP handler tells the event loop
// which local account a CURVE client's tasks run as. A ZAP reply's metadata
// frame becomes properties of the connection, which ZeroMQ puts on each of
// its messages (zmq_msg_gets).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jobd {

// Its value: the account's uid in decimal, or empty for "no account". The
// handler sets it on every connection it lets in, empty or not: a property
// the handler sets wins over the one of the same name a client may put in
// its own handshake, while one it leaves out is the client's to claim.
inline constexpr const char* kAccountProperty = "Jobd-Account";

// One property in ZMTP's metadata encoding (RFC 23: a 1-byte name length,
// the name, a 4-byte big-endian value length, the value), as a ZAP reply's
// metadata frame holds them. `name` is at most 255 bytes.
std::string EncodeMetadataProperty(std::string_view name, std::string_view value);

// The kAccountProperty of a message: none when absent, empty, or not a
// decimal uid (below 4294967295).
std::optional<uint32_t> ParseAccountProperty(const char* value);

}  // namespace jobd
