// How a child process ended, as waitpid reports it.
#pragma once

#include <string>

namespace jobd {

struct ExitStatus {
  bool signaled = false;
  int value = 0;  // the signal number, or the exit code

  // "killed by SIGSEGV", "exited with code 3"
  std::string Describe() const;
};

}  // namespace jobd
