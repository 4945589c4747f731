#include "daemon/store/args_codec.h"

#include <gtest/gtest.h>

namespace jobd {
namespace {

TEST(ArgsCodecTest, RoundTripsAnyBytes) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {""},
      {"", ""},
      {"hello world", "say \"hi\" 'there'", "tab\there\nnewline", "ünïcødé ✓"},
      {std::string("nul\0inside", 10), std::string(300, 'x')},
  };
  for (const auto& args : cases) {
    std::optional<std::vector<std::string>> decoded = DecodeArgs(EncodeArgs(args));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, args);
  }
}

TEST(ArgsCodecTest, NoArgsIsAnEmptyBlob) { EXPECT_EQ(EncodeArgs({}), ""); }

TEST(ArgsCodecTest, RejectsTruncatedBlobs) {
  const std::string blob = EncodeArgs({"abc", "defg"});
  for (size_t size = 1; size < blob.size(); ++size) {
    if (size == 7) continue;  // exactly the first argument: a valid blob
    EXPECT_FALSE(DecodeArgs(blob.substr(0, size)).has_value()) << size;
  }
  EXPECT_EQ(DecodeArgs(blob.substr(0, 7)), std::vector<std::string>{"abc"});
}

}  // namespace
}  // namespace jobd
