// RunCommand: vfork + execve of one command, its output read through pipes and
// its exit noticed through a pidfd. The worker is multi-threaded (ZeroMQ), so
// between fork and execve the child calls only async-signal-safe functions and
// allocates nothing: everything it needs is prepared before the fork.
#include "worker/command_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <optional>
#include <string_view>

#include "util/status.h"
#include "util/unique_fd.h"

extern char** environ;

namespace jobd {
namespace {

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
// How long the pipes may stay open once the command exited: a descendant that
// left the group may hold them, and must not hold the task as well.
constexpr auto kDrainGrace = std::chrono::seconds(2);
// Without pidfds (kernels before 5.3), how often to look for the exit.
constexpr int kExitPollMs = 20;

// ---- Before the fork ------------------------------------------------------

// What the child needs, ready to use. Built in place and never moved: argv and
// envp point into strings.
struct Plan {
  std::string path;  // for execve; a relative one is relative to `cwd`
  std::vector<std::string> env;
  std::vector<char*> argv, envp;  // null-terminated
  const char* cwd = nullptr;      // null: the worker's
  const char* stdin_path = "/dev/null";
  std::optional<rlimit> memory, cpu;
};

std::string_view NameOf(std::string_view entry) { return entry.substr(0, entry.find('=')); }

// This process's environment with `extra` ("K=V") added or replacing.
Result<std::vector<std::string>> BuildEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    env.emplace_back(*entry);
  }
  for (const std::string& entry : extra) {
    if (entry.find('=') == std::string::npos || entry.front() == '=') {
      return Status::InvalidArgument("bad environment entry '" + entry + "': expected K=V");
    }
    std::erase_if(env, [&](const std::string& old) { return NameOf(old) == NameOf(entry); });
    env.push_back(entry);
  }
  return env;
}

std::string PathVariable(const std::vector<std::string>& env) {
  for (const std::string& entry : env) {
    if (entry.starts_with("PATH=")) return entry.substr(5);
  }
  return kDefaultPath;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// Looks `name` up in `path_var` like execvp (an empty element is the current
// directory), where the current directory is `cwd` when set. Returns the path
// to give execve after the chdir, or "" when not found.
std::string FindInPath(const std::string& name, const std::string& path_var,
                       const std::string& cwd) {
  for (size_t start = 0;;) {
    size_t colon = path_var.find(':', start);
    std::string dir = path_var.substr(start, colon == std::string::npos ? colon : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    bool relative = candidate.front() != '/' && !cwd.empty();
    if (IsExecutableFile(relative ? cwd + "/" + candidate : candidate)) return candidate;
    if (colon == std::string::npos) return "";
    start = colon + 1;
  }
}

std::vector<char*> Pointers(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

// Limits the child asks for, within the worker's own hard limits (raising a
// hard limit would fail).
rlimit Limit(int resource, rlim_t soft, rlim_t hard) {
  rlimit current{RLIM_INFINITY, RLIM_INFINITY};
  getrlimit(resource, &current);
  hard = std::min(hard, current.rlim_max);
  return rlimit{std::min(soft, hard), hard};
}

Status Prepare(const std::vector<std::string>& argv, const CommandOptions& options,
               Plan& plan) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("no command given");
  Result<std::vector<std::string>> env = BuildEnv(options.env);
  if (!env.ok()) return env.status();
  plan.env = std::move(*env);
  plan.path = argv[0];
  if (argv[0].find('/') == std::string::npos) {
    plan.path = FindInPath(argv[0], PathVariable(plan.env), options.cwd);
    if (plan.path.empty()) return Status::NotFound("command not found: " + argv[0]);
  }
  plan.argv = Pointers(argv);
  plan.envp = Pointers(plan.env);
  if (!options.cwd.empty()) plan.cwd = options.cwd.c_str();
  if (!options.stdin_path.empty()) plan.stdin_path = options.stdin_path.c_str();
  if (options.memory_limit != 0) {
    plan.memory = Limit(RLIMIT_AS, options.memory_limit, options.memory_limit);
  }
  if (options.cpu_limit_us != 0) {
    // SIGXCPU at the soft limit, SIGKILL a second later if that is caught.
    rlim_t seconds = options.cpu_limit_us / 1000000 + (options.cpu_limit_us % 1000000 != 0);
    plan.cpu = Limit(RLIMIT_CPU, seconds, seconds + 1);
  }
  return Status::Ok();
}

struct Pipe {
  UniqueFd read, write;
};

// O_CLOEXEC so that a fork elsewhere in the worker does not inherit it; both
// ends above 2 so that the child's dup2s onto 0-2 cannot clobber them.
Result<Pipe> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return SysError("pipe2", "", errno);
  Pipe made{UniqueFd(fds[0]), UniqueFd(fds[1])};
  for (UniqueFd* end : {&made.read, &made.write}) {
    if (end->get() > 2) continue;
    int moved = fcntl(end->get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0) return SysError("fcntl", "", errno);
    end->Reset(moved);
  }
  return made;
}

// ---- In the child: async-signal-safe calls only ---------------------------

enum Stage : int { kGroup, kCwd, kStdin, kRedirect, kMemoryLimit, kCpuLimit, kExec };

// What a child that failed before its exec leaves for the parent. The vfork
// child shares the parent's memory and the parent waits until it has exec'd
// or exited, so a plain write is seen (as in glibc's posix_spawn): no pipe to
// make and close for every command. Volatile, so that neither side keeps it
// in a register across the vfork.
struct ChildFailure {
  int stage = -1;  // -1: none, the exec succeeded
  int error = 0;
};

[[noreturn]] void Fail(volatile ChildFailure* report, Stage stage) {
  report->error = errno;
  report->stage = stage;
  _exit(127);
}

// Ignored signals stay ignored across execve, and handlers would run the
// worker's code in the child: back to the defaults, then unblock.
void ResetSignals() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

[[noreturn]] void ExecChild(const Plan& plan, int out_fd, int err_fd,
                            volatile ChildFailure* report, pid_t parent) {
  if (setpgid(0, 0) != 0) Fail(report, kGroup);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the worker died before the prctl
  ResetSignals();
  if (plan.cwd != nullptr && chdir(plan.cwd) != 0) Fail(report, kCwd);
  int in_fd = open(plan.stdin_path, O_RDONLY);  // after chdir: relative to cwd
  if (in_fd < 0) Fail(report, kStdin);
  if (in_fd != 0 && (dup2(in_fd, 0) < 0 || close(in_fd) != 0)) Fail(report, kRedirect);
  if (dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) Fail(report, kRedirect);
  if (plan.memory && setrlimit(RLIMIT_AS, &*plan.memory) != 0) Fail(report, kMemoryLimit);
  if (plan.cpu && setrlimit(RLIMIT_CPU, &*plan.cpu) != 0) Fail(report, kCpuLimit);
  execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  Fail(report, kExec);
}

// ---- In the parent --------------------------------------------------------

// vfork rather than fork: the child borrows the worker's memory until its
// execve instead of copying its page tables, which is most of the cost of
// starting a short command (glibc's posix_spawn does the same; it cannot set
// rlimits or a parent-death signal, hence this). The child only makes
// syscalls on data prepared before, writes nothing but `report`, and never
// returns. All signals are blocked around it, so that no handler of the
// worker runs in the child before ResetSignals.
pid_t Fork(const Plan& plan, int out_fd, int err_fd, volatile ChildFailure* report) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t parent = getpid();
  pid_t pid = vfork();
  if (pid == 0) ExecChild(plan, out_fd, err_fd, report, parent);
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = fork_errno;
  return pid;
}

