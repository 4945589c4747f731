// jobd as systemd sees it: the sd_notify(3) messages on a NOTIFY_SOCKET of
// the test's (READY=1, STATUS= with the counts, WATCHDOG=1 at half of
// WATCHDOG_USEC, STOPPING=1), and the records it sends to the journal
// natively, received on a stand-in for journald's socket. Every wait has a
// deadline.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

extern char** environ;

namespace jobd::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using SteadyTime = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A datagram socket bound at `path`, as systemd's notify socket and
// journald's native socket are.
class DatagramSocket {
 public:
  explicit DatagramSocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) ADD_FAILURE() << "path too long: " << path;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ADD_FAILURE() << "bind " << path << ": " << std::strerror(errno);
    }
    chmod(path.c_str(), 0666);  // reachable from another user namespace too
  }
  ~DatagramSocket() {
    close(fd_);
    unlink(path_.c_str());
  }
  DatagramSocket(const DatagramSocket&) = delete;
  DatagramSocket& operator=(const DatagramSocket&) = delete;

  const std::string& path() const { return path_; }

  // The next datagram, or none by the deadline.
  std::optional<std::string> Receive(SteadyTime::time_point deadline) {
    while (true) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyTime::now());
      if (left.count() < 0) return std::nullopt;
      pollfd p = {fd_, POLLIN, 0};
      const int rc = poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return std::nullopt;
      std::string buf(1 << 16, '\0');
      const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0) continue;
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// What jobd sent to NOTIFY_SOCKET, one line per assignment, with when each
// arrived.
class NotifyListener {
 public:
  struct Line {
    std::string text;
    SteadyTime::time_point at;
  };

  explicit NotifyListener(const std::string& path) : socket_(path) {}
  const std::string& path() const { return socket_.path(); }

  // Reads until a line for which `match` holds, or the deadline. Every line
  // read is kept.
  bool WaitFor(const std::function<bool(const std::string&)>& match, milliseconds limit) {
    const auto deadline = SteadyTime::now() + limit;
    for (size_t i = 0;; ++i) {
      while (i >= lines_.size()) {
        if (!ReadOne(deadline)) return false;
      }
      if (i >= seen_ && match(lines_[i].text)) {
        seen_ = i + 1;
        return true;
      }
    }
  }
  bool WaitFor(const std::string& exact, milliseconds limit) {
    return WaitFor([&](const std::string& line) { return line == exact; }, limit);
  }

  // Everything that arrives during `window`: a measurement, not a wait.
  std::vector<Line> Collect(milliseconds window) {
    const size_t from = lines_.size();
    const auto end = SteadyTime::now() + window;
    while (ReadOne(end)) {
    }
    seen_ = lines_.size();
    return std::vector<Line>(lines_.begin() + static_cast<ptrdiff_t>(from), lines_.end());
  }

  const std::vector<Line>& lines() const { return lines_; }

  std::string All() const {
    std::string all;
    for (const Line& line : lines_) all += line.text + "\n";
    return all;
  }

 private:
  bool ReadOne(SteadyTime::time_point deadline) {
    std::optional<std::string> datagram = socket_.Receive(deadline);
    if (!datagram) return false;
    const auto now = SteadyTime::now();
    size_t start = 0;
    while (start < datagram->size()) {
      size_t end = datagram->find('\n', start);
      if (end == std::string::npos) end = datagram->size();
      if (end > start) lines_.push_back({datagram->substr(start, end - start), now});
      start = end + 1;
    }
    return true;
  }

  DatagramSocket socket_;
  std::vector<Line> lines_;
  size_t seen_ = 0;  // lines before this one have been matched past
};

// One entry of journald's native protocol: FIELD=value lines, or for a
// value with a newline FIELD, then its length (64-bit little endian), the
// value and a newline.
std::map<std::string, std::string> ParseJournalEntry(const std::string& d) {
  std::map<std::string, std::string> fields;
  size_t pos = 0;
  while (pos < d.size()) {
    const size_t eq = d.find('=', pos);
    const size_t nl = d.find('\n', pos);
    if (nl == std::string::npos) break;
    if (eq != std::string::npos && eq < nl) {
      fields[d.substr(pos, eq - pos)] = d.substr(eq + 1, nl - eq - 1);
      pos = nl + 1;
      continue;
    }
    const std::string name = d.substr(pos, nl - pos);
    pos = nl + 1;
    if (pos + 8 > d.size()) break;
    uint64_t size = 0;
    for (int i = 7; i >= 0; --i) size = (size << 8) | static_cast<uint8_t>(d[pos + static_cast<size_t>(i)]);
    pos += 8;
    if (pos + size > d.size()) break;
    fields[name] = d.substr(pos, size);
    pos += size + 1;
  }
  return fields;
}

