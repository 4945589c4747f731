#include "client/command_request.h"

#include <filesystem>

#include "client/command_template.h"
#include "util/duration.h"
#include "util/size.h"

namespace jobd {
namespace {

constexpr const char* kShell = "/bin/sh";

std::string Absolute(const std::string& path, const std::string& working_dir) {
  if (path.empty() || path.front() == '/') return path;
  return (std::filesystem::path(working_dir) / path).lexically_normal().string();
}

Status Flag(const char* name, const Status& status) {
  return Status::InvalidArgument(std::string(name) + ": " + status.message());
}

}  // namespace

bool CommandFlags::AnyOption() const {
  return shell || !cwd.empty() || !env.empty() || !stdin_path.empty() || !max_output.empty() ||
         !memory_limit.empty() || !cpu_limit.empty();
}

Result<CommandOptions> BuildCommandOptions(const CommandFlags& flags,
                                           const std::string& working_dir) {
  CommandOptions options;
  options.cwd = flags.cwd.empty() ? working_dir : Absolute(flags.cwd, working_dir);
  options.stdin_path = Absolute(flags.stdin_path, working_dir);
  for (const std::string& entry : flags.env) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("--env: '" + entry + "' is not K=V");
    }
    options.env.push_back(entry);
  }
  if (!flags.max_output.empty()) {
    Result<uint64_t> size = ParseSize(flags.max_output);
    if (!size.ok()) return Flag("--max-output", size.status());
    if (*size == 0) return Status::InvalidArgument("--max-output: must be above 0");
    options.max_output = *size;
  }
  if (!flags.memory_limit.empty()) {
    Result<uint64_t> size = ParseSize(flags.memory_limit);
    if (!size.ok()) return Flag("--memory-limit", size.status());
    if (*size == 0) return Status::InvalidArgument("--memory-limit: must be above 0");
    options.memory_limit = *size;
  }
  if (!flags.cpu_limit.empty()) {
    Result<Micros> limit = ParseDuration(flags.cpu_limit);
    if (!limit.ok()) return Flag("--cpu-limit", limit.status());
    if (limit->count() <= 0) return Status::InvalidArgument("--cpu-limit: must be above 0");
    options.cpu_limit_us = static_cast<uint64_t>(limit->count());
  }
  return options;
}

Result<std::vector<TaskInput>> CommandTasks(const CommandFlags& flags,
                                            const std::vector<std::string>& items) {
  if (items.empty()) return Status::InvalidArgument("--exec: no ITEM given: one command runs per ITEM");
  std::vector<TaskInput> tasks;
  tasks.reserve(items.size());
  if (flags.shell) {
    if (flags.exec.find_first_not_of(" \t\n") == std::string::npos) {
      return Status::InvalidArgument("--exec: the command is empty");
    }
    for (const std::string& item : items) {
      Result<std::vector<std::string>> argv = ShellArgv(flags.exec, item);
      if (!argv.ok()) return Flag("--exec", argv.status());
      tasks.push_back(TaskInput{"", std::move(*argv)});
    }
    return tasks;
  }
  Result<std::vector<std::string>> words = SplitWords(flags.exec);
  if (!words.ok()) return Flag("--exec", words.status());
  for (const std::string& item : items) tasks.push_back(TaskInput{"", ExpandWords(*words, item)});
  return tasks;
}

Result<TaskInput> RunTask(const CommandFlags& flags, const std::vector<std::string>& words) {
  if (words.empty()) return Status::InvalidArgument("run: no command given (jobctl run -- CMD ARG...)");
  if (!flags.shell) return TaskInput{"", words};
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : " ") + word;
  return TaskInput{"", {kShell, "-c", text}};
}

}  // namespace jobd
