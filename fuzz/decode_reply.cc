// libFuzzer target: DecodeReply on any bytes, as the client library reads
// them from jobd.
// No crash, no sanitizer report, and what it accepts re-encodes to a fixed
// point (round_trip.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/round_trip.h"
#include "proto/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  jobd::Result<jobd::Reply> decoded = jobd::DecodeReply(frame);
  if (decoded.ok()) {
    jobd::fuzz::CheckRoundTrip(
        *decoded, [](const jobd::Reply& m) { return jobd::EncodeReply(m); },
        [](std::string_view f) { return jobd::DecodeReply(f); });
  }
  return 0;
}
