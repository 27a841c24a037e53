/* rwlock_read_read - two readers take two rwlocks for reading in opposite orders.
 *
 * Checks: readers do not exclude each other, so rdlock A, rdlock B against rdlock B, rdlock A
 * cannot deadlock on its own; read-after-read edges alone make no cycle.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_rwlock_t rw_a = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t rw_b = PTHREAD_RWLOCK_INITIALIZER;
static sem_t ab_done;

static void *reader_ab(void *arg)
{
  (void)arg;
  pthread_rwlock_rdlock(&rw_a);
  pthread_rwlock_rdlock(&rw_b);
  pthread_rwlock_unlock(&rw_b);
  pthread_rwlock_unlock(&rw_a);
  sem_post(&ab_done);
  return NULL;
}

static void *reader_ba(void *arg)
{
  (void)arg;
  sem_wait(&ab_done);
  pthread_rwlock_rdlock(&rw_b);
  pthread_rwlock_rdlock(&rw_a);
  pthread_rwlock_unlock(&rw_a);
  pthread_rwlock_unlock(&rw_b);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&ab_done, 0, 0);
  pthread_create(&t1, NULL, reader_ab, NULL);
  pthread_create(&t2, NULL, reader_ba, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("rwlock_read_read: done\n");
  return 0;
}
