/* misuse_condvar - condition variable waits that break the rules, one shape per argument.
 *
 * Checks:
 *   unheld       main waits (100 ms timeout) with a default mutex it has not locked: glibc
 *                releases it anyway and hands it to main when the wait ends;
 *   other        main waits with an errorcheck mutex a worker holds: EPERM at once;
 *   destroyed    main waits with a mutex it destroyed: EINVAL;
 *   rwlock       main waits with an rwlock it holds, passed as the mutex (glibc reads it as one;
 *                the rwlock is not used again);
 *   two_mutexes  a worker waits on C with M1; main then waits (100 ms timeout) on C with M2.
 *                main knows the worker waits once it gets M1: the wait released it.
 * The timeouts are the program's own waits running out (the shapes need a wait that ends),
 * not synchronization.
 * Expected verdict: one "condition variable misuse" report naming the wait at LINE:wait_<arg>
 * (and for two_mutexes the worker's wait at LINE:wait_first); the program runs to its end;
 * exit 66.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t lock_m1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_m2 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_ec;
static pthread_rwlock_t lock_rw = PTHREAD_RWLOCK_INITIALIZER;
static int ready, done_flag, locked_pipe[2], go_pipe[2];

static struct timespec soon(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 100 * 1000 * 1000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  return ts;
}

static void *first_waiter(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_m1);
  ready = 1;
  while (!done_flag)
    pthread_cond_wait(&cond, &lock_m1); /* LINE:wait_first */
  pthread_mutex_unlock(&lock_m1);
  return NULL;
}

static void *ec_holder(void *arg)
{
  char c = 'x';

  (void)arg;
  pthread_mutex_lock(&lock_ec); /* LINE:lock_other */
  if (write(locked_pipe[1], &c, 1) != 1 || read(go_pipe[0], &c, 1) != 1)
    return NULL;
  pthread_mutex_unlock(&lock_ec);
  return NULL;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "unheld";
  struct timespec ts = soon();
  pthread_mutexattr_t attr;
  pthread_t t;
  char c = 'x';
  int rc = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(locked_pipe) != 0 || pipe(go_pipe) != 0)
    return 1;
  if (strcmp(mode, "unheld") == 0) {
    rc = pthread_cond_timedwait(&cond, &lock_m1, &ts); /* LINE:wait_unheld */
    if (rc == 0 || rc == ETIMEDOUT)
      pthread_mutex_unlock(&lock_m1); /* glibc gave it to us */
  } else if (strcmp(mode, "other") == 0) {
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&lock_ec, &attr);
    pthread_create(&t, NULL, ec_holder, NULL);
    if (read(locked_pipe[0], &c, 1) != 1)
      return 1;
    rc = pthread_cond_timedwait(&cond, &lock_ec, &ts); /* LINE:wait_other */
    if (write(go_pipe[1], &c, 1) != 1)
      return 1;
    pthread_join(t, NULL);
  } else if (strcmp(mode, "destroyed") == 0) {
    pthread_mutex_destroy(&lock_m2); /* LINE:destroy */
    rc = pthread_cond_timedwait(&cond, &lock_m2, &ts); /* LINE:wait_destroyed */
  } else if (strcmp(mode, "rwlock") == 0) {
    pthread_rwlock_wrlock(&lock_rw);
    rc = pthread_cond_timedwait(&cond, (pthread_mutex_t *)&lock_rw, &ts); /* LINE:wait_rwlock */
  } else {
    pthread_create(&t, NULL, first_waiter, NULL);
    for (;;) { /* ready is set under M1 before the worker's wait releases it */
      pthread_mutex_lock(&lock_m1);
      int r = ready;
      pthread_mutex_unlock(&lock_m1);
      if (r)
        break;
      sched_yield();
    }
    pthread_mutex_lock(&lock_m2);
    rc = pthread_cond_timedwait(&cond, &lock_m2, &ts); /* LINE:wait_two_mutexes */
    pthread_mutex_unlock(&lock_m2);
    pthread_mutex_lock(&lock_m1);
    done_flag = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock_m1);
    pthread_join(t, NULL);
  }
  printf("misuse_condvar: %s: wait returned %s\n", mode, rc == 0 ? "0" : strerror(rc));
  printf("misuse_condvar: done\n");
  return 0;
}
