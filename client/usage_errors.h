// jobctl's words for a command line it cannot parse: the command or option
// that is nearest to a misspelt one, and where `--` goes when an argument
// looks like an option. Plain strings in and out, so tests need no CLI11.
#pragma once

#include <string>
#include <vector>

namespace jobd {

// No command given: "a command is required: ping, map, ...".
std::string MissingCommandMessage(const std::vector<std::string>& commands);

// `word` is no command: "unknown command 'mpa' (did you mean 'map'?)", or
// the list of commands when none is near.
std::string UnknownCommandMessage(const std::string& word,
                                  const std::vector<std::string>& commands);

// A command line that gave `command` an argument starting with '-' that is
// none of its options.
struct CommandLine {
  std::string command;            // "run"
  std::vector<std::string> args;  // the words after the command, as given
  // The first word the command took as TASK, ITEM or CMD (map, submit, run);
  // empty when it took none or takes none.
  std::string first_free_word;
  std::vector<std::string> options;  // its long options and the global ones: "--ordered"
};

// For `unknown` after the first free word: it was meant for the task or the
// command, so say to put them after `--`, with the line that does it:
// "run: '-la' is not an option of jobctl run; put the command after --:
// jobctl run -- ls -la". Otherwise "map: unknown option '--orderd' (did you
// mean '--ordered'?)".
std::string UnknownOptionMessage(const CommandLine& line, const std::string& unknown);

}  // namespace jobd
