#include "util/resident_set.h"

#include <unistd.h>

#include <vector>

#include <gtest/gtest.h>

namespace jobd {
namespace {

TEST(ResidentSetTest, ReadsThisProcessAndAnotherByPid) {
  const uint64_t self = ResidentBytes();
  EXPECT_GT(self, 4096u);
  EXPECT_LT(self, 64ull << 30);
  // 16 MiB touched page by page shows up.
  std::vector<char> touched(16 << 20, 1);
  const uint64_t by_pid = ResidentBytes(getpid());
  EXPECT_GE(by_pid, self + (15u << 20)) << touched.back();
}

TEST(ResidentSetTest, AProcessThatDoesNotExistReadsZero) {
  EXPECT_EQ(ResidentBytes(0x7ffffff0), 0u);
}

}  // namespace
}  // namespace jobd
