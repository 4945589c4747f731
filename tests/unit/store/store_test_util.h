// Helpers for the store tests: a temporary directory per test, file bytes,
// jobs to store, and field-by-field comparison of stored jobs.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/core/store_ops.h"

namespace jobd {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "jobd_store_test.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A job with `tasks` queued tasks, each "echo <index>".
inline StoredJob MakeJob(JobId id, uint32_t tasks = 1) {
  StoredJob job;
  job.id = id;
  job.default_task = "echo";
  job.retries = 1;
  job.timeout_us = 5'000'000;
  job.priority = 0;
  job.submitted_unix_us = 1'700'000'000'000'000 + static_cast<int64_t>(id);
  for (uint32_t i = 0; i < tasks; ++i) {
    StoredTask& task = job.tasks.emplace_back();
    task.index = i;
    task.args = {std::to_string(i)};
  }
  return job;
}

inline void ExpectSameTask(const StoredTask& a, const StoredTask& b) {
  SCOPED_TRACE("task " + std::to_string(b.index));
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.args, b.args);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.running, b.running);
  ASSERT_EQ(a.finished.has_value(), b.finished.has_value());
  if (!a.finished) return;
  EXPECT_EQ(a.finished->status, b.finished->status);
  EXPECT_EQ(a.finished->result, b.finished->result);
  EXPECT_EQ(a.finished->error, b.finished->error);
  EXPECT_EQ(a.finished->pid, b.finished->pid);
  EXPECT_EQ(a.finished->duration_us, b.finished->duration_us);
  EXPECT_EQ(a.finished->seq, b.finished->seq);
  EXPECT_EQ(a.finished->command, b.finished->command);
}

inline void ExpectSameJob(const StoredJob& a, const StoredJob& b) {
  SCOPED_TRACE("job " + std::to_string(b.id));
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.default_task, b.default_task);
  EXPECT_EQ(a.retries, b.retries);
  EXPECT_EQ(a.timeout_us, b.timeout_us);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.retry_timeouts, b.retry_timeouts);
  EXPECT_EQ(a.submitted_unix_us, b.submitted_unix_us);
  EXPECT_EQ(a.finished_unix_us, b.finished_unix_us);
  EXPECT_EQ(a.command, b.command);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.run_as, b.run_as);
  ASSERT_EQ(a.tasks.size(), b.tasks.size());
  for (size_t i = 0; i < a.tasks.size(); ++i) ExpectSameTask(a.tasks[i], b.tasks[i]);
}

inline std::vector<JobId> Ids(const std::vector<StoredJob>& jobs) {
  std::vector<JobId> ids;
  for (const StoredJob& job : jobs) ids.push_back(job.id);
  return ids;
}

}  // namespace jobd
