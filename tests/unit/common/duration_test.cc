#include "util/duration.h"

#include <gtest/gtest.h>

namespace jobd {
namespace {

TEST(DurationTest, ParsesUnits) {
  EXPECT_EQ(*ParseDuration("500ms"), Millis(500));
  EXPECT_EQ(*ParseDuration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(*ParseDuration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(*ParseDuration("2h"), std::chrono::hours(2));
  EXPECT_EQ(*ParseDuration("7d"), std::chrono::hours(7 * 24));
  EXPECT_EQ(*ParseDuration("250us"), Micros(250));
  EXPECT_EQ(*ParseDuration("75"), Millis(75));
}

TEST(DurationTest, RejectsJunkWithAClearMessage) {
  for (const char* bad : {"", "ms", "-5s", "5 s", "5parsecs", "1.5s", "99999999999999999999h"}) {
    Result<Micros> parsed = ParseDuration(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("duration"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace jobd
