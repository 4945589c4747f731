#include "client/command_template.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/scratch_dir.h"

extern char** environ;

namespace jobd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Words = std::vector<std::string>;

// The words of `text`, or a failure naming the text.
Words Split(const std::string& text) {
  Result<Words> words = SplitWords(text);
  EXPECT_TRUE(words.ok()) << "'" << text << "': " << words.status().message();
  return words.ok() ? *words : Words{};
}

// The message SplitWords fails with, or "" (and a test failure) if it did not.
std::string SplitError(const std::string& text) {
  Result<Words> words = SplitWords(text);
  EXPECT_FALSE(words.ok()) << "'" << text << "' was accepted";
  if (words.ok()) return "";
  EXPECT_EQ(words.status().code(), StatusCode::kInvalidArgument);
  return words.status().message();
}

// ---- SplitWords -------------------------------------------------------------

TEST(SplitWordsTest, BlanksSeparateWords) {
  EXPECT_THAT(Split("echo a b"), ElementsAre("echo", "a", "b"));
  EXPECT_THAT(Split("  echo \t a\t\tb  \n c\n"), ElementsAre("echo", "a", "b", "c"));
  EXPECT_THAT(Split("x"), ElementsAre("x"));
}

TEST(SplitWordsTest, SingleQuotesKeepEverythingLiteral) {
  EXPECT_THAT(Split("echo 'a b'"), ElementsAre("echo", "a b"));
  EXPECT_THAT(Split(R"('a\b' 'c"d' '$HOME' '`id`' '\')"),
              ElementsAre(R"(a\b)", R"(c"d)", "$HOME", "`id`", "\\"));
  EXPECT_THAT(Split("'  '"), ElementsAre("  "));
  EXPECT_THAT(Split("'a\tb\nc'"), ElementsAre("a\tb\nc"));
}

TEST(SplitWordsTest, DoubleQuotesEscapeOnlyBackslashQuoteDollarAndBacktick) {
  EXPECT_THAT(Split(R"(echo "a b")"), ElementsAre("echo", "a b"));
  EXPECT_THAT(Split(R"("a\"b")"), ElementsAre(R"(a"b)"));
  EXPECT_THAT(Split(R"("a\\b")"), ElementsAre(R"(a\b)"));
  EXPECT_THAT(Split(R"("\$HOME")"), ElementsAre("$HOME"));
  EXPECT_THAT(Split(R"("\`id\`")"), ElementsAre("`id`"));
  // Any other backslash stays, with what follows it.
  EXPECT_THAT(Split(R"("a\nb" "\x" "it\'s")"), ElementsAre(R"(a\nb)", R"(\x)", R"(it\'s)"));
  // Single quotes inside double quotes are plain characters.
  EXPECT_THAT(Split(R"("it's")"), ElementsAre("it's"));
  // Nothing is expanded.
  EXPECT_THAT(Split(R"x("$HOME" "$(id)")x"), ElementsAre("$HOME", "$(id)"));
}

TEST(SplitWordsTest, BackslashOutsideQuotesEscapesTheNextCharacter) {
  EXPECT_THAT(Split(R"(a\ b)"), ElementsAre("a b"));
  EXPECT_THAT(Split(R"(\'x\' \"y\")"), ElementsAre("'x'", "\"y\""));
  EXPECT_THAT(Split(R"(a\\b)"), ElementsAre(R"(a\b)"));
  EXPECT_THAT(Split(R"(\n\t\$)"), ElementsAre("nt$"));
  EXPECT_THAT(Split("a\\\tb"), ElementsAre("a\tb"));
}

TEST(SplitWordsTest, AdjacentQuotedPartsFormOneWord) {
  EXPECT_THAT(Split(R"(a'b'"c")"), ElementsAre("abc"));
  EXPECT_THAT(Split(R"(x'y z'w "1 2"3)"), ElementsAre("xy zw", "1 23"));
  EXPECT_THAT(Split(R"(--out="a b".txt)"), ElementsAre("--out=a b.txt"));
  EXPECT_THAT(Split(R"('a'\''b')"), ElementsAre("a'b"));
}

TEST(SplitWordsTest, EmptyQuotesAreEmptyWords) {
  EXPECT_THAT(Split("echo '' \"\""), ElementsAre("echo", "", ""));
  EXPECT_THAT(Split("''"), ElementsAre(""));
  EXPECT_THAT(Split("a''b"), ElementsAre("ab"));
}

TEST(SplitWordsTest, NothingIsExpanded) {
  EXPECT_THAT(Split("echo $HOME *.txt ~ $(id) `id` a;b a|b a&&b"),
              ElementsAre("echo", "$HOME", "*.txt", "~", "$(id)", "`id`", "a;b", "a|b", "a&&b"));
}

TEST(SplitWordsTest, Unicode) {
  EXPECT_THAT(Split("écho \"héllo wörld\" 日本語 'ä ö'"),
              ElementsAre("écho", "héllo wörld", "日本語", "ä ö"));
  EXPECT_THAT(Split("\xf0\x9f\x98\x80\\ \xf0\x9f\x98\x80"), ElementsAre("😀 😀"));
}

TEST(SplitWordsTest, PlaceholdersAreKeptAsWritten) {
  EXPECT_THAT(Split("convert {} '{.}'.png \"{/}\" {//} out/{/.}.jpg"),
              ElementsAre("convert", "{}", "{.}.png", "{/}", "{//}", "out/{/.}.jpg"));
}

TEST(SplitWordsTest, UnclosedQuotesFail) {
  EXPECT_THAT(SplitError("echo 'abc"), HasSubstr("unclosed '"));
  EXPECT_THAT(SplitError("'"), HasSubstr("unclosed '"));
  EXPECT_THAT(SplitError(R"(echo "abc)"), HasSubstr("unclosed \""));
  EXPECT_THAT(SplitError(R"(")"), HasSubstr("unclosed \""));
  // An escaped closing quote does not close.
  EXPECT_THAT(SplitError(R"("abc\")"), HasSubstr("unclosed \""));
  EXPECT_THAT(SplitError(R"("abc\)"), HasSubstr("unclosed \""));
  // A quote escaped outside quotes opens nothing.
  EXPECT_THAT(Split(R"(a\'b)"), ElementsAre("a'b"));
  // Inside single quotes a backslash escapes nothing: 'a\' is closed.
  EXPECT_THAT(Split(R"('a\')"), ElementsAre(R"(a\)"));
}

TEST(SplitWordsTest, EmptyOrBlankFails) {
  EXPECT_THAT(SplitError(""), HasSubstr("empty"));
  EXPECT_THAT(SplitError(" "), HasSubstr("empty"));
  EXPECT_THAT(SplitError(" \t\n  "), HasSubstr("empty"));
}

TEST(SplitWordsTest, LoneTrailingBackslashFails) {
  EXPECT_THAT(SplitError("echo \\"), HasSubstr("lone \\"));
  EXPECT_THAT(SplitError("\\"), HasSubstr("lone \\"));
  EXPECT_THAT(SplitError("echo a\\"), HasSubstr("lone \\"));
  // An escaped backslash at the end is fine.
  EXPECT_THAT(Split("echo a\\\\"), ElementsAre("echo", "a\\"));
}

// POSIX sh (XCU 2.2.1, 2.2.3): a backslash before a newline, outside single
// quotes, is a line continuation: both disappear. A template written over
// several lines in a script (`--exec 'convert \<newline> {} ...'`) must not
// gain a word holding a newline.
TEST(SplitWordsTest, BackslashNewlineIsALineContinuation) {
  EXPECT_THAT(Split("convert \\\n {} out.png"), ElementsAre("convert", "{}", "out.png"))
      << "a backslash-newline outside quotes is a line continuation";
  EXPECT_THAT(Split("ab\\\ncd"), ElementsAre("abcd"))
      << "a backslash-newline inside a word joins it";
  EXPECT_THAT(Split("\"ab\\\ncd\""), ElementsAre("abcd"))
      << "a backslash-newline inside double quotes joins too";
}

// ---- HasPlaceholder ---------------------------------------------------------

TEST(HasPlaceholderTest, EachPlaceholderAnywhereInTheText) {
  for (const char* text : {"{}", "{.}", "{/}", "{//}", "{/.}", "a{}b", "out/{/.}.jpg",
                           "x {.}", "{{}}", "--in={}"}) {
    EXPECT_TRUE(HasPlaceholder(text)) << text;
  }
}

TEST(HasPlaceholderTest, LookalikesAreNotPlaceholders) {
  for (const char* text : {"", "{", "}", "}{", "{ }", "{x}", "{/", "{.", "{..}", "{///}",
                           "{./}", "echo", "${HOME}", "{1}"}) {
    EXPECT_FALSE(HasPlaceholder(text)) << text;
  }
}

// ---- ExpandWords ------------------------------------------------------------

// What each placeholder becomes for `item`, in the order {} {.} {/} {//} {/.}.
Words AllFor(const std::string& item) {
  return ExpandWords({"{}", "{.}", "{/}", "{//}", "{/.}"}, item);
}

TEST(ExpandWordsTest, EachPlaceholder) {
  EXPECT_THAT(AllFor("a b.txt"), ElementsAre("a b.txt", "a b", "a b.txt", ".", "a b"));
  EXPECT_THAT(AllFor("/x/y/z.tar.gz"),
              ElementsAre("/x/y/z.tar.gz", "/x/y/z.tar", "z.tar.gz", "/x/y", "z.tar"));
  EXPECT_THAT(AllFor("noext"), ElementsAre("noext", "noext", "noext", ".", "noext"));
  EXPECT_THAT(AllFor("rel/dir/f.c"), ElementsAre("rel/dir/f.c", "rel/dir/f", "f.c", "rel/dir", "f"));
}

// As in GNU parallel, whose {.} removes the last "." and what follows: a
// dotfile's whole name is its extension.
TEST(ExpandWordsTest, ADotfileIsAllExtension) {
  EXPECT_THAT(AllFor(".bashrc"), ElementsAre(".bashrc", "", ".bashrc", ".", ""));
  EXPECT_THAT(AllFor("dir/.hidden"), ElementsAre("dir/.hidden", "dir/", ".hidden", "dir", ""));
  EXPECT_THAT(AllFor("dir/.hidden.txt"),
              ElementsAre("dir/.hidden.txt", "dir/.hidden", ".hidden.txt", "dir", ".hidden"));
}

// POSIX dirname(3), as GNU parallel's {//}: trailing and repeated slashes
// are not part of a name.
TEST(ExpandWordsTest, DirectoryIsPosixDirname) {
  EXPECT_THAT(AllFor("trailing/"), ElementsAre("trailing/", "trailing/", "", ".", ""));
  EXPECT_THAT(AllFor("dir//double.x"),
              ElementsAre("dir//double.x", "dir//double", "double.x", "dir", "double"));
  EXPECT_THAT(AllFor("/a/b//"), ElementsAre("/a/b//", "/a/b//", "", "/a", ""));
  EXPECT_THAT(AllFor("//a"), ElementsAre("//a", "//a", "a", "/", "a"));
  EXPECT_THAT(AllFor("/"), ElementsAre("/", "/", "", "/", ""));
  EXPECT_THAT(AllFor("//"), ElementsAre("//", "//", "", "/", ""));
}

TEST(ExpandWordsTest, ADotInTheDirectoryIsNoExtension) {
  EXPECT_THAT(AllFor("v1.2/readme"), ElementsAre("v1.2/readme", "v1.2/readme", "readme", "v1.2",
                                                 "readme"));
  EXPECT_THAT(AllFor("./a.b"), ElementsAre("./a.b", "./a", "a.b", ".", "a"));
}

TEST(ExpandWordsTest, FileInTheRootDirectory) {
  EXPECT_THAT(AllFor("/top.png"), ElementsAre("/top.png", "/top", "top.png", "/", "top"));
}

TEST(ExpandWordsTest, QuotesAndUnicodeInItemsAreKeptVerbatim) {
  EXPECT_THAT(AllFor(R"(it's "q" é.txt)"),
              ElementsAre(R"(it's "q" é.txt)", R"(it's "q" é)", R"(it's "q" é.txt)", ".",
                          R"(it's "q" é)"));
  EXPECT_THAT(AllFor("données/résumé.pdf"),
              ElementsAre("données/résumé.pdf", "données/résumé", "résumé.pdf", "données",
                          "résumé"));
  EXPECT_THAT(AllFor("$(id)/`x`.sh"), ElementsAre("$(id)/`x`.sh", "$(id)/`x`", "`x`.sh", "$(id)",
                                                  "`x`"));
}

TEST(ExpandWordsTest, AnItemHoldingAPlaceholderIsNotExpandedAgain) {
  EXPECT_THAT(ExpandWords({"echo", "{}"}, "a{}b"), ElementsAre("echo", "a{}b"));
  EXPECT_THAT(ExpandWords({"echo", "{} {}"}, "{/.}"), ElementsAre("echo", "{/.} {/.}"));
  EXPECT_THAT(ExpandWords({"echo", "{/}"}, "d/{}.x"), ElementsAre("echo", "{}.x"));
  // And with no placeholder in the template, it is only appended.
  EXPECT_THAT(ExpandWords({"echo"}, "{}"), ElementsAre("echo", "{}"));
}

TEST(ExpandWordsTest, WithoutPlaceholderTheItemIsTheLastArgument) {
  EXPECT_THAT(ExpandWords({"gzip", "-k"}, "a b.txt"), ElementsAre("gzip", "-k", "a b.txt"));
  EXPECT_THAT(ExpandWords({"wc"}, ""), ElementsAre("wc", ""));
  // Lookalikes are no placeholders.
  EXPECT_THAT(ExpandWords({"echo", "{x}", "{"}, "i"), ElementsAre("echo", "{x}", "{", "i"));
}

TEST(ExpandWordsTest, WithAPlaceholderTheItemIsNotAppended) {
  EXPECT_THAT(ExpandWords({"cp", "{}", "/backup/"}, "f"), ElementsAre("cp", "f", "/backup/"));
  EXPECT_THAT(ExpandWords({"{}"}, "/bin/true"), ElementsAre("/bin/true"));
}

TEST(ExpandWordsTest, PlaceholdersInsideBiggerWords) {
  EXPECT_THAT(ExpandWords({"convert", "{}", "out/{/.}.jpg"}, "/in/cat.png"),
              ElementsAre("convert", "/in/cat.png", "out/cat.jpg"));
  EXPECT_THAT(ExpandWords({"--in={}", "--out={//}/{/.}.gray.png"}, "/p/a b.png"),
              ElementsAre("--in=/p/a b.png", "--out=/p/a b.gray.png"));
  EXPECT_THAT(ExpandWords({"{{}}"}, "x"), ElementsAre("{x}"));
  EXPECT_THAT(ExpandWords({"{}{}"}, "ab"), ElementsAre("abab"));
}

TEST(ExpandWordsTest, TheWordsAreNotChanged) {
  const Words words = {"echo", "{}"};
  EXPECT_THAT(ExpandWords(words, "1"), ElementsAre("echo", "1"));
  EXPECT_THAT(ExpandWords(words, "2"), ElementsAre("echo", "2"));
  EXPECT_THAT(words, ElementsAre("echo", "{}"));
}

TEST(ExpandWordsTest, EmptyItem) {
  EXPECT_THAT(ExpandWords({"echo", "<{}>", "{.}", "{/}", "{//}", "{/.}"}, ""),
              ElementsAre("echo", "<>", "", "", ".", ""));
}

// ---- ShellArgv --------------------------------------------------------------

std::vector<std::string> Argv(const std::string& command, const std::string& item) {
  Result<std::vector<std::string>> argv = ShellArgv(command, item);
  EXPECT_TRUE(argv.ok()) << command << ": " << argv.status().message();
  return argv.ok() ? *argv : std::vector<std::string>{};
}

TEST(ShellArgvTest, ItemValuesArePositionalParametersNeverScript) {
  EXPECT_THAT(Argv("convert {} {.}.png | wc -c", "/p/a b.jpg"),
              ElementsAre("/bin/sh", "-c", "convert \"${1}\" \"${2}\".png | wc -c", "sh",
                          "/p/a b.jpg", "/p/a b", "a b.jpg", "/p", "a b"));
  EXPECT_THAT(Argv("cp {} out/{/.}.bak", "x'y"),
              ElementsAre("/bin/sh", "-c", "cp \"${1}\" out/\"${5}\".bak", "sh", "x'y", "x'y",
                          "x'y", ".", "x'y"));
}

TEST(ShellArgvTest, PlaceholdersAreQuotedForWhereTheyStand) {
  EXPECT_EQ(Argv("echo \"{}\"", "i")[2], "echo \"${1}\"");
  EXPECT_EQ(Argv("echo '{}'", "i")[2], "echo ''\"${1}\"''");
  EXPECT_EQ(Argv("echo \\'{}", "i")[2], "echo \\'\"${1}\"");  // an escaped quote opens nothing
  EXPECT_EQ(Argv("echo \"it's {}\"", "i")[2], "echo \"it's ${1}\"");
}

TEST(ShellArgvTest, WithoutPlaceholderTheItemIsAppended) {
  EXPECT_EQ(Argv("wc -c", "a b")[2], "wc -c \"${1}\"");
  EXPECT_EQ(Argv("wc -c", "a b")[4], "a b");
}

TEST(ShellArgvTest, UnclosedQuotesAreRefused) {
  EXPECT_EQ(ShellArgv("echo '{}", "x").status().message(), "unclosed ' in the command");
  EXPECT_EQ(ShellArgv("echo \"{}", "x").status().message(), "unclosed \" in the command");
}

struct ShellRun {
  int status = -1;  // as waitpid reports it; -1: not run or timed out
  std::string out;
};

// Runs `argv` (a ShellArgv) in `dir`, stdin /dev/null, stdout captured.
// Killed after 10 s (and the result has status -1).
ShellRun RunShell(std::vector<std::string> argv_strings, const std::string& dir) {
  ShellRun run;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return run;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      argv.size() > 1 ? posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) : -1;
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    return run;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool timed_out = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    run.out.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  run.status = timed_out ? -1 : status;
  return run;
}

// Items that would run code, split words or glob if they reached sh unquoted.
std::vector<std::string> HostileItems(const std::string& canary_dir) {
  return {
      "$(touch " + canary_dir + "/subst)",
      "`touch " + canary_dir + "/backtick`",
      "; touch " + canary_dir + "/semicolon",
      "x && touch " + canary_dir + "/and",
      "| touch " + canary_dir + "/pipe",
      "a'b",
      "'",
      "''",
      "'; touch " + canary_dir + "/quote-break; '",
      "; rm -rf x",
      "`id`",
      "$(id)",
      "x\ny",
      "\n",
      "$HOME",
      "${PATH}",
      "*",
      "a  b   c",
      " leading and trailing ",
      "\\",
      "\\n",
      "\"",
      "-n",
      "--",
      "%s %d",
      "~",
      "héllo wörld 日本語",
      "",
  };
}

TEST(ShellArgvTest, ShPrintsHostileItemsVerbatim) {
  ScratchDir dir;
  // A file that "; rm -rf x" would remove if it ran.
  std::ofstream(dir.path() + "/x") << "keep\n";
  for (const std::string& item : HostileItems(dir.path())) {
    const std::vector<std::string> text = Argv("printf '%s\\n' {}", item);
    ShellRun run = RunShell(text, dir.path());
    ASSERT_TRUE(WIFEXITED(run.status)) << ::testing::PrintToString(text);
    EXPECT_EQ(WEXITSTATUS(run.status), 0) << ::testing::PrintToString(text);
    EXPECT_EQ(run.out, item + "\n") << "sh -c " << ::testing::PrintToString(text);
  }
  // Nothing ran: the only file is still the one written above.
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    files.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(files, ElementsAre("x"));
}

TEST(ShellArgvTest, ShGetsEachItemAsOneArgumentWithoutAPlaceholder) {
  ScratchDir dir;
  for (const std::string& item : HostileItems(dir.path())) {
    // No placeholder: the item is appended, quoted.
    const std::vector<std::string> text = Argv("printf '<%s>\\n'", item);
    ShellRun run = RunShell(text, dir.path());
    ASSERT_TRUE(WIFEXITED(run.status)) << ::testing::PrintToString(text);
    EXPECT_EQ(run.out, "<" + item + ">\n") << "sh -c " << ::testing::PrintToString(text);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ShellArgvTest, ShSeesEveryPlaceholderAsOneArgument) {
  ScratchDir dir;
  const std::string item = "/in/$(touch " + dir.path() + "/pwned) it's/a b.tar.gz";
  const std::vector<std::string> text =
      Argv("printf '%s\\n' {} {.} {/} {//} {/.} out/{/.}.jpg", item);
  ShellRun run = RunShell(text, dir.path());
  ASSERT_TRUE(WIFEXITED(run.status)) << ::testing::PrintToString(text);
  const std::string d = "/in/$(touch " + dir.path() + "/pwned) it's";
  EXPECT_EQ(run.out, item + "\n" + d + "/a b.tar\n" + "a b.tar.gz\n" + d + "\n" + "a b.tar\n" +
                         "out/a b.tar.jpg\n")
      << "sh -c " << ::testing::PrintToString(text);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// The contract of ShellArgv: "an item is one word and never code, however
// the template quotes it". Templates often quote placeholders out of habit (as one would in a
// script: convert "{}" "{.}.png"); the item must still not become code there.
TEST(ShellArgvTest, QuotedPlaceholderInTheTemplateNeverRunsTheItem) {
  ScratchDir dir;
  const std::string canary = dir.path() + "/pwned";
  for (const char* templ : {"printf '%s\\n' \"{}\"", "printf '%s\\n' '{}'"}) {
    const std::string item = "$(touch " + canary + ")";
    const std::vector<std::string> text = Argv(templ, item);
    RunShell(text, dir.path());
    EXPECT_FALSE(std::filesystem::exists(canary))
        << "template " << templ << " with item " << item << " ran the item's command "
           "substitution";
    std::filesystem::remove(canary);
  }
}

}  // namespace
}  // namespace jobd
