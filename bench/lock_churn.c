/* lock_churn - benchmark: mutexes created, locked and destroyed in a loop, addresses reused.
 *
 * Short-lived objects with a lock inside (a request, a node of a list) make a detector see a
 * new lock at an old address over and over. Each iteration initializes a mutex in one of 8 * X
 * slots, takes it under the thread's long-lived outer lock, and destroys it, so every
 * iteration adds one node and one edge (outer -> slot) that the destroy must retire again.
 * This is the detector's worst case: every acquisition of a slot is a lock it has never seen.
 *
 *   lock_churn [-n iterations per thread] [-t threads] [-x X: 8 * X slots per thread]
 *
 * Prints "lock_churn: OK acquisitions=N ..." when every thread's counters add up, FAIL and
 * exit status 1 otherwise. No atomics: Valgrind runs this.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "hz_args.h"

typedef struct {
  pthread_mutex_t outer;
  pthread_mutex_t *slots;
  unsigned long *slot_counts; /* slot_counts[s] is guarded by slots[s] while it exists */
  unsigned nslots;
  unsigned long iterations;
  unsigned long acquisitions;
} lc_worker_t;

static void *lc_worker_run(void *arg) {
  lc_worker_t *w = arg;
  unsigned s = 0;
  for (unsigned long k = 0; k < w->iterations; k++) {
    pthread_mutex_t *m = &w->slots[s];
    pthread_mutex_init(m, NULL);
    pthread_mutex_lock(&w->outer);
    pthread_mutex_lock(m);
    w->slot_counts[s]++;
    pthread_mutex_unlock(m);
    pthread_mutex_unlock(&w->outer);
    pthread_mutex_destroy(m);
    w->acquisitions += 2;
    if (++s == w->nslots)
      s = 0;
  }
  return NULL;
}

int main(int argc, char **argv) {
  static const hz_args_spec_t spec = {.what_n = "iterations per thread", .n_default = 500000,
                                      .t_default = 2};
  hz_args_t args;
  hz_args_parse_or_exit(&args, argc, argv, &spec);
  unsigned nthreads = (unsigned)args.threads, nslots = 8 * (unsigned)args.scale;
  lc_worker_t *workers = calloc(nthreads, sizeof(*workers));
  pthread_t *tids = calloc(nthreads, sizeof(*tids));
  if (!workers || !tids)
    return bench_setup_fail("lock_churn", "out of memory");
  for (unsigned t = 0; t < nthreads; t++) {
    lc_worker_t *w = &workers[t];
    w->slots = calloc(nslots, sizeof(*w->slots));
    w->slot_counts = calloc(nslots, sizeof(*w->slot_counts));
    if (!w->slots || !w->slot_counts)
      return bench_setup_fail("lock_churn", "out of memory");
    pthread_mutex_init(&w->outer, NULL);
    w->nslots = nslots;
    w->iterations = (unsigned long)args.n;
  }
  if (bench_threads_start("lock_churn", tids, nthreads, lc_worker_run, workers,
                          sizeof(*workers)) != 0)
    return BENCH_EXIT_SETUP;
  bench_threads_join(tids, nthreads);

  unsigned long acquisitions = 0;
  int ok = 1;
  for (unsigned t = 0; t < nthreads; t++) {
    lc_worker_t *w = &workers[t];
    acquisitions += w->acquisitions;
    unsigned long sum = 0;
    for (unsigned s = 0; s < nslots; s++)
      sum += w->slot_counts[s];
    ok = ok && sum == w->iterations && w->acquisitions == 2 * w->iterations;
    pthread_mutex_destroy(&w->outer);
    free(w->slots);
    free(w->slot_counts);
  }
  printf("lock_churn: %s acquisitions=%lu threads=%u slots=%u locks_created=%lu\n",
         ok ? "OK" : "FAIL", acquisitions, nthreads, nslots, (unsigned long)args.n * nthreads);
  free(tids);
  free(workers);
  return ok ? 0 : 1;
}
