/* rwlock_write_inversion - two writers take two rwlocks in opposite orders.
 *
 * Checks: write locks exclude like mutexes, so wrlock A, wrlock B against wrlock B, wrlock A
 * is an inversion; the report names the locks RW<n> and gives their kind as rwlock.
 * Sequenced by a semaphore so it never hangs.
 * Expected verdict: one potential deadlock, a cycle of 2 rwlocks with the LINE: stacks; exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_rwlock_t rw_a = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t rw_b = PTHREAD_RWLOCK_INITIALIZER;
static sem_t ab_done;

static void *writer_ab(void *arg)
{
  (void)arg;
  pthread_rwlock_wrlock(&rw_a); /* LINE:ab_first */
  pthread_rwlock_wrlock(&rw_b); /* LINE:ab_second */
  pthread_rwlock_unlock(&rw_b);
  pthread_rwlock_unlock(&rw_a);
  sem_post(&ab_done);
  return NULL;
}

static void *writer_ba(void *arg)
{
  (void)arg;
  sem_wait(&ab_done);
  pthread_rwlock_wrlock(&rw_b); /* LINE:ba_first */
  pthread_rwlock_wrlock(&rw_a); /* LINE:ba_second */
  pthread_rwlock_unlock(&rw_a);
  pthread_rwlock_unlock(&rw_b);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&ab_done, 0, 0);
  pthread_create(&t1, NULL, writer_ab, NULL);
  pthread_create(&t2, NULL, writer_ba, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("rwlock_write_inversion: done\n");
  return 0;
}
