/* many_threads - benchmark: hundreds of short-lived threads taking shared locks.
 *
 * Thread pools that grow and shrink, and programs that spawn a thread per task, make a
 * detector register, track and retire thread after thread. The main thread creates -t
 * threads in waves of MT_WAVE; each takes -n nested pairs of the 16 * X shared locks (always
 * the lower index first) and exits; the main thread joins the wave before starting the next.
 *
 *   many_threads [-n pairs per thread] [-t threads in all] [-x X: 16 * X shared locks]
 *
 * Prints "many_threads: OK acquisitions=N ..." when the shared counters add up, FAIL and exit
 * status 1 otherwise. No atomics: Valgrind runs this.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "hz_args.h"

#define MT_WAVE 16

typedef struct {
  pthread_mutex_t mu;
  unsigned long count; /* guarded by mu */
} mt_cell_t;

typedef struct {
  mt_cell_t *cells;
  unsigned locks;
  unsigned first; /* where this thread's walk over the locks starts */
  unsigned long pairs;
  unsigned long acquisitions;
} mt_worker_t;

static void *mt_worker_run(void *arg) {
  mt_worker_t *w = arg;
  unsigned i = w->first;
  for (unsigned long k = 0; k < w->pairs; k++) {
    unsigned next = i + 1 == w->locks ? 0 : i + 1;
    unsigned a = i, b = next;
    if (a > b) {
      unsigned swap = a;
      a = b;
      b = swap;
    }
    bench_pair_count(&w->cells[a].mu, &w->cells[a].count, &w->cells[b].mu, &w->cells[b].count);
    w->acquisitions += 2;
    i = next;
  }
  return NULL;
}

int main(int argc, char **argv) {
  static const hz_args_spec_t spec = {.what_n = "nested pairs per thread", .n_default = 1000,
                                      .t_default = 400};
  hz_args_t args;
  hz_args_parse_or_exit(&args, argc, argv, &spec);
  unsigned nthreads = (unsigned)args.threads, locks = 16 * (unsigned)args.scale;
  mt_cell_t *cells = calloc(locks, sizeof(*cells));
  mt_worker_t *workers = calloc(nthreads, sizeof(*workers));
  if (!cells || !workers)
    return bench_setup_fail("many_threads", "out of memory");
  for (unsigned i = 0; i < locks; i++)
    pthread_mutex_init(&cells[i].mu, NULL);

  unsigned long acquisitions = 0;
  for (unsigned base = 0; base < nthreads; base += MT_WAVE) {
    pthread_t tids[MT_WAVE];
    unsigned wave = nthreads - base < MT_WAVE ? nthreads - base : MT_WAVE;
    for (unsigned j = 0; j < wave; j++)
      workers[base + j] = (mt_worker_t){.cells = cells, .locks = locks, .first = (base + j) % locks,
                                        .pairs = (unsigned long)args.n};
    if (bench_threads_start("many_threads", tids, wave, mt_worker_run, &workers[base],
                            sizeof(*workers)) != 0)
      return BENCH_EXIT_SETUP;
    bench_threads_join(tids, wave);
    for (unsigned j = 0; j < wave; j++)
      acquisitions += workers[base + j].acquisitions;
  }

  unsigned long counted = 0;
  for (unsigned i = 0; i < locks; i++) {
    counted += cells[i].count;
    pthread_mutex_destroy(&cells[i].mu);
  }
  int ok = bench_pairs_add_up(counted, acquisitions, args.n, nthreads);
  printf("many_threads: %s acquisitions=%lu threads=%u locks=%u counted=%lu\n",
         ok ? "OK" : "FAIL", acquisitions, nthreads, locks, counted);
  free(workers);
  free(cells);
  return ok ? 0 : 1;
}
