#include "client/progress_line.h"

#include <fmt/format.h>

#include <chrono>

#include "client/output.h"

namespace jobd {

ProgressLine::ProgressLine(std::FILE* out, bool enabled, uint32_t total, TimePoint start)
    : out_(out), enabled_(enabled), total_(total), start_(start) {}

std::string ProgressLine::Format(uint32_t done, uint32_t total, uint32_t failed,
                                 double per_second) {
  std::string line = fmt::format("{}/{} done, {} failed, {:.1f}/s", done, total, failed,
                                 per_second);
  if (done >= total) return line;
  if (per_second <= 0) return line + ", ETA ?";
  const double eta_us = static_cast<double>(total - done) / per_second * 1e6;
  return line + ", ETA " + HumanDuration(static_cast<uint64_t>(eta_us));
}

void ProgressLine::Add(const TaskResult& result, TimePoint now) {
  ++done_;
  if (result.status != TaskStatus::kOk) ++failed_;
  if (!enabled_) return;
  // Time-based even after a Clear(): with results scrolling past on the
  // same terminal, redrawing after each one would only flicker.
  if (ever_drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? done_ / seconds : 0;
  // \033[K erases what a longer previous line left behind.
  std::fprintf(out_, "\r%s\033[K", Format(done_, total_, failed_, rate).c_str());
  std::fflush(out_);
  drawn_ = true;
  ever_drawn_ = true;
  last_draw_ = now;
}

void ProgressLine::Clear() {
  if (!enabled_ || !drawn_) return;
  std::fputs("\r\033[K", out_);
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace jobd
