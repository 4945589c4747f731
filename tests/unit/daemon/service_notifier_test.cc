// ServiceNotifier on a FakeClock with a fake sender: STATUS= content and rate
// limit, the watchdog keep-alive at half the interval, and none without one.
#include "daemon/io/service_notifier.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jobd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class FakeSender final : public NotifySender {
 public:
  explicit FakeSender(std::vector<std::string>* sent) : sent_(sent) {}
  void Send(const std::string& state) override { sent_->push_back(state); }

 private:
  std::vector<std::string>* sent_;
};

ServiceCounts Counts(uint32_t ready, uint32_t workers, uint64_t queued, uint64_t running,
                     bool draining = false) {
  return ServiceCounts{ready, workers, queued, running, draining};
}

class ServiceNotifierTest : public ::testing::Test {
 protected:
  ServiceNotifier Make(std::optional<Micros> watchdog, bool notify = true) {
    ServiceNotifierOptions options;
    options.notify = notify;
    options.watchdog = watchdog;
    options.status_interval = Millis(1000);
    return ServiceNotifier(clock_, std::make_unique<FakeSender>(&sent_), options);
  }
  // What was sent since the last call.
  std::vector<std::string> Take() {
    std::vector<std::string> out;
    out.swap(sent_);
    return out;
  }
  size_t Pings() const { return std::count(sent_.begin(), sent_.end(), "WATCHDOG=1"); }

  FakeClock clock_;
  std::vector<std::string> sent_;
};

TEST(FormatStatusTest, ShowsWorkersQueuedAndRunning) {
  EXPECT_EQ(FormatStatus(Counts(1, 2, 30, 1)), "1/2 workers ready, 30 queued, 1 running");
  EXPECT_EQ(FormatStatus(Counts(2, 2, 0, 2, true)),
            "draining: 2/2 workers ready, 0 queued, 2 running");
}

TEST_F(ServiceNotifierTest, ReadyReloadingAndStoppingGoOutAtOnce) {
  ServiceNotifier notifier = Make(std::nullopt);
  notifier.Ready();
  notifier.Reloading();
  notifier.Ready();
  notifier.Stopping();
  EXPECT_THAT(Take(), ElementsAre("READY=1", "RELOADING=1", "READY=1", "STOPPING=1"));
}

TEST_F(ServiceNotifierTest, FirstTickSendsTheStatus) {
  ServiceNotifier notifier = Make(std::nullopt);
  notifier.OnTick(Counts(0, 4, 0, 0));
  EXPECT_THAT(Take(), ElementsAre("STATUS=0/4 workers ready, 0 queued, 0 running"));
}

TEST_F(ServiceNotifierTest, UnchangedCountsSendNothingMore) {
  ServiceNotifier notifier = Make(std::nullopt);
  notifier.OnTick(Counts(2, 2, 5, 2));
  Take();
  for (int i = 0; i < 50; ++i) {
    clock_.Advance(Millis(100));
    notifier.OnTick(Counts(2, 2, 5, 2));
  }
  EXPECT_THAT(Take(), IsEmpty());
  EXPECT_EQ(notifier.NextDeadline(), std::nullopt);
}

TEST_F(ServiceNotifierTest, ChangesWithinASecondAreHeldBackThenTheNewestGoesOut) {
  ServiceNotifier notifier = Make(std::nullopt);
  const TimePoint start = clock_.Now();
  notifier.OnTick(Counts(2, 2, 0, 0));
  EXPECT_THAT(Take(), ElementsAre("STATUS=2/2 workers ready, 0 queued, 0 running"));

  // Several changes inside the second: nothing goes out, but the poll is
  // told when the held-back status is due.
  for (uint64_t queued = 1; queued <= 9; ++queued) {
    clock_.Advance(Millis(100));
    notifier.OnTick(Counts(2, 2, queued, 2));
  }
  EXPECT_THAT(Take(), IsEmpty());
  EXPECT_EQ(notifier.NextDeadline(), start + Millis(1000));

  clock_.Advance(Millis(99));  // 999 ms after the first
  notifier.OnTick(Counts(2, 2, 9, 2));
  EXPECT_THAT(Take(), IsEmpty());

  clock_.Advance(Millis(1));
  notifier.OnTick(Counts(2, 2, 9, 2));
  EXPECT_THAT(Take(), ElementsAre("STATUS=2/2 workers ready, 9 queued, 2 running"));
  EXPECT_EQ(notifier.NextDeadline(), std::nullopt);
}

