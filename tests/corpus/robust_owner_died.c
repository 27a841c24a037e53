/* robust_owner_died - a robust mutex taken over from an owner that exited holding it.
 *
 * Checks: a thread locks the robust mutex R and exits without unlocking it. Main's next lock
 * of R returns EOWNERDEAD, which means main now owns R; it calls pthread_mutex_consistent.
 * Main then takes B under R (R -> B), releases both, and later takes B then R. The EOWNERDEAD
 * acquisition must count as one, or R -> B is lost and so is the inversion.
 * Expected verdict: "lock returned EOWNERDEAD" printed; one potential deadlock, a cycle of 2
 * locks, both edges in main at the LINE: markers; exit 66.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_r;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *dies_holding(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_r);
  return NULL;
}

int main(void)
{
  pthread_mutexattr_t attr;
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&lock_r, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_create(&t, NULL, dies_holding, NULL);
  pthread_join(t, NULL);

  if (pthread_mutex_lock(&lock_r) == EOWNERDEAD) { /* LINE:ab_first */
    printf("robust_owner_died: lock returned EOWNERDEAD\n");
    pthread_mutex_consistent(&lock_r);
  }
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_r);

  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  pthread_mutex_lock(&lock_r); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_r);
  pthread_mutex_unlock(&lock_b);
  printf("robust_owner_died: done\n");
  return 0;
}
