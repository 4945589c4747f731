// Opening a store: what is created, and which files are refused untouched.
#include <sqlite3.h>

#include <filesystem>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/store/schema.h"
#include "daemon/store/specs_codec.h"
#include "daemon/store/store.h"
#include "tests/unit/store/store_test_util.h"

namespace jobd {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
  return bytes;
}

// Bytes as the hex digits of an SQL blob literal (x'...').
std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 0xf];
  }
  return hex;
}

// Runs SQL on the file with a plain connection, as another program would.
void RunSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
  sqlite3_free(error);
  sqlite3_close(db);
}

// The file's schema version, read as another program would.
int64_t FileVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const int64_t version = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return version;
}

// A store with some jobs in it, closed cleanly (its WAL checkpointed away).
void MakeStore(const std::string& path, int jobs) {
  Result<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  std::vector<StoreOp> ops;
  for (int id = 1; id <= jobs; ++id) ops.push_back(JobCreated{MakeJob(id, 20)});
  ASSERT_TRUE((*store)->Apply(ops).ok());
}

class StoreOpenTest : public ::testing::Test {
 protected:
  // Opening must fail with a message satisfying `matcher`, file bytes unchanged.
  template <typename Matcher>
  void ExpectRefused(Matcher matcher) {
    const std::string before = ReadBytes(path_);
    Result<std::unique_ptr<Store>> store = Store::Open(path_);
    ASSERT_FALSE(store.ok());
    EXPECT_THAT(store.status().message(), matcher);
    EXPECT_TRUE(ReadBytes(path_) == before) << "the refused file was modified";
    // And a second attempt says the same: nothing was half-done.
    Result<std::unique_ptr<Store>> again = Store::Open(path_);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().message(), store.status().message());
    EXPECT_TRUE(ReadBytes(path_) == before);
  }

  TempDir dir_;
  const std::string path_ = dir_.File("jobd.db");
};

TEST_F(StoreOpenTest, CreatesTheFileButNotItsDirectory) {
  Result<std::unique_ptr<Store>> store = Store::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_TRUE(std::filesystem::exists(path_));

  const std::string nested = dir_.File("missing/jobd.db");
  Result<std::unique_ptr<Store>> nowhere = Store::Open(nested);
  ASSERT_FALSE(nowhere.ok());
  EXPECT_THAT(nowhere.status().message(), StartsWith("store " + nested + ": open: "));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("missing")));
}

TEST_F(StoreOpenTest, AcceptsAnEmptyFile) {
  WriteBytes(path_, "");
  Result<std::unique_ptr<Store>> store = Store::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_TRUE((*store)->Apply({JobCreated{MakeJob(1)}}).ok());
}

TEST_F(StoreOpenTest, ReopensItsOwnStore) {
  MakeStore(path_, 3);
  Result<std::unique_ptr<Store>> store = Store::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Result<std::vector<StoredJob>> jobs = (*store)->LoadJobs(10);
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), 3u);
}

TEST_F(StoreOpenTest, RefusesANewerSchemaVersion) {
  MakeStore(path_, 3);
  RunSql(path_, "PRAGMA user_version = 7");
  ExpectRefused("store " + path_ +
                " has schema version 7; this jobd knows up to " +
                std::to_string(kSchemaVersion) + "; refusing to touch it");
}

TEST_F(StoreOpenTest, MigratesAVersion1StoreKeepingItsJobs) {
  // A store as the first release wrote it: schema 1, one finished task.
  RunSql(path_, std::string(Migrations()[0]) +
                    "INSERT INTO jobs VALUES (4, 'echo', 1, 0, 0, 0, 1000, NULL);"
                    "INSERT INTO tasks VALUES (4, 0, '', x'0100000061', 1, 0, 0, 'a', '', 9, 5, 0);"
                    "INSERT INTO tasks VALUES (4, 1, '', x'0100000062', 0, 0, NULL, NULL, NULL,"
                    " NULL, NULL, NULL);"
                    "PRAGMA user_version = 1;");
  Result<std::unique_ptr<Store>> store = Store::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Result<std::vector<StoredJob>> jobs = (*store)->LoadJobs(10);
  ASSERT_TRUE(jobs.ok()) << jobs.status().message();
  ASSERT_EQ(jobs->size(), 1u);
  const StoredJob& job = (*jobs)[0];
  EXPECT_EQ(job.id, 4u);
  EXPECT_FALSE(job.command.has_value());
  ASSERT_EQ(job.tasks.size(), 2u);
  EXPECT_EQ(job.tasks[0].args, std::vector<std::string>{"a"});
  ASSERT_TRUE(job.tasks[0].finished.has_value());
  EXPECT_EQ(job.tasks[0].finished->result, "a");
  EXPECT_FALSE(job.tasks[0].finished->command.has_value());
  EXPECT_FALSE(job.tasks[1].finished.has_value());
  // Version 2 columns work on the migrated file.
  StoredJob commands = MakeJob(5, 1);
  commands.command = CommandOptions{"/", {}, "", 0, 0, 0};
  ASSERT_TRUE((*store)->Apply({JobCreated{commands}}).ok());
}

