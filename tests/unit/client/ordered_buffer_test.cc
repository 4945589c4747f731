#include "client/ordered_buffer.h"

#include <gtest/gtest.h>

namespace jobd {
namespace {

TaskResult At(uint32_t index, std::string value = "") {
  TaskResult result;
  result.index = index;
  result.result = std::move(value);
  return result;
}

TEST(OrderedBufferTest, HandsOutInIndexOrder) {
  OrderedBuffer buffer;
  buffer.Push(At(2));
  buffer.Push(At(1));
  EXPECT_FALSE(buffer.PopNext().has_value());  // 0 has not arrived
  buffer.Push(At(0));
  for (uint32_t i = 0; i < 3; ++i) {
    std::optional<TaskResult> next = buffer.PopNext();
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->index, i);
  }
  EXPECT_FALSE(buffer.PopNext().has_value());
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(buffer.next_index(), 3u);
}

TEST(OrderedBufferTest, InOrderInputPassesStraightThrough) {
  OrderedBuffer buffer;
  for (uint32_t i = 0; i < 5; ++i) {
    buffer.Push(At(i));
    std::optional<TaskResult> next = buffer.PopNext();
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->index, i);
  }
}

TEST(OrderedBufferTest, FirstResultForAnIndexWins) {
  OrderedBuffer buffer;
  buffer.Push(At(1, "first"));
  buffer.Push(At(1, "second"));
  buffer.Push(At(0, "zero"));
  EXPECT_EQ(buffer.PopNext()->result, "zero");
  EXPECT_EQ(buffer.PopNext()->result, "first");
  buffer.Push(At(0, "late"));  // already handed out
  EXPECT_FALSE(buffer.PopNext().has_value());
  EXPECT_EQ(buffer.size(), 0u);
}

TEST(OrderedBufferTest, DrainAllSkipsGapsInOrder) {
  OrderedBuffer buffer;
  buffer.Push(At(5));
  buffer.Push(At(2));
  buffer.Push(At(3));
  std::vector<TaskResult> rest = buffer.DrainAll();
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].index, 2u);
  EXPECT_EQ(rest[1].index, 3u);
  EXPECT_EQ(rest[2].index, 5u);
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(buffer.next_index(), 6u);
}

TEST(OrderedBufferTest, StartsAtAGivenIndex) {
  OrderedBuffer buffer(10);
  buffer.Push(At(9));  // before the start: dropped
  buffer.Push(At(10));
  EXPECT_EQ(buffer.PopNext()->index, 10u);
  EXPECT_EQ(buffer.size(), 0u);
}

}  // namespace
}  // namespace jobd