// A jobd started by the test, its stderr in a file; SIGKILLed if the test
// ends before it exits.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::map<std::string, std::string>& set,
        const std::set<std::string>& unset, const std::string& stderr_path) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      const std::string key = entry.substr(0, entry.find('='));
      if (set.count(key) == 0 && unset.count(key) == 0) env.push_back(entry);
    }
    for (const auto& [key, value] : set) env.push_back(key + "=" + value);
    std::vector<char*> c_argv, c_env;
    for (std::string& s : argv) c_argv.push_back(s.data());
    c_argv.push_back(nullptr);
    for (std::string& s : env) c_env.push_back(s.data());
    c_env.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    // posix_spawnp: the unshare wrapper is looked up in PATH.
    const int rc = posix_spawnp(&pid_, c_argv[0], &actions, nullptr, c_argv.data(), c_env.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
      pid_ = -1;
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait(milliseconds(10'000));
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Its exit code (128+N for signal N), or -1 if it is still running at the
  // deadline.
  int Wait(milliseconds limit) {
    if (pid_ <= 0) return -1;
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
      pollfd p = {pidfd, POLLIN, 0};
      int rc;
      do {
        rc = poll(&p, 1, static_cast<int>(limit.count()));
      } while (rc < 0 && errno == EINTR);
      close(pidfd);
      if (rc == 0) return -1;
    }
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  int StopWith(int sig, milliseconds limit) {
    if (pid_ > 0) kill(pid_, sig);
    return Wait(limit);
  }

 private:
  pid_t pid_ = -1;
};

class SystemdTest : public ::testing::Test {
 protected:
  std::string endpoint() const { return "ipc://" + dir_.path() + "/jobd.sock"; }
  std::string stderr_path() const { return dir_.path() + "/jobd.stderr"; }
  std::string log_path() const { return dir_.path() + "/log/jobd.jsonl"; }

  std::vector<std::string> JobdArgs(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {BinPath("jobd"),  "--socket",    endpoint(),
                                     "--workers",      "2",           "--state-dir",
                                     dir_.path() + "/state", "--log-dir", dir_.path() + "/log"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  CommandResult Jobctl(std::vector<std::string> args) const {
    std::vector<std::string> argv = {BinPath("jobctl"), "--socket", endpoint()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {}, milliseconds(30'000));
  }

  TempDir dir_;
};

TEST_F(SystemdTest, NotifiesReadyStatusWatchdogAndStopping) {
  NotifyListener notify(dir_.path() + "/notify.sock");
  // Slow heartbeats: little else wakes the idle loop, which would sleep up
  // to a second if the keep-alive did not bound its poll.
  Child jobd(JobdArgs({"--heartbeat", "5s"}),
             {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "200000"}},
             {"WATCHDOG_PID", "JOURNAL_STREAM"}, stderr_path());
  ASSERT_TRUE(jobd.running());
  ASSERT_TRUE(notify.WaitFor("READY=1", milliseconds(20'000)))
      << notify.All() << ReadAll(stderr_path());
  // Within a second of the change (the rate limit), the pool shows ready.
  ASSERT_TRUE(notify.WaitFor("STATUS=2/2 workers ready, 0 queued, 0 running", milliseconds(5000)))
      << notify.All();

  // The keep-alive: every 100 ms (half of 200 ms).
  const std::vector<NotifyListener::Line> window = notify.Collect(milliseconds(3000));
  std::vector<SteadyTime::time_point> pings;
  for (const auto& line : window) {
    if (line.text == "WATCHDOG=1") pings.push_back(line.at);
  }
  EXPECT_GE(pings.size(), 12u) << notify.All();  // 30 expected
  EXPECT_LE(pings.size(), 45u) << notify.All();
  for (size_t i = 1; i < pings.size(); ++i) {
    // Never two at once: the next one is due a period later. The times are
    // when the listener read them, so a busy machine's scheduling delays
    // can bring two closer than the 100 ms they were sent apart; a burst
    // would put them within a millisecond.
    EXPECT_GE(pings[i] - pings[i - 1], milliseconds(20)) << "pings " << i - 1 << " and " << i;
  }

  // Three 1.5 s tasks on two workers: 2 run and 1 waits, then 1 runs, then
  // none.
  CommandResult submitted = Jobctl({"submit", "sleep", "1500", "1500", "1500"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  EXPECT_TRUE(notify.WaitFor("STATUS=2/2 workers ready, 1 queued, 2 running", milliseconds(5000)))
      << notify.All();
  EXPECT_TRUE(notify.WaitFor("STATUS=2/2 workers ready, 0 queued, 1 running", milliseconds(10'000)))
      << notify.All();
  EXPECT_TRUE(notify.WaitFor("STATUS=2/2 workers ready, 0 queued, 0 running", milliseconds(10'000)))
      << notify.All();
  // Never more than one STATUS= a second (less some slack: this is when
  // they arrived, not when they were sent).
  std::optional<SteadyTime::time_point> last_status;
  for (const auto& line : notify.lines()) {
    if (line.text.rfind("STATUS=", 0) != 0) continue;
    if (last_status) {
      EXPECT_GE(line.at - *last_status, milliseconds(700)) << line.text;
    }
    last_status = line.at;
  }

  EXPECT_EQ(kill(jobd.pid(), SIGTERM), 0);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", milliseconds(5000))) << notify.All();
  EXPECT_TRUE(notify.WaitFor(
      [](const std::string& line) { return line.rfind("STATUS=draining: ", 0) == 0; },
      milliseconds(5000)))
      << notify.All();
  EXPECT_EQ(jobd.Wait(milliseconds(30'000)), 0) << ReadAll(stderr_path());
}

// Entries sent to a stand-in for journald's native socket.
class JournalListener {
 public:
  using Entry = std::map<std::string, std::string>;

  explicit JournalListener(const std::string& path) : socket_(path) {}

  // Waits (bounded) until an entry, received before or now, matches.
  std::optional<Entry> WaitFor(const std::function<bool(const Entry&)>& match,
                               milliseconds limit) {
    const auto deadline = SteadyTime::now() + limit;
    for (size_t i = 0;; ++i) {
      while (i >= entries_.size()) {
        std::optional<std::string> datagram = socket_.Receive(deadline);
        if (!datagram) return std::nullopt;
        entries_.push_back(ParseJournalEntry(*datagram));
      }
      if (match(entries_[i])) return entries_[i];
    }
  }

  std::string All() const {
    std::string all;
    for (const Entry& entry : entries_) {
      for (const auto& [name, value] : entry) all += name + "=" + value + " ";
      all += "\n";
    }
    return all;
  }

 private:
  DatagramSocket socket_;
  std::vector<Entry> entries_;
};

std::string Get(const JournalListener::Entry& entry, const std::string& field) {
  auto it = entry.find(field);
  return it == entry.end() ? "" : it->second;
}

std::string FindUnshare() {
  for (const char* path : {"/usr/bin/unshare", "/bin/unshare"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// Runs the rest of the command line in a user and mount namespace of its
// own where /run/systemd/journal is `journal_dir`: there, jobd's
// sd_journal_sendv reaches the socket the test listens on.
const char kWithJournalAt[] =
    "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && "
    "mount --bind \"$0\" /run/systemd/journal && exec \"$@\"";

TEST_F(SystemdTest, UnderSystemdRecordsGoToTheJournalWithTheirFields) {
  const std::string unshare = FindUnshare();
  if (unshare.empty()) GTEST_SKIP() << "no unshare(1) here";
  CommandResult probe = RunCommand({unshare, "-rm", "sh", "-c", "mount -t tmpfs tmpfs /run"});
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "cannot make a user and mount namespace here: " << probe.err;
  }

  const std::string journal_dir = dir_.path() + "/journal";
  std::filesystem::create_directories(journal_dir);
  JournalListener journal(journal_dir + "/socket");
  NotifyListener notify(dir_.path() + "/notify.sock");

  // As systemd runs a service: stderr is a stream journald reads, named by
  // JOURNAL_STREAM, so --journal auto turns the native journal on.
  const int err_fd = open(stderr_path().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(err_fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(err_fd, &st), 0);
  close(err_fd);
  const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);

  Child jobd(Concat({unshare, "-rm", "sh", "-c", kWithJournalAt, journal_dir},
                    JobdArgs({"--log-level", "debug"})),
             {{"NOTIFY_SOCKET", notify.path()}, {"JOURNAL_STREAM", stream}},
             {"WATCHDOG_USEC", "WATCHDOG_PID"}, stderr_path());
  ASSERT_TRUE(jobd.running());
  ASSERT_TRUE(notify.WaitFor("READY=1", milliseconds(20'000))) << ReadAll(stderr_path());

  const auto coordinator_says = [&](const std::string& text) {
    return [&, text](const JournalListener::Entry& e) {
      return Get(e, "JOBD_ROLE") == "coordinator" &&
             Get(e, "MESSAGE").find(text) != std::string::npos;
    };
  };
  std::optional<JournalListener::Entry> ready =
      journal.WaitFor(coordinator_says("all 2 workers ready"), milliseconds(10'000));
  ASSERT_TRUE(ready) << journal.All();
  EXPECT_EQ(Get(*ready, "PRIORITY"), "6");
  EXPECT_EQ(Get(*ready, "SYSLOG_IDENTIFIER"), "jobd");
  EXPECT_EQ(Get(*ready, "JOBD_PID"), std::to_string(jobd.pid()));
  EXPECT_EQ(ready->count("JOB_ID"), 0u);
  EXPECT_EQ(ready->count("CODE_FILE"), 0u);  // jobd's own source lines say nothing

  CommandResult r = Jobctl({"--json", "map", "echo", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<nlohmann::json> results = JsonLines(r.out);
  ASSERT_EQ(results.size(), 1u) << r.out;
  const std::string job = results[0]["job"].dump();
  const std::string worker_pid = results[0]["pid"].dump();

  // The coordinator's record about the job, and the worker's about its task,
  // with the worker's own pid.
  std::optional<JournalListener::Entry> accepted =
      journal.WaitFor(coordinator_says("job accepted"), milliseconds(10'000));
  ASSERT_TRUE(accepted) << journal.All();
  EXPECT_EQ(Get(*accepted, "JOB_ID"), job);
  EXPECT_EQ(Get(*accepted, "MESSAGE").rfind("job=" + job + ": job accepted", 0), 0u)
      << Get(*accepted, "MESSAGE");
  std::optional<JournalListener::Entry> running = journal.WaitFor(
      [&](const JournalListener::Entry& e) {
        return Get(e, "JOBD_ROLE") == "worker" && Get(e, "JOB_ID") == job &&
               Get(e, "TASK_INDEX") == "0" && Get(e, "MESSAGE").find("running") != std::string::npos;
      },
      milliseconds(10'000));
  ASSERT_TRUE(running) << journal.All();
  EXPECT_EQ(Get(*running, "JOBD_PID"), worker_pid);
  EXPECT_THAT(Get(*running, "JOBD_WORKER"), ::testing::AnyOf("0", "1"));
  EXPECT_EQ(Get(*running, "PRIORITY"), "7");
  EXPECT_EQ(Get(*running, "SYSLOG_IDENTIFIER"), "jobd");

  EXPECT_EQ(jobd.StopWith(SIGTERM, milliseconds(30'000)), 0) << ReadAll(stderr_path());
  EXPECT_TRUE(journal.WaitFor(coordinator_says("jobd stopped"), milliseconds(5000)))
      << journal.All();
  // Not twice in the journal: nothing of it on stderr.
  EXPECT_THAT(ReadAll(stderr_path()), Not(HasSubstr("workers ready")));
  // The JSON-lines file has it all the same.
  const std::string log = ReadAll(log_path());
  EXPECT_THAT(log, HasSubstr("all 2 workers ready"));
  EXPECT_THAT(log, HasSubstr("job accepted"));
}

TEST_F(SystemdTest, WithoutAJournalTheRecordsGoToStderr) {
  if (std::filesystem::exists("/run/systemd/journal/socket")) {
    GTEST_SKIP() << "a journald runs here: not sending test entries to it";
  }
  NotifyListener notify(dir_.path() + "/notify.sock");
  Child jobd(JobdArgs({"--journal", "yes"}), {{"NOTIFY_SOCKET", notify.path()}},
             {"WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"}, stderr_path());
  ASSERT_TRUE(notify.WaitFor("READY=1", milliseconds(20'000))) << ReadAll(stderr_path());
  CommandResult r = Jobctl({"map", "echo", "hello"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(jobd.StopWith(SIGTERM, milliseconds(30'000)), 0);
  const std::string err = ReadAll(stderr_path());
  EXPECT_THAT(err, HasSubstr("cannot send to the journal"));
  EXPECT_THAT(err, HasSubstr("all 2 workers ready"));
  EXPECT_THAT(err, HasSubstr("job accepted"));
  EXPECT_THAT(ReadAll(log_path()), HasSubstr("job accepted"));
}

TEST_F(SystemdTest, ABadJournalModeIsRefused) {
  CommandResult r = RunCommand(JobdArgs({"--journal", "sometimes"}), {}, milliseconds(10'000));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--journal"));
  EXPECT_THAT(r.err, HasSubstr("auto, yes or no"));
}

}  // namespace
}  // namespace jobd::testing
