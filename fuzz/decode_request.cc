// libFuzzer target: DecodeRequest on any bytes, as jobd reads them from
// every client.
// No crash, no sanitizer report, and what it accepts re-encodes to a fixed
// point (round_trip.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/round_trip.h"
#include "proto/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  jobd::Result<jobd::Request> decoded = jobd::DecodeRequest(frame);
  if (decoded.ok()) {
    jobd::fuzz::CheckRoundTrip(
        *decoded, [](const jobd::Request& m) { return jobd::EncodeRequest(m); },
        [](std::string_view f) { return jobd::DecodeRequest(f); });
  }
  return 0;
}
