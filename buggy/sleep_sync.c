/* sleep_sync - a test that waits for its workers with a sleep (lesson section 31).
 *
 * The test starts workers that each score n cases and publish how many they scored and the
 * total (lines 49-50), sleeps (line 75, marked BUG) and then checks what they published: the
 * lesson's "time.sleep(0.1); assert something". Nothing orders the workers' writes before the
 * test's reads; the sleep only makes it likely that they are done. Usually they are and the
 * test passes. That is the trap: a loaded CI runner, a slower machine or a larger input fails
 * it, now and then. With the lesson's 100 ms this program failed about 1 run in 100 on a busy
 * 2-core machine: a flaky test, which is the hazard, but the matrix needs a stable verdict, so
 * it sleeps a whole second and its default run passes (exit 0): the oracle misses it, as a
 * test suite would for months. On one core with more work than a second allows
 * (taskset -c 0 ... -t 4 -n 1000000000) the same program fails.
 *
 * The race is there on every run whatever the timing, and the race detectors see it every
 * time: TSan reports it with "As if synchronized via sleep", Helgrind and DRD report the
 * conflicting accesses.
 *
 * The fix (fixed/, lines 75-76): the test waits for the workers themselves (pthread_join)
 * before it looks, instead of sleeping: section 31's "use event/queue synchronization". It
 * cannot be too short, and it takes as long as the work, not a guessed second.
 *
 * Oracle: every worker's published count and total, as the test saw them, must be n and the
 * total computed again after the join; anything else is a HAZARD (exit 1).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hz_args.h"

typedef struct worker {
  pthread_t thread;
  long scored; /* published by the worker when it is done */
  long total;
} worker_t;

static long cases;

static long score_of(long id) { return (long)((unsigned long)id * 2654435761UL % 1000); }

static void *score_cases(void *arg)
{
  worker_t *w = arg;
  long sum = 0;

  for (long id = 0; id < cases; id++)
    sum += score_of(id);
  w->total = sum; /* published for the test to check */
  w->scored = cases;
  return NULL;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"cases each worker scores", 1000, 2, false};
  hz_args_t a;
  worker_t *workers;
  long expected = 0, wrong = -1, seen_scored = 0, seen_total = 0;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  cases = a.size;
  for (long id = 0; id < cases; id++)
    expected += score_of(id); /* what the test expects every worker to publish */
  workers = calloc((size_t)a.threads, sizeof *workers);
  if (!workers) {
    fprintf(stderr, "sleep_sync: cannot set up %ld workers\n", a.threads);
    return 2;
  }
  for (long t = 0; t < a.threads; t++)
    if (pthread_create(&workers[t].thread, NULL, score_cases, &workers[t]) != 0) {
      fprintf(stderr, "sleep_sync: cannot create worker %ld\n", t);
      return 2;
    }
  sleep(1); /* BUG: a sleep is not a wait: nothing says the workers are done */
  for (long t = 0; t < a.threads; t++) /* the test's assertion */
    if (wrong < 0 && (workers[t].scored != cases || workers[t].total != expected)) {
      wrong = t;
      seen_scored = workers[t].scored;
      seen_total = workers[t].total;
    }
  for (long t = 0; t < a.threads; t++)
    pthread_join(workers[t].thread, NULL);
  free(workers);

  if (wrong >= 0) {
    printf("sleep_sync: HAZARD when the test looked, worker %ld had scored %ld of %ld cases "
           "(total %ld, want %ld)\n", wrong, seen_scored, cases, seen_total, expected);
    return 1;
  }
  printf("sleep_sync: OK when the test looked, all %ld workers had scored their %ld cases "
         "(total %ld)\n", a.threads, cases, expected);
  return 0;
}
