/* timed_lock_failures - timed acquisitions that fail: the order they asked for, and an owner's
 * relock they refuse, count as much as a blocking acquisition's.
 *
 *   timed_lock_failures inversion   two threads each hold one lock (LINE:hold_a, LINE:hold_b)
 *                                   and ask for the other's with pthread_mutex_timedlock, 300 ms
 *                                   deadline (LINE:want_b, LINE:want_a), and keeps its own until
 *                                   both have tried: both wait on each other and both time out
 *                                   (ETIMEDOUT), a deadlock the deadline turned into an error
 *   timed_lock_failures errorcheck  an errorcheck mutex (LINE:first) relocked by its owner with
 *                                   pthread_mutex_timedlock (LINE:relock): EDEADLK
 *   timed_lock_failures rwlock      an rwlock held for writing (LINE:first_rw) asked again with
 *                                   pthread_rwlock_timedwrlock (LINE:relock_rw): EDEADLK
 *   timed_lock_failures default     a default mutex relocked by its owner with timedlock, 100 ms:
 *                                   ETIMEDOUT (a self-deadlock the deadline ends; not reported)
 * Prints what each call returned and "timed_lock_failures: done".
 * Expected verdict: inversion: one potential deadlock, a cycle of 2 locks whose edges end at
 * LINE:want_b and LINE:want_a; errorcheck, rwlock: one self-deadlock at the relock, the run
 * going on; all three exit 66. default: no report, exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold, both_tried; /* each keeps its lock until both tried */

static struct timespec in_ms(long ms)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += ms * 1000000;
  ts.tv_sec += ts.tv_nsec / 1000000000;
  ts.tv_nsec %= 1000000000;
  return ts;
}

static const char *rc_name(int rc)
{
  return rc == 0 ? "0" : rc == ETIMEDOUT ? "ETIMEDOUT" : rc == EDEADLK ? "EDEADLK" : strerror(rc);
}

static void *holds_b_wants_a(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_b); /* LINE:hold_b */
  pthread_barrier_wait(&both_hold);
  struct timespec ts = in_ms(300);
  int rc = pthread_mutex_timedlock(&lock_a, &ts); /* LINE:want_a */
  printf("timed_lock_failures: B then A: %s\n", rc_name(rc));
  pthread_barrier_wait(&both_tried);
  if (rc == 0)
    pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  return NULL;
}

static int inversion(void)
{
  pthread_t t;
  if (pthread_barrier_init(&both_hold, NULL, 2) != 0 ||
      pthread_barrier_init(&both_tried, NULL, 2) != 0 ||
      pthread_create(&t, NULL, holds_b_wants_a, NULL) != 0)
    return -1;
  pthread_mutex_lock(&lock_a); /* LINE:hold_a */
  pthread_barrier_wait(&both_hold);
  struct timespec ts = in_ms(300);
  int rc = pthread_mutex_timedlock(&lock_b, &ts); /* LINE:want_b */
  printf("timed_lock_failures: A then B: %s\n", rc_name(rc));
  pthread_barrier_wait(&both_tried);
  if (rc == 0)
    pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  return pthread_join(t, NULL);
}

static int relock(int type)
{
  pthread_mutexattr_t attr;
  pthread_mutex_t m;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, type);
  pthread_mutex_init(&m, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_mutex_lock(&m); /* LINE:first */
  struct timespec ts = in_ms(100);
  int rc = pthread_mutex_timedlock(&m, &ts); /* LINE:relock */
  printf("timed_lock_failures: relock: %s\n", rc_name(rc));
  pthread_mutex_unlock(&m);
  return pthread_mutex_destroy(&m);
}

static int relock_rwlock(void)
{
  pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
  pthread_rwlock_wrlock(&rw); /* LINE:first_rw */
  struct timespec ts = in_ms(100);
  int rc = pthread_rwlock_timedwrlock(&rw, &ts); /* LINE:relock_rw */
  printf("timed_lock_failures: relock: %s\n", rc_name(rc));
  pthread_rwlock_unlock(&rw);
  return pthread_rwlock_destroy(&rw);
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  int rc;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "inversion") == 0)
    rc = inversion();
  else if (strcmp(mode, "errorcheck") == 0)
    rc = relock(PTHREAD_MUTEX_ERRORCHECK);
  else if (strcmp(mode, "rwlock") == 0)
    rc = relock_rwlock();
  else if (strcmp(mode, "default") == 0)
    rc = relock(PTHREAD_MUTEX_DEFAULT);
  else {
    fprintf(stderr, "usage: timed_lock_failures inversion|errorcheck|rwlock|default\n");
    return 2;
  }
  if (rc != 0)
    return 2;
  printf("timed_lock_failures: done\n");
  return 0;
}
