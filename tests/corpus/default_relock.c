/* default_relock - a default (normal) mutex locked again by the thread that holds it.
 *
 * Checks: this relock blocks forever in the real call, so the detector must report it before
 * calling through and then end the run with its exit code instead of hanging.
 * Expected verdict: one self-deadlock ("mutex M1 relocked by its owner T1; ending the run"),
 * "before relock" printed, "done" never printed; exit 66, promptly.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_lock(&lock); /* LINE:first */
  printf("default_relock: before relock\n");
  pthread_mutex_lock(&lock); /* LINE:relock */
  printf("default_relock: done\n");
  return 0;
}
