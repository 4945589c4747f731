// libFuzzer target: DecodeToWorker on any bytes, as a worker reads them
// from its coordinator.
// No crash, no sanitizer report, and what it accepts re-encodes to a fixed
// point (round_trip.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/round_trip.h"
#include "proto/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  jobd::Result<jobd::ToWorker> decoded = jobd::DecodeToWorker(frame);
  if (decoded.ok()) {
    jobd::fuzz::CheckRoundTrip(
        *decoded, [](const jobd::ToWorker& m) { return jobd::EncodeToWorker(m); },
        [](std::string_view f) { return jobd::DecodeToWorker(f); });
  }
  return 0;
}
