/* recursive_mutex - a recursive mutex retaken while another lock is held.
 *
 * Checks: R, then B, then R again. Retaking a recursive mutex the thread already owns cannot
 * block, so it adds nothing; an edge B -> R would wrongly close the cycle R -> B -> R.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
  pthread_mutexattr_t attr;
  pthread_mutex_t recursive;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&recursive, &attr);
  pthread_mutexattr_destroy(&attr);

  pthread_mutex_lock(&recursive);
  pthread_mutex_lock(&lock_b);
  if (pthread_mutex_lock(&recursive) == 0) {
    printf("recursive_mutex: retaken\n");
    pthread_mutex_unlock(&recursive);
  }
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&recursive);
  pthread_mutex_destroy(&recursive);
  printf("recursive_mutex: done\n");
  return 0;
}
