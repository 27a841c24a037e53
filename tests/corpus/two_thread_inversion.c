/* two_thread_inversion - the classic lock-order inversion, sequenced so it never hangs.
 *
 * Checks: worker_ab takes A then B; only after it has released both (a semaphore says so)
 * worker_ba takes B then A. The run cannot deadlock, but the orders can.
 * Expected verdict: one potential deadlock, a cycle of 2 locks, with both stacks of both edges
 * (held lock and acquired lock, function and file:line of the LINE: markers); exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static sem_t ab_done;

static void *worker_ab(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  sem_post(&ab_done);
  return NULL;
}

static void *worker_ba(void *arg)
{
  (void)arg;
  sem_wait(&ab_done);
  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  pthread_mutex_lock(&lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&ab_done, 0, 0);
  pthread_create(&t1, NULL, worker_ab, NULL);
  pthread_create(&t2, NULL, worker_ba, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("two_thread_inversion: done\n");
  return 0;
}
