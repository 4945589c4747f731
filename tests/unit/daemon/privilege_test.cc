// SignalAs and CanChangeIdentity. The targets are forked children that
// become nobody (or stay root) and wait to be signalled; what acts as
// another user needs root, and is skipped otherwise.
#include "daemon/io/privilege.h"

#include <signal.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/forked_child.h"
#include "tests/unit/test_identity.h"

namespace jobd {
namespace {

constexpr uid_t kOtherUid = 65533;    // no account needed: only a uid to act as
constexpr uid_t kServiceUid = 65532;  // stands for jobd's service user

// A child that is nobody, in a process group of its own when asked, and
// waits; its report is empty once it is ready.
ForkedChild WaitingNobody(bool own_group = false) {
  return ForkedChild(
      [own_group] {
        if (own_group && setpgid(0, 0) != 0) return Failure("setpgid");
        return DropToUser(kNobodyUid, kNogroupGid);
      },
      ForkedChild::Then::kPause);
}

// The calling thread's own uids (the raw syscall: glibc's are the same,
// but this is what SignalAs changes).
std::string ThreadUids() {
  uid_t real = 0, effective = 0, saved = 0;
  syscall(SYS_getresuid, &real, &effective, &saved);
  return std::to_string(real) + " " + std::to_string(effective) + " " + std::to_string(saved);
}

bool KilledBySigkill(const std::optional<int>& status) {
  return status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL;
}

class SignalAsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: SignalAs is tested by acting as other users";
  }
};

TEST_F(SignalAsTest, SignalsOnlyWhatTheUserMayAndGivesTheThreadBackItsRights) {
  ForkedChild target = WaitingNobody();
  ASSERT_EQ(target.Report(), "") << "the child did not become nobody";
  cap_t before = cap_get_proc();

  EXPECT_EQ(SignalAs(kNobodyUid, target.pid(), 0), 0);
  EXPECT_EQ(SignalAs(kOtherUid, target.pid(), SIGKILL), EPERM);
  EXPECT_TRUE(target.Running());
  EXPECT_EQ(ThreadUids(), "0 0 0");
  cap_t after = cap_get_proc();
  EXPECT_EQ(cap_compare(before, after), 0) << "the thread's capabilities changed";
  cap_free(after);
  cap_free(before);

  EXPECT_EQ(SignalAs(kNobodyUid, target.pid(), SIGKILL), 0);
  EXPECT_TRUE(KilledBySigkill(target.Wait()));
}

TEST_F(SignalAsTest, ReachesAProcessGroupOnlyAsItsOwner) {
  ForkedChild target = WaitingNobody(/*own_group=*/true);
  ASSERT_EQ(target.Report(), "");
  EXPECT_EQ(SignalAs(kOtherUid, -target.pid(), SIGKILL), EPERM);
  EXPECT_TRUE(target.Running());
  EXPECT_EQ(SignalAs(kNobodyUid, -target.pid(), SIGKILL), 0);
  EXPECT_TRUE(KilledBySigkill(target.Wait()));
}

// kill(2) also lets a sender whose real uid is the target's: root's real
// uid must not come along.
TEST_F(SignalAsTest, RootsProcessesAreOutOfAnotherUsersReach) {
  ForkedChild target([] { return std::string(); }, ForkedChild::Then::kPause);
  ASSERT_EQ(target.Report(), "");
  EXPECT_EQ(SignalAs(kNobodyUid, target.pid(), SIGKILL), EPERM);
  EXPECT_TRUE(target.Running());
  EXPECT_EQ(ThreadUids(), "0 0 0");
}

TEST_F(SignalAsTest, OwnUidSignalsWithTheProcessRights) {
  ForkedChild target = WaitingNobody();
  ASSERT_EQ(target.Report(), "");
  EXPECT_EQ(SignalAs(0, target.pid(), SIGKILL), 0);
  EXPECT_TRUE(KilledBySigkill(target.Wait()));
}

TEST_F(SignalAsTest, GoneTargetIsEsrch) {
  ForkedChild target([] { return std::string(); });
  ASSERT_EQ(target.Report(), "");
  ASSERT_TRUE(target.Wait().has_value());
  EXPECT_EQ(SignalAs(kNobodyUid, target.pid(), 0), ESRCH);
}

// jobd as its service user under the unit, here with CAP_KILL as well: the
// capability must not lend a user's signal more right than the user has.
TEST_F(SignalAsTest, CapableServiceUserLendsNoCapabilityToTheSignal) {
  ForkedChild target = WaitingNobody();
  ASSERT_EQ(target.Report(), "");
  const pid_t target_pid = target.pid();
  ForkedChild coordinator([target_pid] {
    if (std::string dropped = DropToUserKeeping(kServiceUid, kServiceUid,
                                                {CAP_SETUID, CAP_SETGID, CAP_KILL});
        !dropped.empty()) {
      return dropped;
    }
    std::string out;
    out += std::string("can_change ") + (CanChangeIdentity() ? "yes" : "no") + "\n";
    out += "direct " + std::to_string(kill(target_pid, 0) == 0 ? 0 : errno) + "\n";
    out += "as_other " + std::to_string(SignalAs(kOtherUid, target_pid, 0)) + "\n";
    out += "as_owner " + std::to_string(SignalAs(kNobodyUid, target_pid, 0)) + "\n";
    out += "uids " + ThreadUids() + "\n";
    cap_t caps = cap_get_proc();
    cap_flag_value_t kill_cap = CAP_CLEAR;
    cap_get_flag(caps, CAP_KILL, CAP_EFFECTIVE, &kill_cap);
    cap_free(caps);
    out += std::string("cap_kill ") + (kill_cap == CAP_SET ? "yes" : "no") + "\n";
    return out;
  });
  const std::string service = std::to_string(kServiceUid);
  EXPECT_EQ(coordinator.Report(), "can_change yes\n"
                                  "direct 0\n"
                                  "as_other " + std::to_string(EPERM) + "\n"
                                  "as_owner 0\n"
                                  "uids " + service + " " + service + " " + service + "\n"
                                  "cap_kill yes\n");
  EXPECT_TRUE(target.Running());
}

TEST(CanChangeIdentityTest, TrueForRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  EXPECT_TRUE(CanChangeIdentity());
}

TEST(CanChangeIdentityTest, FalseForNobody) {
  ForkedChild child([] {
    if (geteuid() == 0) {
      if (std::string dropped = DropToUser(kNobodyUid, kNogroupGid); !dropped.empty()) {
        return dropped;
      }
    }
    return std::string(CanChangeIdentity() ? "yes" : "no");
  });
  const std::optional<std::string> report = child.Report();
  if (geteuid() != 0 && report == "yes") GTEST_SKIP() << "the test process holds CAP_SETUID";
  EXPECT_EQ(report, "no");
}

}  // namespace
}  // namespace jobd
