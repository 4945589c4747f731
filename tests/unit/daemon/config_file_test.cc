// jobd's --config file, entry by entry, with the file and line of the first
// bad one.
#include "daemon/config_file.h"

#include <fstream>
#include <regex>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/options.h"
#include "tests/unit/scratch_dir.h"

namespace jobd {
namespace {

using ::testing::HasSubstr;

TEST(ConfigEntriesTest, NamesAndLinesAsCli11ReadsThem) {
  const std::vector<ConfigEntry> entries = ConfigEntries(
      "# a comment\n"
      "\n"
      "workers = 4\n"
      "  ; another comment\n"
      "no-exec   # a flag alone, with a comment\n"
      "[default]\n"
      "\"log-level\" = debug\n"
      "list = [a,\n"
      "        b]\n"
      "[server]\n"
      "retain=1d\n");
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[0].line, 3);
  EXPECT_EQ(entries[0].name, "workers");
  EXPECT_EQ(entries[0].text, "workers = 4");
  EXPECT_EQ(entries[1].line, 5);
  EXPECT_EQ(entries[1].name, "no-exec");
  EXPECT_EQ(entries[2].line, 7);
  EXPECT_EQ(entries[2].name, "log-level");
  EXPECT_EQ(entries[3].line, 8);
  EXPECT_EQ(entries[3].name, "list");
  EXPECT_EQ(entries[3].text, "list = [a,\n        b]");
  EXPECT_EQ(entries[4].line, 10);
  EXPECT_EQ(entries[4].name, "[server]");
  EXPECT_EQ(entries[5].line, 11);
  EXPECT_EQ(entries[5].name, "retain");
}

class CheckConfigFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const std::string path = dir_.path() + "/jobd.conf";
    std::ofstream(path) << text;
    return path;
  }
  // Refuses any entry whose text has "bad" in it.
  static Status Check(const std::string& text) {
    if (text.find("bad") != std::string::npos) return Status::InvalidArgument("--x: bad value");
    return Status::Ok();
  }
  const std::vector<std::string> names_ = {"workers", "worker-binary", "drain-timeout", "x"};
  ScratchDir dir_;
};

TEST_F(CheckConfigFileTest, AcceptsKnownNamesWithGoodValues) {
  const std::string path = Write("# jobd\nworkers = 2\n\ndrain-timeout = 5s\n");
  EXPECT_TRUE(CheckConfigFile(path, names_, Check).ok());
}

TEST_F(CheckConfigFileTest, UnknownNameGetsFileLineAndTheNearName) {
  const std::string path = Write("# jobd\n\nwrokers = 3\nx = bad\n");
  const Status status = CheckConfigFile(path, names_, Check);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), path + ":3: unknown option 'wrokers' (did you mean 'workers'?)");
}

TEST_F(CheckConfigFileTest, UnknownNameFarFromAllPointsToHelp) {
  const std::string path = Write("frobnicate = 1\n");
  EXPECT_EQ(CheckConfigFile(path, names_, Check).message(),
            path + ":1: unknown option 'frobnicate' (see jobd --help)");
}

TEST_F(CheckConfigFileTest, BadValueGetsFileLineAndWhatTheCheckSays) {
  const std::string path = Write("workers = 2\n# x = bad, but a comment\n\nx = bad\n");
  EXPECT_EQ(CheckConfigFile(path, names_, Check).message(), path + ":4: --x: bad value");
}

TEST_F(CheckConfigFileTest, SectionsAndNamelessEntriesAreRefused) {
  std::string path = Write("workers = 2\n[server]\nworkers = 3\n");
  EXPECT_THAT(CheckConfigFile(path, names_, Check).message(),
              HasSubstr(path + ":2: section [server]: jobd's options take none"));
  path = Write("= 2\n");
  EXPECT_EQ(CheckConfigFile(path, names_, Check).message(), path + ":1: no option name before =");
}

TEST_F(CheckConfigFileTest, UnreadableFileIsAnError) {
  const Status status = CheckConfigFile(dir_.path() + "/missing.conf", names_, Check);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cannot read " + dir_.path() + "/missing.conf"));
}

// The real options: what CLI11 and ParseDaemonValues say of one entry.
TEST(DaemonConfigEntryTest, ChecksTheValueAsJobdWould) {
  EXPECT_TRUE(CheckDaemonConfigEntry("workers = 4").ok());
  EXPECT_TRUE(CheckDaemonConfigEntry("no-exec").ok());
  EXPECT_TRUE(CheckDaemonConfigEntry("drain-timeout = 10s # a comment").ok());
  EXPECT_THAT(CheckDaemonConfigEntry("workers = 0").message(), HasSubstr("--workers"));
  EXPECT_THAT(CheckDaemonConfigEntry("no-store = maybe").message(), HasSubstr("--no-store"));
  EXPECT_EQ(CheckDaemonConfigEntry("drain-timeout = soon").message(),
            "--drain-timeout: bad duration 'soon': expected a number and a unit like 500ms, 30s "
            "or 5m");
  EXPECT_EQ(CheckDaemonConfigEntry("heartbeat = 1ms").message(),
            "--heartbeat: 1ms is too short (at least 10ms)");
  EXPECT_THAT(CheckDaemonConfigEntry("config = other.conf").message(),
              HasSubstr("not allowed in a configuration file"));
}

TEST(DaemonConfigEntryTest, TheEnvironmentIsNotBlamedOnTheFile) {
  const char* saved = getenv("JOBD_SOCKET");
  const std::string old = saved == nullptr ? "" : saved;
  setenv("JOBD_SOCKET", "bogus://x", 1);
  const Status status = CheckDaemonConfigEntry("workers = 4");
  if (saved == nullptr) {
    unsetenv("JOBD_SOCKET");
  } else {
    setenv("JOBD_SOCKET", old.c_str(), 1);
  }
  EXPECT_TRUE(status.ok()) << status.message();
}

// Nothing valid breaks: the packaged example, every option uncommented.
TEST(DaemonConfigEntryTest, ThePackagedExampleUncommentedPasses) {
  std::ifstream in(std::string(JOBD_SOURCE_DIR) + "/etc/jobd.conf");
  ASSERT_TRUE(in) << "etc/jobd.conf";
  std::stringstream uncommented;
  int options = 0;
  static const std::regex entry(R"(^# ([a-z][a-z0-9-]*) = .*$)");
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, entry)) {
      line = line.substr(2);
      ++options;
    }
    uncommented << line << "\n";
  }
  ASSERT_GE(options, 20);
  ScratchDir dir;
  const std::string path = dir.path() + "/jobd.conf";
  std::ofstream(path) << uncommented.str();
  const Status status = CheckConfigFile(path, DaemonOptionNames(), CheckDaemonConfigEntry);
  EXPECT_TRUE(status.ok()) << status.message();
}

}  // namespace
}  // namespace jobd
