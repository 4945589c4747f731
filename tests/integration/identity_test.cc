// Who a task runs as, end to end: a jobd run as root runs every task as
// whoever submitted it, in workers of that user. Two local users are made
// for these tests (useradd), so they need root; each test has its own jobd.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zmq.hpp>

#include "proto/codec.h"
#include "tests/integration/harness.h"

namespace jobd::testing {
namespace {

using ::testing::HasSubstr;

constexpr uid_t kNobody = 65534;
// Both users are also in this group, so that `id -G` shows the account's
// supplementary groups reach the task (jobctl itself runs with none).
constexpr const char* kSharedGroup = "jobdtest-shared";
// ctest runs test processes in parallel, and each makes and removes the
// same users: this lock takes them in turn.
constexpr const char* kLockPath = "/run/jobd-identity-test.lock";

struct TestUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::set<gid_t> groups;  // the primary one included
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

CommandResult RunTool(const std::vector<std::string>& argv) {
  return RunCommand(argv, {}, std::chrono::seconds(30));
}

bool UserExists(const std::string& name) { return ::getpwnam(name.c_str()) != nullptr; }
bool GroupExists(const std::string& name) { return ::getgrnam(name.c_str()) != nullptr; }

std::optional<TestUser> LookUp(const std::string& name) {
  const passwd* entry = ::getpwnam(name.c_str());
  if (entry == nullptr) return std::nullopt;
  TestUser user{name, entry->pw_uid, entry->pw_gid, {}};
  std::vector<gid_t> groups(64);
  int count = static_cast<int>(groups.size());
  if (::getgrouplist(name.c_str(), user.gid, groups.data(), &count) == -1) return std::nullopt;
  user.groups.insert(groups.begin(), groups.begin() + count);
  return user;
}

// Users and groups left by an earlier run that crashed.
void RemoveTestAccounts(const std::vector<std::string>& users) {
  for (const std::string& name : users) {
    if (UserExists(name)) RunTool({"/usr/sbin/userdel", name});
    if (GroupExists(name)) RunTool({"/usr/sbin/groupdel", name});
  }
  if (GroupExists(kSharedGroup)) RunTool({"/usr/sbin/groupdel", kSharedGroup});
}

// The processes whose real uid is `uid`; with `zombies`, also those that
// have exited and wait to be reaped (by init, once their jobd is gone).
std::vector<pid_t> ProcessesOf(uid_t uid, bool zombies) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    bool zombie = false;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("State:", 0) == 0) zombie = line.find('Z') != std::string::npos;
      if (line.rfind("Uid:", 0) != 0) continue;
      std::istringstream fields(line.substr(4));
      uid_t real = 0;
      if (fields >> real && real == uid && (zombies || !zombie)) pids.push_back(std::stoi(name));
      break;
    }
  }
  return pids;
}

// The one result line of a jobctl --json run or map of one task.
nlohmann::json OnlyResult(const CommandResult& r) {
  const std::vector<nlohmann::json> lines = JsonLines(r.out);
  EXPECT_EQ(lines.size(), 1u) << r.out << r.err;
  return lines.empty() ? nlohmann::json::object() : lines[0];
}