TEST_F(StoreOpenTest, MigratesAVersion2StoreItsJobsOwnedByNobody) {
  // A store as jobd wrote it before owners: schema 2, a finished job and a
  // queued one.
  RunSql(path_, std::string(Migrations()[0]) + Migrations()[1] +
                    "INSERT INTO jobs VALUES (4, 'echo', 1, 0, 0, 0, 1000, 2000, NULL);"
                    "INSERT INTO tasks VALUES (4, 0, '', x'0100000061', 1, 0, 0, 'a', '', 9, 5,"
                    " 0, NULL);"
                    "INSERT INTO jobs VALUES (5, 'echo', 1, 0, 0, 0, 1000, NULL, NULL);"
                    "INSERT INTO tasks VALUES (5, 0, '', x'0100000062', 0, 0, NULL, NULL, NULL,"
                    " NULL, NULL, NULL, NULL);"
                    "PRAGMA user_version = 2;");
  {
    Result<std::unique_ptr<Store>> store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    Result<std::vector<StoredJob>> jobs = (*store)->LoadJobs(10);
    ASSERT_TRUE(jobs.ok()) << jobs.status().message();
    ASSERT_EQ(jobs->size(), 2u);
    for (const StoredJob& job : *jobs) {
      SCOPED_TRACE(job.id);
      EXPECT_FALSE(job.owner.known()) << "a job from before owners has none";
      ASSERT_EQ(job.tasks.size(), 1u);
    }
    ASSERT_TRUE((*jobs)[0].tasks[0].finished.has_value());
    EXPECT_EQ((*jobs)[0].tasks[0].finished->result, "a");
    EXPECT_FALSE((*jobs)[1].tasks[0].finished.has_value());
    // New jobs on the migrated file keep their owner.
    StoredJob owned = MakeJob(6, 1);
    owned.owner.uid = 1000;
    ASSERT_TRUE((*store)->Apply({JobCreated{owned}}).ok());
    Result<std::optional<StoredJob>> back = (*store)->LoadJob(6);
    ASSERT_TRUE(back.ok() && back->has_value());
    EXPECT_EQ((*back)->owner.uid, std::optional<uint32_t>(1000));
  }
  // The file has the current version now.
  EXPECT_EQ(FileVersion(path_), kSchemaVersion);
}

TEST_F(StoreOpenTest, MigratesAVersion3StoreItsJobsLoadingFromTheirTaskRows) {
  // A store as jobd wrote it before packed task specs: schema 3, one row per
  // task. Job 4 finished; job 5 has a started task and a queued one.
  RunSql(path_, std::string(Migrations()[0]) + Migrations()[1] + Migrations()[2] +
                    "INSERT INTO jobs VALUES (4, 'echo', 1, 0, 0, 0, 1000, 2000, NULL, 1000,"
                    " NULL);"
                    "INSERT INTO tasks VALUES (4, 0, '', x'0100000061', 1, 0, 0, 'a', '', 9, 5,"
                    " 0, NULL);"
                    "INSERT INTO jobs VALUES (5, 'echo', 1, 0, 0, 0, 1000, NULL, NULL, 1000,"
                    " NULL);"
                    "INSERT INTO tasks VALUES (5, 0, 'shell', x'0100000062', 1, 1, NULL, NULL,"
                    " NULL, NULL, NULL, NULL, NULL);"
                    "INSERT INTO tasks VALUES (5, 1, '', x'0100000063', 0, 0, NULL, NULL, NULL,"
                    " NULL, NULL, NULL, NULL);"
                    "PRAGMA user_version = 3;");
  {
    Result<std::unique_ptr<Store>> store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    Result<std::vector<StoredJob>> jobs = (*store)->LoadJobs(10);
    ASSERT_TRUE(jobs.ok()) << jobs.status().message();
    ASSERT_EQ(jobs->size(), 2u);
    const StoredJob& finished = (*jobs)[0];
    ASSERT_EQ(finished.tasks.size(), 1u);
    EXPECT_EQ(finished.owner.uid, std::optional<uint32_t>(1000));
    ASSERT_TRUE(finished.tasks[0].finished.has_value());
    EXPECT_EQ(finished.tasks[0].finished->result, "a");
    const StoredJob& running = (*jobs)[1];
    ASSERT_EQ(running.tasks.size(), 2u);
    EXPECT_EQ(running.tasks[0].name, "shell");
    EXPECT_EQ(running.tasks[0].args, std::vector<std::string>{"b"});
    EXPECT_TRUE(running.tasks[0].running);
    EXPECT_EQ(running.tasks[0].attempts, 1u);
    EXPECT_EQ(running.tasks[1].args, std::vector<std::string>{"c"});
    EXPECT_FALSE(running.tasks[1].running);
    // An old job's rows take the updates that rows of new jobs would.
    StoredTask::Final final;
    final.result = "done";
    ASSERT_TRUE((*store)->Apply({TaskFinished{5, 1, 1, final}}).ok());
    Result<std::optional<StoredJob>> back = (*store)->LoadJob(5);
    ASSERT_TRUE(back.ok() && back->has_value()) << back.status().message();
    ASSERT_EQ((*back)->tasks.size(), 2u);
    EXPECT_EQ((*back)->tasks[1].args, std::vector<std::string>{"c"});
    ASSERT_TRUE((*back)->tasks[1].finished.has_value());
    EXPECT_EQ((*back)->tasks[1].finished->result, "done");
  }
  EXPECT_EQ(FileVersion(path_), kSchemaVersion);
}

