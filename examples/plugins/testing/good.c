/* A well-formed test plugin (tests/unit/worker/plugin_loader_test.cc). */
#define _POSIX_C_SOURCE 200809L /* getpid, unlink, sigaction in strict C11 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd/task.h"

/* Its arguments joined by single spaces; checks the NULL after the last. */
static void t_echo(const char* const* args, size_t arg_count, jobd_output* out) {
  if (args[arg_count] != NULL) {
    jobd_output_error(out, "args[arg_count] is not NULL");
    return;
  }
  for (size_t i = 0; i < arg_count; ++i) {
    if (i > 0) jobd_output_append(out, " ", 1);
    jobd_output_append(out, args[i], strlen(args[i]));
  }
}

/* Fails with its first argument, or with NULL (the default message). */
static void t_fail(const char* const* args, size_t arg_count, jobd_output* out) {
  jobd_output_append(out, "partial", 7);
  jobd_output_error(out, arg_count > 0 ? args[0] : NULL);
  jobd_output_error(out, "second error, ignored");
  jobd_output_append(out, "ignored", 7);
}

/* N bytes of 'x', appended in chunks of up to 1000. */
static void t_bytes(const char* const* args, size_t arg_count, jobd_output* out) {
  if (arg_count != 1) {
    jobd_output_error(out, "t_bytes takes 1 argument (N)");
    return;
  }
  static char chunk[1000];
  memset(chunk, 'x', sizeof chunk);
  unsigned long long n = strtoull(args[0], NULL, 10);
  while (n > 0) {
    const size_t size = n < sizeof chunk ? (size_t)n : sizeof chunk;
    jobd_output_append(out, chunk, size);
    n -= size;
  }
}

/* Dies of SIGSEGV, whatever handler a sanitizer installed. */
static void t_crash(const char* const* args, size_t arg_count, jobd_output* out) {
  (void)args;
  (void)arg_count;
  (void)out;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, NULL);
  sigset_t segv;
  sigemptyset(&segv);
  sigaddset(&segv, SIGSEGV);
  sigprocmask(SIG_UNBLOCK, &segv, NULL);
  raise(SIGSEGV);
  abort();
}

/* Counts its calls in this process: state kept between tasks. */
static void t_count(const char* const* args, size_t arg_count, jobd_output* out) {
  (void)args;
  (void)arg_count;
  static unsigned calls = 0;
  char text[32];
  const int n = snprintf(text, sizeof text, "%u", ++calls);
  jobd_output_append(out, text, (size_t)n);
}

static const jobd_task kTasks[] = {
    {"t_echo", "joins its arguments", t_echo},
    {"t_fail", "fails with ARG", t_fail},
    {"t_bytes", "N bytes of x", t_bytes},
    {"t_crash", "dies of SIGSEGV", t_crash},
    {"t_count", NULL, t_count},
};

JOBD_PLUGIN_EXPORT const jobd_task* jobd_plugin_tasks(int* abi_version, size_t* count) {
  *abi_version = JOBD_TASK_ABI_VERSION;
  *count = sizeof kTasks / sizeof kTasks[0];
  return kTasks;
}
