/* trylock_reversed - A then B by lock; later B then A by trylock.
 *
 * Checks: a trylock never blocks, so it cannot be the waiting side of a deadlock and adds no
 * edge into the lock it tries (Helgrind reports this pattern anyway). The trylock succeeds
 * here: the program proves it by printing so.
 * Expected verdict: no report; "trylock succeeded" and "done" printed; exit 0.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_lock(&lock_a);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);

  pthread_mutex_lock(&lock_b);
  if (pthread_mutex_trylock(&lock_a) == 0) {
    printf("trylock_reversed: trylock succeeded\n");
    pthread_mutex_unlock(&lock_a);
  }
  pthread_mutex_unlock(&lock_b);
  printf("trylock_reversed: done\n");
  return 0;
}
