#include "util/size.h"

#include <gtest/gtest.h>

namespace jobd {
namespace {

TEST(SizeTest, ParsesUnits) {
  EXPECT_EQ(*ParseSize("1048576"), 1048576u);
  EXPECT_EQ(*ParseSize("64K"), 64u << 10);
  EXPECT_EQ(*ParseSize("512M"), 512u << 20);
  EXPECT_EQ(*ParseSize("512MB"), 512u << 20);
  EXPECT_EQ(*ParseSize("2GiB"), 2ull << 30);
  EXPECT_EQ(*ParseSize("1T"), 1ull << 40);
  EXPECT_EQ(*ParseSize("100B"), 100u);
}

TEST(SizeTest, RejectsJunk) {
  for (const char* bad : {"", "M", "-1M", "12X", "1.5G", "99999999999T"}) {
    Result<uint64_t> parsed = ParseSize(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("size"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace jobd
