/*
 * jobd/task.h: the C ABI of jobd plugin tasks. C99 and C++.
 *
 * A plugin is a shared library (`NAME.so`) in the worker's `--plugin-dir`
 * that exports one function, `jobd_plugin_tasks`, returning its ABI version
 * and its tasks (and, for an interpreter, one constant: see "Code tasks"):
 *
 *   #include <jobd/task.h>
 *
 *   static void hello(const char* const* args, size_t arg_count, jobd_output* out) {
 *     if (arg_count != 1) { jobd_output_error(out, "hello takes 1 argument (NAME)"); return; }
 *     jobd_output_append(out, "hello ", 6);
 *     jobd_output_append(out, args[0], strlen(args[0]));
 *   }
 *
 *   static const jobd_task tasks[] = {{"hello", "greets NAME", hello}};
 *
 *   JOBD_PLUGIN_EXPORT const jobd_task* jobd_plugin_tasks(int* abi_version, size_t* count) {
 *     *abi_version = JOBD_TASK_ABI_VERSION;
 *     *count = sizeof tasks / sizeof tasks[0];
 *     return tasks;
 *   }
 *
 * Loading. At start, each worker dlopen()s (RTLD_NOW | RTLD_LOCAL) every
 * `*.so` of the plugin directory in name order, calls jobd_plugin_tasks once
 * on its main thread, and registers every task. A library that cannot be
 * opened, lacks the symbol, reports another ABI version, returns an invalid
 * table (NULL, an empty or NULL name, a NULL run) or a task name that is
 * already taken (by a built-in task, an earlier plugin or itself) is skipped
 * as a whole, with a load error naming the file (`jobctl tasks` shows it);
 * the worker runs everything else. A library that is loaded stays loaded
 * until the worker exits (never dlclose()d).
 *
 * Ownership. The table returned and the strings in it belong to the plugin
 * and must stay valid while the library is loaded (static storage is the
 * usual way). `args` and its strings belong to the worker and are valid only
 * during the call; args[arg_count] is NULL. The output belongs to the
 * worker: jobd_output_append and jobd_output_error copy what they are given,
 * so the plugin keeps ownership of its buffers.
 *
 * Threads. `run` is called on the worker's task thread, one task at a time
 * (never concurrently within one process: each worker is one process with
 * one task thread), possibly many times in the same process. It may keep
 * state between calls but must not use the `out` of a task after returning.
 *
 * Code tasks. A plugin whose tasks run code that comes from their caller (an
 * interpreter: `lua SCRIPT`) says so by exporting a second, optional symbol:
 *
 *   JOBD_PLUGIN_EXPORT const int jobd_plugin_runs_caller_code = 1;
 *
 * Nonzero marks every task of the library as a code task; a library with
 * both kinds of task is two libraries. jobd treats code tasks as it treats
 * commands (`jobctl map --exec`): a client that may not run code (a remote
 * key with no local account, or any other user on a jobd that cannot change
 * identity) is refused them, and `jobctl tasks` shows them as
 * "plugin (runs code)". A library without the symbol, like every plugin
 * built before it existed, has no code tasks: the symbol is no change to
 * the ABI version. Export it whenever an argument can make a task do what
 * its author did not write; its tasks then run only for callers jobd trusts
 * to run their own code. Include this header before defining it: in C++ its
 * declaration below is what gives the const external linkage.
 *
 * Results and errors. A task succeeds with the bytes appended (possibly
 * none) unless it calls jobd_output_error, after which it has failed with the
 * first message given: later appends and errors are ignored. The output is
 * bounded by the worker's `--max-output` (1 MiB by default): past it the
 * bytes are discarded and, unless the task reported an error of its own, it
 * fails with "output of N bytes is over the limit of M". A task that never
 * returns is killed at its timeout with the whole worker process; one that
 * crashes (a signal) takes the worker down and ends `crashed`. C++ plugins
 * must not let exceptions escape `run` or `jobd_plugin_tasks`.
 *
 * Why a function table rather than exported worker functions. The output
 * functions are reached through `out->ops`, a table the worker fills, not
 * through symbols the plugin resolves against the executable. So a plugin
 * needs no undefined symbols of jobd's (it can link with -Wl,--no-undefined,
 * as the examples do), jobd-worker need not export any, and a plugin works
 * in any process that loads it the same way, whether or not that executable
 * was linked with -rdynamic (the unit tests load plugins too). The inline
 * wrappers below keep the calls as short as plain functions.
 */
#ifndef JOBD_TASK_H_
#define JOBD_TASK_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version this header describes; a plugin reports the version it was
 * built against and a worker loads only its own. Bumped on any change to the
 * layouts or signatures below; not for an optional symbol that a plugin
 * without it loads the same as before (jobd_plugin_runs_caller_code). */
#define JOBD_TASK_ABI_VERSION 1

/* The name of the one symbol a plugin must export. */
#define JOBD_PLUGIN_SYMBOL "jobd_plugin_tasks"

/* The name of the optional one that marks its tasks as code tasks (see
 * "Code tasks"). */
#define JOBD_PLUGIN_RUNS_CODE_SYMBOL "jobd_plugin_runs_caller_code"

/* Marks the exported function: visible even under -fvisibility=hidden. */
#define JOBD_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef struct jobd_output jobd_output;

/* Filled by the worker; a plugin only calls through it (see below). */
typedef struct jobd_output_ops {
  void (*append)(jobd_output* out, const char* data, size_t size);
  void (*error)(jobd_output* out, const char* message);
} jobd_output_ops;

/* One task's output, owned by the worker. Only `ops` is part of the ABI; a
 * plugin never creates, copies or keeps one. */
struct jobd_output {
  const jobd_output_ops* ops;
};

/* Appends `size` bytes (any bytes; `data` may be NULL when `size` is 0; NULL
 * with a size fails the task) to the task's result. */
static inline void jobd_output_append(jobd_output* out, const char* data, size_t size) {
  out->ops->append(out, data, size);
}

/* Marks the task failed with `message` (UTF-8 text, one line preferably;
 * NULL gives "task failed"). The first call wins. */
static inline void jobd_output_error(jobd_output* out, const char* message) {
  out->ops->error(out, message);
}

/* Runs one task: `args` are the task's arguments, as given to
 * `jobctl map NAME ARGS...` (one per task, for map). */
typedef void (*jobd_task_fn)(const char* const* args, size_t arg_count, jobd_output* out);

typedef struct jobd_task {
  const char* name;         /* unique among the worker's tasks; not empty */
  const char* description;  /* one line for `jobctl tasks`; NULL for none */
  jobd_task_fn run;         /* not NULL */
} jobd_task;

/* The symbol every plugin exports. Sets *abi_version to
 * JOBD_TASK_ABI_VERSION and *count to the number of tasks, and returns them
 * (see "Ownership"). Called once per worker, before any task runs. */
JOBD_PLUGIN_EXPORT const jobd_task* jobd_plugin_tasks(int* abi_version, size_t* count);

/* Its type, for dlsym(). */
typedef const jobd_task* (*jobd_plugin_tasks_fn)(int* abi_version, size_t* count);

/* Optional: defined (nonzero) only by a plugin whose tasks run code their
 * caller gives (see "Code tasks"). Read once per worker, at load; absent
 * means 0. */
JOBD_PLUGIN_EXPORT extern const int jobd_plugin_runs_caller_code;

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* JOBD_TASK_H_ */
