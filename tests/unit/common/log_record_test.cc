#include "util/log_record.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace jobd {
namespace {

LogRecord Sample() {
  LogRecord r;
  r.ts_unix_us = 1'795'000'000'123'456;
  r.level = LogLevel::kInfo;
  r.pid = 16430;
  r.role = LogRole::kWorker;
  r.worker = 1;
  r.job = 7;
  r.task = 3;
  r.msg = "running \"quoted\"\nnext";
  return r;
}

TEST(LogRecordTest, JsonLineHasTheContractFieldsOnOneLine) {
  const std::string line = FormatJsonLine(Sample());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line);
  for (const char* key : {"ts", "level", "pid", "role", "msg", "job", "task"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["pid"], 16430);
  EXPECT_EQ(j["role"], "worker");
  EXPECT_EQ(j["level"], "info");
}

TEST(LogRecordTest, JsonLineRoundTrips) {
  const LogRecord in = Sample();
  Result<LogRecord> out = ParseJsonLine(FormatJsonLine(in));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->ts_unix_us, in.ts_unix_us);
  EXPECT_EQ(out->pid, in.pid);
  EXPECT_EQ(out->worker, in.worker);
  EXPECT_EQ(out->job, in.job);
  EXPECT_EQ(out->task, in.task);
  EXPECT_EQ(out->msg, in.msg);
}

TEST(LogRecordTest, InvalidUtf8IsReplacedNotThrown) {
  LogRecord r = Sample();
  r.msg = "bad \xff byte";
  EXPECT_NO_THROW(FormatJsonLine(r));
}

TEST(LogRecordTest, HumanLineShowsPidFirst) {
  LogRecord r = Sample();
  r.msg = "running";
  const std::string line = FormatHumanLine(r);
  EXPECT_EQ(line.rfind("PID 16430 ", 0), 0u) << line;
  EXPECT_NE(line.find("worker[1] job=7 task=3: running"), std::string::npos) << line;
}

TEST(LogRecordTest, ParseRejectsNonRecords) {
  EXPECT_FALSE(ParseJsonLine("not json").ok());
  EXPECT_FALSE(ParseJsonLine("{\"pid\":1}").ok());
}

}  // namespace
}  // namespace jobd
