#include "util/exit_status.h"

#include <string.h>

#include <fmt/format.h>

namespace jobd {

std::string ExitStatus::Describe() const {
  if (!signaled) return fmt::format("exited with code {}", value);
  const char* abbrev = sigabbrev_np(value);
  if (abbrev == nullptr) return fmt::format("killed by signal {}", value);
  return fmt::format("killed by SIG{}", abbrev);
}

}  // namespace jobd
