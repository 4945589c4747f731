/* jobd_fork_baseline: the bare fork() lower bound that bench/run sets beside
 * jobd. No daemon, no messages: one fork()ed child per task, at most WORKERS
 * at a time, the parent waiting with wait(). Prints one JSON object.
 *
 *   jobd_fork_baseline spin WORKERS TASKS MS
 *       TASKS children, each burning MS ms of CPU time exactly like jobd's
 *       built-in `spin` (process CPU clock, arithmetic between reads).
 *   jobd_fork_baseline sum N...
 *       one child per N, all at once, each computing jobd's `sum_to_num N`
 *       (the sum of 0..N+10, the loop kept from the optimizer); results are
 *       read in completion order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t Nanos(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void Spin(uint64_t ms) {
  const int64_t end = Nanos(CLOCK_PROCESS_CPUTIME_ID) + (int64_t)ms * 1000000;
  uint64_t work = 0;
  while (Nanos(CLOCK_PROCESS_CPUTIME_ID) < end) {
    for (int i = 0; i < 1000; ++i) {
      __asm__ volatile("" : "+r"(work));
      ++work;
    }
  }
}

static uint64_t SumToNum(uint64_t n) {
  const uint64_t last = n + 10;
  uint64_t sum = 0;
  for (uint64_t i = 0; i <= last; ++i) {
    __asm__ volatile("" : "+r"(i));
    sum += i;
  }
  return sum;
}

static uint64_t Number(const char* text) {
  char* end = NULL;
  errno = 0;
  const unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') {
    fprintf(stderr, "jobd_fork_baseline: not a number: %s\n", text);
    exit(2);
  }
  return (uint64_t)value;
}

static int WaitOne(void) {
  int status = 0;
  pid_t pid;
  do {
    pid = wait(&status);
  } while (pid < 0 && errno == EINTR);
  if (pid < 0) {
    perror("jobd_fork_baseline: wait");
    exit(1);
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int RunSpin(uint64_t workers, uint64_t tasks, uint64_t ms) {
  const int64_t start = Nanos(CLOCK_MONOTONIC);
  uint64_t running = 0;
  uint64_t failed = 0;
  for (uint64_t t = 0; t < tasks; ++t) {
    if (running == workers) {
      failed += !WaitOne();
      --running;
    }
    const pid_t pid = fork();
    if (pid < 0) {
      perror("jobd_fork_baseline: fork");
      return 1;
    }
    if (pid == 0) {
      Spin(ms);
      _exit(0);
    }
    ++running;
  }
  while (running > 0) {
    failed += !WaitOne();
    --running;
  }
  const double seconds = (double)(Nanos(CLOCK_MONOTONIC) - start) / 1e9;
  printf("{\"mode\":\"spin\",\"workers\":%" PRIu64 ",\"tasks\":%" PRIu64 ",\"ms\":%" PRIu64
         ",\"failed\":%" PRIu64 ",\"seconds\":%.6f}\n",
         workers, tasks, ms, failed, seconds);
  return failed == 0 ? 0 : 1;
}

static int RunSum(int count, char** numbers) {
  int fds[2];
  if (pipe(fds) != 0) {
    perror("jobd_fork_baseline: pipe");
    return 1;
  }
  const int64_t start = Nanos(CLOCK_MONOTONIC);
  for (int i = 0; i < count; ++i) {
    const uint64_t n = Number(numbers[i]);
    const pid_t pid = fork();
    if (pid < 0) {
      perror("jobd_fork_baseline: fork");
      return 1;
    }
    if (pid == 0) {
      close(fds[0]);
      const uint64_t sum = SumToNum(n);
      char line[64];
      /* One write of less than PIPE_BUF bytes: lines never interleave. */
      const int length = snprintf(line, sizeof line, "%d %" PRIu64 "\n", i, sum);
      _exit(write(fds[1], line, (size_t)length) == length ? 0 : 1);
    }
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  if (in == NULL) {
    perror("jobd_fork_baseline: fdopen");
    return 1;
  }
  printf("{\"mode\":\"sum\",\"order\":[");
  int index = 0;
  uint64_t sum = 0;
  int seen = 0;
  double last_seconds = 0;
  while (fscanf(in, "%d %" SCNu64, &index, &sum) == 2) {
    last_seconds = (double)(Nanos(CLOCK_MONOTONIC) - start) / 1e9;
    printf("%s{\"index\":%d,\"result\":\"%" PRIu64 "\",\"seconds\":%.6f}", seen ? "," : "",
           index, sum, last_seconds);
    ++seen;
  }
  fclose(in);
  int failed = 0;
  for (int i = 0; i < count; ++i) failed += !WaitOne();
  printf("],\"failed\":%d,\"seconds\":%.6f}\n", failed + (count - seen), last_seconds);
  return failed == 0 && seen == count ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "spin") == 0) {
    return RunSpin(Number(argv[2]), Number(argv[3]), Number(argv[4]));
  }
  if (argc >= 3 && strcmp(argv[1], "sum") == 0) return RunSum(argc - 2, argv + 2);
  fprintf(stderr,
          "usage: jobd_fork_baseline spin WORKERS TASKS MS\n"
          "       jobd_fork_baseline sum N...\n");
  return 2;
}
