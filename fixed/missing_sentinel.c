/* missing_sentinel - queue workers that never receive STOP (lesson sections 11, 21 and 40).
 *
 * main puts N items on a queue served by T workers, each looping "item = get(); if item is
 * STOP: return; process(item); task_done()" (worker, line 63). It waits until every item is
 * done (queue.join(), line 99), then joins the workers (line 106). It never puts STOP (line
 * 98, marked BUG): the workers finish the items and wait in get() for more, forever, and the
 * join waits for them forever. Every thread is then in an untimed wait (the workers in
 * pthread_cond_wait, main in pthread_join). The program bounds the hang itself: before the
 * joins it arms alarm(2), whose handler prints the HAZARD line and exits 1 after 2 s (no
 * join takes that long). --hang leaves the alarm off: a real hang.
 *
 * The fix (fixed/) puts one STOP per worker after the items ("for _ in threads:
 * queue.put(STOP)"; section 40: "STOP sentinel, queue.task_done, queue.join, all threads
 * joined"): each worker takes one STOP and returns, and every join finishes.
 *
 * Oracle: every item processed and every worker joined within the bound.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hz_args.h"

#define STOP (-1L)     /* the sentinel: items are positive */
#define HANG_BOUND_S 2 /* far longer than any join takes; over the harness's wall budget */

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static pthread_cond_t q_nonempty = PTHREAD_COND_INITIALIZER, q_drained = PTHREAD_COND_INITIALIZER;
static long *q_items, q_head, q_tail; /* q_items[q_head..q_tail) are waiting */
static long q_unfinished, processed;  /* put and not yet task_done; items processed */

static void queue_put(long item)
{
  pthread_mutex_lock(&q_lock);
  q_items[q_tail++] = item;
  q_unfinished++;
  pthread_cond_signal(&q_nonempty);
  pthread_mutex_unlock(&q_lock);
}

static long queue_get(void)
{
  pthread_mutex_lock(&q_lock);
  while (q_head == q_tail)
    pthread_cond_wait(&q_nonempty, &q_lock); /* no timeout: an empty queue waits forever */
  long item = q_items[q_head++];
  pthread_mutex_unlock(&q_lock);
  return item;
}

/* task_done(), after processing the item (here: counting it). */
static void queue_task_done(long item)
{
  pthread_mutex_lock(&q_lock);
  processed += item != STOP;
  if (--q_unfinished == 0)
    pthread_cond_broadcast(&q_drained);
  pthread_mutex_unlock(&q_lock);
}

static void *worker(void *arg)
{
  for (long item = 0; item != STOP;) {
    item = queue_get();
    queue_task_done(item);
  }
  return arg;
}

static void on_alarm(int sig) /* the bound: async-signal-safe, the one line, exit 1 */
{
  static const char msg[] = "missing_sentinel: HAZARD join still waiting after 2 s: no STOP, "
                            "so the workers wait in get() forever\n";
  ssize_t n = write(STDOUT_FILENO, msg, sizeof msg - 1);
  (void)sig, (void)n;
  _exit(1);
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"items put on the queue", 200, 4, true};
  hz_args_t a;
  hz_args_parse_or_exit(&a, argc, argv, &spec);
  pthread_t *workers = calloc((size_t)a.threads, sizeof *workers);
  q_items = calloc((size_t)(a.size + a.threads), sizeof *q_items);
  long started = 0;
  while (workers && q_items && started < a.threads &&
         pthread_create(&workers[started], NULL, worker, NULL) == 0)
    started++;
  if (started < a.threads || signal(SIGALRM, on_alarm) == SIG_ERR) {
    fprintf(stderr, "missing_sentinel: cannot start %ld workers\n", a.threads);
    return 2;
  }
  for (long i = 1; i <= a.size; i++)
    queue_put(i);
  for (long t = 0; t < a.threads; t++)
    queue_put(STOP); /* FIX: one STOP per worker: each takes one and returns */
  pthread_mutex_lock(&q_lock); /* queue.join(): every item put is task_done */
  while (q_unfinished > 0)
    pthread_cond_wait(&q_drained, &q_lock);
  pthread_mutex_unlock(&q_lock);
  if (!a.hang)
    alarm(HANG_BOUND_S);
  for (long t = 0; t < a.threads; t++)
    pthread_join(workers[t], NULL); /* waits for a worker that waits for STOP */
  alarm(0);
  free(q_items);
  free(workers);
  if (processed != a.size) {
    printf("missing_sentinel: HAZARD %ld of %ld items processed\n", processed, a.size);
    return 1;
  }
  printf("missing_sentinel: OK %ld items processed; %ld workers stopped by STOP and joined\n",
         a.size, a.threads);
  return 0;
}
