/* bench_queue.h - what the two queue workloads share, so that their rows compare: the run's
 * options and arrays, the work each item gets, the consumers' tally, and the end-of-run check
 * and line. work_queue passes items through a ring under a mutex and two condition variables,
 * pipe_queue through a pipe; everything but the queue itself is here, the same for both.
 *
 *   <workload> [-n items] [-t consumers] [-x X: 400 * X work rounds per item]
 *
 * Header-only (static inline), for the reason bench_util.h gives. No atomics: Valgrind runs
 * both workloads.
 */
#ifndef BENCH_QUEUE_H
#define BENCH_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hz_args.h"

#define BENCH_QUEUE_WORDS 64
#define BENCH_QUEUE_DONE UINT64_MAX /* the item that tells a consumer to stop */

/* One run: its options, and what main keeps for the check. */
typedef struct bench_queue_run {
  unsigned nconsumers;
  unsigned long nitems, rounds;
  unsigned char *seen; /* per item: seen[i] is written only by the consumer that took item i */
  uint64_t *result;    /* per item: its work's result */
  pthread_t *tids;     /* per consumer */
} bench_queue_run_t;

/* Parses the options (exits on a bad one, as every workload does) and allocates the arrays.
 * Returns 0, or -1 when memory ran out (bench_queue_run_free still applies). */
static inline int bench_queue_run_init(bench_queue_run_t *r, int argc, char **argv) {
  static const hz_args_spec_t spec = {.what_n = "items", .n_default = 100000, .t_default = 1};
  hz_args_t args;
  hz_args_parse_or_exit(&args, argc, argv, &spec);
  r->nconsumers = (unsigned)args.threads;
  r->nitems = (unsigned long)args.n;
  r->rounds = 400UL * (unsigned long)args.scale;
  r->seen = calloc(r->nitems + 1, 1);
  r->result = calloc(r->nitems + 1, sizeof(*r->result));
  r->tids = calloc(r->nconsumers, sizeof(*r->tids));
  return r->seen && r->result && r->tids ? 0 : -1;
}

static inline void bench_queue_run_free(bench_queue_run_t *r) {
  free(r->tids);
  free(r->result);
  free(r->seen);
}

/* The work per item: fill a buffer from the item, then stir it `rounds` times (memory traffic,
 * not only arithmetic in registers, as real work has). Returns the item's result. */
static inline uint64_t bench_queue_item_work(uint64_t item, unsigned long rounds) {
  uint64_t buf[BENCH_QUEUE_WORDS];
  for (unsigned i = 0; i < BENCH_QUEUE_WORDS; i++)
    buf[i] = item * 0x9e3779b97f4a7c15ULL + i;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned long r = 0; r < rounds; r++) {
    unsigned i = (unsigned)(h % BENCH_QUEUE_WORDS);
    h = (h ^ buf[i]) * 0x100000001b3ULL;
    buf[(i + 1) % BENCH_QUEUE_WORDS] ^= h >> 7;
  }
  return h;
}

/* A consumer's share of the run: each workload's consumer record starts with one. */
typedef struct bench_queue_tally {
  unsigned char *seen;
  uint64_t *result;
  unsigned long rounds;
  unsigned long items; /* items this consumer took */
  unsigned long calls; /* what the workload counts per consumer: lock acquisitions, or reads */
} bench_queue_tally_t;

static inline bench_queue_tally_t bench_queue_tally_of(const bench_queue_run_t *r) {
  return (bench_queue_tally_t){.seen = r->seen, .result = r->result, .rounds = r->rounds};
}

/* The consumer c took item: its work done, its result and its seen flag written. */
static inline void bench_queue_take(bench_queue_tally_t *c, uint64_t item) {
  c->seen[item]++;
  c->result[item] = bench_queue_item_work(item, c->rounds);
  c->items++;
}

/* Joins the consumer threads, whose records (`size` bytes each, from `consumers`) start with
 * their tally; adds their calls to *calls and returns how many items they took in all. */
static inline unsigned long bench_queue_join(const bench_queue_run_t *r, const void *consumers,
                                             size_t size, unsigned long *calls) {
  unsigned long consumed = 0;
  for (unsigned t = 0; t < r->nconsumers; t++) {
    pthread_join(r->tids[t], NULL);
    const bench_queue_tally_t *c =
        (const bench_queue_tally_t *)((const char *)consumers + (size_t)t * size);
    *calls += c->calls;
    consumed += c->items;
  }
  return consumed;
}

/* The end of a run: checks that the consumers took each item exactly once (its seen flag,
 * and `consumed` in all) and prints the line the bench scripts read, "<workload>: OK
 * acquisitions=N ..." or FAIL, N being `calls` (the unit the bench table divides by). Returns
 * whether the run was right; `ok` false (the workload's own failure) makes it FAIL too. */
static inline int bench_queue_finish(const char *workload, const bench_queue_run_t *r, int ok,
                                     unsigned long calls, unsigned long consumed) {
  ok = ok && consumed == r->nitems;
  uint64_t checksum = 0;
  for (unsigned long i = 0; i < r->nitems; i++) {
    ok = ok && r->seen[i] == 1;
    checksum += r->result[i];
  }
  printf("%s: %s acquisitions=%lu items=%lu consumers=%u rounds=%lu checksum=%016llx\n", workload,
         ok ? "OK" : "FAIL", calls, consumed, r->nconsumers, r->rounds,
         (unsigned long long)checksum);
  return ok;
}

#endif
