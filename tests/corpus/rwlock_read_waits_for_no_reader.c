/* rwlock_read_waits_for_no_reader - a cycle of two rwlocks where one arc is a read request
 * against a read hold.
 *
 * Checks: thread 1 holds X for writing and asks for Y for reading; thread 2 holds Y for
 * reading and asks for X for writing. Thread 1's read request does not wait for thread 2's
 * read hold (glibc's default rwlocks prefer readers), so thread 1 goes on and the cycle
 * cannot close. The read-after-read rule applies per arc of the cycle (the request of one
 * edge against the hold of the next), not per edge. Sequenced by a semaphore: never hangs.
 * Expected verdict: no report; the program prints "rwlock_read_waits_for_no_reader: done",
 * exit 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_rwlock_t rw_x = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t rw_y = PTHREAD_RWLOCK_INITIALIZER;
static sem_t first_done;

static void *write_x_read_y(void *arg)
{
  (void)arg;
  pthread_rwlock_wrlock(&rw_x);
  pthread_rwlock_rdlock(&rw_y);
  pthread_rwlock_unlock(&rw_y);
  pthread_rwlock_unlock(&rw_x);
  sem_post(&first_done);
  return NULL;
}

static void *read_y_write_x(void *arg)
{
  (void)arg;
  sem_wait(&first_done);
  pthread_rwlock_rdlock(&rw_y);
  pthread_rwlock_wrlock(&rw_x);
  pthread_rwlock_unlock(&rw_x);
  pthread_rwlock_unlock(&rw_y);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&first_done, 0, 0);
  pthread_create(&t1, NULL, write_x_read_y, NULL);
  pthread_create(&t2, NULL, read_y_write_x, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("rwlock_read_waits_for_no_reader: done\n");
  return 0;
}
