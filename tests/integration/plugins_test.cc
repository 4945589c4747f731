// Plugins end to end: `jobd --plugin-dir DIR` hands DIR to its workers,
// `jobctl tasks` lists what they loaded and what they could not, and a
// plugin task runs through `jobctl map`. The plugins are the build's
// (lib/jobd/plugins, lib/jobd/test-plugins), copied into a directory of
// the test's own so that it can add broken ones.
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/unit/worker/plugin_test_util.h"

namespace jobd::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
namespace pt = jobd::plugin_testing;

class PluginsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pt::CopyInto(pt::ExamplePluginDir() + "/grayscale.so", plugins_.path(), "grayscale.so");
    pt::CopyInto(pt::ExamplePluginDir() + "/sha256.so", plugins_.path(), "sha256.so");
    pt::CopyInto(pt::TestPluginDir() + "/wrong_abi.so", plugins_.path(), "wrong_abi.so");
    pt::WriteFile(plugins_.path() + "/broken.so", "not a shared library\n");
    jobd_ = Jobd::Start({"--plugin-dir", plugins_.path()}, 2);
    ASSERT_NE(jobd_, nullptr);
  }

  std::string Data(const std::string& name) const { return data_.path() + "/" + name; }

  pt::ScratchDir plugins_;
  pt::ScratchDir data_;
  std::unique_ptr<Jobd> jobd_;
};

TEST_F(PluginsTest, TasksListsPluginsWithTheirFilesAndTheLoadErrors) {
  CommandResult r = jobd_->Jobctl({"--json", "tasks"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, json> tasks;
  for (const json& line : JsonLines(r.out)) tasks[line["name"]] = line;
  for (const char* name : {"grayscale", "sha256"}) {
    ASSERT_TRUE(tasks.count(name)) << r.out;
    EXPECT_EQ(tasks[name]["kind"], "plugin");
    EXPECT_EQ(tasks[name]["file"], plugins_.path() + "/" + name + ".so");
    EXPECT_FALSE(tasks[name]["description"].get<std::string>().empty());
  }
  ASSERT_TRUE(tasks.count("echo"));
  EXPECT_EQ(tasks["echo"]["kind"], "built-in");
  EXPECT_TRUE(tasks["echo"]["file"].is_null());
  EXPECT_FALSE(tasks.count("t_future"));  // wrong_abi.so's

  EXPECT_THAT(r.err, HasSubstr(plugins_.path() + "/broken.so: "));
  EXPECT_THAT(r.err, HasSubstr(plugins_.path() +
                               "/wrong_abi.so: ABI version 999, but this worker loads version 1"));
}

TEST_F(PluginsTest, MapGrayscaleWritesAGrayPng) {
  pt::PngIo png;
  const std::vector<uint8_t> rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 12, 34, 56};
  ASSERT_TRUE(png.Write(Data("in.png"), 2, 2, pt::kRgb, 8, rgb));

  CommandResult r = jobd_->Jobctl({"--json", "map", "grayscale", Data("in.png")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(lines[0]["status"], "ok");
  EXPECT_EQ(lines[0]["result"], Data("in.gray.png"));

  pt::PngImage gray = png.Read(Data("in.gray.png"));
  EXPECT_EQ(gray.color_type, pt::kGray);
  EXPECT_EQ(gray.bit_depth, 8);
  EXPECT_EQ(gray.width, 2u);
  EXPECT_EQ(gray.height, 2u);
  EXPECT_EQ(gray.pixels, (std::vector<uint8_t>{76, 150, 29, pt::Luma(12, 34, 56)}));
}

TEST_F(PluginsTest, PluginFailuresAreTaskFailures) {
  pt::WriteFile(Data("abc"), "abc");
  CommandResult r =
      jobd_->Jobctl({"--json", "map", "--ordered", "sha256", Data("abc"), Data("missing")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["status"], "ok");
  EXPECT_EQ(lines[0]["result"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(lines[1]["status"], "failed");
  EXPECT_EQ(lines[1]["error"],
            "sha256: " + Data("missing") + ": cannot open: No such file or directory");
}

TEST_F(PluginsTest, SighupReloadsPluginsWithoutARestart) {
  auto has_task = [&](const std::string& name) {
    CommandResult r = jobd_->Jobctl({"--json", "tasks"});
    for (const json& task : JsonLines(r.out)) {
      if (task["name"] == name) return true;
    }
    return false;
  };
  ASSERT_FALSE(has_task("t_echo"));
  const pid_t before = jobd_->pid();
  pt::CopyInto(pt::TestPluginDir() + "/good.so", plugins_.path(), "good.so");
  jobd_->Signal(SIGHUP);
  // The workers are replaced one by one; the newest lists the new plugin.
  EXPECT_TRUE(Eventually([&] { return has_task("t_echo"); }))
      << jobd_->Jobctl({"tasks"}).out;
  EXPECT_EQ(jobd_->pid(), before);
  CommandResult r = jobd_->Jobctl({"--json", "map", "t_echo", "loaded"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace jobd::testing
