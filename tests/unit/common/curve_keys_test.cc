// The text forms of CURVE keys: key pair files, authorised keys files.
#include "util/curve_keys.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jobd {
namespace {

using ::testing::HasSubstr;

// Two real keys (from zmq_curve_keypair), and one with the alphabet's edges.
constexpr const char* kPublic = "B)RI$&!OVkvo4[jmbeThn2#$W)m]zkak2t$P{C4a";
constexpr const char* kSecret = "W8+9[eO/TmLL}p:!=Q%1y8EJqh2Jsy4!}1%Np0Ym";
constexpr const char* kOther = "nFXwy&s&D]sl<=oCwFN1xzk4w&}DI0fD4uiwp]Kt";

TEST(CurveKeysTest, KnowsAZ85Key) {
  EXPECT_TRUE(IsZ85Key(kPublic));
  EXPECT_TRUE(IsZ85Key(kSecret));
  EXPECT_FALSE(IsZ85Key(std::string(kPublic).substr(1)));
  EXPECT_FALSE(IsZ85Key(std::string(kPublic) + "a"));
  EXPECT_FALSE(IsZ85Key("B)RI$&!OVkvo4[jmbeThn2#$W)m]zkak2t$P{C4 "));  // a space
  EXPECT_FALSE(IsZ85Key("B)RI$&!OVkvo4[jmbeThn2#$W)m]zkak2t$P{C4\""));  // not in Z85
  EXPECT_FALSE(IsZ85Key(""));
}

TEST(CurveKeysTest, KeyPairFileRoundTrips) {
  const std::string text = FormatKeyPairFile(CurveKeyPair{kPublic, kSecret});
  EXPECT_THAT(text, HasSubstr("secret"));
  Result<CurveKeyPair> keys = ParseKeyPairFile(text, "x.key");
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  EXPECT_EQ(keys->public_key, kPublic);
  EXPECT_EQ(keys->secret_key, kSecret);
  // Spacing and CRLF line ends are fine.
  Result<CurveKeyPair> spaced = ParseKeyPairFile(
      std::string("\r\n  public-key=") + kPublic + "\r\nsecret-key   =   " + kSecret + "  \r\n",
      "x.key");
  ASSERT_TRUE(spaced.ok()) << spaced.status().message();
  EXPECT_EQ(spaced->secret_key, kSecret);
}

TEST(CurveKeysTest, KeyPairFileErrorsNameTheFileAndLine) {
  Result<CurveKeyPair> bad = ParseKeyPairFile(
      std::string("public-key = ") + kPublic + "\nsecret-key = short\n", "x.key");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("x.key:2: secret-key is not a Z85 key"));
  Result<CurveKeyPair> half = ParseKeyPairFile(std::string("public-key = ") + kPublic, "x.key");
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.status().message(), HasSubstr("not a key pair file"));
  EXPECT_FALSE(ParseKeyPairFile(std::string("password = ") + kPublic, "x.key").ok());
  EXPECT_FALSE(ParseKeyPairFile(kPublic, "x.key").ok()) << "a public key file is no pair";
}

TEST(CurveKeysTest, AuthorizedKeysHaveNamesOrAreTheirOwn) {
  Result<std::vector<AuthorizedKey>> keys = ParseAuthorizedKeys(
      std::string("# jobd's clients\n\n") + "alice " + kPublic + "\n" +
          "  build-1.example.org\t" + kOther + "  \n" + kSecret + "\n",
      "authorized");
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0].name, "alice");
  EXPECT_EQ((*keys)[0].key, kPublic);
  EXPECT_EQ((*keys)[1].name, "build-1.example.org");
  EXPECT_EQ((*keys)[1].key, kOther);
  EXPECT_EQ((*keys)[2].name, kSecret) << "a key without a name is its own name";
  // Two keys may share a name (one user, two machines).
  EXPECT_TRUE(ParseAuthorizedKeys(std::string("bob ") + kPublic + "\nbob " + kOther, "f").ok());
  EXPECT_TRUE(ParseAuthorizedKeys("", "f")->empty());
}

TEST(CurveKeysTest, AuthorizedKeysRefuseMistakesWithTheLine) {
  const std::pair<std::string, std::string> cases[] = {
      {std::string("alice ") + kPublic + "\nbob " + kPublic, "f:2: this key is listed twice"},
      {"alice notakey", "f:1: expected \"KEY\" or \"NAME KEY [user=ACCOUNT]\""},
      {std::string("al/ice ") + kPublic, "f:1: bad name 'al/ice'"},
      {std::string("-alice ") + kPublic, "f:1: bad name"},
      {std::string("alice ") + kPublic + " extra", "f:1: unknown field 'extra'"},
      {std::string(65, 'a') + " " + kPublic, "f:1: bad name"},
  };
  for (const auto& [text, error] : cases) {
    Result<std::vector<AuthorizedKey>> keys = ParseAuthorizedKeys(text, "f");
    ASSERT_FALSE(keys.ok()) << text;
    EXPECT_THAT(keys.status().message(), HasSubstr(error)) << text;
  }
}

