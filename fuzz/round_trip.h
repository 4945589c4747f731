// What every decoder target checks beyond "no crash, no sanitizer report":
// a message the decoder accepts re-encodes to a fixed point. Encoding what
// was read must give a frame the decoder reads again, and encoding that
// must give the same bytes, so nothing read from a peer can make us write
// something we cannot read back.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "util/status.h"

namespace jobd::fuzz {

template <typename T, typename Encode, typename Decode>
void CheckRoundTrip(const T& decoded, Encode encode, Decode decode) {
  const std::string once = encode(decoded);
  Result<T> again = decode(once);
  if (!again.ok()) {
    std::fprintf(stderr, "re-encoded message does not decode: %s\n",
                 again.status().message().c_str());
    std::abort();
  }
  if (encode(*again) != once) {
    std::fprintf(stderr, "encoding is not a fixed point after one round trip\n");
    std::abort();
  }
}

}  // namespace jobd::fuzz