TEST_F(StoreOpenTest, MigratesAVersion4StoreItsJobsRunningAsNobody) {
  // A store as jobd wrote it before accounts: schema 4, task specs packed in
  // the job's row. Job 4 finished; job 5 is queued.
  StoredTask a;
  a.args = {"a"};
  StoredTask b;
  b.args = {"b"};
  const std::string specs = EncodeSpecs(std::vector<StoredTask>{a});
  const std::string queued = EncodeSpecs(std::vector<StoredTask>{b});
  RunSql(path_, std::string(Migrations()[0]) + Migrations()[1] + Migrations()[2] +
                    Migrations()[3] +
                    "INSERT INTO jobs VALUES (4, 'echo', 1, 0, 0, 0, 1000, 2000, NULL, 1000,"
                    " NULL, x'" + Hex(specs) + "');"
                    "INSERT INTO tasks VALUES (4, 0, '', x'', 1, 0, 0, 'a', '', 9, 5, 0, NULL);"
                    "INSERT INTO jobs VALUES (5, 'echo', 1, 0, 0, 0, 1000, NULL, NULL, NULL,"
                    " 'alice', x'" + Hex(queued) + "');"
                    "PRAGMA user_version = 4;");
  {
    Result<std::unique_ptr<Store>> store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    Result<std::vector<StoredJob>> jobs = (*store)->LoadJobs(10);
    ASSERT_TRUE(jobs.ok()) << jobs.status().message();
    ASSERT_EQ(jobs->size(), 2u);
    for (const StoredJob& job : *jobs) {
      SCOPED_TRACE(job.id);
      EXPECT_FALSE(job.run_as.has_value()) << "a job from before accounts runs as none";
      ASSERT_EQ(job.tasks.size(), 1u);
    }
    EXPECT_EQ((*jobs)[0].owner.uid, std::optional<uint32_t>(1000));
    ASSERT_TRUE((*jobs)[0].tasks[0].finished.has_value());
    EXPECT_EQ((*jobs)[0].tasks[0].finished->result, "a");
    EXPECT_EQ((*jobs)[1].owner.key, "alice");
    EXPECT_EQ((*jobs)[1].tasks[0].args, std::vector<std::string>{"b"});
    EXPECT_FALSE((*jobs)[1].tasks[0].finished.has_value());
    // New jobs on the migrated file keep their account.
    StoredJob mapped = MakeJob(6, 1);
    mapped.run_as = 1000;
    ASSERT_TRUE((*store)->Apply({JobCreated{mapped}}).ok());
    Result<std::optional<StoredJob>> back = (*store)->LoadJob(6);
    ASSERT_TRUE(back.ok() && back->has_value());
    EXPECT_EQ((*back)->run_as, std::optional<uint32_t>(1000));
  }
  EXPECT_EQ(FileVersion(path_), kSchemaVersion);
}

TEST_F(StoreOpenTest, RefusesRandomBytes) {
  WriteBytes(path_, RandomBytes(8192, 1));
  ExpectRefused("store " + path_ +
                " is corrupt (file is not a database); move it away to start with an "
                "empty store");
}

TEST_F(StoreOpenTest, RefusesAStoreWithAnOverwrittenPage) {
  MakeStore(path_, 200);
  std::string bytes = ReadBytes(path_);
  constexpr size_t kPage = 4096;
  ASSERT_GE(bytes.size(), 8 * kPage);
  bytes.replace(bytes.size() / kPage / 2 * kPage, kPage, RandomBytes(kPage, 2));
  WriteBytes(path_, bytes);
  ExpectRefused(::testing::AllOf(
      StartsWith("store " + path_ + " is corrupt ("),
      EndsWith("); move it away to start with an empty store")));
}

TEST_F(StoreOpenTest, RefusesSomeoneElsesDatabase) {
  RunSql(path_, "CREATE TABLE photos (id INTEGER PRIMARY KEY, data BLOB)");
  ExpectRefused(HasSubstr("is not a jobd store"));
}

}  // namespace
}  // namespace jobd
