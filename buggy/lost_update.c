/* lost_update - a race condition on a shared counter (lesson sections 8 and 8.1).
 *
 * Every thread increments one shared counter with no lock: worker(), lines 37-40 of buggy/
 * (the read, then the write marked BUG). `counter++` looks like one step but is three (read,
 * add one, write), so they are written out here. Two threads that read the same value both
 * write value+1, and one update is lost. `volatile` keeps every read and write in the loop;
 * it makes nothing atomic.
 *
 * The sched_yield between the read and the write stands for the preemption the scheduler
 * may make at any instruction. Left to chance, a short loop on a busy machine may never be
 * interrupted there, and the verdict would depend on luck; with it the interleaving of
 * section 8 happens on every run, on one core or many.
 *
 * The fix (fixed/lost_update.c, lines 31, 38 and 43) holds a mutex across read-add-write:
 * the critical section of section 8.1, safe even when the thread is preempted inside it. A
 * C11 atomic increment is a second fix, but Helgrind and DRD model only pthread sync (data
 * published through an atomic flag looks racy to them), so the programs use mutexes.
 *
 * Oracle: the final count must be threads * increments; a smaller one is a HAZARD (exit 1).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "hz_args.h"

static volatile long counter;
static pthread_barrier_t start;
static long increments;

static void *worker(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start);
  for (long i = 0; i < increments; i++) {
    long seen = counter; /* read */
    if (i % 64 == 0)
      sched_yield(); /* a preemption, here on purpose: see the top */
    counter = seen + 1; /* BUG: add and write back with no lock: overwrites concurrent updates */
  }
  return NULL;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"increments per thread", 100000, 4, false};
  hz_args_t a;
  pthread_t *threads;
  long expected;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  increments = a.size;
  expected = increments * a.threads;
  threads = calloc((size_t)a.threads, sizeof *threads);
  if (!threads || pthread_barrier_init(&start, NULL, (unsigned)a.threads) != 0) {
    fprintf(stderr, "lost_update: cannot set up %ld threads\n", a.threads);
    return 2;
  }
  for (long t = 0; t < a.threads; t++)
    if (pthread_create(&threads[t], NULL, worker, NULL) != 0) {
      fprintf(stderr, "lost_update: cannot create thread %ld\n", t);
      return 2;
    }
  for (long t = 0; t < a.threads; t++)
    pthread_join(threads[t], NULL);
  pthread_barrier_destroy(&start);
  free(threads);

  if (counter != expected) {
    printf("lost_update: HAZARD counter=%ld expected=%ld (%ld updates lost)\n", counter,
           expected, expected - counter);
    return 1;
  }
  printf("lost_update: OK counter=%ld expected=%ld\n", counter, expected);
  return 0;
}
