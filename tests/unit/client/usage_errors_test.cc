// jobctl's messages for command lines it cannot parse.
#include "client/usage_errors.h"

#include <gtest/gtest.h>

namespace jobd {
namespace {

const std::vector<std::string> kCommands = {"ping", "map", "submit", "run", "status", "logs"};

TEST(UsageErrorsTest, UnknownCommandNamesTheNearOneOrListsThem) {
  EXPECT_EQ(UnknownCommandMessage("mpa", kCommands), "unknown command 'mpa' (did you mean 'map'?)");
  EXPECT_EQ(UnknownCommandMessage("frobnicate", kCommands),
            "unknown command 'frobnicate'; the commands are: ping, map, submit, run, status, logs");
  EXPECT_EQ(MissingCommandMessage(kCommands),
            "a command is required: ping, map, submit, run, status, logs");
}

CommandLine Line(std::string command, std::vector<std::string> args, std::string first_free_word) {
  CommandLine line;
  line.command = std::move(command);
  line.args = std::move(args);
  line.first_free_word = std::move(first_free_word);
  line.options = {"--ordered", "--timeout", "--retries", "--json", "--help"};
  return line;
}

TEST(UsageErrorsTest, AnOptionAfterTheCommandWordsGoesAfterDashDash) {
  EXPECT_EQ(UnknownOptionMessage(Line("run", {"ls", "-la"}, "ls"), "-la"),
            "run: '-la' is not an option of jobctl run; put the command after --: "
            "jobctl run -- ls -la");
  // The options before the command stay before the --.
  EXPECT_EQ(
      UnknownOptionMessage(Line("run", {"--timeout", "5s", "ls", "-la", "/tmp"}, "ls"), "-la"),
      "run: '-la' is not an option of jobctl run; put the command after --: "
      "jobctl run --timeout 5s -- ls -la /tmp");
  EXPECT_EQ(UnknownOptionMessage(Line("map", {"echo", "a", "-x"}, "echo"), "-x"),
            "map: '-x' is not an option of jobctl map; put the arguments after --: "
            "jobctl map -- echo a -x");
  // Words sh would split or expand come back quoted.
  EXPECT_EQ(UnknownOptionMessage(Line("map", {"--exec", "gzip {}", "it's", "-x"}, "it's"), "-x"),
            "map: '-x' is not an option of jobctl map; put the arguments after --: "
            "jobctl map --exec 'gzip {}' -- 'it'\\''s' -x");
}

TEST(UsageErrorsTest, AnOptionBeforeTheCommandWordsIsAMisspeltOne) {
  EXPECT_EQ(UnknownOptionMessage(Line("map", {"--orderd", "echo", "a"}, "echo"), "--orderd"),
            "map: unknown option '--orderd' (did you mean '--ordered'?)");
  EXPECT_EQ(UnknownOptionMessage(Line("map", {"--frob", "echo", "a"}, "echo"), "--frob"),
            "map: unknown option '--frob'");
  // A command that takes no free words.
  EXPECT_EQ(UnknownOptionMessage(Line("status", {"4", "--jsn"}, ""), "--jsn"),
            "status: unknown option '--jsn' (did you mean '--json'?)");
  // Given before the command.
  EXPECT_EQ(UnknownOptionMessage(Line("run", {"ls", "-la"}, "ls"), "--jsn"),
            "run: unknown option '--jsn' (did you mean '--json'?)");
  // One letter is near every other: no guess.
  EXPECT_EQ(UnknownOptionMessage(Line("run", {"-x"}, ""), "-x"), "run: unknown option '-x'");
}

}  // namespace
}  // namespace jobd
