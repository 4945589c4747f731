#include "daemon/store/specs_codec.h"

#include <random>

#include <gtest/gtest.h>

#include "daemon/core/task_specs.h"
#include "tests/unit/store/store_test_util.h"

namespace jobd {
namespace {

std::vector<StoredTask> SomeTasks() {
  std::vector<StoredTask> tasks(4);
  for (uint32_t i = 0; i < tasks.size(); ++i) tasks[i].index = i;
  tasks[0].args = {"1"};
  tasks[1].name = "shell";
  tasks[1].args = {"two words", "", std::string("nul\0inside", 10), "ünïcødé ✓"};
  tasks[3].name = "other";  // tasks[2]: the default, no args
  return tasks;
}

void ExpectSameSpecs(const std::vector<StoredTask>& a, const std::vector<StoredTask>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ExpectSameTask(a[i], b[i]);
}

TEST(SpecsCodecTest, RoundTripsTasks) {
  const std::vector<StoredTask> tasks = SomeTasks();
  std::optional<std::vector<StoredTask>> decoded = DecodeSpecs(EncodeSpecs(tasks));
  ASSERT_TRUE(decoded.has_value());
  ExpectSameSpecs(*decoded, tasks);
}

TEST(SpecsCodecTest, SpecsAndTasksEncodeTheSame) {
  StoredJob job = MakeJob(1);
  job.tasks = SomeTasks();
  EXPECT_EQ(EncodeSpecs(*TaskSpecs::FromStored(job)), EncodeSpecs(job.tasks));
}

TEST(SpecsCodecTest, NoTasks) {
  std::optional<std::vector<StoredTask>> decoded = DecodeSpecs(EncodeSpecs(std::vector<StoredTask>{}));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->empty());
}

TEST(SpecsCodecTest, RejectsEveryTruncation) {
  const std::string blob = EncodeSpecs(SomeTasks());
  for (size_t size = 0; size < blob.size(); ++size) {
    EXPECT_FALSE(DecodeSpecs(blob.substr(0, size)).has_value()) << size;
  }
}

TEST(SpecsCodecTest, RejectsTrailingBytesAndUnknownVersions) {
  const std::string blob = EncodeSpecs(SomeTasks());
  EXPECT_FALSE(DecodeSpecs(blob + "x").has_value());
  std::string other = blob;
  other[0] = 2;
  EXPECT_FALSE(DecodeSpecs(other).has_value());
}

TEST(SpecsCodecTest, RejectsHugeCountsWithoutAllocatingThem) {
  // 4G tasks in 5 bytes, then 4G arguments for one task.
  EXPECT_FALSE(DecodeSpecs(std::string("\x01\xff\xff\xff\xff", 5)).has_value());
  EXPECT_FALSE(
      DecodeSpecs(std::string("\x01\x01\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff", 13))
          .has_value());
}

// Garbage and single-byte corruptions of a valid blob: decoded or refused,
// never a crash or an overread (run under the sanitizers).
TEST(SpecsCodecTest, SurvivesGarbage) {
  std::mt19937 random(42);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::string garbage(static_cast<size_t>(round % 64), '\0');
    for (char& c : garbage) c = static_cast<char>(byte(random));
    if (!garbage.empty() && round % 2 == 0) garbage[0] = kSpecsFormatVersion;
    (void)DecodeSpecs(garbage);
  }
  const std::string blob = EncodeSpecs(SomeTasks());
  for (size_t i = 0; i < blob.size(); ++i) {
    for (int value : {0x00, 0x01, 0x7f, 0xff}) {
      std::string corrupt = blob;
      corrupt[i] = static_cast<char>(value);
      (void)DecodeSpecs(corrupt);
    }
  }
}

}  // namespace
}  // namespace jobd
