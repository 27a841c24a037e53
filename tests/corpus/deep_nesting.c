/* deep_nesting - one thread holds 300 locks at once.
 *
 * Checks: far past the 64 held locks where TSan gives up. The locks are taken in one order
 * and released in that same order (not stack order), twice, so the held set must support
 * removal from its bottom; no cycle exists.
 * Expected verdict: no report, no crash; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>

#define DEPTH 300

static pthread_mutex_t locks[DEPTH];

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < DEPTH; i++)
    pthread_mutex_init(&locks[i], NULL);
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < DEPTH; i++)
      pthread_mutex_lock(&locks[i]);
    for (int i = 0; i < DEPTH; i++)
      pthread_mutex_unlock(&locks[i]);
  }
  printf("deep_nesting: held %d locks\n", DEPTH);
  printf("deep_nesting: done\n");
  return 0;
}
