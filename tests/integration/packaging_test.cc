// Installation and packaging: the systemd unit passes systemd-analyze (verify,
// and a security exposure of at most 2.0); `cmake --install` of this build
// into a temporary prefix puts every part in place, and the installed jobd
// finds its worker and plugins there; the example configuration names every
// option with its default, and jobd accepts it while refusing a bad value by
// the option's name; the bash completion completes; `cpack -G DEB` makes a
// package with its dependencies and maintainer scripts. Tools that are not
// installed (systemd-analyze, cpack, bash-completion) skip their tests.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace jobd::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr auto kToolDeadline = std::chrono::seconds(60);
// The paths the unit in the tree names; an install rewrites them.
constexpr const char* kUnitBinary = "/usr/bin/jobd";

std::string SourceDir() { return JOBD_SOURCE_DIR; }
std::string UnitPath() { return SourceDir() + "/systemd/jobd.service"; }
// The build directory holds bin/ (CMAKE_RUNTIME_OUTPUT_DIRECTORY).
std::string BuildDir() { return fs::path(JOBD_BIN_DIR).parent_path().string(); }

// `name` looked up in $PATH, or "" when it is not there.
std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// The one file named `name` below `root`, or "".
std::string FindBelow(const std::string& root, const std::string& name) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() == name) return it->path().string();
  }
  return "";
}

// The options in `jobd --help`, each with its default ("" when none shows).
std::map<std::string, std::string> HelpDefaults(const std::string& help) {
  static const std::regex option(R"(^\s+(?:-\w,)?--([a-z][a-z0-9-]*)(.*)$)");
  std::map<std::string, std::string> defaults;
  for (const std::string& line : Lines(help)) {
    std::smatch m;
    if (!std::regex_match(line, m, option)) continue;
    std::string rest = m[2].str();
    const size_t start = rest.find_first_not_of(' ');
    rest = start == std::string::npos ? "" : rest.substr(start);
    rest = rest.substr(0, rest.find("  "));  // the description follows
    rest = rest.substr(0, rest.find(" (Env:"));
    const size_t eq = rest.rfind('=');
    defaults[m[1].str()] = eq == std::string::npos ? "" : rest.substr(eq + 1);
  }
  return defaults;
}

// The "# name = value" lines of the example configuration.
std::vector<std::pair<std::string, std::string>> ConfigEntries(const std::string& text) {
  static const std::regex entry(R"(^# ([a-z][a-z0-9-]*) = (.*)$)");
  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& line : Lines(text)) {
    std::smatch m;
    if (std::regex_match(line, m, entry)) entries.emplace_back(m[1].str(), m[2].str());
  }
  return entries;
}

// The example configuration with every option uncommented.
std::string Uncommented(const std::string& text) {
  static const std::regex entry(R"(^# ([a-z][a-z0-9-]*) = )");
  std::string out;
  for (const std::string& line : Lines(text)) {
    out += std::regex_search(line, entry) ? line.substr(2) : line;
    out += '\n';
  }
  return out;
}

// What is left of `systemd-analyze verify`'s complaints once those about
// the unit's own program missing from this machine are set aside.
std::vector<std::string> VerifyComplaints(const std::string& err, const std::string& missing) {
  std::vector<std::string> left;
  for (const std::string& line : Lines(err)) {
    if (line.empty()) continue;
    if (!missing.empty() &&
        line.find("Command " + missing + " is not executable") != std::string::npos) {
      continue;
    }
    left.push_back(line);
  }
  return left;
}

// One `cmake --install` of this build into a temporary prefix, shared by the
// tests of a process.
class PackagingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cmake_ = FindProgram("cmake");
    if (cmake_.empty()) return;
    prefix_ = std::make_unique<TempDir>();
    install_ = RunCommand({cmake_, "--install", BuildDir(), "--prefix", prefix_->path() + "/usr"},
                          {}, kToolDeadline);
  }
  static void TearDownTestSuite() { prefix_.reset(); }

  void SetUp() override {
    if (cmake_.empty()) GTEST_SKIP() << "no cmake in PATH";
    ASSERT_EQ(install_.exit_code, 0) << install_.out << install_.err;
  }

  // Under the prefix given to cmake --install.
  static std::string Installed(const std::string& path) { return prefix_->path() + "/usr/" + path; }
  // The prefix is not /usr, so the configuration goes below it too.
  static std::string InstalledConfig() { return Installed("etc/jobd/jobd.conf"); }
  static std::string InstalledUnit() { return Installed("lib/systemd/system/jobd.service"); }

  static std::string cmake_;
  static std::unique_ptr<TempDir> prefix_;
  static CommandResult install_;
};

