// Sizes as people write them: "512M", "2G", "64K", "1048576" (bytes).
#pragma once

#include <cstdint>
#include <string_view>

#include "util/status.h"

namespace jobd {

// Units are powers of 1024: K, M, G, T, with an optional "B" or "iB".
Result<uint64_t> ParseSize(std::string_view text);

}  // namespace jobd
