/* bench_util.h - what several bench workloads share: starting and joining their worker
 * threads, taking a nested pair of counted locks, and the setup-failure exit.
 *
 * Header-only (static inline): cmake/variants.cmake builds every .c file in bench/ as a
 * program of its own, so a shared .c file here would become a program too. Workloads build
 * with -O2, so these inline into the measured loops and change nothing a detector sees.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* Exit status of a workload that could not set itself up, as for a bad option. */
#define BENCH_EXIT_SETUP 2

/* Prints "<workload>: <what>" on stderr; returns BENCH_EXIT_SETUP for main to return. */
static inline int bench_setup_fail(const char *workload, const char *what) {
  fprintf(stderr, "%s: %s\n", workload, what);
  return BENCH_EXIT_SETUP;
}

/* Starts n threads, thread t running run(workers + t * size). Returns 0, or the negative
 * error of the first pthread_create that failed after printing one line; the threads
 * already started keep running, so the caller should exit. */
static inline int bench_threads_start(const char *workload, pthread_t *tids, unsigned n,
                                      void *(*run)(void *), void *workers, size_t size) {
  for (unsigned t = 0; t < n; t++) {
    int rc = pthread_create(&tids[t], NULL, run, (char *)workers + (size_t)t * size);
    if (rc != 0) {
      fprintf(stderr, "%s: pthread_create failed\n", workload);
      return -rc;
    }
  }
  return 0;
}

static inline void bench_threads_join(const pthread_t *tids, unsigned n) {
  for (unsigned t = 0; t < n; t++)
    pthread_join(tids[t], NULL);
}

/* Takes a, then b nested under it, adds one to each count while holding both, and releases
 * them in reverse order: two acquisitions and one lock-order edge a -> b. */
static inline void bench_pair_count(pthread_mutex_t *a, unsigned long *a_count, pthread_mutex_t *b,
                                    unsigned long *b_count) {
  pthread_mutex_lock(a);
  pthread_mutex_lock(b);
  (*a_count)++;
  (*b_count)++;
  pthread_mutex_unlock(b);
  pthread_mutex_unlock(a);
}

/* Monotonic nanoseconds. A workload reads it before creating its locks and after destroying
 * them and prints the difference as work_ns=: the time its locks cost, without the process's
 * start and exit (and a preloaded detector's set-up and exit summary), which a run of a few
 * milliseconds could not otherwise tell apart from the work. */
static inline unsigned long long bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* Whether a run of nested pairs added up: nthreads threads took `pairs` pairs each, and
 * both the counts under the locks and the threads' own tallies saw two acquisitions a pair. */
static inline int bench_pairs_add_up(unsigned long counted, unsigned long acquisitions, long pairs,
                                     unsigned nthreads) {
  unsigned long expected = 2UL * (unsigned long)pairs * nthreads;
  return counted == expected && acquisitions == expected;
}

#endif
