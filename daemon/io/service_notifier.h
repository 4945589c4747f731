// What jobd tells its service manager through NOTIFY_SOCKET (sd_notify(3)):
// READY=1, RELOADING=1 and STOPPING=1 as they happen, a STATUS= line with the
// pool's counts when they change (at most once a second), and the WATCHDOG=1
// keep-alive at half of systemd's WatchdogSec= (WATCHDOG_USEC).
//
// The event loop calls OnTick() every turn and bounds its poll by
// NextDeadline(), so the keep-alive comes from the loop itself: a loop that
// stops turning stops it, and systemd restarts jobd. The logic runs on a
// Clock and hands each notification to a NotifySender, so tests drive it
// with a FakeClock and a fake sender.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "util/clock.h"

namespace jobd {

// What STATUS= shows.
struct ServiceCounts {
  uint32_t workers_ready = 0;
  uint32_t workers = 0;  // the pool's size
  uint64_t queued = 0;
  uint64_t running = 0;
  bool draining = false;

  bool operator==(const ServiceCounts&) const = default;
};

// "2/4 workers ready, 10 queued, 2 running" ("draining: ..." once draining).
std::string FormatStatus(const ServiceCounts& counts);

class NotifySender {
 public:
  virtual ~NotifySender() = default;
  // Sends one notification, like "READY=1". Never blocks; failures are
  // ignored (nobody listening is not an error).
  virtual void Send(const std::string& state) = 0;
};

// sd_notify(3): a datagram to $NOTIFY_SOCKET, nothing when it is unset.
class SdNotifySender final : public NotifySender {
 public:
  void Send(const std::string& state) override;
};

struct ServiceNotifierOptions {
  // Send STATUS= lines (and the keep-alive) at all: false without a
  // NOTIFY_SOCKET, where they would go nowhere.
  bool notify = true;
  // systemd's watchdog interval; the keep-alive goes out every half of it.
  // None: no keep-alive.
  std::optional<Micros> watchdog;
  // STATUS= goes out at most this often.
  Millis status_interval{1000};

  // From the environment: NOTIFY_SOCKET, and WATCHDOG_USEC (with
  // WATCHDOG_PID, when set, naming this process) through
  // sd_watchdog_enabled(3).
  static ServiceNotifierOptions FromEnvironment();
};

class ServiceNotifier {
 public:
  ServiceNotifier(const Clock& clock, std::unique_ptr<NotifySender> sender,
                  ServiceNotifierOptions options);

  void Ready();      // READY=1
  void Reloading();  // RELOADING=1
  void Stopping();   // STOPPING=1

  // Once per loop turn: WATCHDOG=1 when due; STATUS= when the counts differ
  // from the last ones sent and the last was sent status_interval ago or
  // more (otherwise the newest counts go out once it has passed), or at once
  // when draining begins.
  void OnTick(const ServiceCounts& counts);

  // When OnTick next has something to send: the keep-alive, or a STATUS=
  // held back by the rate limit. None: nothing is due, ever, until the
  // counts change.
  std::optional<TimePoint> NextDeadline() const;

  // How often the keep-alive goes out (half the watchdog interval).
  std::optional<Micros> ping_period() const { return ping_period_; }

 private:
  const Clock& clock_;
  const std::unique_ptr<NotifySender> sender_;
  const ServiceNotifierOptions options_;
  const std::optional<Micros> ping_period_;

  std::optional<TimePoint> next_ping_;
  std::optional<ServiceCounts> sent_counts_;
  std::optional<TimePoint> status_sent_at_;
  bool status_pending_ = false;
};

}  // namespace jobd
