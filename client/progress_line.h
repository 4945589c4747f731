// The live "done/total, failed, rate, ETA" line jobctl draws on a terminal
// while results stream in. jobctl enables it only when stderr is a terminal,
// so that pipes and log files never see the carriage returns.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "proto/messages.h"
#include "util/clock.h"

namespace jobd {

class ProgressLine {
 public:
  // Draws on `out` (not owned) only when `enabled`.
  ProgressLine(std::FILE* out, bool enabled, uint32_t total, TimePoint start);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine() { Clear(); }

  // Counts `result` and redraws, at most every 100 ms.
  void Add(const TaskResult& result, TimePoint now);
  // Erases the line if it is drawn (before other output, and at the end).
  void Clear();

  // "  37/100 done, 2 failed, 12.5/s, ETA 5.04 s"
  static std::string Format(uint32_t done, uint32_t total, uint32_t failed, double per_second);

 private:
  std::FILE* const out_;
  const bool enabled_;
  const uint32_t total_;
  const TimePoint start_;
  uint32_t done_ = 0;
  uint32_t failed_ = 0;
  bool drawn_ = false;  // on screen now
  bool ever_drawn_ = false;
  TimePoint last_draw_{};
};

}  // namespace jobd
