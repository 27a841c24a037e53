/* many_locks - 100,000 mutexes, locked in overlapping pairs along the array.
 *
 * Checks: scale without a cap: every mutex is initialized, then m[i] and m[i+1] are held
 * together for each i, building a 99,999-edge chain that agrees with one order (no cycle).
 * The lock table and graph must grow, not crash or stop tracking silently.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>

#define LOCK_COUNT 100000

static pthread_mutex_t locks[LOCK_COUNT];

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < LOCK_COUNT; i++)
    pthread_mutex_init(&locks[i], NULL);
  for (int i = 0; i + 1 < LOCK_COUNT; i++) {
    pthread_mutex_lock(&locks[i]);
    pthread_mutex_lock(&locks[i + 1]);
    pthread_mutex_unlock(&locks[i + 1]);
    pthread_mutex_unlock(&locks[i]);
  }
  printf("many_locks: %d locks\n", LOCK_COUNT);
  printf("many_locks: done\n");
  return 0;
}