std::string Describe(const ChildFailure& failure, const Plan& plan) {
  std::string why = std::strerror(failure.error);
  switch (failure.stage) {
    case kGroup: return "cannot create a process group: " + why;
    case kCwd: return "working directory '" + std::string(plan.cwd) + "': " + why;
    case kStdin: return "standard input '" + std::string(plan.stdin_path) + "': " + why;
    case kRedirect: return "cannot redirect the command's output: " + why;
    case kMemoryLimit: return "cannot set the memory limit: " + why;
    case kCpuLimit: return "cannot set the CPU limit: " + why;
    default: return "cannot run '" + plan.path + "': " + why;
  }
}

bool WaitAgain(pid_t result) { return result > 0 || (result < 0 && errno == EINTR); }

uint64_t Micros(const timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1000000 + static_cast<uint64_t>(tv.tv_usec);
}

// Owns the command's process group once it runs: however RunCommand leaves
// (an exception from on_start included), the group is killed and reaped.
class Group {
 public:
  explicit Group(pid_t pgid) : pgid_(pgid) {}
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  ~Group() {
    if (!main_reaped_) ReapMain();
    // Members orphaned by the main process became ours (we are the
    // subreaper); then any other child that exited, so that no zombie stays.
    int status = 0;
    while (WaitAgain(waitpid(-pgid_, &status, 0))) {
    }
    while (WaitAgain(waitpid(-1, &status, WNOHANG))) {
    }
  }

  // True once the main process exited (without pidfds). Looks without reaping
  // it: the zombie keeps its pid, and so the group id, from being reused
  // until ReapMain.
  bool MainExited() const {
    siginfo_t info{};
    while (waitid(P_PID, static_cast<id_t>(pgid_), &info, WEXITED | WNOWAIT | WNOHANG) != 0) {
      if (errno != EINTR) return true;  // not ours to wait for: gone
    }
    return info.si_pid == pgid_;
  }

  // Kills what is left of the group, then reaps the main process. Called once
  // it exited, while it is a zombie, so that the group id is still its own.
  CommandEnd ReapMain() {
    kill(-pgid_, SIGKILL);
    main_reaped_ = true;
    CommandEnd end;
    int status = 0;
    rusage usage{};
    while (wait4(pgid_, &status, 0, &usage) < 0) {
      if (errno != EINTR) return end;
    }
    if (WIFSIGNALED(status)) {
      end.signal = WTERMSIG(status);
    } else {
      end.exit_code = WEXITSTATUS(status);
    }
    end.cpu_us = Micros(usage.ru_utime) + Micros(usage.ru_stime);
    end.max_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
    return end;
  }

