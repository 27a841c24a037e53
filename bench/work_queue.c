/* work_queue - benchmark: a bounded producer/consumer queue doing real work per item.
 *
 * The shape most servers have: one mutex and two condition variables (not_full, not_empty)
 * around a ring buffer, the main thread producing item numbers, -t consumer threads taking
 * them and doing 400 * X rounds of hashing over a small buffer per item. Locking is a small
 * share of the run, so a detector's cost here should be close to nothing.
 *
 *   work_queue [-n items] [-t consumers] [-x X: 400 * X work rounds per item]
 *
 * Checks that every item was consumed exactly once (a seen-flag per item, and the count);
 * prints "work_queue: OK acquisitions=N ..." (N counts pthread_mutex_lock calls, the
 * re-acquisitions inside pthread_cond_wait not included) or FAIL and exit status 1.
 * No atomics: Valgrind runs this.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench_queue.h"
#include "bench_util.h"

#define WQ_CAPACITY 16

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t not_full;
  pthread_cond_t not_empty;
  uint64_t ring[WQ_CAPACITY]; /* guarded by mu, as are head and len */
  unsigned head, len;
} wq_queue_t;

typedef struct {
  bench_queue_tally_t tally; /* first: bench_queue_join reads it; calls counts acquisitions */
  wq_queue_t *q;
} wq_consumer_t;

static void wq_queue_push(wq_queue_t *q, uint64_t item) {
  pthread_mutex_lock(&q->mu);
  while (q->len == WQ_CAPACITY)
    pthread_cond_wait(&q->not_full, &q->mu);
  q->ring[(q->head + q->len) % WQ_CAPACITY] = item;
  q->len++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}

static uint64_t wq_queue_pop(wq_queue_t *q) {
  pthread_mutex_lock(&q->mu);
  while (q->len == 0)
    pthread_cond_wait(&q->not_empty, &q->mu);
  uint64_t item = q->ring[q->head];
  q->head = (q->head + 1) % WQ_CAPACITY;
  q->len--;
  pthread_cond_signal(&q->not_full);
  pthread_mutex_unlock(&q->mu);
  return item;
}

static void *wq_consumer_run(void *arg) {
  wq_consumer_t *c = arg;
  for (;;) {
    uint64_t item = wq_queue_pop(c->q);
    c->tally.calls++;
    if (item == BENCH_QUEUE_DONE)
      break;
    bench_queue_take(&c->tally, item);
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_queue_run_t r;
  int ready = bench_queue_run_init(&r, argc, argv) == 0;
  wq_queue_t q = {.head = 0, .len = 0};
  pthread_mutex_init(&q.mu, NULL);
  pthread_cond_init(&q.not_full, NULL);
  pthread_cond_init(&q.not_empty, NULL);
  wq_consumer_t *consumers = calloc(r.nconsumers, sizeof(*consumers));
  if (!ready || !consumers)
    return bench_setup_fail("work_queue", "out of memory");
  for (unsigned t = 0; t < r.nconsumers; t++)
    consumers[t] = (wq_consumer_t){.tally = bench_queue_tally_of(&r), .q = &q};
  if (bench_threads_start("work_queue", r.tids, r.nconsumers, wq_consumer_run, consumers,
                          sizeof *consumers) != 0)
    return BENCH_EXIT_SETUP;

  unsigned long acquisitions = 0;
  for (uint64_t i = 0; i < r.nitems; i++, acquisitions++)
    wq_queue_push(&q, i);
  for (unsigned t = 0; t < r.nconsumers; t++, acquisitions++)
    wq_queue_push(&q, BENCH_QUEUE_DONE);

  unsigned long consumed = bench_queue_join(&r, consumers, sizeof *consumers, &acquisitions);
  int ok = bench_queue_finish("work_queue", &r, 1, acquisitions, consumed);
  pthread_mutex_destroy(&q.mu);
  pthread_cond_destroy(&q.not_full);
  pthread_cond_destroy(&q.not_empty);
  free(consumers);
  bench_queue_run_free(&r);
  return ok ? 0 : 1;
}
