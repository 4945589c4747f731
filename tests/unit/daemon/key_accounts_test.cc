// Which local account each authorised key runs as, and the account lookups
// behind it. Uses the accounts every Debian system has: root (uid 0) and
// nobody (uid 65534).
#include "daemon/io/key_accounts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/io/system_identity.h"

namespace jobd {
namespace {

using ::testing::HasSubstr;

constexpr const char* kKeyA = "B)RI$&!OVkvo4[jmbeThn2#$W)m]zkak2t$P{C4a";
constexpr const char* kKeyB = "nFXwy&s&D]sl<=oCwFN1xzk4w&}DI0fD4uiwp]Kt";
constexpr const char* kNoSuchUser = "jobd-no-such-user";

AuthorizedKey Key(std::string name, std::string key, std::string account, size_t line) {
  return AuthorizedKey{std::move(name), std::move(key), std::move(account), line};
}

TEST(LookUpAccountTest, ByNameOrByUid) {
  Result<LocalAccount> root = LookUpAccount("root");
  ASSERT_TRUE(root.ok()) << root.status().message();
  EXPECT_EQ(root->name, "root");
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  Result<LocalAccount> by_uid = LookUpAccount("65534");
  ASSERT_TRUE(by_uid.ok()) << by_uid.status().message();
  EXPECT_EQ(by_uid->name, "nobody");
  EXPECT_EQ(by_uid->uid, 65534u);
}

TEST(LookUpAccountTest, UnknownAccountsAreNotFound) {
  Result<LocalAccount> name = LookUpAccount(kNoSuchUser);
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(name.status().message(), HasSubstr("no local account 'jobd-no-such-user'"));
  Result<LocalAccount> uid = LookUpAccount("4000000000");
  ASSERT_FALSE(uid.ok());
  EXPECT_EQ(uid.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(uid.status().message(), HasSubstr("with uid 4000000000"));
  // By name only: digits are a name there, and no user is called "0".
  EXPECT_EQ(LookUpAccountByName("0").status().code(), StatusCode::kNotFound);
}

TEST(KeyAccountsTest, ExplicitAccountThenTheKeysNameThenNone) {
  std::vector<AuthorizedKey> keys = {
      Key("alice", kKeyA, "nobody", 1),  // user= wins over the name
      Key("daemon", kKeyB, "", 2),       // no user=: the account of its name
      Key(kNoSuchUser, "x", "", 3),      // neither: none
      Key("k", "k", "", 4),              // a key without a name: none, never a lookup of it
      Key("ci", "y", "0", 5),            // by uid
  };
  Result<KeyMapping> mapped = MapKeysToAccounts(keys, "clients", UnknownAccount::kRefuse);
  ASSERT_TRUE(mapped.ok()) << mapped.status().message();
  ASSERT_EQ(mapped->keys.size(), 5u);
  EXPECT_TRUE(mapped->warnings.empty());
  const std::vector<MappedKey>& out = mapped->keys;
  ASSERT_TRUE(out[0].account.has_value());
  EXPECT_EQ(out[0].account->uid, 65534u);
  EXPECT_EQ(out[0].key.name, "alice");
  ASSERT_TRUE(out[1].account.has_value());
  EXPECT_EQ(out[1].account->name, "daemon");
  EXPECT_FALSE(out[2].account.has_value());
  EXPECT_FALSE(out[3].account.has_value());
  ASSERT_TRUE(out[4].account.has_value());
  EXPECT_EQ(out[4].account->name, "root");
  EXPECT_EQ(DescribeAccount(out[0]), "runs as nobody (uid 65534)");
  EXPECT_EQ(DescribeAccount(out[2]), "no account: built-in tasks only");
}

TEST(KeyAccountsTest, AKeyNamedRootRunsAsRootOnlyWhenTheFileSaysSo) {
  std::vector<AuthorizedKey> keys = {Key("root", kKeyA, "", 3), Key("admin", kKeyB, "root", 4)};
  Result<KeyMapping> mapped = MapKeysToAccounts(keys, "clients", UnknownAccount::kRefuse);
  ASSERT_TRUE(mapped.ok()) << mapped.status().message();
  EXPECT_FALSE(mapped->keys[0].account.has_value());
  ASSERT_EQ(mapped->warnings.size(), 1u);
  EXPECT_EQ(mapped->warnings[0],
            "clients:3: key 'root' is named after root's account but gets no account: write "
            "user=root to mean it");
  ASSERT_TRUE(mapped->keys[1].account.has_value());
  EXPECT_EQ(mapped->keys[1].account->uid, 0u);
}

TEST(KeyAccountsTest, AnExplicitAccountThatIsNoneRefusesTheStartNamingTheLine) {
  std::vector<AuthorizedKey> keys = {Key("alice", kKeyA, "", 1), Key("bob", kKeyB, kNoSuchUser, 7)};
  Result<KeyMapping> refused =
      MapKeysToAccounts(keys, "/etc/jobd/clients", UnknownAccount::kRefuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr("/etc/jobd/clients:7: user=jobd-no-such-user: no local account"));
}

TEST(KeyAccountsTest, OnReloadAnAccountThatIsNoneIsAWarningAndTheKeyKeepsWorking) {
  std::vector<AuthorizedKey> keys = {Key("bob", kKeyB, kNoSuchUser, 7)};
  Result<KeyMapping> mapped =
      MapKeysToAccounts(keys, "/etc/jobd/clients", UnknownAccount::kNoAccount);
  ASSERT_TRUE(mapped.ok()) << mapped.status().message();
  ASSERT_EQ(mapped->keys.size(), 1u);
  EXPECT_EQ(mapped->keys[0].key.key, kKeyB);
  EXPECT_FALSE(mapped->keys[0].account.has_value());
  ASSERT_EQ(mapped->warnings.size(), 1u);
  EXPECT_THAT(mapped->warnings[0], HasSubstr("/etc/jobd/clients:7: user=jobd-no-such-user"));
  EXPECT_THAT(mapped->warnings[0], HasSubstr("built-in tasks only"));
}

}  // namespace
}  // namespace jobd