TEST(CurveKeysTest, AuthorizedKeysMayNameTheAccountTheyRunAs) {
  Result<std::vector<AuthorizedKey>> keys = ParseAuthorizedKeys(
      std::string("alice ") + kPublic + " user=alice\n" +       // by name
          "ci\t" + kOther + "\tuser=1001  \n" +                  // by uid
          "\n# a comment\nbob " + kSecret + "\n",               // none: its name decides
      "authorized");
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0].name, "alice");
  EXPECT_EQ((*keys)[0].key, kPublic);
  EXPECT_EQ((*keys)[0].account, "alice");
  EXPECT_EQ((*keys)[0].line, 1u);
  EXPECT_EQ((*keys)[1].name, "ci");
  EXPECT_EQ((*keys)[1].key, kOther);
  EXPECT_EQ((*keys)[1].account, "1001") << "as written: jobd looks it up";
  EXPECT_EQ((*keys)[1].line, 2u);
  EXPECT_EQ((*keys)[2].account, "");
  EXPECT_EQ((*keys)[2].line, 5u);
  // Account names as user databases hold them.
  for (const char* account : {"svc_build", "alice.smith", "alice@example.org", "host$", "0",
                              "4294967294", "_apt", "A-1"}) {
    Result<std::vector<AuthorizedKey>> one =
        ParseAuthorizedKeys(std::string("x ") + kPublic + " user=" + account, "f");
    ASSERT_TRUE(one.ok()) << account << ": " << one.status().message();
    EXPECT_EQ((*one)[0].account, account);
  }
}

TEST(CurveKeysTest, AuthorizedKeysRefuseBadAccountsWithTheLine) {
  const std::string key = kPublic;
  const std::pair<std::string, std::string> cases[] = {
      {"alice " + key + " user=", "f:1: bad account ''"},
      {"alice " + key + " user=-alice", "f:1: bad account '-alice'"},
      {"alice " + key + " user=al/ice", "f:1: bad account 'al/ice'"},
      {"alice " + key + " user=a$b", "f:1: bad account 'a$b'"},
      {"alice " + key + " user=" + std::string(257, 'a'), "f:1: bad account"},
      {"alice " + key + " user=4294967295", "f:1: bad account '4294967295'"},  // (uid_t)-1
      {"alice " + key + " user=99999999999", "f:1: bad account"},
      {"# one\nalice " + key + " user=alice user=bob", "f:2: user= is given twice"},
      {"alice " + key + " user=alice user=alice", "f:1: user= is given twice"},
      {"alice " + key + " group=wheel", "f:1: unknown field 'group=wheel'"},
      {"alice " + key + " User=alice", "f:1: unknown field 'User=alice'"},
      {"alice " + key + " user=alice extra", "f:1: unknown field 'extra'"},
      {key + " user=alice", "f:1: expected \"NAME KEY user=alice\""},
  };
  for (const auto& [text, error] : cases) {
    Result<std::vector<AuthorizedKey>> keys = ParseAuthorizedKeys(text, "f");
    ASSERT_FALSE(keys.ok()) << text;
    EXPECT_THAT(keys.status().message(), HasSubstr(error)) << text;
  }
}

TEST(CurveKeysTest, PublicKeyFromTheOptionItselfOrAFile) {
  EXPECT_EQ(*ResolvePublicKey(kPublic), kPublic);
  char dir_pattern[] = "/tmp/jobd-keys.XXXXXX";
  ASSERT_NE(mkdtemp(dir_pattern), nullptr);
  const std::string dir = dir_pattern;
  const std::string pub = dir + "/server.pub", pair = dir + "/server.key", bad = dir + "/bad";
  std::ofstream(pub) << "# jobd\n" << kPublic << "\n";
  std::ofstream(pair) << FormatKeyPairFile(CurveKeyPair{kPublic, kSecret});
  std::ofstream(bad) << kPublic << "\n" << kOther << "\n";
  EXPECT_EQ(*ResolvePublicKey(pub), kPublic);
  EXPECT_EQ(*ResolvePublicKey(pair), kPublic) << "a pair file's public half";
  Result<std::string> two = ResolvePublicKey(bad);
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(two.status().message(), HasSubstr(":2: expected one public key"));
  Result<std::string> missing = ResolvePublicKey(dir + "/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("neither a Z85 key"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace jobd
