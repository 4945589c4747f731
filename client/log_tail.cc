#include "client/log_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace jobd {

Status LogTail::Reopen() {
  fd_.Reset();
  offset_ = 0;
  partial_.clear();
  int fd;
  do {
    fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no log file " + path_);
    return SysError("open", path_, errno);
  }
  fd_.Reset(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return SysError("fstat", path_, errno);
  device_ = st.st_dev;
  inode_ = st.st_ino;
  return Status::Ok();
}

Status LogTail::ReadLines(std::vector<std::string>* lines) {
  if (!fd_.valid()) {
    if (Status s = Reopen(); !s.ok()) return s;
    return Drain(lines);
  }
  if (Truncated()) {
    // Truncated in place: read again from the top.
    if (Status s = Reopen(); !s.ok()) return s;
    return Drain(lines);
  }
  struct stat by_path;
  const bool replaced = ::stat(path_.c_str(), &by_path) == 0 &&
                        (by_path.st_dev != device_ || by_path.st_ino != inode_);
  // Finish the old file first: a rotated log may still have lines for us.
  if (Status s = Drain(lines); !s.ok() || !replaced) return s;
  if (Status s = Reopen(); !s.ok()) return s;
  return Drain(lines);
}

bool LogTail::Truncated() const {
  struct stat st;
  if (::fstat(fd_.get(), &st) == 0 && st.st_size < offset_) return true;
  // Truncated and rewritten past our offset before we looked: the byte we
  // read last has most likely changed (a log line rarely ends at the same
  // place in the new content).
  if (offset_ == 0) return false;
  char byte;
  return ::pread(fd_.get(), &byte, 1, offset_ - 1) == 1 && byte != last_byte_;
}

Status LogTail::Drain(std::vector<std::string>* lines) {
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::pread(fd_.get(), buffer, sizeof buffer, offset_);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", path_, errno);
    }
    if (n == 0) return Status::Ok();
    offset_ += n;
    last_byte_ = buffer[n - 1];
    partial_.append(buffer, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t newline; (newline = partial_.find('\n', start)) != std::string::npos;
         start = newline + 1) {
      lines->emplace_back(partial_, start, newline - start);
    }
    partial_.erase(0, start);
  }
}

}  // namespace jobd
