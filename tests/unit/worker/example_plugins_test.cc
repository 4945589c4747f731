// The example plugins (examples/plugins: grayscale, sha256) loaded from the
// build's lib/jobd/plugins by the real loader. PNG inputs are made, and
// outputs read back, with libpng through pngio.so (plugin_test_util.h).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "tests/unit/worker/plugin_test_util.h"
#include "worker/builtin_tasks.h"
#include "worker/plugin_loader.h"

namespace jobd {
namespace {

using ::testing::HasSubstr;
using plugin_testing::ExamplePluginDir;
using plugin_testing::Luma;
using plugin_testing::PngImage;
using plugin_testing::PngIo;
using plugin_testing::ScratchDir;
using plugin_testing::WriteFile;
namespace fs = std::filesystem;

class ExamplePluginsTest : public ::testing::Test {
 protected:
  ExamplePluginsTest()
      : logger_("example-plugins-test", std::make_shared<spdlog::sinks::null_sink_st>()) {
    RegisterBuiltinTasks(registry_);
    errors_ = LoadPlugins(ExamplePluginDir(), kDefaultMaxOutputBytes, registry_, logger_);
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  // Runs grayscale on `input` and checks that it wrote `<stem>.gray.png`,
  // an 8-bit gray PNG of the same size; returns its pixels.
  std::vector<uint8_t> Gray(const std::string& input, unsigned width, unsigned height) {
    TaskOutput out = registry_.Run("grayscale", {input});
    EXPECT_TRUE(out.ok) << out.error;
    const std::string expected_path =
        (fs::path(input).parent_path() / fs::path(input).stem()).string() + ".gray.png";
    EXPECT_EQ(out.value, expected_path);
    PngImage image = png_.Read(expected_path);
    EXPECT_EQ(image.color_type, plugin_testing::kGray);
    EXPECT_EQ(image.bit_depth, 8);
    EXPECT_EQ(image.width, width);
    EXPECT_EQ(image.height, height);
    return image.pixels;
  }

  ScratchDir dir_;
  spdlog::logger logger_;
  TaskRegistry registry_;
  std::vector<std::string> errors_;
  PngIo png_;
};

TEST_F(ExamplePluginsTest, BothLoadFromTheBuildsPluginDirectory) {
  EXPECT_THAT(errors_, ::testing::IsEmpty());
  for (const char* name : {"grayscale", "sha256"}) {
    const TaskEntry* entry = registry_.Find(name);
    ASSERT_NE(entry, nullptr) << name;
    EXPECT_EQ(entry->kind, TaskKind::kPlugin);
    EXPECT_EQ(entry->file, ExamplePluginDir() + "/" + name + ".so");
    EXPECT_FALSE(entry->description.empty());
    EXPECT_FALSE(entry->runs_code) << name << ": its arguments are data, not code";
  }
}

TEST_F(ExamplePluginsTest, GrayscaleOfRgbIsPillowsLuma) {
  // 4x3 RGB, row by row.
  const std::vector<std::vector<uint8_t>> colors = {
      {255, 0, 0},   {0, 255, 0},     {0, 0, 255},     {255, 255, 255},
      {0, 0, 0},     {128, 128, 128}, {10, 200, 30},   {255, 255, 0},
      {0, 255, 255}, {255, 0, 255},   {1, 2, 3},       {254, 253, 252},
  };
  std::vector<uint8_t> rgb;
  std::vector<uint8_t> expected;
  for (const auto& c : colors) {
    rgb.insert(rgb.end(), c.begin(), c.end());
    expected.push_back(Luma(c[0], c[1], c[2]));
  }
  ASSERT_TRUE(png_.Write(Path("rgb.png"), 4, 3, plugin_testing::kRgb, 8, rgb));
  EXPECT_EQ(Gray(Path("rgb.png"), 4, 3), expected);
  // Pillow's values for the primaries: convert("L") of red, green, blue.
  EXPECT_EQ(expected[0], 76);
  EXPECT_EQ(expected[1], 150);
  EXPECT_EQ(expected[2], 29);
  EXPECT_EQ(expected[3], 255);
  EXPECT_EQ(expected[5], 128);
}

TEST_F(ExamplePluginsTest, GrayscaleIgnoresAlpha) {
  const std::vector<uint8_t> rgba = {
      255, 0, 0, 0,      0, 255, 0, 128,   // transparent red, half green
      0, 0, 255, 255,    200, 100, 50, 7,  // opaque blue, nearly clear
  };
  ASSERT_TRUE(png_.Write(Path("rgba.png"), 2, 2, plugin_testing::kRgba, 8, rgba));
  EXPECT_EQ(Gray(Path("rgba.png"), 2, 2),
            (std::vector<uint8_t>{Luma(255, 0, 0), Luma(0, 255, 0), Luma(0, 0, 255),
                                  Luma(200, 100, 50)}));

  const std::vector<uint8_t> gray_alpha = {7, 0, 99, 255, 200, 13};
  ASSERT_TRUE(png_.Write(Path("ga.png"), 3, 1, plugin_testing::kGrayAlpha, 8, gray_alpha));
  EXPECT_EQ(Gray(Path("ga.png"), 3, 1), (std::vector<uint8_t>{7, 99, 200}));
}

TEST_F(ExamplePluginsTest, GrayscaleExpandsAPaletteWithTransparency) {
  const std::vector<uint8_t> palette = {255, 0, 0, 0, 128, 255, 33, 66, 99, 250, 250, 10};
  const std::vector<uint8_t> trns = {0, 128};  // entries 0 and 1 not opaque
  const std::vector<uint8_t> indexes = {0, 1, 2, 3, 2, 1};
  ASSERT_TRUE(png_.Write(Path("palette.png"), 3, 2, plugin_testing::kPalette, 8, indexes,
                         false, palette, trns));
  std::vector<uint8_t> expected;
  for (uint8_t i : indexes) {
    expected.push_back(Luma(palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]));
  }
  EXPECT_EQ(Gray(Path("palette.png"), 3, 2), expected);
}

TEST_F(ExamplePluginsTest, GrayscaleStrips16BitsAndExpandsLowDepthGray) {
  // Big-endian 16-bit samples: the high byte is kept.
  const std::vector<uint8_t> rgb16 = {0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x01,
                                      0x00, 0xFF, 0x80, 0x00, 0x7F, 0xFF};
  ASSERT_TRUE(png_.Write(Path("rgb16.png"), 2, 1, plugin_testing::kRgb, 16, rgb16));
  EXPECT_EQ(Gray(Path("rgb16.png"), 2, 1),
            (std::vector<uint8_t>{Luma(0x12, 0xAB, 0xFF), Luma(0x00, 0x80, 0x7F)}));

  // 2-bit gray 0, 1, 2, 3, 0 packed MSB first: 0b00011011, 0b00000000.
  ASSERT_TRUE(png_.Write(Path("gray2.png"), 5, 1, plugin_testing::kGray, 2, {0x1B, 0x00}));
  EXPECT_EQ(Gray(Path("gray2.png"), 5, 1), (std::vector<uint8_t>{0, 85, 170, 255, 0}));

  // 8-bit gray comes out unchanged (the weights sum to 1).
  std::vector<uint8_t> ramp(256);
  for (int i = 0; i < 256; ++i) ramp[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  ASSERT_TRUE(png_.Write(Path("ramp.png"), 16, 16, plugin_testing::kGray, 8, ramp));
  EXPECT_EQ(Gray(Path("ramp.png"), 16, 16), ramp);
}

TEST_F(ExamplePluginsTest, GrayscaleReadsInterlacedImages) {
  std::vector<uint8_t> rgb;
  std::vector<uint8_t> expected;
  for (unsigned i = 0; i < 7 * 5; ++i) {
    const uint8_t r = static_cast<uint8_t>(i * 7), g = static_cast<uint8_t>(255 - i * 3),
                  b = static_cast<uint8_t>(i * i);
    rgb.insert(rgb.end(), {r, g, b});
    expected.push_back(Luma(r, g, b));
  }
  ASSERT_TRUE(png_.Write(Path("adam7.png"), 7, 5, plugin_testing::kRgb, 8, rgb, true));
  EXPECT_EQ(Gray(Path("adam7.png"), 7, 5), expected);
}

TEST_F(ExamplePluginsTest, GrayscaleTakesManyPathsAndReturnsTheOutputsJoined) {
  fs::create_directory(Path("dir.with.dots"));
  ASSERT_TRUE(png_.Write(Path("one.png"), 1, 1, plugin_testing::kRgb, 8, {1, 2, 3}));
  ASSERT_TRUE(png_.Write(Path("dir.with.dots/two"), 1, 1, plugin_testing::kRgb, 8, {4, 5, 6}));
  TaskOutput out = registry_.Run("grayscale", {Path("one.png"), Path("dir.with.dots/two")});
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.value, Path("one.gray.png") + " " + Path("dir.with.dots/two.gray.png"));
  EXPECT_EQ(png_.Read(Path("dir.with.dots/two.gray.png")).pixels,
            (std::vector<uint8_t>{Luma(4, 5, 6)}));
}

TEST_F(ExamplePluginsTest, GrayscaleErrorsNameTheFile) {
  TaskOutput out = registry_.Run("grayscale", {Path("missing.png")});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error,
            "grayscale: " + Path("missing.png") + ": cannot open: No such file or directory");

