// The job and task that the current thread is working on, so that every log
// record written meanwhile carries them (a "mapped diagnostic context";
// spdlog 1.10 has none of its own). Set it with a ScopedLogContext around the
// work or the log call.
#pragma once

#include <cstdint>
#include <optional>

namespace jobd {

struct LogContext {
  std::optional<uint64_t> job;
  std::optional<uint32_t> task;
  std::optional<uint32_t> uid;  // the uid the job's tasks run as
};

inline LogContext& CurrentLogContext() {
  thread_local LogContext context;
  return context;
}

class ScopedLogContext {
 public:
  ScopedLogContext(std::optional<uint64_t> job, std::optional<uint32_t> task,
                   std::optional<uint32_t> uid = std::nullopt)
      : saved_(CurrentLogContext()) {
    CurrentLogContext() = LogContext{job, task, uid};
  }
  ~ScopedLogContext() { CurrentLogContext() = saved_; }
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  LogContext saved_;
};

}  // namespace jobd
