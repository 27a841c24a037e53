/* condwait_einval_keeps_mutex - a cond wait that fails with EINVAL still holds its mutex.
 *
 * Checks: main holds A and calls pthread_cond_timedwait with tv_nsec out of range; glibc
 * returns EINVAL before releasing A, so A stays held. Main then takes B under A (A -> B),
 * and later B then A. A detector that counts A released on an error return loses A -> B and
 * with it the inversion.
 * Expected verdict: "timedwait returned EINVAL" printed; one potential deadlock, a cycle of 2
 * locks, both edges in main at the LINE: markers (A counts as taken again where the wait
 * returned, as after any wait); exit 66.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never_cv = PTHREAD_COND_INITIALIZER;

int main(void)
{
  struct timespec bad = {.tv_sec = 0, .tv_nsec = 2000000000L};

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_lock(&lock_a);
  if (pthread_cond_timedwait(&never_cv, &lock_a, &bad) == EINVAL) /* LINE:ab_first */
    printf("condwait_einval_keeps_mutex: timedwait returned EINVAL\n");
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);

  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  pthread_mutex_lock(&lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  printf("condwait_einval_keeps_mutex: done\n");
  return 0;
}
