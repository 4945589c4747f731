#include "worker/builtin_tasks.h"

#include <signal.h>
#include <time.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "util/status.h"

namespace jobd {
namespace {

std::string Join(const std::vector<std::string>& args) {
  std::string joined;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) joined += ' ';
    joined += args[i];
  }
  return joined;
}

// "sum_to_num takes 1 argument (N), got 2"
Status CheckArgCount(const char* task, const char* what,
                     const std::vector<std::string>& args) {
  if (args.size() == 1) return Status::Ok();
  return Status::InvalidArgument(std::string(task) + " takes 1 argument (" + what +
                                 "), got " + std::to_string(args.size()));
}

// Digits only: no sign, no spaces, no trailing junk.
Result<uint64_t> ParseCount(const char* task, const std::string& text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::invalid_argument || ptr != end) {
    return Status::InvalidArgument(std::string(task) + ": '" + text +
                                   "' is not a non-negative integer");
  }
  if (ec == std::errc::result_out_of_range) {
    return Status::InvalidArgument(std::string(task) + ": '" + text + "' is too large");
  }
  return value;
}

Result<uint64_t> ParseMillis(const char* task, const std::vector<std::string>& args) {
  if (Status s = CheckArgCount(task, "MS", args); !s.ok()) return s;
  Result<uint64_t> ms = ParseCount(task, args[0]);
  if (!ms.ok()) return ms;
  if (*ms > kMaxTaskMillis) {
    return Status::InvalidArgument(std::string(task) + ": " + args[0] +
                                   " ms is more than the maximum of " +
                                   std::to_string(kMaxTaskMillis) + " ms (24h)");
  }
  return ms;
}

// The 64-bit value of 0 + 1 + ... + m, or false when it does not fit.
bool TriangularFits(uint64_t m, uint64_t* sum) {
  // One of m, m+1 is even: halve that one first so the product is exact.
  if (m == UINT64_MAX) return false;
  const uint64_t a = m % 2 == 0 ? m / 2 : m;
  const uint64_t b = m % 2 == 0 ? m + 1 : (m + 1) / 2;
  return !__builtin_mul_overflow(a, b, sum);
}

TaskOutput SumToNum(const std::vector<std::string>& args) {
  if (Status s = CheckArgCount("sum_to_num", "N", args); !s.ok()) {
    return TaskOutput::Failure(s.message());
  }
  Result<uint64_t> n = ParseCount("sum_to_num", args[0]);
  if (!n.ok()) return TaskOutput::Failure(n.status().message());
  if (*n > MaxSumToNumArgument()) {
    return TaskOutput::Failure("sum_to_num: " + args[0] +
                               " is too large (the sum would not fit in 64 bits; max " +
                               std::to_string(MaxSumToNumArgument()) + ")");
  }
  const uint64_t last = *n + 10;
  uint64_t sum = 0;
  for (uint64_t i = 0; i <= last; ++i) {
    // The empty asm hides i from the optimizer, so the loop really runs
    // instead of becoming the closed form: this task is the CPU-bound example.
    __asm__ volatile("" : "+r"(i));
    sum += i;
  }
  return TaskOutput::Success(std::to_string(sum));
}

int64_t ProcessCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

TaskOutput Spin(const std::vector<std::string>& args) {
  Result<uint64_t> ms = ParseMillis("spin", args);
  if (!ms.ok()) return TaskOutput::Failure(ms.status().message());
  const int64_t end = ProcessCpuNanos() + static_cast<int64_t>(*ms) * 1000000;
  uint64_t work = 0;
  while (ProcessCpuNanos() < end) {
    // Some arithmetic between clock reads, which are syscalls.
    for (int i = 0; i < 1000; ++i) {
      __asm__ volatile("" : "+r"(work));
      ++work;
    }
  }
  return TaskOutput::Success("");
}

TaskOutput Sleep(const std::vector<std::string>& args) {
  Result<uint64_t> ms = ParseMillis("sleep", args);
  if (!ms.ok()) return TaskOutput::Failure(ms.status().message());
  // An absolute deadline makes restarting after EINTR exact.
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += static_cast<time_t>(*ms / 1000);
  deadline.tv_nsec += static_cast<long>(*ms % 1000) * 1000000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000;
  }
  int rc;
  do {
    rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr);
  } while (rc == EINTR);
  if (rc != 0) return TaskOutput::Failure(SysError("clock_nanosleep", "", rc).message());
  return TaskOutput::Success("");
}

TaskOutput Echo(const std::vector<std::string>& args) {
  return TaskOutput::Success(Join(args));
}

TaskOutput Fail(const std::vector<std::string>& args) {
  return TaskOutput::Failure(args.empty() ? "failed on request" : Join(args));
}

TaskOutput Crash(const std::vector<std::string>&) {
  // Default action, unblocked: a sanitizer's or anyone's SIGSEGV handler
  // would otherwise turn the signal into an ordinary exit.
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, nullptr);
  sigset_t segv;
  sigemptyset(&segv);
  sigaddset(&segv, SIGSEGV);
  sigprocmask(SIG_UNBLOCK, &segv, nullptr);
  raise(SIGSEGV);
  // Not reached; if it were, dying differently beats reporting success.
  std::abort();
}

void MustRegister(TaskRegistry& registry, const char* name, const char* description,
                  TaskFunction function) {
  Status status = registry.Register(
      TaskEntry{name, TaskKind::kBuiltin, description, std::move(function), "", {}});
  if (!status.ok()) {
    std::fprintf(stderr, "RegisterBuiltinTasks: %s\n", status.message().c_str());
    std::abort();
  }
}

}  // namespace

uint64_t MaxSumToNumArgument() {
  static const uint64_t max_n = [] {
    // Binary search for the largest last term m whose sum fits; N = m - 10.
    uint64_t low = 0, high = UINT64_MAX - 1, unused;
    while (low < high) {
      const uint64_t mid = low + (high - low + 1) / 2;
      if (TriangularFits(mid, &unused)) {
        low = mid;
      } else {
        high = mid - 1;
      }
    }
    return low - 10;
  }();
  return max_n;
}

void RegisterBuiltinTasks(TaskRegistry& registry) {
  MustRegister(registry, "sum_to_num", "sum of the integers 0..N+10 (CPU-bound loop)",
               SumToNum);
  MustRegister(registry, "spin", "burn MS milliseconds of CPU time", Spin);
  MustRegister(registry, "sleep", "block for MS milliseconds", Sleep);
  MustRegister(registry, "echo", "return the arguments joined by spaces", Echo);
  MustRegister(registry, "fail", "fail with the arguments as the error message", Fail);
  MustRegister(registry, "crash", "kill the worker with SIGSEGV", Crash);
}

}  // namespace jobd