// `jobctl --json workers` as root: every worker, with its uid and user.
std::vector<nlohmann::json> Workers(const Jobd& jobd) {
  CommandResult r = jobd.Jobctl({"--json", "workers"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return JsonLines(r.out);
}

// The workers in `rows` that are processes of `uid`.
std::vector<nlohmann::json> WorkersOf(const std::vector<nlohmann::json>& rows, uid_t uid) {
  std::vector<nlohmann::json> mine;
  for (const nlohmann::json& w : rows) {
    if (w["pid"].get<int64_t>() != 0 && w["uid"] == uid) mine.push_back(w);
  }
  return mine;
}

// A job's state as `jobctl --json status` says ("running", "done", ...).
std::string JobState(const Jobd& jobd, const std::string& job) {
  CommandResult r = jobd.Jobctl({"--json", "status", job});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<nlohmann::json> lines = JsonLines(r.out);
  return lines.empty() ? "" : lines[0]["state"].get<std::string>();
}

// A handle on a process that stays its own even if the pid is reused.
int PidFd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
// Whether the process of `pidfd` has ended (a zombie counts as ended).
bool HasEnded(int pidfd) {
  pollfd p = {pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::set<gid_t> GroupsIn(const std::string& text) {
  std::set<gid_t> groups;
  std::istringstream in(text);
  for (gid_t gid = 0; in >> gid;) groups.insert(gid);
  return groups;
}

class IdentityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = WhyNotAsOtherUsers();
    if (skip_.empty() && ::access("/usr/sbin/useradd", X_OK) != 0) skip_ = "no useradd";
    if (!skip_.empty()) return;
    lock_fd_ = ::open(kLockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    // Another test process of this suite may hold it for one test's length.
    if (lock_fd_ < 0 || !Eventually([] { return ::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0; },
                                    std::chrono::seconds(100), std::chrono::milliseconds(50))) {
      error_ = std::string("cannot lock ") + kLockPath + ": " + std::strerror(errno);
      return;
    }
    RemoveTestAccounts({"jobdtest-alice", "jobdtest-bob"});
    if (RunTool({"/usr/sbin/groupadd", kSharedGroup}).exit_code != 0) {
      error_ = std::string("groupadd ") + kSharedGroup + " failed";
      return;
    }
    for (const char* name : {"jobdtest-alice", "jobdtest-bob"}) {
      CommandResult r = RunTool({"/usr/sbin/useradd", "--no-create-home", "--user-group", "--shell",
                                 "/usr/sbin/nologin", "--groups", kSharedGroup, name});
      if (r.exit_code != 0) {
        error_ = std::string("useradd ") + name + ": " + r.err;
        return;
      }
    }
    std::optional<TestUser> alice = LookUp("jobdtest-alice");
    std::optional<TestUser> bob = LookUp("jobdtest-bob");
    if (!alice || !bob) {
      error_ = "the new users cannot be looked up";
      return;
    }
    alice_ = *alice;
    bob_ = *bob;
  }

  static void TearDownTestSuite() {
    if (lock_fd_ < 0) return;
    // userdel refuses a user with a process, even one that has exited and
    // is not reaped yet.
    for (const TestUser* user : {&alice_, &bob_}) {
      if (user->name.empty()) continue;
      Eventually([&] { return ProcessesOf(user->uid, /*zombies=*/true).empty(); },
                 std::chrono::seconds(10));
      CommandResult r = RunTool({"/usr/sbin/userdel", user->name});
      EXPECT_EQ(r.exit_code, 0) << "userdel " << user->name << ": " << r.err;
    }
    RemoveTestAccounts({"jobdtest-alice", "jobdtest-bob"});  // whatever is left, and the groups
    ::close(lock_fd_);  // and with it the lock
    lock_fd_ = -1;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << "identity tests skipped: " << skip_;
    ASSERT_TRUE(error_.empty()) << error_;
  }

  // Every process of the test users ends with the test's jobd (killed at
  // the end of the test: its workers follow it by their parent-death signal).
  void TearDown() override {
    if (!skip_.empty() || !error_.empty()) return;
    for (const TestUser* user : {&alice_, &bob_}) {
      EXPECT_TRUE(Eventually([&] { return ProcessesOf(user->uid, /*zombies=*/false).empty(); },
                             std::chrono::seconds(10)))
          << ProcessesOf(user->uid, /*zombies=*/false).size() << " process(es) of " << user->name
          << " outlived the test's jobd";
      for (pid_t pid : ProcessesOf(user->uid, /*zombies=*/false)) ::kill(pid, SIGKILL);
    }
  }

  // jobctl as `user` (its uid and gid, no supplementary groups).
  static CommandResult As(const TestUser& user, const std::string& endpoint,
                          const std::vector<std::string>& args) {
    return JobctlAs(user.uid, user.gid, endpoint, args);
  }

  // A jobd as root that every local user may reach.
  static std::unique_ptr<Jobd> StartOpenJobd(std::vector<std::string> extra, int workers) {
    std::unique_ptr<Jobd> jobd = Jobd::Start(Concat({"--socket-mode", "0666"}, extra), workers);
    if (jobd != nullptr) OpenDirectory(jobd->dir());
    return jobd;
  }

  static inline std::string skip_;
  static inline std::string error_;
  static inline int lock_fd_ = -1;
  static inline TestUser alice_;
  static inline TestUser bob_;
};

// ---- tasks run as their submitter ------------------------------------------

TEST_F(IdentityTest, CommandTasksRunAsTheirSubmittersUidGidAndGroups) {
  // Debug: the workers' per-task records, which must carry the task's uid.
  std::unique_ptr<Jobd> jobd = StartOpenJobd({"--log-level", "debug"}, 2);
  ASSERT_NE(jobd, nullptr);
  std::map<uid_t, int64_t> worker_of;  // the pid that ran each user's tasks
  std::map<uid_t, std::string> job_of;
  for (const TestUser* user : {&alice_, &bob_}) {
    CommandResult r =
        As(*user, jobd->endpoint(), {"--json", "run", "--cwd", "/", "--", "id", "-u"});
    ASSERT_EQ(r.exit_code, 0) << user->name << ": " << r.err;
    const nlohmann::json result = OnlyResult(r);
    EXPECT_EQ(result["result"], std::to_string(user->uid) + "\n") << user->name;
    EXPECT_EQ(result["uid"], user->uid) << user->name;
    worker_of[user->uid] = result["pid"].get<int64_t>();
    job_of[user->uid] = std::to_string(result["job"].get<uint64_t>());

    // map --exec too, and the gid and groups are the account's.
    r = As(*user, jobd->endpoint(),
           {"--json", "map", "--cwd", "/", "--exec", "id", "--", "-g", "-G"});
    ASSERT_EQ(r.exit_code, 0) << user->name << ": " << r.err;
    const std::vector<nlohmann::json> results = JsonLines(r.out);
    ASSERT_EQ(results.size(), 2u) << r.out;
    for (const nlohmann::json& line : results) {
      EXPECT_EQ(line["uid"], user->uid) << line;
      const std::string out = line["result"].get<std::string>();
      if (line["index"] == 0) {
        EXPECT_EQ(out, std::to_string(user->gid) + "\n") << user->name;
      } else {
        EXPECT_EQ(GroupsIn(out), user->groups) << user->name << ": " << out;
        EXPECT_EQ(user->groups.size(), 2u) << "its own group and " << kSharedGroup;
      }
    }
  }
  EXPECT_NE(worker_of[alice_.uid], worker_of[bob_.uid]) << "one user's worker, one user's tasks";

  // Both users' workers stay (idle) and say whose they are.
  const std::vector<nlohmann::json> workers = Workers(*jobd);
  for (const TestUser* user : {&alice_, &bob_}) {
    const std::vector<nlohmann::json> mine = WorkersOf(workers, user->uid);
    ASSERT_EQ(mine.size(), 1u) << user->name << " in " << nlohmann::json(workers);
    EXPECT_EQ(mine[0]["user"], user->name);
    EXPECT_EQ(mine[0]["pid"], worker_of[user->uid]);
  }

  // The workers' records of each task carry its uid, and only that one.
  EXPECT_TRUE(Eventually([&] {
    for (const TestUser* user : {&alice_, &bob_}) {
      size_t records = 0;
      for (const nlohmann::json& record : JsonLines(ReadFile(jobd->log_path()))) {
        if (record["role"] != "worker" || !record.contains("job") ||
            std::to_string(record["job"].get<uint64_t>()) != job_of[user->uid]) {
          continue;
        }
        EXPECT_EQ(record["uid"], user->uid) << record;
        ++records;
      }
      if (records == 0) return false;
    }
    return true;
  })) << ReadFile(jobd->log_path());
}

TEST_F(IdentityTest, NeitherUsersTaskCanReadTheStoreTheLogOrTheCurveSecretKey) {
  TempDir dir;
  OpenDirectory(dir.path());  // as the jobd temp dirs of the other tests
  const std::string server_public = Keygen(dir.path() + "/server");
  ASSERT_FALSE(server_public.empty());
  std::ofstream authorized(dir.path() + "/authorized");
  for (const TestUser* user : {&alice_, &bob_}) {
    const std::string key = Keygen(dir.path() + "/" + user->name);
    ASSERT_FALSE(key.empty());
    authorized << user->name << "-key " << key << " user=" << user->name << "\n";
  }
  authorized.close();
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  TcpJobd jobd(dir.path(), endpoint,
               {"--curve-secret-key", dir.path() + "/server.key", "--curve-authorized-keys",
                dir.path() + "/authorized"},
               2);
  ASSERT_TRUE(jobd.ready()) << jobd.Stop().err;

  const std::string store = dir.path() + "/state/jobd.db";
  const std::string secret_key = dir.path() + "/server.key";
  const std::string log = dir.path() + "/log/jobd.jsonl";  // names every user's jobs
  // The files are there and readable to root: a refusal below is the mode's.
  EXPECT_EQ(RunTool({"/usr/bin/head", "-c", "15", store}).out, "SQLite format 3");
  EXPECT_EQ(RunTool({"/usr/bin/head", "-c", "15", secret_key}).out.size(), 15u);
  EXPECT_EQ(RunTool({"/usr/bin/head", "-c", "15", log}).out.size(), 15u);

  // Neither a command the task runs nor the worker itself (the sha256
  // plugin's task reads the file in the worker's own process) can read them.
  const auto expect_unreadable = [&](const std::string& why) {
    for (const TestUser* user : {&alice_, &bob_}) {
      const std::string key = dir.path() + "/" + user->name + ".key";
      for (const std::string& path : {store, secret_key, log}) {
        const std::string what = user->name + " reading " + path + " " + why;
        CommandResult r =
            JobctlWithKey(endpoint, dir.path() + "/server.pub", key,
                          {"--json", "run", "--cwd", "/", "--", "head", "-c", "15", path});
        EXPECT_EQ(r.exit_code, 1) << what << ": " << r.out;
        nlohmann::json result = OnlyResult(r);
        EXPECT_EQ(result["uid"], user->uid) << what;
        EXPECT_EQ(result["result"], "") << what;
        EXPECT_THAT(result["stderr"].get<std::string>(), HasSubstr("Permission denied")) << what;

        r = JobctlWithKey(endpoint, dir.path() + "/server.pub", key,
                          {"--json", "map", "sha256", path});
        EXPECT_EQ(r.exit_code, 1) << what << " in the worker: " << r.out;
        result = OnlyResult(r);
        EXPECT_EQ(result["status"], "failed") << what << " in the worker";
        EXPECT_THAT(result["error"].get<std::string>(), HasSubstr("Permission denied"))
            << what << " in the worker";
      }
    }
  };
  expect_unreadable("through jobd's 0700 state directory");
  // The files' own modes keep them out too.
  ASSERT_EQ(::chmod((dir.path() + "/state").c_str(), 0711), 0);
  expect_unreadable("with the state directory opened");
  ASSERT_EQ(::chmod((dir.path() + "/log").c_str(), 0711), 0);
  expect_unreadable("with the state and log directories opened");
}

TEST_F(IdentityTest, OneUsersTaskCannotKillAnothersWorkerNorJobd) {
  std::unique_ptr<Jobd> jobd = StartOpenJobd({}, 2);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = As(bob_, jobd->endpoint(), {"submit", "sleep", "60000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string job = FirstLine(r.out);
  int64_t bobs_worker = 0;
  ASSERT_TRUE(Eventually([&] {
    for (const nlohmann::json& w : WorkersOf(Workers(*jobd), bob_.uid)) {
      if (w["state"] == "busy") bobs_worker = w["pid"].get<int64_t>();
    }
    return bobs_worker != 0;
  })) << "bob's sleep never ran";

  // Held from before the attempts, so that a reused pid cannot pass for it.
  const int bobs_pidfd = PidFd(static_cast<pid_t>(bobs_worker));
  const int jobd_pidfd = PidFd(jobd->pid());
  ASSERT_GE(bobs_pidfd, 0);
  ASSERT_GE(jobd_pidfd, 0);

  r = As(alice_, jobd->endpoint(),
         {"--json", "run", "--cwd", "/", "--", "kill", "-9", std::to_string(bobs_worker)});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  nlohmann::json result = OnlyResult(r);
  EXPECT_EQ(result["uid"], alice_.uid);
  EXPECT_THAT(result["stderr"].get<std::string>(), HasSubstr("Operation not permitted"));

  // Nor can her task signal jobd, which runs as root.
  r = As(alice_, jobd->endpoint(),
         {"--json", "run", "--cwd", "/", "--", "kill", "-9", std::to_string(jobd->pid())});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  result = OnlyResult(r);
  EXPECT_THAT(result["stderr"].get<std::string>(), HasSubstr("Operation not permitted"));

  // A SIGKILL sent is over within these round trips: both still live, and
  // bob's worker still runs his task.
  r = jobd->Jobctl({"ping"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JobState(*jobd, job), "running");
  const std::vector<nlohmann::json> bobs = WorkersOf(Workers(*jobd), bob_.uid);
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0]["pid"], bobs_worker);
  EXPECT_EQ(bobs[0]["state"], "busy");
  EXPECT_FALSE(HasEnded(bobs_pidfd)) << "bob's worker was killed";
  EXPECT_FALSE(HasEnded(jobd_pidfd)) << "jobd was killed";
  ::close(bobs_pidfd);
  ::close(jobd_pidfd);
}

// ---- a process of a user is not a worker of that user ------------------------

// How the impostor below ends: its exit status.
constexpr int kHeardNothing = 0;
constexpr int kGotAMessage = 10;
constexpr int kCouldNotStart = 11;
constexpr int kNeverToldToStop = 12;

// In a forked child: becomes `user`, connects to jobd's workers' endpoint as
// a worker would and says `ready`, then listens until `stop_fd` closes.
[[noreturn]] void RunImpostor(const TestUser& user, const std::string& endpoint,
                              const WorkerReady& ready, int stop_fd) {
  int code = kCouldNotStart;
  try {
    if (::setgroups(0, nullptr) == 0 && ::setresgid(user.gid, user.gid, user.gid) == 0 &&
        ::setresuid(user.uid, user.uid, user.uid) == 0) {
      zmq::context_t context(1);
      zmq::socket_t dealer(context, zmq::socket_type::dealer);
      dealer.set(zmq::sockopt::linger, 0);
      dealer.connect(endpoint);
      dealer.send(zmq::buffer(EncodeFromWorker(FromWorker{kProtocolVersion, ready})),
                  zmq::send_flags::none);
      zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0},
                                 {nullptr, stop_fd, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(30'000));
      code = (items[0].revents & ZMQ_POLLIN) != 0 ? kGotAMessage
             : items[1].revents != 0             ? kHeardNothing
                                                 : kNeverToldToStop;
    }
  } catch (...) {
    code = kCouldNotStart;
  }
  ::_exit(code);
}

TEST_F(IdentityTest, AProcessOfAUserCannotPassForThatUsersWorker) {
  std::unique_ptr<Jobd> jobd = StartOpenJobd({}, 1);
  ASSERT_NE(jobd, nullptr);
  // Alice gets a worker, which the impostor claims to be.
  CommandResult r = As(alice_, jobd->endpoint(), {"--json", "run", "--cwd", "/", "--", "true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<nlohmann::json> alices = WorkersOf(Workers(*jobd), alice_.uid);
  ASSERT_EQ(alices.size(), 1u);
  WorkerReady ready;
  ready.pid = alices[0]["pid"].get<int32_t>();
  ready.slot = alices[0]["slot"].get<uint32_t>();
  ready.credit = 64;

  int stop[2];
  ASSERT_EQ(::pipe2(stop, O_CLOEXEC), 0);
  const std::string endpoint = "ipc://@jobd-" + std::to_string(jobd->pid()) + "-workers";
  const pid_t impostor = ::fork();
  ASSERT_GE(impostor, 0) << std::strerror(errno);
  if (impostor == 0) {
    ::close(stop[1]);
    RunImpostor(alice_, endpoint, ready, stop[0]);
  }
  ::close(stop[0]);

  // jobd knows it by the kernel's word: alice's uid, but not a pid it started.
  const std::string peer = "localhost:" + std::to_string(alice_.uid) + ":" +
                           std::to_string(alice_.gid) + ":" + std::to_string(impostor);
  const auto logged = [&] {
    const std::string log = ReadFile(jobd->log_path());
    return log.find("not one of our workers ignored (" + peer + ")") != std::string::npos;
  };
  EXPECT_TRUE(Eventually(logged, std::chrono::seconds(10))) << ReadFile(jobd->log_path());

  // Alice's tasks go to her real worker, not to the impostor; had jobd
  // taken its word, this one would be sent to it.
  r = As(alice_, jobd->endpoint(), {"--json", "run", "--cwd", "/", "--", "id", "-u"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json result = OnlyResult(r);
  EXPECT_EQ(result["result"], std::to_string(alice_.uid) + "\n");
  EXPECT_EQ(result["pid"], ready.pid);

  ::close(stop[1]);  // the impostor stops listening
  EXPECT_TRUE(WaitForProcessGone(impostor, std::chrono::seconds(10)));
  int status = 0;
  ASSERT_EQ(::waitpid(impostor, &status, 0), impostor);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), kHeardNothing)
      << "10: jobd sent it something; 11: it could not start; 12: never told to stop";
}

// ---- remote keys -------------------------------------------------------------

TEST_F(IdentityTest, CurveKeysRunAsTheirAccountAndOneWithoutIsRefusedCommands) {
  TempDir dir;
  ASSERT_FALSE(Keygen(dir.path() + "/server").empty());
  const std::string mapped = Keygen(dir.path() + "/mapped");
  // Named after no account, and mapped to none: built-in tasks as nobody.
  const std::string unmapped = Keygen(dir.path() + "/unmapped");
  ASSERT_FALSE(mapped.empty() || unmapped.empty());
  ASSERT_FALSE(UserExists("jobdtest-no-account"));
  std::ofstream(dir.path() + "/authorized") << "remote-alice " << mapped << " user=" << alice_.name
                                            << "\njobdtest-no-account " << unmapped << "\n";
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  TcpJobd jobd(dir.path(), endpoint,
               {"--curve-secret-key", dir.path() + "/server.key", "--curve-authorized-keys",
                dir.path() + "/authorized"},
               2);
  ASSERT_TRUE(jobd.ready()) << jobd.Stop().err;
  const auto jobctl = [&](const std::string& key, const std::vector<std::string>& args) {
    return JobctlWithKey(endpoint, dir.path() + "/server.pub", dir.path() + "/" + key + ".key",
                         args);
  };

  CommandResult r = jobctl("mapped", {"--json", "run", "--cwd", "/", "--", "id", "-u"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json result = OnlyResult(r);
  EXPECT_EQ(result["result"], std::to_string(alice_.uid) + "\n");
  EXPECT_EQ(result["uid"], alice_.uid);

  r = jobctl("unmapped", {"run", "--cwd", "/", "--", "id", "-u"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("permission denied: key jobdtest-no-account has no local account"));
  EXPECT_THAT(r.err, HasSubstr("user= in the authorised keys file"));
  EXPECT_EQ(r.out, "");
  r = jobctl("unmapped", {"map", "--cwd", "/", "--exec", "id", "--", "-u"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("has no local account"));

  r = jobctl("unmapped", {"--json", "map", "echo", "x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  result = OnlyResult(r);
  EXPECT_EQ(result["result"], "x");
  EXPECT_EQ(result["uid"], kNobody);
}

// ---- a jobd that cannot change identity ----------------------------------------

TEST_F(IdentityTest, AnUnprivilegedJobdRefusesAnotherUsersCommandsButRunsItsBuiltins) {
  std::unique_ptr<Jobd> jobd = Jobd::StartAs(alice_.uid, alice_.gid, {"--socket-mode", "0666"}, 1);
  ASSERT_NE(jobd, nullptr);
  OpenDirectory(jobd->dir());

  CommandResult r = As(bob_, jobd->endpoint(), {"run", "--cwd", "/", "--", "id"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("permission denied: this jobd runs as jobdtest-alice"));
  EXPECT_THAT(r.err, HasSubstr("cannot run tasks as uid " + std::to_string(bob_.uid)));
  EXPECT_EQ(r.out, "") << "the command never ran";

  // Built-in tasks are his to run, as jobd's user.
  r = As(bob_, jobd->endpoint(), {"--json", "map", "echo", "x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json result = OnlyResult(r);
  EXPECT_EQ(result["result"], "x");
  EXPECT_EQ(result["uid"], alice_.uid);

  // jobd's own user runs anything.
  r = As(alice_, jobd->endpoint(), {"--json", "run", "--cwd", "/", "--", "id", "-u"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  result = OnlyResult(r);
  EXPECT_EQ(result["result"], std::to_string(alice_.uid) + "\n");
  EXPECT_EQ(result["uid"], alice_.uid);
}

// ---- sharing the workers -------------------------------------------------------

TEST_F(IdentityTest, TwoUsersShareTheWorkersFairly) {
  std::unique_ptr<Jobd> jobd = StartOpenJobd({}, 2);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = As(alice_, jobd->endpoint(), {"submit", "--repeat", "40", "spin", "50"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string alices_job = FirstLine(r.out);
  r = As(bob_, jobd->endpoint(), {"submit", "--repeat", "10", "spin", "50"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bobs_job = FirstLine(r.out);

  // Alice's 2 s of work, bob's 0.5 s: with a worker each, bob's job ends
  // first, where waiting behind hers it would end last.
  bool one_each = false;
  bool alice_done_first = false;
  EXPECT_TRUE(Eventually([&] {
    const std::vector<nlohmann::json> workers = Workers(*jobd);
    if (WorkersOf(workers, alice_.uid).size() == 1 && WorkersOf(workers, bob_.uid).size() == 1) {
      one_each = true;
    }
    if (JobState(*jobd, bobs_job) != "done") return false;
    // Asked after bob's job was seen done: if hers is not, his ended first.
    alice_done_first = JobState(*jobd, alices_job) == "done";
    return true;
  }));
  EXPECT_FALSE(alice_done_first) << "bob's job waited for all of alice's:\n"
                                 << ReadFile(jobd->log_path());
  EXPECT_TRUE(one_each) << "never one worker of each user";
  EXPECT_TRUE(Eventually([&] { return JobState(*jobd, alices_job) == "done"; }));
  r = jobd->Jobctl({"results", bobs_job});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(IdentityTest, AWorkerLimitKeepsAUserToOneWorker) {
  std::unique_ptr<Jobd> jobd = StartOpenJobd({"--max-workers-per-user", "1"}, 2);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = As(alice_, jobd->endpoint(), {"submit", "--repeat", "20", "spin", "50"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string job = FirstLine(r.out);

  size_t most = 0;
  bool seen_busy = false;
  EXPECT_TRUE(Eventually([&] {
    const std::vector<nlohmann::json> alices = WorkersOf(Workers(*jobd), alice_.uid);
    most = std::max(most, alices.size());
    for (const nlohmann::json& w : alices) seen_busy = seen_busy || w["state"] == "busy";
    return JobState(*jobd, job) == "done";
  }));
  EXPECT_TRUE(seen_busy) << "her worker was never seen at work";
  EXPECT_EQ(most, 1u) << "more than one worker of alice's at once";

  r = As(alice_, jobd->endpoint(), {"--json", "results", job});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<int64_t> pids;
  for (const nlohmann::json& result : JsonLines(r.out)) pids.insert(result["pid"].get<int64_t>());
  EXPECT_EQ(JsonLines(r.out).size(), 20u);
  EXPECT_EQ(pids.size(), 1u) << "her 20 tasks ran in one worker";
  // The other slot stayed with jobd's own warm pool.
  EXPECT_EQ(WorkersOf(Workers(*jobd), 0).size(), 1u);
}

TEST_F(IdentityTest, AQueueLimitPerUserRefusesOnlyTheUserOverIt) {
  // One worker, busy with bob's first task: the rest of his stay queued.
  std::unique_ptr<Jobd> jobd = StartOpenJobd({"--max-queued-tasks-per-user", "5"}, 1);
  ASSERT_NE(jobd, nullptr);
  CommandResult r = As(bob_, jobd->endpoint(), {"submit", "--repeat", "5", "sleep", "60000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bobs_job = FirstLine(r.out);
  r = jobd->Jobctl({"--json", "status", bobs_job});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GE(JsonLines(r.out).at(0)["queued"].get<int>(), 4) << r.out;

  r = As(alice_, jobd->endpoint(), {"submit", "--repeat", "6", "sleep", "60000"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.err, HasSubstr("--max-queued-tasks-per-user"));
  EXPECT_THAT(r.err, HasSubstr("uid " + std::to_string(alice_.uid)));
  // Bob's queued tasks do not count against her: five are hers to queue.
  r = As(alice_, jobd->endpoint(), {"submit", "--repeat", "5", "sleep", "60000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = jobd->Jobctl({"--json", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonLines(r.out).size(), 2u) << r.out;
}

}  // namespace
}  // namespace jobd::testing
