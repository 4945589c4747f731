#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

extern char** environ;

namespace jobd::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSetpriv = "/usr/bin/setpriv";

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> EnvironmentWith(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    if (extra.count(key) == 0) env.push_back(entry);
  }
  for (const auto& [key, value] : extra) env.push_back(key + "=" + value);
  return env;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            int stdout_fd, int stderr_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = EnvironmentWith(env);
  auto c_args = CStrings(args);
  auto c_env = CStrings(envs);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << args[0] << ": " << std::strerror(rc);
    return -1;
  }
  return pid;
}

// Waits for `pid` until the deadline, through a pidfd so that the wait is
// an event, not a polling loop. Returns false on timeout.
bool WaitFor(pid_t pid, Clock::time_point deadline, int* status) {
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p = {pidfd, POLLIN, 0};
    int rc;
    do {
      rc = poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    } while (rc < 0 && errno == EINTR);
    close(pidfd);
    if (rc == 0) return false;
  }
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) return true;
  }
  return true;
}

// A datagram socket at `path` for sd_notify messages, as systemd makes one.
int BindNotifySocket(const std::string& path) {
  unlink(path.c_str());
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "bind " << path << ": " << std::strerror(errno);
  }
  return fd;
}

// Waits (bounded) for READY=1 on the notify socket `fd`; gives up at once
// when `died` says the process is gone.
template <typename Died>
bool AwaitReady(int fd, Died died) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char buf[512];
      const ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
      const std::string message(buf, n > 0 ? static_cast<size_t>(n) : 0);
      if (message.find("READY=1") != std::string::npos) return true;
    } else if (died()) {
      return false;
    }
  }
  return false;
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

RunningCommand::RunningCommand(const std::vector<std::string>& argv,
                               const std::map<std::string, std::string>& env)
    : name_(argv.at(0)), start_(Clock::now()) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return;
  }
  pid_ = Spawn(argv, env, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
}

RunningCommand::~RunningCommand() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status;
    WaitFor(pid_, Clock::now() + std::chrono::seconds(10), &status);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

CommandResult RunningCommand::Wait(std::chrono::milliseconds deadline_in) {
  CommandResult result;
  const auto deadline = Clock::now() + deadline_in;
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0 && pid_ > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      kill(pid_, SIGKILL);
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  if (pid_ > 0 && !WaitFor(pid_, Clock::now() + std::chrono::seconds(10), &status)) {
    kill(pid_, SIGKILL);
    WaitFor(pid_, Clock::now() + std::chrono::seconds(10), &status);
  }
  pid_ = -1;
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_);
  if (timed_out) {
    ADD_FAILURE() << name_ << " did not finish within " << deadline_in.count() << " ms";
    result.exit_code = -1;
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exit_code = 128 + result.signal;
  } else {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds deadline) {
  return RunningCommand(argv, env).Wait(deadline);
}

std::string BinPath(const std::string& program) { return std::string(JOBD_BIN_DIR) + "/" + program; }

TempDir::TempDir() {
  // Short: an ipc path must fit in 107 bytes.
  char pattern[] = "/tmp/jobd-t.XXXXXX";
  const char* made = mkdtemp(pattern);
  if (made == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
  path_ = made != nullptr ? made : "/tmp";
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<Jobd> Jobd::Start(std::vector<std::string> extra_args, int workers,
                                  std::vector<std::string> wrapper) {
  return Make(std::move(extra_args), workers, std::move(wrapper), std::nullopt);
}

std::unique_ptr<Jobd> Jobd::StartAs(uid_t uid, gid_t gid, std::vector<std::string> extra_args,
                                    int workers) {
  return Make(std::move(extra_args), workers,
              {kSetpriv, "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(gid),
               "--init-groups", "--"},
              std::make_pair(uid, gid));
}

std::unique_ptr<Jobd> Jobd::Make(std::vector<std::string> extra_args, int workers,
                                 std::vector<std::string> wrapper,
                                 std::optional<std::pair<uid_t, gid_t>> owner) {
  std::unique_ptr<Jobd> jobd(new Jobd());
  jobd->owner_ = owner;
  if (owner && ::chown(jobd->dir().c_str(), owner->first, owner->second) != 0) {
    ADD_FAILURE() << "chown " << jobd->dir() << ": " << std::strerror(errno);
    return nullptr;
  }
  jobd->endpoint_ = "ipc://" + jobd->dir() + "/jobd.sock";
  jobd->argv_ = wrapper;
  const std::vector<std::string> args = {BinPath("jobd"), "--socket", jobd->endpoint_,
                                         "--workers", std::to_string(workers),
                                         "--state-dir", jobd->dir() + "/state",
                                         "--log-dir", jobd->dir() + "/log"};
  jobd->argv_.insert(jobd->argv_.end(), args.begin(), args.end());
  jobd->argv_.insert(jobd->argv_.end(), extra_args.begin(), extra_args.end());
  if (!jobd->Launch()) return nullptr;
  return jobd;
}

bool Jobd::Restart() {
  if (pid_ > 0) {
    ADD_FAILURE() << "Restart() while jobd still runs";
    return false;
  }
  return Launch();
}

bool Jobd::Launch() {
  // A NOTIFY_SOCKET of our own: jobd says READY=1 there, as to systemd.
  const std::string notify_path = dir() + "/notify.sock";
  const int notify_fd = BindNotifySocket(notify_path);
  // jobd run as another user must be able to send to it.
  if (owner_ && ::chown(notify_path.c_str(), owner_->first, owner_->second) != 0) {
    ADD_FAILURE() << "chown " << notify_path << ": " << std::strerror(errno);
  }
  const std::string stderr_path = dir() + "/jobd.stderr";
  const int err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_ = Spawn(argv_, {{"NOTIFY_SOCKET", notify_path}}, out_fd, err_fd);
  close(err_fd);
  close(out_fd);

  const bool ready = pid_ > 0 && AwaitReady(notify_fd, [this] {
    if (waitpid(pid_, nullptr, WNOHANG) != pid_) return false;
    pid_ = -1;  // it died before it was ready
    return true;
  });
  close(notify_fd);
  if (!ready) ADD_FAILURE() << "jobd did not become ready; its stderr:\n" << Stderr();
  return ready;
}

Jobd::~Jobd() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status;
    WaitFor(pid_, Clock::now() + std::chrono::seconds(10), &status);
  }
}

