// RunCommand: runs one external command for a command task (jobctl map
// --exec, jobctl run) on the calling thread, and captures how it ended.
//
// The command runs in a process group of its own (so that the coordinator can
// stop it and everything it started with one kill), with the job's working
// directory, environment, standard input and rlimits. Its stdout becomes the
// result and the tail of its stderr the error, each bounded. When the command
// itself exits, whatever is left of its process group is killed and reaped:
// no command outlives its task. (A descendant that moved to a session or group
// of its own escapes; only a cgroup would catch it.)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "proto/messages.h"

namespace jobd {

struct CommandRun {
  // False when the command could not be started; `error` then says why, e.g.
  // "command not found: frobnicate" or "working directory '/nope': No such
  // file or directory".
  bool started = false;
  std::string out;       // stdout, its first max_output bytes
  std::string err;       // stderr's last max_output bytes, or why it did not start
  CommandEnd end;        // when started

  // Exited with code 0.
  bool ok() const { return started && end.signal == 0 && end.exit_code == 0; }
};

// Runs `argv` (argv[0] is looked up in PATH, that of the command's
// environment, unless it contains a '/'). `default_max_output` applies when
// options.max_output is 0. `on_start` is called with the process group id
// once the program has been exec'd, before its output is read. Blocks until
// the command and its group are gone and the output is read (at most 2 s
// past the command's exit when a descendant that escaped the group holds the
// output open). Reaps, too, any other child of this process that has exited.
CommandRun RunCommand(const std::vector<std::string>& argv, const CommandOptions& options,
                      uint64_t default_max_output,
                      const std::function<void(int32_t pgid)>& on_start = {});

// Makes this process the reaper of its orphaned descendants
// (PR_SET_CHILD_SUBREAPER), so that RunCommand reaps the members of a
// command's group whose parent went first. Called once by the worker at
// start.
void BecomeSubreaper();

}  // namespace jobd
