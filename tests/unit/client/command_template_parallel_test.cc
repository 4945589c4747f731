// The placeholders of `map --exec` against GNU parallel's own values. The
// table was recorded from GNU parallel 20221122 with
//   parallel -0 -k --will-cite printf '%s\x1e' '{}\x1f{.}\x1f{/}\x1f{//}\x1f{/.}'
// (items NUL-separated on stdin, so that empty items and newlines survive);
// the test needs no parallel installed. Its rules, from its source:
//   {.}  s:\.[^/.]*$::   the last "." and what follows, unless a "/" follows
//   {/}  s:.*/::         what follows the last "/"
//   {//} File::Basename::dirname, POSIX dirname(3)
//   {/.} {/}, then {.}
#include "client/command_template.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jobd {
namespace {

using ::testing::ElementsAre;

struct ParallelCase {
  std::string item;
  std::string no_extension;       // {.}
  std::string base;               // {/}
  std::string dir;                // {//}
  std::string base_no_extension;  // {/.}
};

const std::vector<ParallelCase> kParallelCases = {
    {"a", "a", "a", ".", "a"},
    {"a.b", "a", "a.b", ".", "a"},
    {"a.b.c", "a.b", "a.b.c", ".", "a.b"},
    {"dir/a.tar.gz", "dir/a.tar", "a.tar.gz", "dir", "a.tar"},
    {"a.tar.gz", "a.tar", "a.tar.gz", ".", "a.tar"},
    {".hidden", "", ".hidden", ".", ""},
    {"dir/.hidden", "dir/", ".hidden", "dir", ""},
    {".hidden.txt", ".hidden", ".hidden.txt", ".", ".hidden"},
    {"dir/.hidden.txt", "dir/.hidden", ".hidden.txt", "dir", ".hidden"},
    {".a.b", ".a", ".a.b", ".", ".a"},
    {"a.", "a", "a.", ".", "a"},
    {"a..", "a.", "a..", ".", "a."},
    {"a..b", "a.", "a..b", ".", "a."},
    {"..", ".", "..", ".", "."},
    {".", "", ".", ".", ""},
    {"/", "/", "", "/", ""},
    {"//", "//", "", "/", ""},
    {"///", "///", "", "/", ""},
    {"./", "./", "", ".", ""},
    {"../", "../", "", ".", ""},
    {"trailing/", "trailing/", "", ".", ""},
    {"trailing//", "trailing//", "", ".", ""},
    {"dir/sub/", "dir/sub/", "", "dir", ""},
    {"dir//double.x", "dir//double", "double.x", "dir", "double"},
    {"dir//", "dir//", "", ".", ""},
    {"//a", "//a", "a", "/", "a"},
    {"//a.b", "//a", "a.b", "/", "a"},
    {"///a", "///a", "a", "/", "a"},
    {"/a", "/a", "a", "/", "a"},
    {"/a.b", "/a", "a.b", "/", "a"},
    {"/a/b.c", "/a/b", "b.c", "/a", "b"},
    {"/a/b/", "/a/b/", "", "/a", ""},
    {"/a/b//", "/a/b//", "", "/a", ""},
    {"a/b", "a/b", "b", "a", "b"},
    {"a.b/c", "a.b/c", "c", "a.b", "c"},
    {"a.b/c.d", "a.b/c", "c.d", "a.b", "c"},
    {"a.b/", "a.b/", "", ".", ""},
    {"a.b/.c", "a.b/", ".c", "a.b", ""},
    {"a/.", "a/", ".", "a", ""},
    {"a/..", "a/.", "..", "a", "."},
    {"a/./b", "a/./b", "b", "a/.", "b"},
    {"a/../b.c", "a/../b", "b.c", "a/..", "b"},
    {"./a.b", "./a", "a.b", ".", "a"},
    {"../a.b", "../a", "a.b", "..", "a"},
    {"./.a", "./", ".a", ".", ""},
    {"../..", "../.", "..", "..", "."},
    {"/.", "/", ".", "/", ""},
    {"/..", "/.", "..", "/", "."},
    {"/.hidden", "/", ".hidden", "/", ""},
    {"/.a.b", "/.a", ".a.b", "/", ".a"},
    {"a b", "a b", "a b", ".", "a b"},
    {"a b.txt", "a b", "a b.txt", ".", "a b"},
    {" a", " a", " a", ".", " a"},
    {"a ", "a ", "a ", ".", "a "},
    {" ", " ", " ", ".", " "},
    {"dir/a b.c d", "dir/a b", "a b.c d", "dir", "a b"},
    {"x.y z/w", "x.y z/w", "w", "x.y z", "w"},
    {"noext", "noext", "noext", ".", "noext"},
    {"UPPER.TXT", "UPPER", "UPPER.TXT", ".", "UPPER"},
    {"multi.dots.in.name.ext", "multi.dots.in.name", "multi.dots.in.name.ext", ".",
     "multi.dots.in.name"},
    {"file.", "file", "file.", ".", "file"},
    {"dir/file.", "dir/file", "file.", "dir", "file"},
    {"dir/.", "dir/", ".", "dir", ""},
    {"dir/..", "dir/.", "..", "dir", "."},
    {".../a", ".../a", "a", "...", "a"},
    {"...", "..", "...", ".", ".."},
    {".a.", ".a", ".a.", ".", ".a"},
    {"a/b/c/d.e.f", "a/b/c/d.e", "d.e.f", "a/b/c", "d.e"},
    {"rel/dir/f.c", "rel/dir/f", "f.c", "rel/dir", "f"},
    {"v1.2/readme", "v1.2/readme", "readme", "v1.2", "readme"},
    {"/x/y/z.tar.gz", "/x/y/z.tar", "z.tar.gz", "/x/y", "z.tar"},
    {"a.b.", "a.b", "a.b.", ".", "a.b"},
    {"a.b..", "a.b.", "a.b..", ".", "a.b."},
    {".a..b", ".a.", ".a..b", ".", ".a."},
    {"dir.d/", "dir.d/", "", ".", ""},
    {"dir.d//", "dir.d//", "", ".", ""},
    {"dir.d/x", "dir.d/x", "x", "dir.d", "x"},
    {"a/b.c/", "a/b.c/", "", "a", ""},
    {"/top.png", "/top", "top.png", "/", "top"},
    {"-n", "-n", "-n", ".", "-n"},
    {"-e.x", "-e", "-e.x", ".", "-e"},
    {"a\tb.c", "a\tb", "a\tb.c", ".", "a\tb"},
    {"a\nb.c", "a\nb", "a\nb.c", ".", "a\nb"},
    {"é/ü.ß", "é/ü", "ü.ß", "é", "ü"},
    {"données/résumé.pdf", "données/résumé", "résumé.pdf", "données", "résumé"},
    {"a\\b.c", "a\\b", "a\\b.c", ".", "a\\b"},
    {"a\\b/c.d", "a\\b/c", "c.d", "a\\b", "c"},
    {"a/b\\.c", "a/b\\", "b\\.c", "a", "b\\"},
    {"*.txt", "*", "*.txt", ".", "*"},
    {"a{}b", "a{}b", "a{}b", ".", "a{}b"},
    {"{}.x", "{}", "{}.x", ".", "{}"},
    {"d/{}.x", "d/{}", "{}.x", "d", "{}"},
    {"a.b c", "a", "a.b c", ".", "a"},
    {"a/ b", "a/ b", " b", "a", " b"},
    {"a /b", "a /b", "b", "a ", "b"},
    {"a. b", "a", "a. b", ".", "a"},
    {"a .b", "a ", "a .b", ".", "a "},
    {"x/.y.z", "x/.y", ".y.z", "x", ".y"},
    {"x/..y", "x/.", "..y", "x", "."},
    {"x/...", "x/..", "...", "x", ".."},
    {"x/..y.z", "x/..y", "..y.z", "x", "..y"},
    {"", "", "", ".", ""},
    {"a//b//c.d", "a//b//c", "c.d", "a//b", "c"},
    {"x.y\n", "x", "x.y\n", ".", "x"},
    {"d/x\n", "d/x\n", "x\n", "d", "x\n"},
    {"a.\n", "a", "a.\n", ".", "a"},
    {"\n", "\n", "\n", ".", "\n"},
};

TEST(ParallelPlaceholdersTest, EveryRecordedCaseMatches) {
  ASSERT_GE(kParallelCases.size(), 100u);
  for (const ParallelCase& c : kParallelCases) {
    EXPECT_THAT(ExpandWords({"{}", "{.}", "{/}", "{//}", "{/.}"}, c.item),
                ElementsAre(c.item, c.no_extension, c.base, c.dir, c.base_no_extension))
        << "item \"" << c.item << "\"";
  }
}

// --shell passes the same values, as positional parameters.
TEST(ParallelPlaceholdersTest, ShellParametersMatchToo) {
  for (const ParallelCase& c : kParallelCases) {
    Result<std::vector<std::string>> argv = ShellArgv("true", c.item);
    ASSERT_TRUE(argv.ok()) << argv.status().message();
    EXPECT_THAT(std::vector<std::string>(argv->begin() + 4, argv->end()),
                ElementsAre(c.item, c.no_extension, c.base, c.dir, c.base_no_extension))
        << "item \"" << c.item << "\"";
  }
}

// The one documented difference (README, "Commands"): parallel's {/} is the
// Perl s:.*/:: whose "." stops at a newline, so for an item with a newline
// before its last "/" it splices lines together. jobd takes what follows the
// last "/", as for any other item. parallel's values are in the comments.
TEST(ParallelPlaceholdersTest, NewlineBeforeTheLastSlashIsTheDocumentedDifference) {
  // parallel: "a\nb/c.d" "a\nb/c" "a\nc.d" "a\nb" "a\nc"
  EXPECT_THAT(ExpandWords({"{}", "{.}", "{/}", "{//}", "{/.}"}, "a\nb/c.d"),
              ElementsAre("a\nb/c.d", "a\nb/c", "c.d", "a\nb", "c"));
  // parallel: "a/b\nc/d" "a/b\nc/d" "b\nc/d" "a/b\nc" "b\nc/d"
  EXPECT_THAT(ExpandWords({"{}", "{.}", "{/}", "{//}", "{/.}"}, "a/b\nc/d"),
              ElementsAre("a/b\nc/d", "a/b\nc/d", "d", "a/b\nc", "d"));
  // parallel: "a/\n/b.c" "a/\n/b" "\n/b.c" "a/\n" "\n/b"
  EXPECT_THAT(ExpandWords({"{}", "{.}", "{/}", "{//}", "{/.}"}, "a/\n/b.c"),
              ElementsAre("a/\n/b.c", "a/\n/b", "b.c", "a/\n", "b"));
}

}  // namespace
}  // namespace jobd