CommandResult Jobd::Jobctl(std::vector<std::string> args, std::chrono::milliseconds deadline) const {
  std::vector<std::string> argv = {BinPath("jobctl"), "--socket", endpoint_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {}, deadline);
}

std::unique_ptr<RunningCommand> Jobd::StartJobctl(std::vector<std::string> args) const {
  std::vector<std::string> argv = {BinPath("jobctl"), "--socket", endpoint_};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<RunningCommand>(argv, std::map<std::string, std::string>{});
}

void Jobd::Signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

int Jobd::StopWith(int sig, std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  return WaitForExit(deadline);
}

int Jobd::WaitForExit(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return -1;
  int status = 0;
  if (!WaitFor(pid_, Clock::now() + deadline, &status)) return -1;
  pid_ = -1;
  return ExitCodeOf(status);
}

std::string Jobd::Stderr() const {
  std::ifstream in(dir_.path() + "/jobd.stderr");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TcpJobd::TcpJobd(const std::string& dir, const std::string& endpoint,
                 std::vector<std::string> extra, int workers)
    : dir_(dir) {
  const std::string notify_path = dir + "/notify.sock";
  const int notify_fd = BindNotifySocket(notify_path);
  std::vector<std::string> argv = {BinPath("jobd"),      "--socket",  endpoint,
                                   "--workers",          std::to_string(workers),
                                   "--state-dir",        dir + "/state",
                                   "--log-dir",          dir + "/log"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = std::make_unique<RunningCommand>(
      argv, std::map<std::string, std::string>{{"NOTIFY_SOCKET", notify_path}});
  // Its exit shows when Stop() collects its stderr.
  ready_ = AwaitReady(notify_fd, [] { return false; });
  ::close(notify_fd);
}

CommandResult TcpJobd::Stop() {
  if (!process_) return {};
  ::kill(process_->pid(), SIGTERM);
  CommandResult r = process_->Wait(std::chrono::seconds(30));
  process_.reset();
  return r;
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string Keygen(const std::string& path) {
  CommandResult r = RunCommand({BinPath("jobctl"), "keygen", "--out", path});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "jobctl keygen --out " << path << ": " << r.err;
    return "";
  }
  std::ifstream in(path + ".pub");
  std::string key;
  std::getline(in, key);
  return key;
}

CommandResult JobctlWithKey(const std::string& endpoint, const std::string& server_public_file,
                            const std::string& key_file, const std::vector<std::string>& args,
                            std::chrono::milliseconds deadline) {
  std::vector<std::string> argv = {BinPath("jobctl"),   "--socket",       endpoint,
                                   "--curve-server-key", server_public_file, "--curve-key-file",
                                   key_file};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {}, deadline);
}

CommandResult JobctlAs(uid_t uid, gid_t gid, const std::string& endpoint,
                       const std::vector<std::string>& args,
                       std::chrono::milliseconds deadline) {
  std::vector<std::string> argv = {kSetpriv, "--reuid=" + std::to_string(uid),
                                   "--regid=" + std::to_string(gid), "--clear-groups", "--",
                                   BinPath("jobctl"), "--socket", endpoint};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {}, deadline);
}

void OpenDirectory(const std::string& dir) {
  if (::chmod(dir.c_str(), 0711) != 0) {
    ADD_FAILURE() << "chmod 0711 " << dir << ": " << std::strerror(errno);
  }
}

std::string WhyNotAsOtherUsers() {
  if (::geteuid() != 0) return "needs root, to run jobctl as other users";
  if (::access(kSetpriv, X_OK) != 0) return "no setpriv";
  CommandResult r = RunCommand({kSetpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                "--", BinPath("jobctl"), "--help"},
                               {}, std::chrono::seconds(20));
  if (r.exit_code != 0) return "uid 65534 cannot run " + BinPath("jobctl") + ": " + r.err;
  return "";
}

bool WaitForProcessGone(pid_t pid, std::chrono::milliseconds deadline) {
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return errno == ESRCH;
  pollfd p = {pidfd, POLLIN, 0};
  int rc;
  do {
    rc = poll(&p, 1, static_cast<int>(deadline.count()));
  } while (rc < 0 && errno == EINTR);
  close(pidfd);
  return rc > 0;
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> Repeat(const std::string& item, int times) {
  return std::vector<std::string>(static_cast<size_t>(times), item);
}

std::vector<std::string> Numbers(int count, const std::string& prefix) {
  std::vector<std::string> items;
  for (int i = 0; i < count; ++i) items.push_back(prefix + std::to_string(i));
  return items;
}

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(nlohmann::json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return lines;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace jobd::testing
