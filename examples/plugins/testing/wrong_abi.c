/* A plugin built against a future ABI. */
#include "jobd/task.h"

static void t_future(const char* const* args, size_t arg_count, jobd_output* out) {
  (void)args;
  (void)arg_count;
  jobd_output_append(out, "future", 6);
}

static const jobd_task kTasks[] = {{"t_future", "from ABI 999", t_future}};

JOBD_PLUGIN_EXPORT const jobd_task* jobd_plugin_tasks(int* abi_version, size_t* count) {
  *abi_version = 999;
  *count = 1;
  return kTasks;
}