std::string PackagingTest::cmake_;
std::unique_ptr<TempDir> PackagingTest::prefix_;
CommandResult PackagingTest::install_;

TEST(PackagingUnitTest, PassesSystemdAnalyzeVerify) {
  const std::string analyze = FindProgram("systemd-analyze");
  if (analyze.empty()) GTEST_SKIP() << "no systemd-analyze";
  // The manual pages are checked on the installed unit (InstalledUnitVerifies...).
  CommandResult r = RunCommand({analyze, "verify", "--man=no", UnitPath()}, {}, kToolDeadline);
  // Without jobd installed on this machine, its missing program is the one
  // complaint allowed.
  const bool installed = access(kUnitBinary, X_OK) == 0;
  EXPECT_THAT(VerifyComplaints(r.err, installed ? "" : kUnitBinary), ::testing::IsEmpty())
      << r.err;
  if (installed) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
}

TEST(PackagingUnitTest, SecurityExposureIsAtMostTwo) {
  const std::string analyze = FindProgram("systemd-analyze");
  if (analyze.empty()) GTEST_SKIP() << "no systemd-analyze";
  CommandResult r =
      RunCommand({analyze, "security", "--offline=true", UnitPath()}, {}, kToolDeadline);
  if (r.err.find("--offline") != std::string::npos) {
    GTEST_SKIP() << "this systemd-analyze has no --offline: " << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  static const std::regex overall(R"(Overall exposure level for jobd\.service: ([0-9]+\.[0-9]+))");
  ASSERT_TRUE(std::regex_search(r.out, m, overall)) << r.out;
  const double exposure = std::stod(m[1].str());
  EXPECT_LE(exposure, 2.0) << r.out;
  // What the unit says of itself.
  EXPECT_THAT(ReadFile(UnitPath()), HasSubstr("rates this unit " + m[1].str() + " (OK)"));
}

TEST(PackagingUnitTest, RunsJobdAsItsOwnUserWithTheServiceDirectories) {
  const std::string unit = ReadFile(UnitPath());
  for (const char* line :
       {"Type=notify", "User=jobd", "Group=jobd", "KillMode=mixed", "RuntimeDirectory=jobd",
        "RuntimeDirectoryMode=0750", "StateDirectory=jobd", "LogsDirectory=jobd", "UMask=0007",
        "ExecStart=/usr/bin/jobd --config /etc/jobd/jobd.conf --socket ipc:///run/jobd/jobd.sock "
        "--state-dir /var/lib/jobd --log-dir /var/log/jobd",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"}) {
    EXPECT_THAT(unit, HasSubstr(std::string("\n") + line + "\n")) << line;
  }
  // The stop timeout covers the default drain (30 s) and the last results.
  std::smatch m;
  static const std::regex stop(R"(\nTimeoutStopSec=([0-9]+)\n)");
  ASSERT_TRUE(std::regex_search(unit, m, stop));
  EXPECT_GE(std::stoi(m[1].str()), 35);
}

TEST_F(PackagingTest, InstallPutsEveryPartInPlace) {
  for (const char* program : {"bin/jobd", "bin/jobctl"}) {
    EXPECT_EQ(access(Installed(program).c_str(), X_OK), 0) << program;
  }
  const std::string worker = FindBelow(prefix_->path(), "jobd-worker");
  ASSERT_FALSE(worker.empty());
  EXPECT_EQ(fs::path(worker).parent_path().filename(), "jobd");
  EXPECT_EQ(access(worker.c_str(), X_OK), 0);
  const std::string sha256 = FindBelow(prefix_->path(), "sha256.so");
  ASSERT_FALSE(sha256.empty());
  EXPECT_TRUE(fs::exists(fs::path(sha256).parent_path() / "grayscale.so"));
  EXPECT_EQ(fs::path(sha256).parent_path().filename(), "plugins");

  EXPECT_TRUE(fs::exists(Installed("include/jobd/task.h")));
  EXPECT_TRUE(fs::exists(Installed("share/man/man8/jobd.8.gz")) ||
              fs::exists(Installed("share/man/man8/jobd.8")));
  EXPECT_TRUE(fs::exists(Installed("share/man/man1/jobctl.1.gz")) ||
              fs::exists(Installed("share/man/man1/jobctl.1")));
  EXPECT_THAT(ReadFile(Installed("share/bash-completion/completions/jobctl")),
              HasSubstr("complete -F _jobctl jobctl"));
  EXPECT_THAT(ReadFile(Installed("lib/sysusers.d/jobd.conf")), HasSubstr("\nu jobd "));

  // The unit and the configuration name the prefix's paths.
  const std::string unit = ReadFile(InstalledUnit());
  EXPECT_THAT(unit, HasSubstr("\nExecStart=" + Installed("bin/jobd") + " --config " +
                              InstalledConfig() + " --socket ipc:///run/jobd/jobd.sock"));
  const std::string config = ReadFile(InstalledConfig());
  EXPECT_THAT(config, HasSubstr("\n# worker-binary = " + worker + "\n"));
  EXPECT_THAT(config, HasSubstr("\n# plugin-dir = " + fs::path(sha256).parent_path().string() +
                                "\n"));
}

TEST_F(PackagingTest, InstalledJobdFindsItsWorkerAndPluginsByDefault) {
  CommandResult r = RunCommand({Installed("bin/jobd"), "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> defaults = HelpDefaults(r.out);
  EXPECT_EQ(defaults["worker-binary"], FindBelow(prefix_->path(), "jobd-worker"));
  EXPECT_EQ(defaults["plugin-dir"],
            fs::path(FindBelow(prefix_->path(), "sha256.so")).parent_path().string());
}

TEST_F(PackagingTest, InstalledUnitVerifiesWithItsManPages) {
  const std::string analyze = FindProgram("systemd-analyze");
  if (analyze.empty()) GTEST_SKIP() << "no systemd-analyze";
  std::vector<std::string> argv = {analyze, "verify", InstalledUnit()};
  // Documentation=man:... is checked with man(1), when there is one.
  if (FindProgram("man").empty()) argv.insert(argv.begin() + 2, "--man=no");
  CommandResult r = RunCommand(argv, {{"MANPATH", Installed("share/man")}}, kToolDeadline);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(VerifyComplaints(r.err, ""), ::testing::IsEmpty()) << r.err;
}

TEST_F(PackagingTest, ExampleConfigNamesEveryOptionWithItsDefault) {
  CommandResult help = RunCommand({Installed("bin/jobd"), "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  std::map<std::string, std::string> defaults = HelpDefaults(help.out);
  defaults.erase("help");
  defaults.erase("config");
  ASSERT_GE(defaults.size(), 15u) << help.out;

  // The defaults that depend on who runs jobd (and how many CPUs there are).
  std::set<std::string> varying = {"workers", "log-dir"};
  if (geteuid() != 0 || std::getenv("JOBD_SOCKET") != nullptr) varying.insert("socket");
  if (geteuid() != 0) varying.insert("state-dir");

  std::set<std::string> seen;
  for (const auto& [name, value] : ConfigEntries(ReadFile(InstalledConfig()))) {
    EXPECT_TRUE(seen.insert(name).second) << name << " twice";
    auto it = defaults.find(name);
    if (it == defaults.end()) {
      ADD_FAILURE() << name << " is no option of jobd";
      continue;
    }
    if (varying.count(name)) continue;
    // A flag shows no default: it is off.
    EXPECT_EQ(value, it->second.empty() ? "false" : it->second) << name;
  }
  for (const auto& [name, value] : defaults) EXPECT_TRUE(seen.count(name)) << name << " missing";
}

TEST_F(PackagingTest, InstalledJobdRunsWithTheExampleConfigUncommented) {
  // Every option set as the example has it, but the paths that would reach
  // outside the test: those point at a directory of ours, and the command
  // line (the harness's --socket, --state-dir, --log-dir) takes precedence.
  TempDir mine;
  std::string config = Uncommented(ReadFile(InstalledConfig()));
  config = std::regex_replace(config, std::regex(R"(\nsocket = .*\n)"),
                              "\nsocket = ipc://" + mine.path() + "/config.sock\n");
  config = std::regex_replace(config, std::regex(R"(\nstate-dir = .*\n)"),
                              "\nstate-dir = " + mine.path() + "/state\n");
  config = std::regex_replace(config, std::regex(R"(\nlog-dir = .*\n)"),
                              "\nlog-dir = " + mine.path() + "/log\n");
  ASSERT_THAT(config, HasSubstr("\nworkers = "));
  ASSERT_THAT(config, HasSubstr("\ndrain-timeout = 30s\n"));
  WriteFile(mine.path() + "/jobd.conf", config);

  // The harness starts the build's jobd; the shell execs the installed one
  // in its place, with the same arguments and pid.
  std::unique_ptr<Jobd> jobd =
      Jobd::Start({"--config", mine.path() + "/jobd.conf"}, 1,
                  {"/bin/sh", "-c", "shift; exec \"$0\" \"$@\"", Installed("bin/jobd")});
  ASSERT_NE(jobd, nullptr);

  CommandResult r = jobd->Jobctl({"--json", "tasks"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string plugins = fs::path(FindBelow(prefix_->path(), "sha256.so")).parent_path();
  std::map<std::string, json> tasks;
  for (const json& line : JsonLines(r.out)) tasks[line["name"]] = line;
  ASSERT_TRUE(tasks.count("sha256")) << r.out;
  EXPECT_EQ(tasks["sha256"]["file"], plugins + "/sha256.so");
  EXPECT_EQ(tasks["grayscale"]["file"], plugins + "/grayscale.so");

  r = jobd->Jobctl({"--json", "workers"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonLines(r.out).size(), 1u) << "--workers 1 on the command line wins";
  EXPECT_FALSE(fs::exists(mine.path() + "/config.sock"));

  EXPECT_EQ(jobd->StopWith(SIGTERM), 0);
}

TEST(PackagingConfigTest, BadValueInTheConfigIsRefusedWithTheOptionName) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"drain-timeout = soon", "--drain-timeout"},
      {"workers = 0", "--workers"},
      {"max-worker-rss = lots", "--max-worker-rss"},
      {"log-level = loud", "--log-level"},
      {"heartbeat = 1ms", "--heartbeat"},
      {"retain = forever", "--retain"},
      {"kill-grace = later", "--kill-grace"},
      {"max-output = big", "--max-output"},
      {"max-message-size = 1", "--max-message-size"},
      {"no-store = maybe", "--no-store"},
      // A misspelt name is refused, not ignored, and the near one named.
      {"wrokers = 2", "unknown option 'wrokers' (did you mean 'workers'?)"},
  };
  for (const auto& [line, option] : cases) {
    TempDir dir;
    WriteFile(dir.path() + "/jobd.conf", "# a bad value\n" + line + "\n");
    CommandResult r = RunCommand(
        {BinPath("jobd"), "--config", dir.path() + "/jobd.conf", "--socket",
         "ipc://" + dir.path() + "/jobd.sock", "--state-dir", dir.path() + "/state", "--log-dir",
         dir.path() + "/log"},
        {}, std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 2) << line << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(option)) << line;
    // The file and the line, compiler style.
    EXPECT_THAT(r.err, HasSubstr("jobd: " + dir.path() + "/jobd.conf:2: ")) << line;
    EXPECT_FALSE(fs::exists(dir.path() + "/jobd.sock")) << line;
    EXPECT_FALSE(fs::exists(dir.path() + "/state")) << line;
    EXPECT_FALSE(fs::exists(dir.path() + "/log")) << line;
  }
}

TEST(PackagingConfigTest, BadValueInTheConfigIsRefusedEvenWhenTheCommandLineSetsIt) {
  TempDir dir;
  WriteFile(dir.path() + "/jobd.conf", "# jobd\n\nworkers = 0\n");
  CommandResult r = RunCommand(
      {BinPath("jobd"), "--config", dir.path() + "/jobd.conf", "--workers", "1", "--socket",
       "ipc://" + dir.path() + "/jobd.sock", "--state-dir", dir.path() + "/state"},
      {}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err,
            "jobd: " + dir.path() + "/jobd.conf:3: --workers: Value 0 not in range 1 to 1024\n");
  EXPECT_FALSE(fs::exists(dir.path() + "/state"));
}

TEST(PackagingConfigTest, ExampleConfigInTheTreeIsAcceptedAsItIs) {
  CommandResult r = RunCommand(
      {BinPath("jobd"), "--config", SourceDir() + "/etc/jobd.conf", "--help"}, {},
      std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("--config"));
}

// A manual page's text with roff's backslashes gone: "\-\-state\-dir" reads
// "--state-dir".
std::string ManText(const std::string& page) {
  std::string text = ReadFile(SourceDir() + "/docs/man/" + page);
  std::erase(text, '\\');
  return text;
}

TEST(PackagingManPageTest, JobdPageNamesEveryOption) {
  CommandResult help = RunCommand({BinPath("jobd"), "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const std::string page = ManText("jobd.8");
  std::map<std::string, std::string> options = HelpDefaults(help.out);
  ASSERT_GE(options.size(), 15u);
  for (const auto& [name, value] : options) {
    EXPECT_NE(page.find("--" + name), std::string::npos) << "--" << name << " is not in jobd.8";
  }
}

TEST(PackagingManPageTest, JobctlPageNamesEveryCommandAndOption) {
  CommandResult help = RunCommand({BinPath("jobctl"), "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const std::string page = ManText("jobctl.1");
  const std::string completion = ReadFile(SourceDir() + "/completions/jobctl.bash");
  for (const auto& [name, value] : HelpDefaults(help.out)) {
    EXPECT_NE(page.find("--" + name), std::string::npos) << "--" << name << " is not in jobctl.1";
  }
  std::vector<std::string> verbs;
  bool listing = false;
  static const std::regex verb(R"(^  ([a-z]+)  +\S.*$)");
  for (const std::string& line : Lines(help.out)) {
    std::smatch m;
    if (line == "Subcommands:") {
      listing = true;
    } else if (listing && std::regex_match(line, m, verb)) {
      verbs.push_back(m[1].str());
    }
  }
  ASSERT_GE(verbs.size(), 10u) << help.out;
  std::smatch listed;
  ASSERT_TRUE(std::regex_search(completion, listed, std::regex(R"re(local commands="([^"]*)")re")));
  std::set<std::string> completed;
  std::stringstream words(listed[1].str());
  for (std::string word; words >> word;) completed.insert(word);
  for (const std::string& name : verbs) {
    // A .B or .BI line that starts with it: a command's entry.
    EXPECT_TRUE(std::regex_search(page, std::regex("\n\\.BI? \"?" + name + "\\b")))
        << name << " is not in jobctl.1";
    EXPECT_TRUE(completed.count(name)) << name << " is not completed";
    CommandResult verb_help = RunCommand({BinPath("jobctl"), name, "--help"});
    ASSERT_EQ(verb_help.exit_code, 0) << name << ": " << verb_help.err;
    for (const auto& [option, value] : HelpDefaults(verb_help.out)) {
      EXPECT_NE(page.find("--" + option), std::string::npos)
          << name << " --" << option << " is not in jobctl.1";
      EXPECT_NE(completion.find("--" + option), std::string::npos)
          << name << " --" << option << " is not completed";
    }
  }
}

TEST(PackagingCompletionTest, CompletesCommandsOptionsTasksAndJobs) {
  const std::string bash_completion = "/usr/share/bash-completion/bash_completion";
  if (access(bash_completion.c_str(), R_OK) != 0) GTEST_SKIP() << "no bash-completion";
  std::unique_ptr<Jobd> jobd = Jobd::Start({}, 1);
  ASSERT_NE(jobd, nullptr);
  CommandResult submitted = jobd->Jobctl({"submit", "echo", "a"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string job = submitted.out.substr(0, submitted.out.find('\n'));

  // What bash offers after `jobctl --socket ENDPOINT WORDS...`, the line
  // split at ':' as readline splits it.
  const std::string endpoint = jobd->endpoint();
  ASSERT_EQ(endpoint.rfind("ipc:", 0), 0u);
  auto complete = [&](const std::vector<std::string>& words) {
    std::string script =
        "source " + bash_completion + " && source \"$1\" || exit 3\n"
        "shift\n"
        "COMP_WORDS=(\"$1\" --socket ipc : \"$2\" \"${@:3}\")\n"
        "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
        "COMP_LINE=\"$1 --socket ipc:$2 ${*:3}\"\n"
        "COMP_POINT=${#COMP_LINE}\n"
        "_jobctl\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
    std::vector<std::string> argv = {"/bin/bash", "-c", script, "bash",
                                     SourceDir() + "/completions/jobctl.bash", BinPath("jobctl"),
                                     endpoint.substr(4)};
    argv.insert(argv.end(), words.begin(), words.end());
    CommandResult r = RunCommand(argv, {}, std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> offered;
    for (const std::string& line : Lines(r.out)) {
      if (!line.empty()) offered.insert(line);
    }
    return offered;
  };

  EXPECT_EQ(complete({"wa"}), (std::set<std::string>{"watch"}));
  EXPECT_THAT(complete({""}), ::testing::IsSupersetOf({"ping", "map", "submit", "logs"}));
  EXPECT_THAT(complete({"map", "--"}), ::testing::IsSupersetOf({"--timeout", "--ordered"}));
  EXPECT_EQ(complete({"jobs", "--state", ""}), (std::set<std::string>{"running", "done"}));
  EXPECT_THAT(complete({"map", ""}), ::testing::IsSupersetOf({"sum_to_num", "echo", "crash"}));
  EXPECT_THAT(complete({"watch", ""}), ::testing::Contains(job));
  EXPECT_THAT(complete({"status", "42", ""}), Not(::testing::Contains(job)));
}

TEST_F(PackagingTest, DebianPackageHasItsPartsDependenciesAndScripts) {
  const std::string cpack = FindProgram("cpack");
  const std::string dpkg_deb = FindProgram("dpkg-deb");
  if (cpack.empty() || dpkg_deb.empty() || FindProgram("dpkg-shlibdeps").empty()) {
    GTEST_SKIP() << "needs cpack, dpkg-deb and dpkg-shlibdeps (dpkg-dev)";
  }
  TempDir out;
  CommandResult r = RunCommand({cpack, "--config", BuildDir() + "/CPackConfig.cmake", "-G", "DEB",
                                "-B", out.path()},
                               {}, kToolDeadline);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string deb;
  for (const auto& entry : fs::directory_iterator(out.path())) {
    if (entry.path().extension() == ".deb") deb = entry.path().string();
  }
  ASSERT_FALSE(deb.empty()) << r.out;

  CommandResult contents = RunCommand({dpkg_deb, "-c", deb});
  ASSERT_EQ(contents.exit_code, 0) << contents.err;
  for (const char* path :
       {"./usr/bin/jobd", "./usr/bin/jobctl", "/jobd/jobd-worker", "/jobd/plugins/sha256.so",
        "/jobd/plugins/grayscale.so", "./usr/lib/systemd/system/jobd.service",
        "./usr/lib/sysusers.d/jobd.conf", "./etc/jobd/jobd.conf", "./usr/share/man/man8/jobd.8",
        "./usr/share/man/man1/jobctl.1", "./usr/share/bash-completion/completions/jobctl"}) {
    EXPECT_THAT(contents.out, HasSubstr(path));
  }

  // The unit inside names the package's paths.
  TempDir unpacked;
  ASSERT_EQ(RunCommand({dpkg_deb, "-x", deb, unpacked.path()}).exit_code, 0);
  EXPECT_EQ(ReadFile(unpacked.path() + "/usr/lib/systemd/system/jobd.service"),
            ReadFile(UnitPath()));

  CommandResult depends = RunCommand({dpkg_deb, "-f", deb, "Depends"});
  EXPECT_THAT(depends.out, HasSubstr("libzmq5"));
  EXPECT_THAT(depends.out, HasSubstr("libsqlite3-0"));
  EXPECT_THAT(depends.out, HasSubstr("systemd | adduser"));

  CommandResult postinst = RunCommand({dpkg_deb, "-I", deb, "postinst"});
  ASSERT_EQ(postinst.exit_code, 0) << postinst.err;
  EXPECT_THAT(postinst.out, HasSubstr("systemd-sysusers jobd.conf"));
  EXPECT_THAT(postinst.out, HasSubstr("adduser --system"));
  // Installing enables and starts nothing (whatever the comments say).
  std::string commands;
  for (const std::string& line : Lines(postinst.out)) {
    const size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos && line[start] != '#') commands += line + "\n";
  }
  EXPECT_THAT(commands, HasSubstr("systemd-sysusers"));
  EXPECT_THAT(commands, Not(HasSubstr("enable")));
  EXPECT_THAT(commands, Not(HasSubstr("systemctl start")));
  EXPECT_THAT(commands, Not(HasSubstr("deb-systemd-invoke")));
  CommandResult conffiles = RunCommand({dpkg_deb, "-I", deb, "conffiles"});
  EXPECT_EQ(conffiles.out, "/etc/jobd/jobd.conf\n");
}

}  // namespace
}  // namespace jobd::testing
