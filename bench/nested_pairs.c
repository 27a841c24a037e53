/* nested_pairs - benchmark: threads take nested pairs of mutexes, always lower index first.
 *
 * The lock-order detector's common case: a few threads, a fixed set of locks, every
 * acquisition nested under another one, orders always consistent (no report is expected).
 * After the first pass over the pairs every edge is known, so a detector's per-acquisition
 * fast path is what this measures.
 *
 * Each thread walks the pairs (a, b), a < b, of the 64 * X locks in a fixed order, starting at
 * its own offset so threads meet on shared locks without marching in step; the walk wraps
 * around, so -n larger than the number of pairs revisits known edges only. X therefore sets
 * how many lock-order edges there are to learn: 64 * X * (64 * X - 1) / 2.
 *
 *   nested_pairs [-n pairs per thread] [-t threads] [-x X: 64 * X locks]
 *
 * Prints "nested_pairs: OK acquisitions=N ... work_ns=T" (T: nanoseconds from the locks'
 * creation to their destruction, threads included) and exits 0 when every protected counter holds
 * what the threads added; prints FAIL and exits 1 otherwise. No atomics: Valgrind runs this.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "hz_args.h"

typedef struct {
  pthread_mutex_t mu;
  unsigned long count; /* guarded by mu */
} __attribute__((aligned(64))) np_cell_t;

typedef struct {
  np_cell_t *cells;
  unsigned locks;
  unsigned long pairs;      /* pairs this thread takes */
  unsigned long start_pair; /* where its walk starts */
  unsigned long acquisitions;
} np_worker_t;

/* The pair with rank r in the order (0,1), (0,2), ..., (0,L-1), (1,2), ... */
static void np_pair_at(unsigned locks, unsigned long r, unsigned *a, unsigned *b) {
  unsigned i = 0;
  unsigned long row = locks - 1;
  while (r >= row) {
    r -= row;
    i++;
    row--;
  }
  *a = i;
  *b = i + 1 + (unsigned)r;
}

static void *np_worker_run(void *arg) {
  np_worker_t *w = arg;
  unsigned a, b;
  np_pair_at(w->locks, w->start_pair, &a, &b);
  for (unsigned long k = 0; k < w->pairs; k++) {
    bench_pair_count(&w->cells[a].mu, &w->cells[a].count, &w->cells[b].mu, &w->cells[b].count);
    w->acquisitions += 2;
    /* Next pair in rank order without recomputing the rank. */
    if (++b == w->locks) {
      if (++a == w->locks - 1)
        a = 0;
      b = a + 1;
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  static const hz_args_spec_t spec = {
      .what_n = "nested pairs per thread", .n_default = 2000000, .t_default = 2};
  hz_args_t args;
  hz_args_parse_or_exit(&args, argc, argv, &spec);
  if (args.scale > 1024) {
    fprintf(stderr, "nested_pairs: -x %ld: at most 1024 (64 * X locks)\n", args.scale);
    return 2;
  }
  unsigned locks = 64 * (unsigned)args.scale, nthreads = (unsigned)args.threads;
  unsigned long total_pairs = (unsigned long)locks * (locks - 1) / 2;

  np_cell_t *cells = aligned_alloc(64, sizeof(np_cell_t) * locks);
  np_worker_t *workers = calloc(nthreads, sizeof(*workers));
  pthread_t *tids = calloc(nthreads, sizeof(*tids));
  if (!cells || !workers || !tids)
    return bench_setup_fail("nested_pairs", "out of memory");
  unsigned long long t0 = bench_now_ns();
  for (unsigned i = 0; i < locks; i++) {
    pthread_mutex_init(&cells[i].mu, NULL);
    cells[i].count = 0;
  }
  for (unsigned t = 0; t < nthreads; t++)
    workers[t] = (np_worker_t){.cells = cells, .locks = locks, .pairs = (unsigned long)args.n,
                               .start_pair = total_pairs * t / nthreads};
  if (bench_threads_start("nested_pairs", tids, nthreads, np_worker_run, workers,
                          sizeof(*workers)) != 0)
    return BENCH_EXIT_SETUP;
  bench_threads_join(tids, nthreads);
  unsigned long acquisitions = 0, counted = 0;
  for (unsigned t = 0; t < nthreads; t++)
    acquisitions += workers[t].acquisitions;
  for (unsigned i = 0; i < locks; i++) {
    counted += cells[i].count;
    pthread_mutex_destroy(&cells[i].mu);
  }
  unsigned long long work_ns = bench_now_ns() - t0;
  int ok = bench_pairs_add_up(counted, acquisitions, args.n, nthreads);
  printf("nested_pairs: %s acquisitions=%lu threads=%u locks=%u lock_pairs=%lu counted=%lu "
         "work_ns=%llu\n",
         ok ? "OK" : "FAIL", acquisitions, nthreads, locks, total_pairs, counted, work_ns);
  free(tids);
  free(workers);
  free(cells);
  return ok ? 0 : 1;
}
