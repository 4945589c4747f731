#include "client/usage_errors.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string_view>

#include "util/closest_name.h"

namespace jobd {
namespace {

std::string JoinCommas(const std::vector<std::string>& words) {
  std::string joined;
  for (const std::string& word : words) {
    if (!joined.empty()) joined += ", ";
    joined += word;
  }
  return joined;
}

// `word` as sh reads it back: as it is when that is safe, else in '...'.
std::string ShellWord(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
  });
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

std::string MissingCommandMessage(const std::vector<std::string>& commands) {
  return "a command is required: " + JoinCommas(commands);
}

std::string UnknownCommandMessage(const std::string& word,
                                  const std::vector<std::string>& commands) {
  const std::string unknown = "unknown command '" + word + "'";
  if (std::optional<std::string> near = ClosestName(word, commands)) {
    return unknown + " (did you mean '" + *near + "'?)";
  }
  return unknown + "; the commands are: " + JoinCommas(commands);
}

std::string UnknownOptionMessage(const CommandLine& line, const std::string& unknown) {
  const auto at = [&](const std::string& word) {
    return std::find(line.args.begin(), line.args.end(), word) - line.args.begin();
  };
  const auto free_at = at(line.first_free_word);
  const auto unknown_at = at(unknown);
  const auto end = static_cast<std::ptrdiff_t>(line.args.size());
  // Before the command's word (also: before the command): a misspelt option.
  const bool meant_as_argument =
      !line.first_free_word.empty() && free_at < unknown_at && unknown_at < end;
  const std::string prefix = line.command.empty() ? "" : line.command + ": ";
  if (!meant_as_argument) {
    std::string message = prefix + "unknown option '" + unknown + "'";
    // Only long options: one letter is near every other one.
    if (unknown.rfind("--", 0) == 0) {
      if (std::optional<std::string> near = ClosestName(unknown, line.options)) {
        message += " (did you mean '" + *near + "'?)";
      }
    }
    return message;
  }
  // The line again, with `--` before the first free word: after it, every
  // word is one (a `--` later on would come too late).
  std::string fixed = "jobctl " + line.command;
  for (std::ptrdiff_t i = 0; i < end; ++i) {
    if (i == free_at) fixed += " --";
    fixed += ' ';
    fixed += ShellWord(line.args[static_cast<size_t>(i)]);
  }
  const std::string what = line.command == "run" ? "the command" : "the arguments";
  return prefix + "'" + unknown + "' is not an option of jobctl " + line.command + "; put " + what +
         " after --: " + fixed;
}

}  // namespace jobd
