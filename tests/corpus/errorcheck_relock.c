/* errorcheck_relock - an errorcheck mutex locked again by the thread that holds it.
 *
 * Checks: the relock is reported as a self-deadlock, but the run goes on: for an errorcheck
 * mutex the real call returns EDEADLK instead of blocking, and the wrapper must pass that
 * result through unchanged.
 * Expected verdict: one self-deadlock ("errorcheck mutex M1 relocked by its owner T1"), the
 * program prints that it got EDEADLK and finishes; exit 66.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
  pthread_mutexattr_t attr;
  pthread_mutex_t lock;
  int rc;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&lock, &attr);
  pthread_mutexattr_destroy(&attr);

  pthread_mutex_lock(&lock);      /* LINE:first */
  rc = pthread_mutex_lock(&lock); /* LINE:relock */
  printf("errorcheck_relock: relock returned %s\n", rc == EDEADLK ? "EDEADLK" : strerror(rc));
  pthread_mutex_unlock(&lock);
  pthread_mutex_destroy(&lock);
  printf("errorcheck_relock: done\n");
  return 0;
}
