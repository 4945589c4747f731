// The command-task flags of jobctl (map/submit --exec, run) and what they
// become in a SubmitRequest. Kept apart from jobctl.cc so that tests can
// check them without a daemon.
#pragma once

#include <string>
#include <vector>

#include "proto/messages.h"
#include "util/status.h"

namespace jobd {

struct CommandFlags {
  std::string exec;  // map/submit: the command template, one command per ITEM
  bool shell = false;  // run the command text with /bin/sh -c
  std::string cwd;     // empty: jobctl's own working directory
  std::vector<std::string> env;  // "K=V"
  std::string stdin_path;
  std::string max_output;    // sizes and durations as on the command line
  std::string memory_limit;
  std::string cpu_limit;

  // True when any flag other than exec is set.
  bool AnyOption() const;
};

// The job's CommandOptions. A relative --cwd or --stdin is taken relative to
// `working_dir` (jobd runs elsewhere). Bad values fail with the flag's name,
// e.g. "--env: 'FOO' is not K=V".
Result<CommandOptions> BuildCommandOptions(const CommandFlags& flags,
                                           const std::string& working_dir);

// map --exec: one task per item (of the job's default task "exec"), argv
// from the template; with --shell, ShellArgv's.
Result<std::vector<TaskInput>> CommandTasks(const CommandFlags& flags,
                                            const std::vector<std::string>& items);

// run: one task (of the default task "exec") running `words` as they are, or
// as one sh -c text (--shell).
Result<TaskInput> RunTask(const CommandFlags& flags, const std::vector<std::string>& words);

}  // namespace jobd
