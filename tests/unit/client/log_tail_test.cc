#include "client/log_tail.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace jobd {
namespace {

class LogTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/jobdc-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/jobd.jsonl";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Append(const std::string& text) { std::ofstream(path_, std::ios::app) << text; }

  std::vector<std::string> Read(LogTail& tail) {
    std::vector<std::string> lines;
    const Status s = tail.ReadLines(&lines);
    EXPECT_TRUE(s.ok()) << s.message();
    return lines;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(LogTailTest, MissingFileIsNotFound) {
  LogTail tail(path_);
  std::vector<std::string> lines;
  EXPECT_EQ(tail.ReadLines(&lines).code(), StatusCode::kNotFound);
}

TEST_F(LogTailTest, HandsOutWholeLinesAsTheyGrow) {
  Append("one\ntwo\nthr");
  LogTail tail(path_);
  EXPECT_EQ(Read(tail), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(tail.partial(), "thr");
  EXPECT_TRUE(Read(tail).empty());
  Append("ee\nfour\n");
  EXPECT_EQ(Read(tail), (std::vector<std::string>{"three", "four"}));
  EXPECT_EQ(tail.partial(), "");
}

TEST_F(LogTailTest, StartsOverAfterTruncation) {
  Append("one\ntwo\n");
  LogTail tail(path_);
  EXPECT_EQ(Read(tail).size(), 2u);
  std::ofstream(path_, std::ios::trunc) << "new\n";
  EXPECT_EQ(Read(tail), std::vector<std::string>{"new"});
}

TEST_F(LogTailTest, StartsOverWhenRewrittenPastTheOldEnd) {
  Append("one\n");
  LogTail tail(path_);
  EXPECT_EQ(Read(tail).size(), 1u);
  std::ofstream(path_, std::ios::trunc) << "longer\n";  // grew past our offset meanwhile
  EXPECT_EQ(Read(tail), std::vector<std::string>{"longer"});
}

TEST_F(LogTailTest, FinishesTheOldFileThenFollowsTheNewOne) {
  Append("one\n");
  LogTail tail(path_);
  EXPECT_EQ(Read(tail).size(), 1u);
  Append("two\n");
  std::filesystem::rename(path_, path_ + ".1");  // rotated
  Append("fresh\n");
  EXPECT_EQ(Read(tail), (std::vector<std::string>{"two", "fresh"}));
}

}  // namespace
}  // namespace jobd
