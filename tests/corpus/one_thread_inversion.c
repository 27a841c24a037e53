/* one_thread_inversion - one thread takes A then B, later B then A.
 *
 * Checks: an inversion is a property of the orders, not of how many threads showed them; a
 * second thread running the same code would deadlock against the first.
 * Expected verdict: one potential deadlock, a cycle of 2 locks, both edges taken by thread T1
 * in main at the LINE: markers; exit 66.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);

  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  pthread_mutex_lock(&lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  printf("one_thread_inversion: done\n");
  return 0;
}
