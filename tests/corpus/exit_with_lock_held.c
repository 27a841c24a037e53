/* exit_with_lock_held - main returns while another thread still holds a lock.
 *
 * Checks: the process exits with a live thread owning a mutex (blocked elsewhere, not on a
 * lock). The detector's exit path must not crash or wait for that lock, and must still print
 * its summary once.
 * Expected verdict: no report, a summary line (asked for with --verbosity 2); exit 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static sem_t holding, never_posted;

static void *holder(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&held);
  sem_post(&holding);
  sem_wait(&never_posted);
  return NULL;
}

int main(void)
{
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&holding, 0, 0);
  sem_init(&never_posted, 0, 0);
  pthread_create(&t, NULL, holder, NULL);
  sem_wait(&holding);
  printf("exit_with_lock_held: done\n");
  return 0;
}
