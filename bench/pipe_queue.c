/* pipe_queue - benchmark: work_queue's producer and consumers, with a pipe for the queue.
 *
 * What the wrappers of blocking calls cost where nothing is wrong: the main thread writes
 * item numbers into a pipe (one 8-byte write each, atomic below PIPE_BUF), -t consumer threads
 * read them (one 8-byte read each) and do work_queue's 400 * X rounds of hashing per item. No
 * lock is held around the I/O, so lockgraph only publishes and ends a wait per call: its cost
 * here is that of the read and write wrappers on a path where a consumer often blocks.
 *
 *   pipe_queue [-n items] [-t consumers] [-x X: 400 * X work rounds per item]
 *
 * Checks that every item was consumed exactly once (a seen-flag per item, and the count);
 * prints "pipe_queue: OK acquisitions=N ..." where N counts the wrapped read and write calls
 * (the unit the bench table divides by), or FAIL and exit status 1. No atomics: Valgrind runs
 * this.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hz_args.h"

#define PQ_WORDS 64
#define PQ_DONE UINT64_MAX

typedef struct {
  int fd; /* the read end */
  unsigned char *seen;
  uint64_t *result;
  unsigned long rounds;
  unsigned long items;
  unsigned long calls;
} pq_consumer_t;

/* The same work as work_queue's, so the two rows compare. */
static uint64_t pq_item_work(uint64_t item, unsigned long rounds) {
  uint64_t buf[PQ_WORDS];
  for (unsigned i = 0; i < PQ_WORDS; i++)
    buf[i] = item * 0x9e3779b97f4a7c15ULL + i;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned long r = 0; r < rounds; r++) {
    unsigned i = (unsigned)(h % PQ_WORDS);
    h = (h ^ buf[i]) * 0x100000001b3ULL;
    buf[(i + 1) % PQ_WORDS] ^= h >> 7;
  }
  return h;
}

static void *pq_consumer_run(void *arg) {
  pq_consumer_t *c = arg;
  for (;;) {
    uint64_t item;
    ssize_t got = read(c->fd, &item, sizeof item);
    c->calls++;
    if (got != (ssize_t)sizeof item || item == PQ_DONE)
      break;
    c->seen[item]++;
    c->result[item] = pq_item_work(item, c->rounds);
    c->items++;
  }
  return NULL;
}

static int pq_put(int fd, uint64_t item) {
  return write(fd, &item, sizeof item) == (ssize_t)sizeof item ? 0 : -1;
}

int main(int argc, char **argv) {
  static const hz_args_spec_t spec = {.what_n = "items", .n_default = 100000, .t_default = 1};
  hz_args_t args;
  hz_args_parse_or_exit(&args, argc, argv, &spec);
  unsigned nconsumers = (unsigned)args.threads;
  unsigned long nitems = (unsigned long)args.n, rounds = 400UL * (unsigned long)args.scale;

  int fds[2];
  unsigned char *seen = calloc(nitems + 1, 1);
  uint64_t *result = calloc(nitems + 1, sizeof(*result));
  pq_consumer_t *consumers = calloc(nconsumers, sizeof(*consumers));
  pthread_t *tids = calloc(nconsumers, sizeof(*tids));
  if (!seen || !result || !consumers || !tids || pipe(fds) != 0) {
    fprintf(stderr, "pipe_queue: out of memory or pipes\n");
    return 2;
  }
  for (unsigned t = 0; t < nconsumers; t++) {
    consumers[t] = (pq_consumer_t){.fd = fds[0], .seen = seen, .result = result, .rounds = rounds};
    if (pthread_create(&tids[t], NULL, pq_consumer_run, &consumers[t]) != 0) {
      fprintf(stderr, "pipe_queue: pthread_create failed\n");
      return 2;
    }
  }
  unsigned long calls = 0;
  int ok = 1;
  for (uint64_t i = 0; i < nitems; i++, calls++)
    ok = ok && pq_put(fds[1], i) == 0;
  for (unsigned t = 0; t < nconsumers; t++, calls++)
    ok = ok && pq_put(fds[1], PQ_DONE) == 0;

  unsigned long consumed = 0;
  for (unsigned t = 0; t < nconsumers; t++) {
    pthread_join(tids[t], NULL);
    calls += consumers[t].calls;
    consumed += consumers[t].items;
  }
  ok = ok && consumed == nitems;
  uint64_t checksum = 0;
  for (unsigned long i = 0; i < nitems; i++) {
    ok = ok && seen[i] == 1;
    checksum += result[i];
  }
  printf("pipe_queue: %s acquisitions=%lu items=%lu consumers=%u rounds=%lu checksum=%016llx\n",
         ok ? "OK" : "FAIL", calls, consumed, nconsumers, rounds, (unsigned long long)checksum);
  close(fds[0]);
  close(fds[1]);
  free(tids);
  free(consumers);
  free(result);
  free(seen);
  return ok ? 0 : 1;
}
