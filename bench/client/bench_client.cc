// jobd_bench_client: drives jobd through the client library (client/client.h)
// for bench/run, and prints what it measured as one JSON object on stdout.
//
//   jobd_bench_client --socket EP map [--task echo] [--count N] [--jobs J] [--no-store]
//       N tasks (args 0..N-1) as J jobs of N/J tasks, submitted and streamed one
//       after the other on one connection: wall time and tasks/s.
//   jobd_bench_client --socket EP latency [--count N] [--no-store]
//       N one-task jobs (echo), one at a time: each round trip, submit to result.
//   jobd_bench_client --socket EP ping [--count N] [--interval-us U]
//       N pings, U microseconds apart: each round trip.
//   jobd_bench_client --socket EP submit [--task echo] [--count N] [--jobs J] [--no-store]
//       Submits without waiting for results; prints the job ids.
//
// Exit status 0 when every task ended ok (and every call succeeded), else 1.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "client/client.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string socket;
  std::string mode;
  std::string task = "echo";
  uint64_t count = 1000;
  uint64_t jobs = 1;
  uint64_t interval_us = 0;
  bool no_store = false;
};

constexpr const char* kUsage =
    "usage: jobd_bench_client --socket EP MODE [--task T] [--count N] [--jobs J] "
    "[--interval-us U] [--no-store]\n"
    "  map      N tasks (args 0..N-1) as J jobs, submitted and streamed in turn: tasks/s\n"
    "  latency  N one-task jobs (echo), one at a time: round trips, p50/p99\n"
    "  ping     N pings, U microseconds apart: round trips, p50/p99/max\n"
    "  submit   N tasks as J jobs, not waiting for results: the job ids\n"
    "One JSON object on stdout. Exit 0 when every task ended ok, 1 if not, 2 for usage.\n";

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr, "jobd_bench_client: %s\n%s", why.c_str(), kUsage);
  std::exit(2);
}

uint64_t ParseNumber(std::string_view flag, const char* text) {
  uint64_t value = 0;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end) Usage(std::string(flag) + ": not a number: " + text);
  return value;
}

Options Parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--socket") {
      options.socket = value();
    } else if (arg == "--task") {
      options.task = value();
    } else if (arg == "--count") {
      options.count = ParseNumber(arg, value());
    } else if (arg == "--jobs") {
      options.jobs = std::max<uint64_t>(1, ParseNumber(arg, value()));
    } else if (arg == "--interval-us") {
      options.interval_us = ParseNumber(arg, value());
    } else if (arg == "--no-store") {
      options.no_store = true;
    } else if (!arg.empty() && arg[0] != '-' && options.mode.empty()) {
      options.mode = arg;
    } else {
      Usage("unknown argument: " + std::string(arg));
    }
  }
  if (options.socket.empty()) Usage("--socket is required");
  if (options.mode.empty()) Usage("no mode given");
  return options;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Nearest-rank percentile of sorted samples.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void PrintSamples(const char* mode, std::vector<double> us, uint64_t failures) {
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  std::printf(
      "{\"mode\":\"%s\",\"count\":%zu,\"failures\":%llu,\"p50_us\":%.1f,\"p90_us\":%.1f,"
      "\"p99_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f}\n",
      mode, us.size(), static_cast<unsigned long long>(failures), Percentile(us, 50),
      Percentile(us, 90), Percentile(us, 99), us.empty() ? 0.0 : us.back(),
      us.empty() ? 0.0 : sum / static_cast<double>(us.size()));
}

jobd::SubmitRequest Request(const Options& options, uint64_t first, uint64_t count) {
  jobd::SubmitRequest request;
  request.default_task = options.task;
  request.no_store = options.no_store;
  request.tasks.reserve(count);
  for (uint64_t i = first; i < first + count; ++i) {
    request.tasks.push_back(jobd::TaskInput{"", {std::to_string(i)}});
  }
  return request;
}

int RunMap(jobd::Client& client, const Options& options) {
  const uint64_t per_job = (options.count + options.jobs - 1) / options.jobs;
  uint64_t ok = 0;
  uint64_t not_ok = 0;
  const Clock::time_point start = Clock::now();
  for (uint64_t first = 0; first < options.count; first += per_job) {
    const uint64_t n = std::min(per_job, options.count - first);
    auto stream = client.Map(Request(options, first, n), /*ordered=*/false);
    if (!stream.ok()) {
      std::fprintf(stderr, "jobd_bench_client: map: %s\n", stream.status().message().c_str());
      return 1;
    }
    while (true) {
      auto next = (*stream)->Next();
      if (!next.ok()) {
        std::fprintf(stderr, "jobd_bench_client: stream: %s\n", next.status().message().c_str());
        return 1;
      }
      if (!next->has_value()) break;
      ((*next)->status == jobd::TaskStatus::kOk ? ok : not_ok) += 1;
    }
  }
  const double seconds = Seconds(Clock::now() - start);
  std::printf(
      "{\"mode\":\"map\",\"task\":\"%s\",\"count\":%llu,\"jobs\":%llu,\"no_store\":%s,"
      "\"ok\":%llu,\"not_ok\":%llu,\"seconds\":%.6f,\"tasks_per_s\":%.1f}\n",
      options.task.c_str(), static_cast<unsigned long long>(options.count),
      static_cast<unsigned long long>(options.jobs), options.no_store ? "true" : "false",
      static_cast<unsigned long long>(ok), static_cast<unsigned long long>(not_ok), seconds,
      static_cast<double>(ok + not_ok) / seconds);
  return ok == options.count ? 0 : 1;
}

