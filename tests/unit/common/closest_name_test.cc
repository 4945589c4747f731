#include "util/closest_name.h"

#include <gtest/gtest.h>

namespace jobd {
namespace {

TEST(EditDistanceTest, CountsEditsAndSwaps) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("map", "map"), 0u);
  EXPECT_EQ(EditDistance("", "map"), 3u);
  EXPECT_EQ(EditDistance("mpa", "map"), 1u);  // a swap is one edit
  EXPECT_EQ(EditDistance("wrokers", "workers"), 1u);
  EXPECT_EQ(EditDistance("stauts", "status"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("job", "jobs"), 1u);
}

TEST(ClosestNameTest, SuggestsOnlyANearName) {
  const std::vector<std::string> verbs = {"ping", "map", "submit", "status", "jobs", "logs"};
  EXPECT_EQ(ClosestName("mpa", verbs), "map");
  EXPECT_EQ(ClosestName("stauts", verbs), "status");
  EXPECT_EQ(ClosestName("job", verbs), "jobs");
  EXPECT_EQ(ClosestName("frobnicate", verbs), std::nullopt);
  EXPECT_EQ(ClosestName("xyz", verbs), std::nullopt);
  EXPECT_EQ(ClosestName("x", {}), std::nullopt);
  EXPECT_EQ(ClosestName("wrokers", {"worker-binary", "workers"}), "workers");
  // A longer word may be further off.
  EXPECT_EQ(ClosestName("max-task-per-jobs", {"max-tasks-per-job", "max-tasks-per-worker"}),
            "max-tasks-per-job");
}

}  // namespace
}  // namespace jobd
