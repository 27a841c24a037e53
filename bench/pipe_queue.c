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
#include <stdlib.h>
#include <unistd.h>

#include "bench_queue.h"
#include "bench_util.h"

typedef struct {
  bench_queue_tally_t tally; /* first: bench_queue_join reads it; calls counts reads */
  int fd;                    /* the read end */
} pq_consumer_t;

static void *pq_consumer_run(void *arg) {
  pq_consumer_t *c = arg;
  for (;;) {
    uint64_t item;
    ssize_t got = read(c->fd, &item, sizeof item);
    c->tally.calls++;
    if (got != (ssize_t)sizeof item || item == BENCH_QUEUE_DONE)
      break;
    bench_queue_take(&c->tally, item);
  }
  return NULL;
}

static int pq_put(int fd, uint64_t item) {
  return write(fd, &item, sizeof item) == (ssize_t)sizeof item ? 0 : -1;
}

int main(int argc, char **argv) {
  bench_queue_run_t r;
  int fds[2];
  int ready = bench_queue_run_init(&r, argc, argv) == 0;
  pq_consumer_t *consumers = calloc(r.nconsumers, sizeof(*consumers));
  if (!ready || !consumers || pipe(fds) != 0)
    return bench_setup_fail("pipe_queue", "out of memory or pipes");
  for (unsigned t = 0; t < r.nconsumers; t++)
    consumers[t] = (pq_consumer_t){.tally = bench_queue_tally_of(&r), .fd = fds[0]};
  if (bench_threads_start("pipe_queue", r.tids, r.nconsumers, pq_consumer_run, consumers,
                          sizeof *consumers) != 0)
    return BENCH_EXIT_SETUP;

  unsigned long calls = 0;
  int ok = 1;
  for (uint64_t i = 0; i < r.nitems; i++, calls++)
    ok = ok && pq_put(fds[1], i) == 0;
  for (unsigned t = 0; t < r.nconsumers; t++, calls++)
    ok = ok && pq_put(fds[1], BENCH_QUEUE_DONE) == 0;

  unsigned long consumed = bench_queue_join(&r, consumers, sizeof *consumers, &calls);
  ok = bench_queue_finish("pipe_queue", &r, ok, calls, consumed);
  close(fds[0]);
  close(fds[1]);
  free(consumers);
  bench_queue_run_free(&r);
  return ok ? 0 : 1;
}
