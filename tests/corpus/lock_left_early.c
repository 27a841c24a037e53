/* lock_left_early - a thread blocked in pthread_mutex_lock leaves it from a signal handler
 * with siglongjmp (undefined by POSIX, since the lock call is not async-signal-safe, but it
 * works with glibc), then runs on for 2.5 s.
 *
 *   lock_left_early join    main holds B; the worker blocks locking B; once it is inside the
 *                           futex wait (its /proc syscall file says so), main sends it SIGALRM,
 *                           whose handler leaves the lock call. main then joins the worker,
 *                           still holding B, while the worker computes and returns.
 *   lock_left_early cycle   the same, the worker holding A when it blocks on B; after sending
 *                           the signal, main locks A, which the worker releases once it has
 *                           computed: main waits 2.5 s for A, and it comes.
 * In both the worker no longer waits for B once the handler ran, whatever its thread's record
 * says: main's join, and main's wait for A, end after 2.5 s.
 * Expected verdict: join, no report; cycle, one potential deadlock (A -> B in the worker, B ->
 * A in main) and no deadlock; "done" printed in both; exit 0 and 66.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blocked_in.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static sigjmp_buf out_of_lock;
static volatile pid_t worker_tid;
static int holds_a;

static void on_alarm(int sig)
{
  (void)sig;
  siglongjmp(out_of_lock, 1);
}

static void compute(void)
{
  struct timespec t0, t1;

  clock_gettime(CLOCK_MONOTONIC, &t0);
  do
    clock_gettime(CLOCK_MONOTONIC, &t1);
  while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2500);
}

static void *worker(void *arg)
{
  (void)arg;
  if (holds_a)
    pthread_mutex_lock(&a);
  if (sigsetjmp(out_of_lock, 1) == 0) {
    worker_tid = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&b); /* main holds it: blocks until the signal */
    pthread_mutex_unlock(&b);
  }
  compute();
  if (holds_a)
    pthread_mutex_unlock(&a);
  return NULL;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "join";
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  holds_a = strcmp(mode, "cycle") == 0;
  if (corpus_on_alarm(on_alarm, 0) != 0)
    return 1;
  pthread_mutex_lock(&b);
  pthread_create(&t, NULL, worker, NULL);
  if (corpus_wait_blocked_in(&worker_tid, SYS_futex) != 0) {
    fprintf(stderr, "lock_left_early: the worker never blocked on B\n");
    return 1;
  }
  pthread_kill(t, SIGALRM);
  printf("lock_left_early: the worker left its lock of B (%s)\n", mode);
  if (holds_a) {
    pthread_mutex_lock(&a); /* the worker releases it after computing */
    pthread_mutex_unlock(&a);
  }
  pthread_join(t, NULL);
  pthread_mutex_unlock(&b);
  printf("lock_left_early: done\n");
  return 0;
}
