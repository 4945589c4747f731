#include "worker/builtin_tasks.h"

#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace jobd {
namespace {

class BuiltinTasksTest : public ::testing::Test {
 protected:
  BuiltinTasksTest() { RegisterBuiltinTasks(registry_); }

  TaskOutput Run(const std::string& name, std::vector<std::string> args) {
    return registry_.Run(name, args);
  }
  void ExpectError(const std::string& name, std::vector<std::string> args,
                   const std::string& error) {
    TaskOutput output = Run(name, std::move(args));
    EXPECT_FALSE(output.ok) << name;
    EXPECT_EQ(output.value, "") << name;
    EXPECT_EQ(output.error, error) << name;
  }

  TaskRegistry registry_;
};

int64_t ProcessCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

std::string ClosedForm(uint64_t n) { return std::to_string((n + 10) * (n + 11) / 2); }

TEST_F(BuiltinTasksTest, SumToNumMatchesTheClosedForm) {
  for (uint64_t n : {0, 1, 2, 7, 1000, 123457}) {
    TaskOutput output = Run("sum_to_num", {std::to_string(n)});
    EXPECT_TRUE(output.ok) << n << ": " << output.error;
    EXPECT_EQ(output.value, ClosedForm(n)) << n;
  }
  EXPECT_EQ(Run("sum_to_num", {"0"}).value, "55");
}

TEST_F(BuiltinTasksTest, SumToNumSeedValues) {
  EXPECT_EQ(Run("sum_to_num", {"50000000"}).value, "1250000525000055");
  // (N+10)(N+11)/2; the brief's "20000002050000055" for this N is not a
  // triangular number at all, so it cannot be the sum of 0..N+10.
  EXPECT_EQ(Run("sum_to_num", {"200000000"}).value, "20000002100000055");
}

TEST_F(BuiltinTasksTest, SumToNumArgumentErrors) {
  ExpectError("sum_to_num", {}, "sum_to_num takes 1 argument (N), got 0");
  ExpectError("sum_to_num", {"1", "2"}, "sum_to_num takes 1 argument (N), got 2");
  for (const char* bad : {"abc", "-1", "+1", "1.5", "", " 5", "5 ", "0x10", "12abc"}) {
    ExpectError("sum_to_num", {bad},
                std::string("sum_to_num: '") + bad + "' is not a non-negative integer");
  }
  ExpectError("sum_to_num", {"99999999999999999999999"},
              "sum_to_num: '99999999999999999999999' is too large");
}

TEST_F(BuiltinTasksTest, SumToNumRejectsNThatWouldOverflow) {
  // (m)(m+1)/2 <= 2^64-1 holds up to m = 6074000999, so N = m - 10.
  EXPECT_EQ(MaxSumToNumArgument(), 6074000989u);
  ExpectError("sum_to_num", {"6074000990"},
              "sum_to_num: 6074000990 is too large (the sum would not fit in 64 "
              "bits; max 6074000989)");
  TaskOutput output = Run("sum_to_num", {"18446744073709551615"});
  EXPECT_FALSE(output.ok);
  EXPECT_NE(output.error.find("too large"), std::string::npos) << output.error;
}

TEST_F(BuiltinTasksTest, SpinBurnsAtLeastTheRequestedCpuTime) {
  const int64_t before = ProcessCpuMicros();
  TaskOutput output = Run("spin", {"50"});
  const int64_t burned = ProcessCpuMicros() - before;
  EXPECT_TRUE(output.ok) << output.error;
  EXPECT_EQ(output.value, "");
  EXPECT_GE(burned, 50000);
  EXPECT_TRUE(Run("spin", {"0"}).ok);
}

TEST_F(BuiltinTasksTest, SleepBlocksAtLeastTheRequestedTime) {
  const auto before = std::chrono::steady_clock::now();
  TaskOutput output = Run("sleep", {"30"});
  const auto slept = std::chrono::steady_clock::now() - before;
  EXPECT_TRUE(output.ok) << output.error;
  EXPECT_EQ(output.value, "");
  EXPECT_GE(slept, std::chrono::milliseconds(30));
  EXPECT_TRUE(Run("sleep", {"0"}).ok);
}

TEST_F(BuiltinTasksTest, MillisecondArgumentErrors) {
  for (const char* task : {"spin", "sleep"}) {
    const std::string name = task;
    ExpectError(name, {}, name + " takes 1 argument (MS), got 0");
    ExpectError(name, {"1", "2"}, name + " takes 1 argument (MS), got 2");
    ExpectError(name, {"-5"}, name + ": '-5' is not a non-negative integer");
    ExpectError(name, {"10ms"}, name + ": '10ms' is not a non-negative integer");
    ExpectError(name, {"86400001"},
                name + ": 86400001 ms is more than the maximum of 86400000 ms (24h)");
  }
}

TEST_F(BuiltinTasksTest, EchoJoinsItsArgumentsWithSingleSpaces) {
  EXPECT_EQ(Run("echo", {"hello"}).value, "hello");
  EXPECT_EQ(Run("echo", {"a", "b c", "d"}).value, "a b c d");
  EXPECT_EQ(Run("echo", {"", "x"}).value, " x");
  TaskOutput none = Run("echo", {});
  EXPECT_TRUE(none.ok);
  EXPECT_EQ(none.value, "");
}

TEST_F(BuiltinTasksTest, FailReportsItsMessage) {
  ExpectError("fail", {"disk", "on", "fire"}, "disk on fire");
  ExpectError("fail", {}, "failed on request");
}

// Runs in the death-test child: no core file from a crash on purpose.
void CrashWithoutCore(TaskRegistry& registry) {
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  registry.Run("crash", {});
}

// As above, after installing a handler that would exit 0 and blocking SIGSEGV.
void CrashDespiteHandlerAndMask(TaskRegistry& registry) {
  struct sigaction action {};
  action.sa_handler = [](int) { _exit(0); };
  sigaction(SIGSEGV, &action, nullptr);
  sigset_t segv;
  sigemptyset(&segv);
  sigaddset(&segv, SIGSEGV);
  sigprocmask(SIG_BLOCK, &segv, nullptr);
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  registry.Run("crash", {"ignored", "args"});
}

TEST_F(BuiltinTasksTest, CrashKillsTheProcessWithSigsegv) {
  // Fork-and-exec death tests: the parent test process may have threads.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(CrashWithoutCore(registry_), ::testing::KilledBySignal(SIGSEGV), "");
}

TEST_F(BuiltinTasksTest, CrashDiesEvenWithAHandlerInstalledAndSignalBlocked) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(CrashDespiteHandlerAndMask(registry_), ::testing::KilledBySignal(SIGSEGV),
              "");
}

}  // namespace
}  // namespace jobd
