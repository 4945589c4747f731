// An spdlog sink that keeps every message, so that a test can wait for a
// line another thread logs (with a deadline) instead of sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/details/null_mutex.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

namespace jobd {

class LogCapture final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  // Whether a message holding `text` was logged, waiting up to `timeout`.
  bool WaitFor(std::string_view text, std::chrono::milliseconds timeout) {
    std::unique_lock lock(lines_mutex_);
    return logged_.wait_for(lock, timeout, [&] { return CountLocked(text) > 0; });
  }
  // Waits until `count` messages hold `text`, up to `timeout`.
  bool WaitForCount(std::string_view text, size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(lines_mutex_);
    return logged_.wait_for(lock, timeout, [&] { return CountLocked(text) >= count; });
  }
  std::string All() {
    std::lock_guard lock(lines_mutex_);
    std::string all;
    for (const std::string& line : lines_) all += line + "\n";
    return all;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    {
      std::lock_guard lock(lines_mutex_);
      lines_.emplace_back(msg.payload.data(), msg.payload.size());
    }
    logged_.notify_all();
  }
  void flush_() override {}

 private:
  size_t CountLocked(std::string_view text) const {
    size_t count = 0;
    for (const std::string& line : lines_) count += line.find(text) != std::string::npos;
    return count;
  }

  std::mutex lines_mutex_;
  std::condition_variable logged_;
  std::vector<std::string> lines_;
};

}  // namespace jobd
