#include "util/resident_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace jobd {

uint64_t ResidentBytes(pid_t pid) {
  static const uint64_t page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  char path[40];
  if (pid == 0) {
    std::snprintf(path, sizeof path, "/proc/self/statm");
  } else {
    std::snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(pid));
  }
  // open and read rather than an ifstream: a worker reads this with every
  // report, and a stream's set-up (locale and all) cost more than the read.
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[128];
  ssize_t n;
  do {
    n = read(fd, text, sizeof text - 1);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  // "size resident shared text lib data dirty", in pages.
  char* end = nullptr;
  std::strtoull(text, &end, 10);
  if (end == text) return 0;
  const char* resident_at = end;
  const uint64_t resident_pages = std::strtoull(resident_at, &end, 10);
  if (end == resident_at) return 0;
  return resident_pages * page_size;
}

}  // namespace jobd