  WriteFile(Path("text.png"), "this is not a PNG, although it is named like one");
  out = registry_.Run("grayscale", {Path("text.png")});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "grayscale: " + Path("text.png") + ": not a PNG file");

  // A real PNG cut short: libpng's own error, through longjmp.
  std::vector<uint8_t> rgb(3 * 64 * 64, 77);
  ASSERT_TRUE(png_.Write(Path("whole.png"), 64, 64, plugin_testing::kRgb, 8, rgb));
  fs::copy_file(Path("whole.png"), Path("cut.png"));
  fs::resize_file(Path("cut.png"), fs::file_size(Path("whole.png")) / 2);
  out = registry_.Run("grayscale", {Path("cut.png")});
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(out.error, ::testing::StartsWith("grayscale: " + Path("cut.png") + ": "));
  EXPECT_FALSE(fs::exists(Path("cut.gray.png")));

  // The first failure ends the task; earlier outputs stay.
  out = registry_.Run("grayscale", {Path("whole.png"), Path("text.png"), Path("missing.png")});
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(out.error, HasSubstr(Path("text.png")));
  EXPECT_TRUE(fs::exists(Path("whole.gray.png")));

  out = registry_.Run("grayscale", {});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "grayscale takes 1 or more arguments (PATH...), got 0");

  // Nothing half-written is left behind.
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    EXPECT_THAT(entry.path().string(), ::testing::Not(HasSubstr(".tmp.")));
  }
}

