/* destroy_reuse - two mutexes destroyed and re-initialized at the same addresses.
 *
 * Checks: A then B, destroy both, init again in the same memory, then B then A. The second
 * pair are new locks that merely reuse the storage; the old A -> B edge must not meet the new
 * B -> A edge.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t storage[2];

static void take_in_order(pthread_mutex_t *first, pthread_mutex_t *second)
{
  pthread_mutex_lock(first);
  pthread_mutex_lock(second);
  pthread_mutex_unlock(second);
  pthread_mutex_unlock(first);
}

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_init(&storage[0], NULL);
  pthread_mutex_init(&storage[1], NULL);
  take_in_order(&storage[0], &storage[1]);
  pthread_mutex_destroy(&storage[0]);
  pthread_mutex_destroy(&storage[1]);

  pthread_mutex_init(&storage[0], NULL);
  pthread_mutex_init(&storage[1], NULL);
  take_in_order(&storage[1], &storage[0]);
  pthread_mutex_destroy(&storage[0]);
  pthread_mutex_destroy(&storage[1]);
  printf("destroy_reuse: done\n");
  return 0;
}
