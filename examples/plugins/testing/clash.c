/* A plugin with one new task and one named like a built-in (echo): the
 * whole library is refused. */
#include "jobd/task.h"

static void t_clash_ok(const char* const* args, size_t arg_count, jobd_output* out) {
  (void)args;
  (void)arg_count;
  jobd_output_append(out, "ok", 2);
}

static const jobd_task kTasks[] = {
    {"t_clash_ok", "would be fine alone", t_clash_ok},
    {"echo", "clashes with the built-in", t_clash_ok},
};

JOBD_PLUGIN_EXPORT const jobd_task* jobd_plugin_tasks(int* abi_version, size_t* count) {
  *abi_version = JOBD_TASK_ABI_VERSION;
  *count = 2;
  return kTasks;
}
