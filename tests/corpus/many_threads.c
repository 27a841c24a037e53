/* many_threads - 1000 short-lived threads, each taking two shared locks in the same order.
 *
 * Checks: thread bookkeeping scales and is recycled (threads are created and joined in
 * batches), and one order taken a thousand times stays one edge A -> B, no report.
 * Expected verdict: no report; the program prints how many threads ran (all of them) and
 * exits 0.
 */
#include <pthread.h>
#include <stdio.h>

#define THREAD_COUNT 1000
#define BATCH 100

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static int ran;

static void *worker(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a);
  pthread_mutex_lock(&lock_b);
  ran++;
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  return NULL;
}

int main(void)
{
  pthread_t t[BATCH];

  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int done = 0; done < THREAD_COUNT; done += BATCH) {
    for (int i = 0; i < BATCH; i++)
      if (pthread_create(&t[i], NULL, worker, NULL) != 0)
        return 1;
    for (int i = 0; i < BATCH; i++)
      pthread_join(t[i], NULL);
  }
  printf("many_threads: %d threads ran\n", ran);
  printf("many_threads: done\n");
  return 0;
}
