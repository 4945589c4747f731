#include "daemon/io/service_notifier.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace jobd {

std::string FormatStatus(const ServiceCounts& c) {
  return fmt::format("{}{}/{} workers ready, {} queued, {} running", c.draining ? "draining: " : "",
                     c.workers_ready, c.workers, c.queued, c.running);
}

void SdNotifySender::Send(const std::string& state) { sd_notify(0, state.c_str()); }

ServiceNotifierOptions ServiceNotifierOptions::FromEnvironment() {
  ServiceNotifierOptions options;
  const char* socket = std::getenv("NOTIFY_SOCKET");
  options.notify = socket != nullptr && *socket != '\0';
  uint64_t usec = 0;
  if (options.notify && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    options.watchdog = Micros(usec);
  }
  return options;
}

ServiceNotifier::ServiceNotifier(const Clock& clock, std::unique_ptr<NotifySender> sender,
                                 ServiceNotifierOptions options)
    : clock_(clock),
      sender_(std::move(sender)),
      options_(options),
      ping_period_(options.notify && options.watchdog
                       ? std::optional<Micros>(std::max(Micros(1), *options.watchdog / 2))
                       : std::nullopt) {
  // The first keep-alive goes out on the first turn.
  if (ping_period_) next_ping_ = clock_.Now();
}

void ServiceNotifier::Ready() { sender_->Send("READY=1"); }

void ServiceNotifier::Reloading() { sender_->Send("RELOADING=1"); }

void ServiceNotifier::Stopping() { sender_->Send("STOPPING=1"); }

void ServiceNotifier::OnTick(const ServiceCounts& counts) {
  if (!options_.notify) return;
  const TimePoint now = clock_.Now();
  if (next_ping_ && now >= *next_ping_) {
    sender_->Send("WATCHDOG=1");
    // From now, not from when it was due: a late turn is not followed by a
    // burst of pings.
    next_ping_ = now + *ping_period_;
  }
  if (sent_counts_ && *sent_counts_ == counts) {
    status_pending_ = false;  // changed and changed back: nothing to say
    return;
  }
  // Draining is news at once; other changes wait out the rate limit.
  const bool phase_changed = sent_counts_ && sent_counts_->draining != counts.draining;
  if (!phase_changed && status_sent_at_ && now < *status_sent_at_ + options_.status_interval) {
    status_pending_ = true;
    return;
  }
  sender_->Send("STATUS=" + FormatStatus(counts));
  sent_counts_ = counts;
  status_sent_at_ = now;
  status_pending_ = false;
}

std::optional<TimePoint> ServiceNotifier::NextDeadline() const {
  std::optional<TimePoint> next = next_ping_;
  if (status_pending_) {
    const TimePoint status_due = *status_sent_at_ + options_.status_interval;
    if (!next || status_due < *next) next = status_due;
  }
  return next;
}

}  // namespace jobd