TEST_F(ExamplePluginsTest, GrayscaleReportsAnUnwritableDirectory) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes anywhere";
  fs::create_directory(Path("ro"));
  ASSERT_TRUE(png_.Write(Path("ro/in.png"), 1, 1, plugin_testing::kRgb, 8, {1, 2, 3}));
  chmod(Path("ro").c_str(), 0555);
  TaskOutput out = registry_.Run("grayscale", {Path("ro/in.png")});
  chmod(Path("ro").c_str(), 0755);
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(out.error, HasSubstr("cannot create"));
  EXPECT_THAT(out.error, HasSubstr("Permission denied"));
}

TEST_F(ExamplePluginsTest, Sha256OfKnownContents) {
  WriteFile(Path("abc"), "abc");
  TaskOutput out = registry_.Run("sha256", {Path("abc")});
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.value, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  WriteFile(Path("empty"), "");
  EXPECT_EQ(registry_.Run("sha256", {Path("empty")}).value,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  // FIPS 180-2's million 'a's: many 64 KiB chunks and a partial one.
  WriteFile(Path("million"), std::string(1000000, 'a'));
  EXPECT_EQ(registry_.Run("sha256", {Path("million")}).value,
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_F(ExamplePluginsTest, Sha256Errors) {
  TaskOutput out = registry_.Run("sha256", {Path("missing")});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "sha256: " + Path("missing") + ": cannot open: No such file or directory");
  out = registry_.Run("sha256", {dir_.path()});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "sha256: " + dir_.path() + ": cannot read: Is a directory");
  out = registry_.Run("sha256", {"a", "b"});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "sha256 takes 1 argument (PATH), got 2");
}

}  // namespace
}  // namespace jobd
