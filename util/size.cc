#include "util/size.h"

#include <charconv>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace jobd {

Result<uint64_t> ParseSize(std::string_view text) {
  uint64_t number = 0;
  const char* end = text.data() + text.size();
  auto [rest, ec] = std::from_chars(text.data(), end, number);
  if (ec != std::errc() || rest == text.data()) {
    return Status::InvalidArgument(
        fmt::format("bad size '{}': expected a number of bytes, or one with K, M, G or T", text));
  }
  std::string_view unit(rest, static_cast<size_t>(end - rest));
  // "MiB" and "MB" both mean "M" here.
  if (unit.size() == 3 && unit.ends_with("iB")) unit.remove_suffix(2);
  if (unit.size() == 2 && unit.ends_with("B")) unit.remove_suffix(1);
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "k") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  else {
    return Status::InvalidArgument(
        fmt::format("bad size '{}': unknown unit '{}' (use K, M, G or T)", text, unit));
  }
  if (number > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return Status::InvalidArgument(fmt::format("bad size '{}': too large", text));
  }
  return number << shift;
}

}  // namespace jobd