int RunLatency(jobd::Client& client, const Options& options) {
  std::vector<double> us;
  us.reserve(options.count);
  uint64_t failures = 0;
  for (uint64_t i = 0; i < options.count; ++i) {
    const Clock::time_point start = Clock::now();
    auto stream = client.Map(Request(options, i, 1), /*ordered=*/false);
    if (!stream.ok()) {
      std::fprintf(stderr, "jobd_bench_client: map: %s\n", stream.status().message().c_str());
      return 1;
    }
    bool ok = false;
    while (true) {
      auto next = (*stream)->Next();
      if (!next.ok()) {
        std::fprintf(stderr, "jobd_bench_client: stream: %s\n", next.status().message().c_str());
        return 1;
      }
      if (!next->has_value()) break;
      ok = (*next)->status == jobd::TaskStatus::kOk;
    }
    us.push_back(Micros(Clock::now() - start));
    if (!ok) ++failures;
  }
  PrintSamples("latency", std::move(us), failures);
  return failures == 0 ? 0 : 1;
}

int RunPing(jobd::Client& client, const Options& options) {
  std::vector<double> us;
  us.reserve(options.count);
  uint64_t queued_min = UINT64_MAX;
  uint64_t running_max = 0;
  for (uint64_t i = 0; i < options.count; ++i) {
    const Clock::time_point start = Clock::now();
    auto pong = client.Ping();
    if (!pong.ok()) {
      std::fprintf(stderr, "jobd_bench_client: ping: %s\n", pong.status().message().c_str());
      return 1;
    }
    us.push_back(Micros(Clock::now() - start));
    queued_min = std::min(queued_min, pong->queued);
    running_max = std::max(running_max, pong->running);
    if (options.interval_us > 0) {
      const auto next = start + std::chrono::microseconds(options.interval_us);
      while (Clock::now() < next) {
        // A sleep, not a spin: the client must not take a core from jobd.
        std::this_thread::sleep_until(next);
      }
    }
  }
  std::fprintf(stderr, "jobd_bench_client: ping: queued >= %llu, running <= %llu\n",
               static_cast<unsigned long long>(queued_min),
               static_cast<unsigned long long>(running_max));
  PrintSamples("ping", std::move(us), 0);
  return 0;
}

int RunSubmit(jobd::Client& client, const Options& options) {
  const uint64_t per_job = (options.count + options.jobs - 1) / options.jobs;
  const Clock::time_point start = Clock::now();
  std::string ids;
  for (uint64_t first = 0; first < options.count; first += per_job) {
    const uint64_t n = std::min(per_job, options.count - first);
    auto job = client.Submit(Request(options, first, n));
    if (!job.ok()) {
      std::fprintf(stderr, "jobd_bench_client: submit: %s\n", job.status().message().c_str());
      return 1;
    }
    if (!ids.empty()) ids += ',';
    ids += std::to_string(job->job);
  }
  std::printf("{\"mode\":\"submit\",\"count\":%llu,\"jobs\":[%s],\"seconds\":%.6f}\n",
              static_cast<unsigned long long>(options.count), ids.c_str(),
              Seconds(Clock::now() - start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = Parse(argc, argv);
  jobd::ClientOptions client_options;
  client_options.endpoint = options.socket;
  client_options.connect_timeout = jobd::Millis(5000);
  // A million-task submit with the store on is acknowledged only once
  // committed: allow for it.
  client_options.liveness_timeout = jobd::Millis(30000);
  auto client = jobd::Client::Connect(client_options);
  if (!client.ok()) {
    std::fprintf(stderr, "jobd_bench_client: %s\n", client.status().message().c_str());
    return 2;
  }
  if (options.mode == "map") return RunMap(**client, options);
  if (options.mode == "latency") return RunLatency(**client, options);
  if (options.mode == "ping") return RunPing(**client, options);
  if (options.mode == "submit") return RunSubmit(**client, options);
  Usage("unknown mode: " + options.mode);
}
