// BecomeUser, each case in a forked child that reports what it sees of
// itself afterwards (the test process keeps its identity). The cases that
// start as root are skipped otherwise.
#include "worker/run_as.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/forked_child.h"
#include "tests/unit/test_identity.h"

namespace jobd {
namespace {

constexpr uint32_t kUidWithoutAccount = 4000000;

using Report = std::map<std::string, std::string>;

std::string Join(const std::vector<uint32_t>& values) {
  std::string text;
  for (uint32_t v : values) {
    if (!text.empty()) text += ' ';
    text += std::to_string(v);
  }
  return text;
}

std::string SortedGroupsOf(const char* name, gid_t gid) {
  std::vector<gid_t> groups(256);
  int count = static_cast<int>(groups.size());
  if (getgrouplist(name, gid, groups.data(), &count) == -1) return "too many";
  groups.resize(static_cast<size_t>(count));
  std::sort(groups.begin(), groups.end());
  return Join(std::vector<uint32_t>(groups.begin(), groups.end()));
}

// The process's CapInh, CapPrm, CapEff and CapAmb lines, as the kernel
// shows them (independent of libcap, which BecomeUser uses).
void AddCapabilityLines(std::string& out) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    for (const char* key : {"CapInh:", "CapPrm:", "CapEff:", "CapAmb:"}) {
      if (line.rfind(key, 0) == 0) {
        std::istringstream fields(line);
        std::string name, value;
        fields >> name >> value;
        out += name.substr(0, name.size() - 1) + " " + value + "\n";
      }
    }
  }
}

std::string EnvOrDash(const char* name) {
  const char* value = getenv(name);
  return value != nullptr ? value : "-";
}

// Runs in the child: BecomeUser(uid), then one "key value" line per fact.
std::string BecomeAndDescribe(uint32_t uid) {
  const Status became = BecomeUser(uid);
  std::string out = "status " + (became.ok() ? std::string("ok") : became.message()) + "\n";
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  out += "uids " + Join({ruid, euid, suid}) + "\n";
  out += "gids " + Join({rgid, egid, sgid}) + "\n";
  std::vector<gid_t> groups(static_cast<size_t>(std::max(getgroups(0, nullptr), 0)));
  const int count = getgroups(static_cast<int>(groups.size()), groups.data());
  groups.resize(static_cast<size_t>(std::max(count, 0)));
  std::sort(groups.begin(), groups.end());
  out += "groups " + Join(std::vector<uint32_t>(groups.begin(), groups.end())) + "\n";
  AddCapabilityLines(out);
  for (const char* name : {"HOME", "USER", "LOGNAME", "SHELL", "NOTIFY_SOCKET", "WATCHDOG_PID",
                           "WATCHDOG_USEC", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"}) {
    out += std::string(name) + " " + EnvOrDash(name) + "\n";
  }
  int death_signal = 0;
  prctl(PR_GET_PDEATHSIG, &death_signal);
  out += "pdeathsig " + std::to_string(death_signal) + "\n";
  char cwd[4096] = "";
  out += "cwd " + std::string(getcwd(cwd, sizeof cwd) != nullptr ? cwd : "?") + "\n";
  // Last: should it succeed, the child is root again, but it exits next.
  const int back = setresuid(0, 0, 0);
  out += "setuid0 " + std::string(back == 0 ? "allowed" : std::strerror(errno)) + "\n";
  return out;
}

void SetServiceManagerVariables() {
  for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_FDS",
                           "LISTEN_PID", "LISTEN_FDNAMES"}) {
    setenv(name, "from-systemd", 1);
  }
}

Report Parse(const std::string& text) {
  Report report;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t space = line.find(' ');
    report[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
  }
  return report;
}

// Runs `body` in a child and parses its report; empty if it sent none.
Report InChild(const std::function<std::string()>& body) {
  ForkedChild child(body);
  const std::optional<std::string> text = child.Report();
  EXPECT_TRUE(text.has_value()) << "the child did not report in time";
  const std::optional<int> status = child.Wait();
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  return text ? Parse(*text) : Report{};
}

struct Account {
  uid_t uid;
  gid_t gid;
  std::string name, home, shell;
};

std::optional<Account> AccountNamed(const char* name) {
  const passwd* entry = getpwnam(name);  // the test process has one thread here
  if (entry == nullptr) return std::nullopt;
  return Account{entry->pw_uid, entry->pw_gid, entry->pw_name, entry->pw_dir, entry->pw_shell};
}

void ExpectIsNow(const Report& report, const Account& account) {
  EXPECT_EQ(report.at("status"), "ok");
  const std::string uid = std::to_string(account.uid), gid = std::to_string(account.gid);
  EXPECT_EQ(report.at("uids"), uid + " " + uid + " " + uid);
  EXPECT_EQ(report.at("gids"), gid + " " + gid + " " + gid);
  EXPECT_EQ(report.at("groups"), SortedGroupsOf(account.name.c_str(), account.gid));
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb"}) {
    EXPECT_EQ(report.at(set), "0000000000000000") << set;
  }
  EXPECT_EQ(report.at("setuid0"), std::strerror(EPERM));
  EXPECT_EQ(report.at("HOME"), account.home);
  EXPECT_EQ(report.at("USER"), account.name);
  EXPECT_EQ(report.at("LOGNAME"), account.name);
  EXPECT_EQ(report.at("SHELL"), account.shell.empty() ? "/bin/sh" : account.shell);
  for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_FDS",
                           "LISTEN_PID", "LISTEN_FDNAMES"}) {
    EXPECT_EQ(report.at(name), "-") << name;
  }
}

class BecomeUserAsRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: the child starts as root and changes user";
    nobody_ = AccountNamed("nobody");
    if (!nobody_ || nobody_->uid != kNobodyUid) GTEST_SKIP() << "no user nobody with uid 65534";
  }
  std::optional<Account> nobody_;
};

TEST_F(BecomeUserAsRootTest, RootBecomesNobodyWithItsGroupsAndNoCapabilityLeft) {
  char cwd[4096] = "";
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  const Report report = InChild([] {
    SetServiceManagerVariables();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // An inheritable and ambient capability, which leaving uid 0 alone would
    // not clear.
    cap_t state = cap_get_proc();
    const cap_value_t bind = CAP_NET_BIND_SERVICE;
    cap_set_flag(state, CAP_INHERITABLE, 1, &bind, CAP_SET);
    const bool raised = cap_set_proc(state) == 0 && cap_set_ambient(bind, CAP_SET) == 0;
    cap_free(state);
    if (!raised) return std::string("status cannot raise CAP_NET_BIND_SERVICE\n");
    return BecomeAndDescribe(kNobodyUid);
  });
  ASSERT_FALSE(report.empty());
  ExpectIsNow(report, *nobody_);
  EXPECT_EQ(report.at("pdeathsig"), std::to_string(SIGKILL)) << "armed again after the change";
  EXPECT_EQ(report.at("cwd"), cwd) << "BecomeUser does not chdir";
}

// jobd's service user under its unit: CAP_SETUID and CAP_SETGID in every set,
// ambient included, which a change between two non-root uids keeps.
TEST_F(BecomeUserAsRootTest, CapableServiceUserBecomesAnotherUserWithNoCapabilityLeft) {
  const std::optional<Account> daemon_user = AccountNamed("daemon");
  if (!daemon_user || daemon_user->uid == 0) GTEST_SKIP() << "no user daemon";
  const Report report = InChild([&] {
    SetServiceManagerVariables();
    if (std::string dropped = DropToUserKeeping(kNobodyUid, kNogroupGid, {CAP_SETUID, CAP_SETGID});
        !dropped.empty()) {
      return "status " + dropped + "\n";
    }
    std::string out = BecomeAndDescribe(daemon_user->uid);
    out += "back " + std::string(setresuid(kNobodyUid, kNobodyUid, kNobodyUid) == 0
                                     ? "allowed"
                                     : std::strerror(errno)) + "\n";
    return out;
  });
  ASSERT_FALSE(report.empty());
  ExpectIsNow(report, *daemon_user);
  EXPECT_EQ(report.at("back"), std::strerror(EPERM)) << "no way back to the service user";
}

TEST_F(BecomeUserAsRootTest, CapableServiceUserBecomingItselfStillGivesUpItsCapabilities) {
  const Report report = InChild([] {
    if (std::string dropped = DropToUserKeeping(kNobodyUid, kNogroupGid, {CAP_SETUID, CAP_SETGID});
        !dropped.empty()) {
      return "status " + dropped + "\n";
    }
    return BecomeAndDescribe(kNobodyUid);
  });
  ASSERT_FALSE(report.empty());
  ExpectIsNow(report, *nobody_);
}

TEST_F(BecomeUserAsRootTest, UidWithoutAccountIsRefusedAndNothingChanges) {
  ASSERT_EQ(getpwuid(kUidWithoutAccount), nullptr) << "uid 4000000 has an account here";
  const Report report = InChild([] { return BecomeAndDescribe(kUidWithoutAccount); });
  ASSERT_FALSE(report.empty());
  EXPECT_EQ(report.at("status"), "no account for uid 4000000 on this machine");
  EXPECT_EQ(report.at("uids"), "0 0 0");
}

// A child without privilege: the test process itself when it is not root,
// else a child that dropped to nobody first.
std::string Unprivileged(const std::function<std::string()>& body) {
  if (geteuid() == 0) {
    if (std::string dropped = DropToUser(kNobodyUid, kNogroupGid); !dropped.empty()) {
      return "status " + dropped + "\n";
    }
  }
  return body();
}

class BecomeUserUnprivilegedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() == 0) return;
    cap_t state = cap_get_proc();
    cap_t none = cap_init();
    const bool capable = cap_compare(state, none) != 0;
    cap_free(state);
    cap_free(none);
    if (capable) GTEST_SKIP() << "the test process holds capabilities without being root";
  }
};

TEST_F(BecomeUserUnprivilegedTest, OwnUidIsANoOp) {
  const Report report = InChild([] {
    return Unprivileged([] {
      const uid_t self = geteuid();
      std::string out = BecomeAndDescribe(self);
      return out + "self " + std::to_string(self) + "\n";
    });
  });
  ASSERT_FALSE(report.empty());
  EXPECT_EQ(report.at("status"), "ok");
  const std::string self = report.at("self");
  EXPECT_EQ(report.at("uids"), self + " " + self + " " + self);
}

TEST_F(BecomeUserUnprivilegedTest, OtherUidIsRefusedClearly) {
  const Report report = InChild([] {
    return Unprivileged([] {
      // Any uid but ours: whether it has an account does not matter here.
      const uid_t other = geteuid() == 1 ? 2 : 1;
      std::string out = BecomeAndDescribe(other);
      return out + "self " + std::to_string(geteuid()) + "\n";
    });
  });
  ASSERT_FALSE(report.empty());
  const std::string self = report.at("self");
  EXPECT_EQ(report.at("status"), "changing identity needs CAP_SETUID and CAP_SETGID, which this "
                                 "process (uid " + self + ") lacks");
  EXPECT_EQ(report.at("uids"), self + " " + self + " " + self);
}

}  // namespace
}  // namespace jobd