 private:
  pid_t pgid_;
  bool main_reaped_ = false;
};

// One of the command's output pipes. Both are read to their end whatever is
// kept, so that the command never blocks on a full pipe.
struct Stream {
  UniqueFd fd;
  size_t max = 0;
  bool keep_tail = false;  // stderr: the last `max` bytes; stdout: the first
  std::string kept;
  bool truncated = false;

  void Add(std::string_view chunk) {
    if (!keep_tail) {
      size_t room = max - std::min(max, kept.size());
      kept.append(chunk.substr(0, room));
      truncated = truncated || chunk.size() > room;
      return;
    }
    if (chunk.size() > max) {
      kept.clear();
      chunk.remove_prefix(chunk.size() - max);
      truncated = true;
    }
    kept.append(chunk);
    if (kept.size() / 2 > max) TrimTail();  // at twice the size: amortized O(1) a byte
  }

  void TrimTail() {
    if (kept.size() <= max) return;
    kept.erase(0, kept.size() - max);
    truncated = true;
  }

  // Reads what poll() said is there; closes the pipe at its end.
  void ReadSome() {
    char buffer[65536];
    ssize_t n = read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      fd.Reset();
      return;
    }
    Add(std::string_view(buffer, static_cast<size_t>(n)));
  }
};

// Reads both pipes until the main process exited and both pipes ended, or
// until kDrainGrace after the exit. Returns how the main process ended.
CommandEnd Supervise(Group& group, int pidfd, Stream& out, Stream& err) {
  using Clock = std::chrono::steady_clock;
  std::optional<CommandEnd> end;
  Clock::time_point give_up;
  while (!end || out.fd.valid() || err.fd.valid()) {
    int timeout_ms = pidfd < 0 ? kExitPollMs : -1;
    if (end) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(give_up - Clock::now());
      if (left.count() <= 0) break;
      timeout_ms = static_cast<int>(left.count());
    }
    pollfd fds[3] = {{out.fd.get(), POLLIN, 0},
                     {err.fd.get(), POLLIN, 0},
                     {end ? -1 : pidfd, POLLIN, 0}};  // negative fds are skipped
    if (poll(fds, 3, timeout_ms) < 0) {
      if (errno == EINTR) continue;
      break;  // cannot watch the command any more: the group is killed below
    }
    if (fds[0].revents != 0) out.ReadSome();
    if (fds[1].revents != 0) err.ReadSome();
    if (!end && (pidfd >= 0 ? fds[2].revents != 0 : group.MainExited())) {
      end = group.ReapMain();
      give_up = Clock::now() + kDrainGrace;
    }
  }
  if (!end) end = group.ReapMain();
  return *end;
}

void Run(const std::vector<std::string>& argv, const CommandOptions& options,
         uint64_t default_max_output, const std::function<void(int32_t)>& on_start,
         CommandRun& run) {
  Plan plan;
  if (Status status = Prepare(argv, options, plan); !status.ok()) {
    run.err = status.message();
    return;
  }
  Result<Pipe> out_pipe = MakePipe(), err_pipe = MakePipe();
  for (const Result<Pipe>* made : {&out_pipe, &err_pipe}) {
    if (!made->ok()) {
      run.err = made->status().message();
      return;
    }
  }
  volatile ChildFailure report;
  pid_t pid = Fork(plan, out_pipe->write.get(), err_pipe->write.get(), &report);
  if (pid < 0) {
    run.err = SysError("fork", "", errno).message();
    return;
  }
  setpgid(pid, pid);  // as the child does: whichever runs first, the group exists
  out_pipe->write.Reset();
  err_pipe->write.Reset();
  Group group(pid);
  if (report.stage >= 0) {
    run.err = Describe(ChildFailure{report.stage, report.error}, plan);
    return;  // `group` reaps the child
  }
  run.started = true;
  if (on_start) on_start(pid);
  uint64_t max = options.max_output != 0 ? options.max_output : default_max_output;
  Stream out{std::move(out_pipe->read), max, false, {}, false};
  Stream err{std::move(err_pipe->read), max, true, {}, false};
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));  // -1: poll for the exit
  run.end = Supervise(group, pidfd.get(), out, err);
  err.TrimTail();
  run.out = std::move(out.kept);
  run.err = std::move(err.kept);
  run.end.stdout_truncated = out.truncated;
  run.end.stderr_truncated = err.truncated;
}

}  // namespace

CommandRun RunCommand(const std::vector<std::string>& argv, const CommandOptions& options,
                      uint64_t default_max_output,
                      const std::function<void(int32_t pgid)>& on_start) {
  CommandRun run;
  try {
    Run(argv, options, default_max_output, on_start, run);
  } catch (const std::exception& e) {
    run.err = std::string("running the command failed: ") + e.what();
  } catch (...) {
    run.err = "running the command failed";
  }
  return run;
}

void BecomeSubreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

}  // namespace jobd
