/* A test plugin that stands for an interpreter: its task's argument is the
 * "code" to run (tests/unit/worker/plugin_loader_test.cc). Built twice:
 * runs_code.so exports jobd_plugin_runs_caller_code = 1, and
 * runs_code_zero.so (JOBD_TEST_RUNS_CODE=0) exports it as 0, which must
 * mean the same as not exporting it. */
#include <string.h>

#include "jobd/task.h"

#ifndef JOBD_TEST_RUNS_CODE
#define JOBD_TEST_RUNS_CODE 1
#endif

/* "Runs" SCRIPT: returns it, as a real interpreter would return its output. */
static void t_interpret(const char* const* args, size_t arg_count, jobd_output* out) {
  if (arg_count != 1) {
    jobd_output_error(out, "t_interpret takes 1 argument (SCRIPT)");
    return;
  }
  jobd_output_append(out, args[0], strlen(args[0]));
}

static const jobd_task kTasks[] = {
    {"t_interpret", "runs SCRIPT", t_interpret},
    {"t_interpret_file", "runs the script in FILE", t_interpret},
};

JOBD_PLUGIN_EXPORT const int jobd_plugin_runs_caller_code = JOBD_TEST_RUNS_CODE;

JOBD_PLUGIN_EXPORT const jobd_task* jobd_plugin_tasks(int* abi_version, size_t* count) {
  *abi_version = JOBD_TASK_ABI_VERSION;
  *count = sizeof kTasks / sizeof kTasks[0];
  return kTasks;
}
