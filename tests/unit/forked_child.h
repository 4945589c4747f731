// Runs test code in a forked child, for tests that change a process's
// identity: the test process's own never changes. The child reports through
// a pipe; every read and wait has a deadline, and a child still there at
// scope exit is SIGKILLed and reaped. Header only; no gtest in the child.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace jobd {

// The wait status of child `pid` once it exited, nullopt if it did not
// within `limit` (then it is not reaped).
inline std::optional<int> WaitForExit(pid_t pid, std::chrono::milliseconds limit) {
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return std::nullopt;
  pollfd item{pidfd, POLLIN, 0};
  int ready = 0;
  do {
    ready = poll(&item, 1, static_cast<int>(limit.count()));
  } while (ready < 0 && errno == EINTR);
  close(pidfd);
  int status = 0;
  if (ready <= 0 || waitpid(pid, &status, 0) != pid) return std::nullopt;
  return status;
}

// Everything read from `fd` until its writer closes it; nullopt if that
// does not happen within `limit`.
inline std::optional<std::string> ReadUntilClosed(int fd, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string text;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd item{fd, POLLIN, 0};
    const int ready = poll(&item, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return text;
    text.append(buffer, static_cast<size_t>(n));
  }
}

class ForkedChild {
 public:
  enum class Then { kExit, kPause };
  static constexpr std::chrono::milliseconds kDefaultLimit{10000};

  // The child runs `body`, writes what it returns to the pipe and then exits
  // (status 0) or, with kPause, closes the pipe and waits to be signalled.
  explicit ForkedChild(const std::function<std::string()>& body, Then then = Then::kExit) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      close(fds[0]);
      const std::string text = body();
      WriteAll(fds[1], text);
      close(fds[1]);
      if (then == Then::kPause) {
        while (true) pause();
      }
      _exit(0);
    }
    close(fds[1]);
    read_fd_ = fds[0];
  }
  ~ForkedChild() {
    if (read_fd_ >= 0) close(read_fd_);
    if (!reaped_) {
      kill(pid_, SIGKILL);
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  ForkedChild(const ForkedChild&) = delete;
  ForkedChild& operator=(const ForkedChild&) = delete;

  pid_t pid() const { return pid_; }

  // Everything `body` returned, once the child closed the pipe; nullopt if
  // that did not happen within `limit`.
  std::optional<std::string> Report(std::chrono::milliseconds limit = kDefaultLimit) {
    return ReadUntilClosed(read_fd_, limit);
  }

  // The wait status once the child exited, nullopt if it did not within
  // `limit` (it is then killed at scope exit).
  std::optional<int> Wait(std::chrono::milliseconds limit = kDefaultLimit) {
    const std::optional<int> status = WaitForExit(pid_, limit);
    if (status) reaped_ = true;
    return status;
  }

  // Whether the child is still there (not exited, or exited but not reaped:
  // a zombie would still answer kill(pid, 0)).
  bool Running() const {
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == 0;
  }

 private:
  static void WriteAll(int fd, const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  bool reaped_ = false;
};

}  // namespace jobd
