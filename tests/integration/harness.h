// Runs the real programs for integration tests: a jobd on a private ipc
// endpoint in a temporary directory (or on loopback tcp with CURVE, or as
// another user), and jobctl commands with a deadline (also as other users).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
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
  // The same, with jobd run as `uid` and `gid` and that account's groups
  // (through setpriv; needs root): its directory is that user's, so that it
  // can make its state, log and socket there.
  static std::unique_ptr<Jobd> StartAs(uid_t uid, gid_t gid,
                                       std::vector<std::string> extra_args = {}, int workers = 2);
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
  static std::unique_ptr<Jobd> Make(std::vector<std::string> extra_args, int workers,
                                    std::vector<std::string> wrapper,
                                    std::optional<std::pair<uid_t, gid_t>> owner);
  bool Launch();

  TempDir dir_;
  std::vector<std::string> argv_;
  std::string endpoint_;
  pid_t pid_ = -1;
  // Set by StartAs: who owns the directory and the notify socket.
  std::optional<std::pair<uid_t, gid_t>> owner_;
};

// A jobd on a tcp:// endpoint with CURVE (the Jobd above always uses ipc),
// its state and log in `dir`; ready once it says READY=1 on a NOTIFY_SOCKET
// of ours. `extra` holds at least the CURVE options.
class TcpJobd {
 public:
  TcpJobd(const std::string& dir, const std::string& endpoint, std::vector<std::string> extra,
          int workers = 1);
  ~TcpJobd() { Stop(); }
  TcpJobd(const TcpJobd&) = delete;
  TcpJobd& operator=(const TcpJobd&) = delete;

  bool ready() const { return ready_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string log_path() const { return dir_ + "/log/jobd.jsonl"; }
  // SIGTERM, and its stderr once it has exited.
  CommandResult Stop();

 private:
  std::string dir_;
  std::unique_ptr<RunningCommand> process_;
  bool ready_ = false;
};

// A loopback port nothing listens on now: the kernel's choice for a socket
// bound to port 0, given back at once. (Another program could take it
// meanwhile; on a test machine that does not happen in practice.)
int FreeLoopbackPort();

// `jobctl keygen --out path`: path.key and path.pub. Returns the public key
// ("" and a test failure if keygen failed).
std::string Keygen(const std::string& path);

// jobctl on a CURVE endpoint, with jobd's public key file and this client's
// key pair file.
CommandResult JobctlWithKey(const std::string& endpoint, const std::string& server_public_file,
                            const std::string& key_file, const std::vector<std::string>& args,
                            std::chrono::milliseconds deadline = std::chrono::seconds(30));

// ---- other users (these need root) ----------------------------------------

// jobctl as another user, through setpriv: uid `uid` and gid `gid`, no
// supplementary groups.
CommandResult JobctlAs(uid_t uid, gid_t gid, const std::string& endpoint,
                       const std::vector<std::string>& args,
                       std::chrono::milliseconds deadline = std::chrono::seconds(30));

// A directory of ours (mkdtemp's, mode 0700) opened for other users to pass
// through (0711), so that what is inside decides by its own mode.
void OpenDirectory(const std::string& dir);

// Why tests that run programs as other users cannot run here, or "" when
// they can.
std::string WhyNotAsOtherUsers();

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
