// libFuzzer target: DecodeFromWorker on any bytes, as jobd reads them from
// every worker.
// No crash, no sanitizer report, and what it accepts re-encodes to a fixed
// point (round_trip.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/round_trip.h"
#include "proto/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  jobd::Result<jobd::FromWorker> decoded = jobd::DecodeFromWorker(frame);
  if (decoded.ok()) {
    jobd::fuzz::CheckRoundTrip(
        *decoded, [](const jobd::FromWorker& m) { return jobd::EncodeFromWorker(m); },
        [](std::string_view f) { return jobd::DecodeFromWorker(f); });
  }
  return 0;
}
