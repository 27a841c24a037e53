/* many_locks - benchmark: one thread walks a very large set of mutexes in pairs, many rounds.
 *
 * Programs with a lock per object (a lock per hash bucket, per file, per connection) have
 * hundreds of thousands of locks. Each round takes (m[i], m[i+1]) for every i in order, so
 * the lock-order graph is one long chain of 1000 * X - 1 edges, learned in the first round and
 * only revisited afterwards. A detector whose cost grows with the number of locks, or whose
 * table has a cap, shows it here. Each lock sits in a cell of its own, S bytes from the next
 * (-s; by default the cells are packed, 48 bytes): a lock per object of S bytes, which shows
 * what a detector's memory costs when the locks are spread out rather than in one array.
 *
 *   many_locks [-n rounds] [-x X: 1000 * X locks] [-s S: bytes per cell, a multiple of 8]
 *   (-t, if given, must be 1)
 *
 * Prints "many_locks: OK acquisitions=N ... work_ns=T" (T: nanoseconds from the locks'
 * creation to their destruction) when every pair counter holds the number of
 * rounds, FAIL and exit status 1 otherwise. One thread, no atomics: Valgrind runs this.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "hz_args.h"

typedef struct {
  pthread_mutex_t mu;
  unsigned long count; /* guarded by mu */
} ml_cell_t;

int main(int argc, char **argv) {
  static const hz_args_spec_t spec = {.what_n = "rounds over all the locks", .n_default = 20,
                                      .t_default = 1};
  static const hz_args_spacing_t spacing_spec = {.what_s = "bytes from one lock's cell to the next",
                                                 .s_min = sizeof(ml_cell_t),
                                                 .s_default = sizeof(ml_cell_t)};
  hz_args_t args;
  hz_args_parse_spaced_or_exit(&args, argc, argv, &spec, &spacing_spec);
  if (args.threads != 1) {
    fprintf(stderr, "many_locks: -t %ld: this workload runs one thread (-t 1)\n", args.threads);
    return 2;
  }
  if (args.spacing % 8 != 0) {
    fprintf(stderr, "many_locks: -s %ld: the spacing must be a multiple of 8 bytes\n",
            args.spacing);
    return 2;
  }
  unsigned long locks = 1000UL * (unsigned long)args.scale, rounds = (unsigned long)args.n;
  size_t spacing = (size_t)args.spacing;
  char *mem = spacing <= SIZE_MAX / locks ? malloc(spacing * locks) : NULL;
#define CELL(i) ((ml_cell_t *)(mem + (size_t)(i) * spacing))
  if (!mem) {
    fprintf(stderr, "many_locks: out of memory for %lu locks %zu bytes apart\n", locks, spacing);
    return 2;
  }
  unsigned long long t0 = bench_now_ns();
  for (unsigned long i = 0; i < locks; i++) {
    pthread_mutex_init(&CELL(i)->mu, NULL);
    CELL(i)->count = 0;
  }

  unsigned long acquisitions = 0;
  for (unsigned long r = 0; r < rounds; r++) {
    for (unsigned long i = 0; i + 1 < locks; i++) {
      pthread_mutex_lock(&CELL(i)->mu);
      pthread_mutex_lock(&CELL(i + 1)->mu);
      CELL(i)->count++;
      pthread_mutex_unlock(&CELL(i + 1)->mu);
      pthread_mutex_unlock(&CELL(i)->mu);
      acquisitions += 2;
    }
  }

  int ok = acquisitions == 2 * rounds * (locks - 1);
  for (unsigned long i = 0; i < locks; i++) {
    ok = ok && CELL(i)->count == (i + 1 < locks ? rounds : 0);
    pthread_mutex_destroy(&CELL(i)->mu);
  }
  unsigned long long work_ns = bench_now_ns() - t0;
  printf("many_locks: %s acquisitions=%lu locks=%lu rounds=%lu edges=%lu spacing=%zu "
         "work_ns=%llu\n",
         ok ? "OK" : "FAIL", acquisitions, locks, rounds, locks - 1, spacing, work_ns);
  free(mem);
  return ok ? 0 : 1;
}
