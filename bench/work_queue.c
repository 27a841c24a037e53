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
#include <stdio.h>
#include <stdlib.h>

#include "hz_args.h"

#define WQ_CAPACITY 16
#define WQ_WORDS 64
#define WQ_DONE UINT64_MAX

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t not_full;
  pthread_cond_t not_empty;
  uint64_t ring[WQ_CAPACITY]; /* guarded by mu, as are head and len */
  unsigned head, len;
} wq_queue_t;

typedef struct {
  wq_queue_t *q;
  unsigned char *seen; /* seen[i] is written only by the consumer that took item i */
  uint64_t *result;
  unsigned long rounds;
  unsigned long items;
  unsigned long acquisitions;
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

/* The work: fill a buffer from the item, then stir it `rounds` times (memory traffic, not only
 * arithmetic in registers, as real work has). */
static uint64_t wq_item_work(uint64_t item, unsigned long rounds) {
  uint64_t buf[WQ_WORDS];
  for (unsigned i = 0; i < WQ_WORDS; i++)
    buf[i] = item * 0x9e3779b97f4a7c15ULL + i;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned long r = 0; r < rounds; r++) {
    unsigned i = (unsigned)(h % WQ_WORDS);
    h = (h ^ buf[i]) * 0x100000001b3ULL;
    buf[(i + 1) % WQ_WORDS] ^= h >> 7;
  }
  return h;
}

static void *wq_consumer_run(void *arg) {
  wq_consumer_t *c = arg;
  for (;;) {
    uint64_t item = wq_queue_pop(c->q);
    c->acquisitions++;
    if (item == WQ_DONE)
      break;
    c->seen[item]++;
    c->result[item] = wq_item_work(item, c->rounds);
    c->items++;
  }
  return NULL;
}

int main(int argc, char **argv) {
  static const hz_args_spec_t spec = {.what_n = "items", .n_default = 100000, .t_default = 1};
  hz_args_t args;
  hz_args_parse_or_exit(&args, argc, argv, &spec);
  unsigned nconsumers = (unsigned)args.threads;
  unsigned long nitems = (unsigned long)args.n, rounds = 400UL * (unsigned long)args.scale;

  wq_queue_t q = {.head = 0, .len = 0};
  pthread_mutex_init(&q.mu, NULL);
  pthread_cond_init(&q.not_full, NULL);
  pthread_cond_init(&q.not_empty, NULL);
  unsigned char *seen = calloc(nitems + 1, 1);
  uint64_t *result = calloc(nitems + 1, sizeof(*result));
  wq_consumer_t *consumers = calloc(nconsumers, sizeof(*consumers));
  pthread_t *tids = calloc(nconsumers, sizeof(*tids));
  if (!seen || !result || !consumers || !tids) {
    fprintf(stderr, "work_queue: out of memory\n");
    return 2;
  }
  for (unsigned t = 0; t < nconsumers; t++) {
    consumers[t] = (wq_consumer_t){.q = &q, .seen = seen, .result = result, .rounds = rounds};
    if (pthread_create(&tids[t], NULL, wq_consumer_run, &consumers[t]) != 0) {
      fprintf(stderr, "work_queue: pthread_create failed\n");
      return 2;
    }
  }
  unsigned long acquisitions = 0;
  for (uint64_t i = 0; i < nitems; i++, acquisitions++)
    wq_queue_push(&q, i);
  for (unsigned t = 0; t < nconsumers; t++, acquisitions++)
    wq_queue_push(&q, WQ_DONE);

  unsigned long consumed = 0;
  for (unsigned t = 0; t < nconsumers; t++) {
    pthread_join(tids[t], NULL);
    acquisitions += consumers[t].acquisitions;
    consumed += consumers[t].items;
  }
  int ok = consumed == nitems;
  uint64_t checksum = 0;
  for (unsigned long i = 0; i < nitems; i++) {
    ok = ok && seen[i] == 1;
    checksum += result[i];
  }
  printf("work_queue: %s acquisitions=%lu items=%lu consumers=%u rounds=%lu checksum=%016llx\n",
         ok ? "OK" : "FAIL", acquisitions, consumed, nconsumers, rounds,
         (unsigned long long)checksum);
  pthread_mutex_destroy(&q.mu);
  pthread_cond_destroy(&q.not_full);
  pthread_cond_destroy(&q.not_empty);
  free(tids);
  free(consumers);
  free(result);
  free(seen);
  return ok ? 0 : 1;
}