TEST_F(ServiceNotifierTest, AtMostOneStatusASecondUnderConstantChange) {
  ServiceNotifier notifier = Make(std::nullopt);
  // A change every 10 ms for 10 s.
  for (uint64_t i = 0; i < 1000; ++i) {
    notifier.OnTick(Counts(2, 2, i, 2));
    clock_.Advance(Millis(10));
  }
  EXPECT_EQ(sent_.size(), 10u);
}

TEST_F(ServiceNotifierTest, AChangeUndoneWithinTheSecondSendsNothing) {
  ServiceNotifier notifier = Make(std::nullopt);
  notifier.OnTick(Counts(2, 2, 0, 0));
  Take();
  clock_.Advance(Millis(200));
  notifier.OnTick(Counts(2, 2, 1, 0));
  clock_.Advance(Millis(200));
  notifier.OnTick(Counts(2, 2, 0, 0));
  EXPECT_EQ(notifier.NextDeadline(), std::nullopt);
  clock_.Advance(Millis(2000));
  notifier.OnTick(Counts(2, 2, 0, 0));
  EXPECT_THAT(Take(), IsEmpty());
}

TEST_F(ServiceNotifierTest, DrainingShowsInTheStatusAtOnce) {
  ServiceNotifier notifier = Make(std::nullopt);
  notifier.OnTick(Counts(2, 2, 0, 1));
  // Within the second: the rate limit does not hold back the news that jobd
  // is stopping (it may be gone before the second is over).
  clock_.Advance(Millis(10));
  notifier.OnTick(Counts(2, 2, 0, 1, true));
  EXPECT_THAT(Take(), ElementsAre("STATUS=2/2 workers ready, 0 queued, 1 running",
                                  "STATUS=draining: 2/2 workers ready, 0 queued, 1 running"));
  // Later changes wait for their turn again.
  clock_.Advance(Millis(10));
  notifier.OnTick(Counts(1, 2, 0, 0, true));
  EXPECT_THAT(Take(), IsEmpty());
  clock_.Advance(Millis(1000));
  notifier.OnTick(Counts(1, 2, 0, 0, true));
  EXPECT_THAT(Take(), ElementsAre("STATUS=draining: 1/2 workers ready, 0 queued, 0 running"));
}

