#include "util/resident_set.h"

#include <unistd.h>

#include <fstream>
#include <string>

namespace jobd {

uint64_t ResidentBytes(pid_t pid) {
  static const uint64_t page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const std::string path = pid == 0 ? "/proc/self/statm" : "/proc/" + std::to_string(pid) + "/statm";
  std::ifstream statm(path);
  uint64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * page_size;
}

}  // namespace jobd
