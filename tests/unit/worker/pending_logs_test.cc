#include "worker/pending_logs.h"

#include <gtest/gtest.h>

namespace jobd {
namespace {

LogRecord Record(std::string msg) {
  LogRecord record;
  record.msg = std::move(msg);
  record.job = 4;
  return record;
}

TEST(PendingLogsTest, TakeAllReturnsRecordsOldestFirstAndEmpties) {
  PendingLogs logs;
  EXPECT_TRUE(logs.empty());
  logs.Add(Record("a"));
  logs.Add(Record("b"));
  EXPECT_FALSE(logs.empty());
  std::vector<LogRecord> taken = logs.TakeAll();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].msg, "a");
  EXPECT_EQ(taken[1].msg, "b");
  EXPECT_TRUE(logs.empty());
  EXPECT_TRUE(logs.TakeAll().empty());
}

TEST(PendingLogsTest, OverflowIsCountedAndReportedOnce) {
  PendingLogs logs(/*capacity=*/2);
  for (const char* msg : {"a", "b", "c", "d", "e"}) logs.Add(Record(msg));
  std::vector<LogRecord> taken = logs.TakeAll();
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[1].msg, "b");
  EXPECT_EQ(taken[2].level, LogLevel::kWarn);
  EXPECT_EQ(taken[2].job, std::optional<uint64_t>(4));
  EXPECT_EQ(taken[2].msg, "dropped 3 log records (more than 2 between two reports)");
  EXPECT_TRUE(logs.empty());
}

}  // namespace
}  // namespace jobd