TEST_F(ServiceNotifierTest, WatchdogPingsAtHalfTheInterval) {
  ServiceNotifier notifier = Make(Micros(200'000));
  ASSERT_EQ(notifier.ping_period(), Micros(100'000));
  const TimePoint start = clock_.Now();
  // Due at once: the first turn pings.
  EXPECT_EQ(notifier.NextDeadline(), start);
  notifier.OnTick(Counts(2, 2, 0, 0));
  EXPECT_EQ(Pings(), 1u);
  EXPECT_EQ(notifier.NextDeadline(), start + Millis(100));

  clock_.Advance(Millis(99));
  notifier.OnTick(Counts(2, 2, 0, 0));
  EXPECT_EQ(Pings(), 1u);
  clock_.Advance(Millis(1));
  notifier.OnTick(Counts(2, 2, 0, 0));
  EXPECT_EQ(Pings(), 2u);
  EXPECT_EQ(notifier.NextDeadline(), start + Millis(200));

  // Turns every 10 ms for 1 s: one ping per 100 ms, no more.
  Take();
  for (int i = 0; i < 100; ++i) {
    clock_.Advance(Millis(10));
    notifier.OnTick(Counts(2, 2, 0, 0));
  }
  EXPECT_EQ(Pings(), 10u);
}

TEST_F(ServiceNotifierTest, ALateTurnPingsOnceAndCountsTheNextPeriodFromThen) {
  ServiceNotifier notifier = Make(Micros(200'000));
  notifier.OnTick(Counts(2, 2, 0, 0));
  Take();
  clock_.Advance(Millis(350));  // the loop was busy for three periods
  notifier.OnTick(Counts(2, 2, 0, 0));
  EXPECT_THAT(Take(), ElementsAre("WATCHDOG=1"));
  EXPECT_EQ(notifier.NextDeadline(), clock_.Now() + Millis(100));
}

TEST_F(ServiceNotifierTest, TheNextDeadlineIsTheNearerOfPingAndHeldBackStatus) {
  ServiceNotifier notifier = Make(Micros(4'000'000));  // a ping every 2 s
  const TimePoint start = clock_.Now();
  notifier.OnTick(Counts(0, 2, 0, 0));
  EXPECT_EQ(notifier.NextDeadline(), start + Millis(2000));
  clock_.Advance(Millis(300));
  notifier.OnTick(Counts(1, 2, 0, 0));
  EXPECT_EQ(notifier.NextDeadline(), start + Millis(1000));  // the held-back status
}

TEST_F(ServiceNotifierTest, NoWatchdogPingsWhenNotEnabled) {
  ServiceNotifier notifier = Make(std::nullopt);
  EXPECT_EQ(notifier.ping_period(), std::nullopt);
  for (int i = 0; i < 100; ++i) {
    notifier.OnTick(Counts(2, 2, 0, 0));
    clock_.Advance(Millis(100));
  }
  EXPECT_EQ(Pings(), 0u);
  EXPECT_EQ(notifier.NextDeadline(), std::nullopt);
}

TEST_F(ServiceNotifierTest, NothingPeriodicWithoutANotifySocket) {
  ServiceNotifier notifier = Make(Micros(200'000), /*notify=*/false);
  for (int i = 0; i < 20; ++i) {
    notifier.OnTick(Counts(2, 2, static_cast<uint64_t>(i), 0));
    clock_.Advance(Millis(100));
  }
  EXPECT_THAT(Take(), IsEmpty());
  EXPECT_EQ(notifier.NextDeadline(), std::nullopt);
}

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

TEST(ServiceNotifierOptionsTest, WatchdogFromTheEnvironment) {
  ScopedEnv socket("NOTIFY_SOCKET", "/nonexistent/notify.sock");
  ScopedEnv usec("WATCHDOG_USEC", "200000");
  {
    ScopedEnv pid("WATCHDOG_PID", nullptr);
    const ServiceNotifierOptions options = ServiceNotifierOptions::FromEnvironment();
    EXPECT_TRUE(options.notify);
    EXPECT_EQ(options.watchdog, Micros(200'000));
  }
  {
    // Meant for this process.
    ScopedEnv pid("WATCHDOG_PID", std::to_string(getpid()).c_str());
    EXPECT_EQ(ServiceNotifierOptions::FromEnvironment().watchdog, Micros(200'000));
  }
  {
    // Meant for another process (our parent, say): not ours to ping.
    ScopedEnv pid("WATCHDOG_PID", std::to_string(getppid()).c_str());
    EXPECT_EQ(ServiceNotifierOptions::FromEnvironment().watchdog, std::nullopt);
  }
}

TEST(ServiceNotifierOptionsTest, NoWatchdogWithoutWatchdogUsecOrNotifySocket) {
  {
    ScopedEnv socket("NOTIFY_SOCKET", "/nonexistent/notify.sock");
    ScopedEnv usec("WATCHDOG_USEC", nullptr);
    const ServiceNotifierOptions options = ServiceNotifierOptions::FromEnvironment();
    EXPECT_TRUE(options.notify);
    EXPECT_EQ(options.watchdog, std::nullopt);
  }
  {
    ScopedEnv socket("NOTIFY_SOCKET", nullptr);
    ScopedEnv usec("WATCHDOG_USEC", "200000");
    ScopedEnv pid("WATCHDOG_PID", nullptr);
    const ServiceNotifierOptions options = ServiceNotifierOptions::FromEnvironment();
    EXPECT_FALSE(options.notify);
    EXPECT_EQ(options.watchdog, std::nullopt);
  }
}

}  // namespace
}  // namespace jobd
