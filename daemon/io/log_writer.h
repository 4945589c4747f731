// The one writer of <log-dir>/jobd.jsonl. Any thread hands it finished lines;
// its own thread appends them, so the event loop never waits on the disk.
// When the file is renamed away (logrotate), the next write reopens the path.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "util/status.h"
#include "util/unique_fd.h"

namespace jobd {

class LogWriter {
 public:
  // Creates the directory if needed and opens the file for appending.
  static Result<std::unique_ptr<LogWriter>> Open(const std::string& path);
  ~LogWriter();  // writes what is queued, then stops the thread
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Queues one line (without its newline). Safe to call from any thread.
  // Lines beyond the queue bound are counted and dropped, never block.
  void Write(std::string line);
  const std::string& path() const { return path_; }

 private:
  LogWriter(std::string path, UniqueFd fd);
  void Run();
  void WriteOut(const std::string& chunk);
  void ReopenIfMoved();

  static constexpr size_t kMaxQueuedLines = 1'000'000;

  const std::string path_;
  UniqueFd fd_;  // writer thread only, after construction

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;  // guarded by mu_
  size_t dropped_ = 0;             // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  std::thread thread_;             // last: started when the rest exists
};

}  // namespace jobd
