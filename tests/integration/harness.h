// Runs the real programs for integration tests: a jobd on a private ipc
// endpoint in a temporary directory, and jobctl commands with a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace jobd::testing {

struct CommandResult {
  int exit_code = -1;     // -1: killed at the deadline
  int signal = 0;         // the signal that ended it, if any
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

// A command started in the background, its stdout and stderr captured.
class RunningCommand {
 public:
  RunningCommand(const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env);
  ~RunningCommand();  // SIGKILLs it if it was never waited for
  RunningCommand(const RunningCommand&) = delete;
  RunningCommand& operator=(const RunningCommand&) = delete;

  pid_t pid() const { return pid_; }
  // Collects its output until it exits; SIGKILLs it at the deadline (and
  // fails the test).
  CommandResult Wait(std::chrono::milliseconds deadline = std::chrono::seconds(60));

 private:
  std::string name_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::chrono::steady_clock::time_point start_;
};

// Runs `argv` (argv[0] a path) with extra environment entries, capturing
// stdout and stderr. Kills it with SIGKILL at the deadline.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::milliseconds deadline = std::chrono::seconds(60));

std::string BinPath(const std::string& program);  // build/bin/<program>

// A temporary directory removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class Jobd {
 public:
  // Starts jobd and waits (bounded) for its READY=1 on a NOTIFY_SOCKET,
  // which it sends once every worker is up. Fails the test on timeout.
  // `wrapper` comes before the program (e.g. {"/usr/bin/prlimit", "--fsize=N", "--"}).
  static std::unique_ptr<Jobd> Start(std::vector<std::string> extra_args = {},
                                     int workers = 2, std::vector<std::string> wrapper = {});
  ~Jobd();  // SIGKILLs jobd if it is still running

  // Starts jobd again, as before, on the same directory (state, log,
  // socket), once the previous one has exited. False if it did not get ready.
  bool Restart();

  const std::string& endpoint() const { return endpoint_; }
  const std::string& dir() const { return dir_.path(); }
  std::string log_path() const { return dir_.path() + "/log/jobd.jsonl"; }
  pid_t pid() const { return pid_; }

  // jobctl --socket <endpoint> args...
  CommandResult Jobctl(std::vector<std::string> args,
                       std::chrono::milliseconds deadline = std::chrono::seconds(60)) const;
  std::unique_ptr<RunningCommand> StartJobctl(std::vector<std::string> args) const;

  // Sends `sig` and waits (bounded) for jobd to exit. Returns its exit
  // code, or -1 if it did not exit in time, or 128+signal if killed.
  int StopWith(int sig, std::chrono::milliseconds deadline = std::chrono::seconds(30));
  // Waits (bounded) for jobd to exit by itself; the result as for StopWith.
  int WaitForExit(std::chrono::milliseconds deadline = std::chrono::seconds(30));
  // Sends a signal without waiting.
  void Signal(int sig) const;
  std::string Stderr() const;

 private:
  Jobd() = default;
  bool Launch();

  TempDir dir_;
  std::vector<std::string> argv_;
  std::string endpoint_;
  pid_t pid_ = -1;
};

// Waits (bounded) until a process that need not be our child has exited.
bool WaitForProcessGone(pid_t pid, std::chrono::milliseconds deadline);

// `a` followed by `b`, for building command lines.
std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b);
// `times` copies of `item`.
std::vector<std::string> Repeat(const std::string& item, int times);
// "prefix0", "prefix1", ... : `count` distinct items.
std::vector<std::string> Numbers(int count, const std::string& prefix = "");

// Waits (bounded) until `done` holds, checking every `tick`. For states only
// the daemon knows (a job's counts, a worker's state), asking again is the
// only event there is.
template <typename Predicate>
bool Eventually(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(30),
                std::chrono::milliseconds tick = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(tick);
  }
  return done();
}

// Each non-empty line of `text` parsed as JSON.
std::vector<nlohmann::json> JsonLines(const std::string& text);

// Every line of a file.
std::vector<std::string> ReadLines(const std::string& path);

}  // namespace jobd::testing
