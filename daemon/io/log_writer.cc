#include "daemon/io/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "util/clock.h"
#include "util/log_record.h"

namespace jobd {
namespace {

Result<UniqueFd> OpenForAppend(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return SysError("open", path, errno);
  return UniqueFd(fd);
}

}  // namespace

Result<std::unique_ptr<LogWriter>> LogWriter::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return Status::Failed("create log directory for " + path + ": " + ec.message());
  Result<UniqueFd> fd = OpenForAppend(path);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<LogWriter>(new LogWriter(path, std::move(*fd)));
}

LogWriter::LogWriter(std::string path, UniqueFd fd)
    : path_(std::move(path)), fd_(std::move(fd)), thread_([this] { Run(); }) {}

LogWriter::~LogWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void LogWriter::Write(std::string line) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueuedLines) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(line));
  }
  wake_.notify_one();
}

void LogWriter::Run() {
  auto last_check = std::chrono::steady_clock::now();
  while (true) {
    std::deque<std::string> batch;
    size_t dropped = 0;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      batch.swap(queue_);
      std::swap(dropped, dropped_);
      stopping = stopping_;
    }
    // Checking the path costs a stat; once a second is enough for logrotate.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_check > std::chrono::seconds(1)) {
      ReopenIfMoved();
      last_check = now;
    }
    std::string chunk;
    for (const std::string& line : batch) {
      chunk += line;
      chunk += '\n';
    }
    if (dropped > 0) {
      LogRecord note;
      note.ts_unix_us = UnixMicrosNow();
      note.level = LogLevel::kWarn;
      note.pid = getpid();
      note.msg = fmt::format("{} log records dropped: the log writer fell behind", dropped);
      chunk += FormatJsonLine(note);
      chunk += '\n';
    }
    WriteOut(chunk);
    if (stopping) return;
  }
}

void LogWriter::WriteOut(const std::string& chunk) {
  size_t done = 0;
  while (done < chunk.size()) {
    const ssize_t n = ::write(fd_.get(), chunk.data() + done, chunk.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // A full disk must not stop the daemon: say so where someone may see it.
      fmt::print(stderr, "jobd: cannot write log {}: {}\n", path_, std::strerror(errno));
      return;
    }
    done += static_cast<size_t>(n);
  }
}

void LogWriter::ReopenIfMoved() {
  struct stat open_st, path_st;
  if (::fstat(fd_.get(), &open_st) != 0) return;
  if (::stat(path_.c_str(), &path_st) == 0 && path_st.st_ino == open_st.st_ino &&
      path_st.st_dev == open_st.st_dev) {
    return;
  }
  Result<UniqueFd> fd = OpenForAppend(path_);
  if (fd.ok()) fd_ = std::move(*fd);
}

}  // namespace jobd
