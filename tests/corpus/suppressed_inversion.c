/* suppressed_inversion - the two_thread_inversion shape, meant to run with a suppression.
 *
 * Checks: a suppressions file with `deadlock:suppressed_worker_ba` hides the report, because
 * that function is on the stacks of one of the cycle's edges; the summary counts it.
 * Expected verdict (with that suppression): no report, summary "1 suppressed"; exit 0.
 * Without the suppression it is a plain potential deadlock.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static sem_t ab_done;

static void *suppressed_worker_ab(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  sem_post(&ab_done);
  return NULL;
}

static void *suppressed_worker_ba(void *arg)
{
  (void)arg;
  sem_wait(&ab_done);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_lock(&lock_a);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&ab_done, 0, 0);
  pthread_create(&t1, NULL, suppressed_worker_ab, NULL);
  pthread_create(&t2, NULL, suppressed_worker_ba, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("suppressed_inversion: done\n");
  return 0;
}
