#include "util/duration.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace jobd {

Result<Micros> ParseDuration(std::string_view text) {
  const std::string quoted = fmt::format("'{}'", text);
  uint64_t number = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [rest, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || rest == begin) {
    return Status::InvalidArgument("bad duration " + quoted +
                                   ": expected a number and a unit like "
                                   "500ms, 30s or 5m");
  }
  const std::string_view unit(rest, static_cast<size_t>(end - rest));
  uint64_t scale = 0;
  if (unit == "us") scale = 1;
  else if (unit == "ms" || unit.empty()) scale = 1000;
  else if (unit == "s") scale = 1000 * 1000;
  else if (unit == "m") scale = 60ull * 1000 * 1000;
  else if (unit == "h") scale = 3600ull * 1000 * 1000;
  else if (unit == "d") scale = 24ull * 3600 * 1000 * 1000;
  else {
    return Status::InvalidArgument("bad duration " + quoted + ": unknown unit '" +
                                   std::string(unit) + "' (use us, ms, s, m, h or d)");
  }
  if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / scale) {
    return Status::InvalidArgument("bad duration " + quoted + ": too large");
  }
  return Micros(static_cast<int64_t>(number * scale));
}

}  // namespace jobd
