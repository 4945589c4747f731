/* Another well-formed test plugin, loaded after failing ones. */
#include "jobd/task.h"

static void t_second(const char* const* args, size_t arg_count, jobd_output* out) {
  (void)args;
  (void)arg_count;
  jobd_output_append(out, "second", 6);
}

static const jobd_task kTasks[] = {{"t_second", "says second", t_second}};

JOBD_PLUGIN_EXPORT const jobd_task* jobd_plugin_tasks(int* abi_version, size_t* count) {
  *abi_version = JOBD_TASK_ABI_VERSION;
  *count = 1;
  return kTasks;
}
