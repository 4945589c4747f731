// Durations as people write them: "500ms", "30s", "5m", "1h", "7d", "250us".
#pragma once

#include <string_view>

#include "util/clock.h"
#include "util/status.h"

namespace jobd {

// A bare number is read as milliseconds. Rejects negatives, junk and overflow.
Result<Micros> ParseDuration(std::string_view text);

}  // namespace jobd
