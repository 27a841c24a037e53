/* gate_lock - both orders of A and B are taken, but only while holding the gate lock G.
 *
 * Checks: G serializes the two critical sections, so the A/B inversion cannot deadlock; a
 * cycle whose edges were all taken under one common lock is not reported (TSan and Helgrind
 * report it anyway). The edges G -> A and G -> B are fine on their own.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *worker_ab(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&gate);
  pthread_mutex_lock(&lock_a);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&gate);
  return NULL;
}

static void *worker_ba(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&gate);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_lock(&lock_a);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&gate);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&t1, NULL, worker_ab, NULL);
  pthread_create(&t2, NULL, worker_ba, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("gate_lock: done\n");
  return 0;
}
