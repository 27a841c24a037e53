/* reinit_same_inversion - the same inversion over two mutexes that are destroyed and initialized
 * again at the same addresses, three times.
 *
 * Checks: each round's mutexes are new lock instances, but at the same addresses: the same
 * finding, reported once. The two later cycles are not dropped silently: the summary counts
 * them on its duplicates line. Everything runs in one thread (never hangs).
 * Expected verdict: one potential deadlock, a cycle of 2 locks; the summary says
 * "duplicates: 2 more lock-order cycles ..."; exit 66.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a, lock_b;

static void pair(pthread_mutex_t *x, pthread_mutex_t *y)
{
  pthread_mutex_lock(x);
  pthread_mutex_lock(y);
  pthread_mutex_unlock(y);
  pthread_mutex_unlock(x);
}

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int round = 0; round < 3; round++) {
    pthread_mutex_init(&lock_a, NULL);
    pthread_mutex_init(&lock_b, NULL);
    pair(&lock_a, &lock_b);
    pair(&lock_b, &lock_a);
    pthread_mutex_destroy(&lock_a);
    pthread_mutex_destroy(&lock_b);
  }
  printf("reinit_same_inversion: done\n");
  return 0;
}
