// Reads a JSON-lines log file by whole lines and, when following, notices
// growth, truncation and replacement (log rotation), like `tail -F`.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "util/status.h"
#include "util/unique_fd.h"

namespace jobd {

class LogTail {
 public:
  explicit LogTail(std::string path) : path_(std::move(path)) {}
  LogTail(const LogTail&) = delete;
  LogTail& operator=(const LogTail&) = delete;

  // Appends every complete line written since the last call to `*lines`
  // (without the newline). Starts over from the top when the file was
  // truncated or replaced. A missing file is NotFound; the caller following
  // the log may simply call again later.
  Status ReadLines(std::vector<std::string>* lines);

  // The unterminated last line, if any: for the end of a one-shot read.
  const std::string& partial() const { return partial_; }

 private:
  Status Reopen();
  Status Drain(std::vector<std::string>* lines);
  bool Truncated() const;

  const std::string path_;
  UniqueFd fd_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  off_t offset_ = 0;
  char last_byte_ = 0;  // the byte just before offset_
  std::string partial_;
};

}  // namespace jobd
