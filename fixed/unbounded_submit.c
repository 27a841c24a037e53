/* unbounded_submit - no backpressure (lesson sections 20 and 21).
 *
 * A producer reads items (4 KiB each) faster than the workers can process them and submits
 * every one to an executor whose queue has no bound (line 25, marked BUG): "for item in
 * huge_items: executor.submit(process, item)". Nothing slows the producer down, so the items
 * pile up in the queue and memory grows with the input instead of with the work in flight.
 *
 * The fix (fixed/) gives the queue a bound (line 25, marked FIX): exec_submit then blocks
 * while the queue is full, which is backpressure ("maxsize gives backpressure. Producer
 * blocks if queue is full"): the producer runs at the workers' pace and peak memory stays
 * flat however many items there are.
 *
 * Oracle: every item digested, checksums right, and the queue's high-water mark (kept by the
 * executor) within a budget of QUEUE_BUDGET items; over budget is a HAZARD (exit 1). The
 * harness also measures peak memory at -x 1 and -x 4. Thread tools see nothing wrong here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "executor.h"
#include "hz_args.h"

#define QUEUE_BOUND 64 /* FIX: submit blocks while 64 items wait: backpressure */
#define QUEUE_BUDGET 128   /* items allowed to wait at once: twice the fix's bound */
#define PAYLOAD 4096       /* bytes per item */

typedef struct item {
  long id;
  unsigned char bytes[PAYLOAD];
} item_t;

static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;
static long digested;
static unsigned long checksum;

/* The slow consumer: a checksum, then a short wait standing for the I/O each item needs. */
static int digest(void *arg, void **value)
{
  item_t *it = arg;
  unsigned long sum = 0;
  struct timespec io = {0, 100000};

  (void)value;
  for (size_t i = 0; i < PAYLOAD; i += 64)
    sum += it->bytes[i];
  nanosleep(&io, NULL);
  pthread_mutex_lock(&totals_lock);
  digested++;
  checksum += sum;
  pthread_mutex_unlock(&totals_lock);
  free(it);
  return 0;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"items to submit", 4000, 4, false};
  hz_args_t a;
  exec_pool_t *pool;
  unsigned long expected = 0;
  size_t high_water;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  if (exec_pool_create(&pool, (size_t)a.threads, QUEUE_BOUND) < 0) {
    fprintf(stderr, "unbounded_submit: cannot start %ld workers\n", a.threads);
    return 2;
  }
  for (long id = 0; id < a.size; id++) {
    item_t *it = malloc(sizeof *it);
    exec_future_t *f;

    if (!it) {
      fprintf(stderr, "unbounded_submit: out of memory at item %ld\n", id);
      return 2;
    }
    it->id = id;
    for (size_t i = 0; i < PAYLOAD; i += 64) /* "read" the item: touches all its memory */
      it->bytes[i] = (unsigned char)id;
    expected += (PAYLOAD / 64) * (unsigned long)(id & 0xff);
    f = exec_submit(pool, digest, it);
    if (!f) {
      perror("unbounded_submit: exec_submit");
      return 2;
    }
    exec_future_free(f); /* results go to the totals; a failure would still be reported */
  }
  if (exec_pool_shutdown(pool, EXEC_SHUTDOWN_WAIT) < 0) {
    fprintf(stderr, "unbounded_submit: cannot join the workers\n");
    return 2;
  }
  high_water = exec_pool_high_water(pool);
  exec_pool_destroy(pool);

  if (digested != a.size || checksum != expected) {
    printf("unbounded_submit: HAZARD %ld of %ld items digested, checksum %s\n", digested, a.size,
           checksum == expected ? "right" : "wrong");
    return 1;
  }
  if (high_water > QUEUE_BUDGET) {
    printf("unbounded_submit: HAZARD queue peaked at %zu items (budget %d, %zu KiB waiting)\n",
           high_water, QUEUE_BUDGET, high_water * sizeof(item_t) / 1024);
    return 1;
  }
  printf("unbounded_submit: OK %ld items, queue peaked at %zu (budget %d)\n", a.size, high_water,
         QUEUE_BUDGET);
  return 0;
}
