/* wait_left_early - a thread leaves a blocking read before it returns, then runs on.
 *
 *   wait_left_early cancel     main cancels the worker inside the read; the worker's cleanup
 *                              handler (pthread_cleanup_push in C: entered by longjmp) then
 *                              computes for 2.5 s before the thread ends
 *   wait_left_early longjmp    main sends the worker SIGALRM inside the read; the handler
 *                              leaves it with siglongjmp, and the worker computes for 2.5 s
 *                              and returns
 *   wait_left_early setcontext the same, the handler leaving with setcontext (which, unlike
 *                              siglongjmp, runs none of glibc's cleanup buffers on the way)
 *   wait_left_early deeper     the handler leaves with siglongjmp, and the worker then reads
 *                              (LINE:deeper_read), from deeper on its stack, a pipe made
 *                              before a fork: the child process writes it after 2.5 s. The
 *                              worker is blocked, but in a wait the outside ends, not in the
 *                              read it left
 * Both read a pipe the program made that nobody writes; once the worker is inside the read
 * (its /proc syscall file says so), main acts, then joins it. While the worker computes, main
 * is blocked in a join that only the worker can end: the worker is running, not blocked, so
 * this is no hang, although the read it left never returned.
 * Expected verdict: no report; "done" printed; exit 0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "blocked_in.h"

static int fds[2];
static volatile pid_t worker_tid;
static sigjmp_buf out_of_read;
static ucontext_t before_read;
static volatile int use_setcontext, go_deeper, left;
static int child_pipe[2]; /* made before the fork: the child writes it */

static void compute(void *arg)
{
  struct timespec a, b;

  (void)arg;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do
    clock_gettime(CLOCK_MONOTONIC, &b);
  while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 2500);
}

static void on_alarm(int sig)
{
  (void)sig;
  left = 1;
  if (use_setcontext)
    setcontext(&before_read);
  siglongjmp(out_of_read, 1);
}

static void *cancelled_worker(void *arg)
{
  char c;

  (void)arg;
  pthread_cleanup_push(compute, NULL);
  worker_tid = (pid_t)syscall(SYS_gettid);
  if (read(fds[0], &c, 1) < 0)
    perror("read");
  pthread_cleanup_pop(0);
  return NULL;
}

/* A read from further down the stack than the one the handler left (the buffer keeps the
 * frame big). */
static __attribute__((noinline)) void deeper_read(int depth)
{
  char buf[8192];

  memset(buf, 0, sizeof buf);
  if (depth < 2) {
    deeper_read(depth + 1);
    return;
  }
  if (read(child_pipe[0], buf, 1) != 1) /* LINE:deeper_read */
    perror("read");
}

static void *jumping_worker(void *arg)
{
  char c;

  (void)arg;
  if (use_setcontext) {
    getcontext(&before_read); /* the handler comes back here, with left set */
    if (!left) {
      worker_tid = (pid_t)syscall(SYS_gettid);
      if (read(fds[0], &c, 1) < 0)
        perror("read");
    }
  } else if (sigsetjmp(out_of_read, 1) == 0) {
    worker_tid = (pid_t)syscall(SYS_gettid);
    if (read(fds[0], &c, 1) < 0)
      perror("read");
  }
  if (go_deeper)
    deeper_read(0);
  else
    compute(NULL);
  return NULL;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "cancel";
  int cancel = strcmp(mode, "cancel") == 0;
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  use_setcontext = strcmp(mode, "setcontext") == 0;
  go_deeper = strcmp(mode, "deeper") == 0;
  pid_t child = -1;
  if (go_deeper) {
    if (pipe(child_pipe) != 0 || (child = fork()) < 0)
      return 1;
    if (child == 0) {
      struct timespec later = {2, 500 * 1000 * 1000};
      nanosleep(&later, NULL);
      _exit(write(child_pipe[1], "x", 1) == 1 ? 0 : 1);
    }
  }
  if (pipe(fds) != 0) /* after the fork: only this process can write it */
    return 1;
  if (corpus_on_alarm(on_alarm, 0) != 0)
    return 1;
  pthread_create(&t, NULL, cancel ? cancelled_worker : jumping_worker, NULL);
  if (corpus_wait_blocked_in(&worker_tid, SYS_read) != 0) {
    fprintf(stderr, "wait_left_early: the worker never blocked in read\n");
    return 1;
  }
  if (cancel)
    pthread_cancel(t);
  else
    pthread_kill(t, SIGALRM);
  printf("wait_left_early: the worker left its read (%s); joining it\n", mode);
  pthread_join(t, NULL);
  if (child > 0)
    waitpid(child, NULL, 0);
  printf("wait_left_early: done\n");
  return 0;
}
