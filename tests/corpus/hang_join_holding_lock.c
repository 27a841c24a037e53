/* hang_join_holding_lock - a thread holds a lock and joins a thread that needs that lock.
 *
 * Checks: main takes `state` (LINE:main_takes_state), starts the worker, and joins it
 * (LINE:main_joins) without releasing `state`; the worker asks for `state`
 * (LINE:worker_wants_state) and blocks. A ticker thread keeps running (it sleeps 10 ms at a
 * time, forever), so the program as a whole is not idle: only the cycle through the join and
 * the lock says it is hung.
 * Expected verdict: a hang report "2 threads wait for each other through joins and locks",
 * naming main's join and the worker's wait for the lock; "done" never printed; exit 66.
 *
 *   hang_join_holding_lock timed   main's join is pthread_timedjoin_np with a deadline 2 s
 *                                  away; when it passes, main lets `state` go and joins for
 *                                  good. A timed join ends by itself: no hang, "done" printed
 *                                  (a stall report for `state`, held across the join while the
 *                                  worker waits for it; exit 66).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t state = PTHREAD_MUTEX_INITIALIZER;

static void *ticker(void *arg)
{
  struct timespec ts = {0, 10 * 1000 * 1000};

  (void)arg;
  for (;;)
    nanosleep(&ts, NULL);
  return NULL;
}

static void *worker(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&state); /* LINE:worker_wants_state */
  pthread_mutex_unlock(&state);
  return NULL;
}

int main(int argc, char **argv)
{
  pthread_t tick, t;
  int timed = argc > 1 && strcmp(argv[1], "timed") == 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&tick, NULL, ticker, NULL);
  pthread_mutex_lock(&state); /* LINE:main_takes_state */
  pthread_create(&t, NULL, worker, NULL);
  printf("hang_join_holding_lock: joining the worker\n");
  if (timed) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    int rc = pthread_timedjoin_np(t, NULL, &deadline);
    pthread_mutex_unlock(&state);
    if (rc == ETIMEDOUT)
      pthread_join(t, NULL);
    printf("hang_join_holding_lock: done\n");
    return 0;
  }
  pthread_join(t, NULL); /* LINE:main_joins */
  pthread_mutex_unlock(&state);
  printf("hang_join_holding_lock: done\n");
  return 0;
}
