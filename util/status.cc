#include "util/status.h"

#include <cstring>

namespace jobd {

Status SysError(const std::string& operation, const std::string& object,
                int err) {
  std::string msg = operation;
  if (!object.empty()) msg += " " + object;
  msg += ": ";
  msg += std::strerror(err);
  return Status::Failed(std::move(msg));
}

}  // namespace jobd
