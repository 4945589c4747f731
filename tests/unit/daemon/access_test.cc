// Who a request comes from: ZeroMQ's peer metadata, and who is privileged.
#include "daemon/core/access.h"

#include <gtest/gtest.h>

namespace jobd {
namespace {

TEST(ParsePeerAddressTest, ReadsUidGidAndPidOfAnIpcPeer) {
  const std::optional<PeerCredentials> peer = ParsePeerAddress("localhost:1000:100:4242");
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->uid, 1000u);
  EXPECT_EQ(peer->gid, 100u);
  EXPECT_EQ(peer->pid, 4242);
  const std::optional<PeerCredentials> root = ParsePeerAddress("localhost:0:0:1");
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(ParsePeerAddress("localhost:4294967294:4294967294:7")->uid, 4294967294u);
}

TEST(ParsePeerAddressTest, RefusesAnythingElse) {
  for (const char* address :
       {"", "127.0.0.1", "::1", "localhost", "localhost:1000", "localhost:1000:100",
        "localhost:1000:100:", "localhost::100:5", "localhost:-1:100:5", "localhost:1x:100:5",
        "localhost:1000:100:5:6", "localhost:99999999999:1:1", "remote:1000:100:5",
        " localhost:1000:100:5"}) {
    EXPECT_FALSE(ParsePeerAddress(address).has_value()) << "'" << address << "'";
  }
}

TEST(AccessPolicyTest, RootJobdsUserAndTheAdminGroupArePrivileged) {
  const AccessPolicy policy(AccessOptions{990, 50, {1500, 1501}});
  auto privileged = [&](uint32_t uid, uint32_t gid) {
    return policy.LocalCaller(PeerCredentials{uid, gid, 1}).privileged;
  };
  EXPECT_TRUE(privileged(0, 0));
  EXPECT_TRUE(privileged(0, 1234));
  EXPECT_TRUE(privileged(990, 990));
  EXPECT_TRUE(privileged(1200, 50)) << "the admin group as its gid";
  EXPECT_TRUE(privileged(1501, 100)) << "listed in the admin group";
  EXPECT_FALSE(privileged(1000, 100));
  EXPECT_FALSE(privileged(65534, 65534));
  const Caller caller = policy.LocalCaller(PeerCredentials{1000, 100, 1});
  EXPECT_EQ(caller.id, (JobOwner{1000, ""}));
}

TEST(AccessPolicyTest, OwnersAndWhoMayUseTheirJobs) {
  const JobOwner alice{1000, ""};
  const JobOwner remote_alice{std::nullopt, "alice"};
  const JobOwner unknown;
  const Caller user{alice, false, 1000u};
  const Caller admin{JobOwner{0, ""}, true, 0u};
  EXPECT_TRUE(MayAccess(user, alice));
  EXPECT_FALSE(MayAccess(user, JobOwner{1001, ""}));
  EXPECT_FALSE(MayAccess(user, remote_alice)) << "a key's name is no local user";
  EXPECT_FALSE(MayAccess(user, unknown));
  EXPECT_TRUE(MayAccess(admin, alice));
  EXPECT_TRUE(MayAccess(admin, unknown));
  EXPECT_TRUE(MayAccess(AccessPolicy::KeyCaller("alice"), remote_alice));
  EXPECT_FALSE(MayAccess(Caller{unknown, false, std::nullopt}, unknown)) << "nobody owns an unknown owner's job";
  EXPECT_EQ(Describe(alice), "uid 1000");
  EXPECT_EQ(Describe(remote_alice), "key alice");
  EXPECT_EQ(Describe(unknown), "unknown");
}

}  // namespace
}  // namespace jobd
