// Time seen through an interface so that core logic can run on a fake clock.
#pragma once

#include <chrono>

namespace jobd {

using Millis = std::chrono::milliseconds;
using Micros = std::chrono::microseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

// For tests: time moves only when told to.
class FakeClock final : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  void Advance(std::chrono::nanoseconds d) { now_ += d; }

 private:
  TimePoint now_{std::chrono::hours(1)};
};

// Wall-clock time for records people read, in microseconds since the epoch.
inline int64_t UnixMicrosNow() {
  return std::chrono::duration_cast<Micros>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace jobd
