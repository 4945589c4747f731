/* A shared library without jobd_plugin_tasks. */
#include "jobd/task.h"

JOBD_PLUGIN_EXPORT int jobd_not_a_plugin(void);
JOBD_PLUGIN_EXPORT int jobd_not_a_plugin(void) { return 42; }
