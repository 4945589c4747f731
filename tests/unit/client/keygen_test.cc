// jobctl keygen's key pairs and files.
#include "client/keygen.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zmq.h>

namespace jobd {
namespace {

using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class KeygenTest : public ::testing::Test {
 protected:
  KeygenTest() {
    char pattern[] = "/tmp/jobd-keygen.XXXXXX";
    if (mkdtemp(pattern) == nullptr) ADD_FAILURE() << "mkdtemp";
    dir_ = pattern;
  }
  ~KeygenTest() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(KeygenTest, MakesAMatchingPairEachTimeANewOne) {
  Result<CurveKeyPair> a = GenerateCurveKeyPair();
  Result<CurveKeyPair> b = GenerateCurveKeyPair();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(IsZ85Key(a->public_key));
  EXPECT_TRUE(IsZ85Key(a->secret_key));
  EXPECT_NE(a->secret_key, b->secret_key);
  char derived[41] = {};
  ASSERT_EQ(zmq_curve_public(derived, a->secret_key.c_str()), 0);
  EXPECT_EQ(a->public_key, derived);
}

TEST_F(KeygenTest, WritesTheSecretPairPrivateAndThePublicKeyReadable) {
  Result<CurveKeyPair> keys = GenerateCurveKeyPair();
  ASSERT_TRUE(keys.ok());
  const std::string prefix = dir_ + "/alice";
  const mode_t saved = ::umask(0);  // the modes are exact whatever the umask
  const Status written = WriteKeyPairFiles(*keys, prefix);
  ::umask(saved);
  ASSERT_TRUE(written.ok()) << written.message();
  EXPECT_EQ(ModeOf(prefix + ".key"), 0600u);
  EXPECT_EQ(ModeOf(prefix + ".pub"), 0644u);
  Result<CurveKeyPair> back = ParseKeyPairFile(Read(prefix + ".key"), prefix + ".key");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->secret_key, keys->secret_key);
  EXPECT_EQ(back->public_key, keys->public_key);
  EXPECT_EQ(Read(prefix + ".pub"), keys->public_key + "\n");
  EXPECT_EQ(*ResolvePublicKey(prefix + ".pub"), keys->public_key);

  // Never over an existing pair: the old secret key stays.
  Status again = WriteKeyPairFiles(*GenerateCurveKeyPair(), prefix);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.message(), HasSubstr("exists; not overwritten"));
  EXPECT_EQ(ParseKeyPairFile(Read(prefix + ".key"), "k")->secret_key, keys->secret_key);
}

TEST_F(KeygenTest, RefusesAPrefixInNoFolderAndWritesNothing) {
  Result<CurveKeyPair> keys = GenerateCurveKeyPair();
  ASSERT_TRUE(keys.ok());
  const std::string prefix = dir_ + "/missing/alice";
  Status written = WriteKeyPairFiles(*keys, prefix);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(written.message(), "cannot write " + prefix + ".key: no folder " + dir_ +
                                   "/missing (nothing written)");

  std::ofstream(dir_ + "/plain") << "a file\n";
  written = WriteKeyPairFiles(*keys, dir_ + "/plain/alice");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(written.message(), HasSubstr(dir_ + "/plain is not a folder (nothing written)"));
  EXPECT_EQ(Read(dir_ + "/plain"), "a file\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);  // plain alone
}

TEST_F(KeygenTest, AnExistingPairIsTheCallersToFixToo) {
  Result<CurveKeyPair> keys = GenerateCurveKeyPair();
  ASSERT_TRUE(keys.ok());
  ASSERT_TRUE(WriteKeyPairFiles(*keys, dir_ + "/bob").ok());
  Status again = WriteKeyPairFiles(*keys, dir_ + "/bob");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jobd
