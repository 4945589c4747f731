// jobd's access-control options as main() checks them.
#include "daemon/io/access_setup.h"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jobd {
namespace {

using ::testing::HasSubstr;

TEST(AccessSetupTest, SocketModeIsOctalAndKeepsTheOwnersReadAndWrite) {
  EXPECT_EQ(*ParseSocketMode("0660"), 0660u);
  EXPECT_EQ(*ParseSocketMode("660"), 0660u);
  EXPECT_EQ(*ParseSocketMode("0o600"), 0600u);
  EXPECT_EQ(*ParseSocketMode("0666"), 0666u);
  for (const char* bad : {"", "0x1b6", "rw-rw----", "0860", "4660", "01660", "0460", "0200",
                          "00000"}) {
    EXPECT_FALSE(ParseSocketMode(bad).ok()) << bad;
  }
}

TEST(AccessSetupTest, DefaultsAreASocketForOwnerAndGroupAndNoAdminGroup) {
  AccessFlags flags;
  flags.endpoint = "ipc:///run/jobd/jobd.sock";
  auto loaded = LoadAccessSettings(flags);
  ASSERT_TRUE(std::holds_alternative<AccessSettings>(loaded));
  const AccessSettings& settings = std::get<AccessSettings>(loaded);
  EXPECT_EQ(settings.socket_mode, 0660u);
  EXPECT_EQ(settings.access.own_uid, static_cast<uint32_t>(::getuid()));
  EXPECT_FALSE(settings.access.admin_gid.has_value());
  EXPECT_FALSE(settings.curve.has_value());
  EXPECT_TRUE(settings.warnings.empty());
}

TEST(AccessSetupTest, PlainTextTcpIsRefused) {
  AccessFlags flags;
  flags.endpoint = "tcp://127.0.0.1:7070";
  auto loaded = LoadAccessSettings(flags);
  ASSERT_TRUE(std::holds_alternative<AccessError>(loaded));
  const AccessError& error = std::get<AccessError>(loaded);
  EXPECT_EQ(error.option, "--socket");
  EXPECT_THAT(error.status.message(), HasSubstr("refusing plain-text TCP"));
  flags.curve_secret_key = "/nonexistent/jobd.key";  // only half of CURVE
  EXPECT_TRUE(std::holds_alternative<AccessError>(LoadAccessSettings(flags)));
}

TEST(AccessSetupTest, AdminGroupByNameOrGid) {
  AccessFlags flags;
  flags.endpoint = "ipc:///tmp/x.sock";
  flags.admin_group = "root";  // gid 0 on every Linux system
  auto loaded = LoadAccessSettings(flags);
  ASSERT_TRUE(std::holds_alternative<AccessSettings>(loaded));
  EXPECT_EQ(std::get<AccessSettings>(loaded).access.admin_gid, std::optional<uint32_t>(0));
  flags.admin_group = "4242";  // a gid the group database need not know
  loaded = LoadAccessSettings(flags);
  ASSERT_TRUE(std::holds_alternative<AccessSettings>(loaded));
  EXPECT_EQ(std::get<AccessSettings>(loaded).access.admin_gid, std::optional<uint32_t>(4242));
  flags.admin_group = "no-such-group-jobd";
  loaded = LoadAccessSettings(flags);
  ASSERT_TRUE(std::holds_alternative<AccessError>(loaded));
  EXPECT_EQ(std::get<AccessError>(loaded).option, "--admin-group");
  EXPECT_THAT(std::get<AccessError>(loaded).status.message(), HasSubstr("no group"));
}

TEST(AccessSetupTest, CurveOptionsOnAnIpcSocketAreIgnoredWithAWarning) {
  AccessFlags flags;
  flags.endpoint = "ipc:///tmp/x.sock";
  flags.curve_secret_key = "/nonexistent/jobd.key";
  flags.curve_authorized_keys = "/nonexistent/clients";
  auto loaded = LoadAccessSettings(flags);
  ASSERT_TRUE(std::holds_alternative<AccessSettings>(loaded));
  EXPECT_THAT(std::get<AccessSettings>(loaded).warnings.at(0), HasSubstr("tcp:// endpoint only"));
}

}  // namespace
}  // namespace jobd
