/* rwlock_read_gate - an inversion under a rwlock that both sides hold only for reading.
 *
 * Checks: readers do not exclude each other, so a rwlock held for reading by both threads
 * serializes nothing: the A/B inversion beneath it can deadlock (both threads hold G for
 * reading, one holds A and wants B, the other holds B and wants A). Only a lock held
 * exclusively by at least one side is a gate. Sequenced by a semaphore: never hangs.
 * Expected verdict: one potential deadlock, a cycle of 2 mutexes (ab_first/ab_second,
 * ba_first/ba_second); exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_rwlock_t gate = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static sem_t ab_done;

static void *thread_ab(void *arg)
{
  (void)arg;
  pthread_rwlock_rdlock(&gate);
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  pthread_rwlock_unlock(&gate);
  sem_post(&ab_done);
  return NULL;
}

static void *thread_ba(void *arg)
{
  (void)arg;
  sem_wait(&ab_done);
  pthread_rwlock_rdlock(&gate);
  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  pthread_mutex_lock(&lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  pthread_rwlock_unlock(&gate);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&ab_done, 0, 0);
  pthread_create(&t1, NULL, thread_ab, NULL);
  pthread_create(&t2, NULL, thread_ba, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("rwlock_read_gate: done\n");
  return 0;
}
