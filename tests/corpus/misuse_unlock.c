/* misuse_unlock - unlocks of a lock the calling thread does not hold, one shape per argument.
 *
 * Checks (the argument picks one; each is a bad unlock the real call lets through or refuses):
 *   not_locked    a default mutex locked, unlocked, and unlocked again by main, then destroyed
 *                 (glibc refuses the destroy with EBUSY: its count of users went wrong with
 *                 the extra unlock; that is no second misuse);
 *   other_thread  a default mutex locked by main and unlocked by a worker (glibc lets it go:
 *                 the mutex used as a binary semaphore, undefined by POSIX);
 *   errorcheck    an errorcheck mutex locked by main, unlocked by a worker: EPERM;
 *   recursive     a recursive mutex locked twice and unlocked three times: EPERM;
 *   rwlock        an rwlock read-locked by main and unlocked by a worker, then unlocked by main;
 *   spin          a spinlock unlocked by main without being locked.
 * Expected verdict: one bad-unlock report, naming the unlock at LINE:<arg>_unlock and where
 * the lock was taken (LINE:<arg>_lock) and by whom; errno as the program left it around the
 * reported unlock ("errno kept"); the program runs to its end; exit 66.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock_m;
static pthread_rwlock_t lock_rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t lock_s;

static void *unlock_m(void *arg)
{
  int rc = pthread_mutex_unlock(&lock_m); /* LINE:other_unlock */
  (void)arg;
  printf("misuse_unlock: worker unlock returned %s\n", rc == 0 ? "0" : strerror(rc));
  return NULL;
}

static void *unlock_rw(void *arg)
{
  (void)arg;
  pthread_rwlock_unlock(&lock_rw); /* LINE:rwlock_unlock */
  return NULL;
}

static void init_mutex(int type)
{
  pthread_mutexattr_t attr;

  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, type);
  pthread_mutex_init(&lock_m, &attr);
  pthread_mutexattr_destroy(&attr);
}

static void in_worker(void *(*fn)(void *))
{
  pthread_t t;

  pthread_create(&t, NULL, fn, NULL);
  pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "not_locked";
  int rc = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "not_locked") == 0) {
    init_mutex(PTHREAD_MUTEX_DEFAULT);
    pthread_mutex_lock(&lock_m); /* LINE:not_locked_lock */
    pthread_mutex_unlock(&lock_m);
    errno = EILSEQ; /* the detector's report must not change it */
    rc = pthread_mutex_unlock(&lock_m); /* LINE:not_locked_unlock */
    if (errno == EILSEQ)
      printf("misuse_unlock: errno kept\n");
    pthread_mutex_destroy(&lock_m);
  } else if (strcmp(mode, "other_thread") == 0) {
    init_mutex(PTHREAD_MUTEX_DEFAULT);
    pthread_mutex_lock(&lock_m); /* LINE:other_lock */
    in_worker(unlock_m);
  } else if (strcmp(mode, "errorcheck") == 0) {
    init_mutex(PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_lock(&lock_m); /* LINE:errorcheck_lock */
    in_worker(unlock_m);
    pthread_mutex_unlock(&lock_m);
  } else if (strcmp(mode, "recursive") == 0) {
    init_mutex(PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_lock(&lock_m); /* LINE:recursive_lock */
    pthread_mutex_lock(&lock_m);
    pthread_mutex_unlock(&lock_m);
    pthread_mutex_unlock(&lock_m);
    rc = pthread_mutex_unlock(&lock_m); /* LINE:recursive_unlock */
  } else if (strcmp(mode, "rwlock") == 0) {
    pthread_rwlock_rdlock(&lock_rw); /* LINE:rwlock_lock */
    in_worker(unlock_rw);
  } else if (strcmp(mode, "spin") == 0) {
    pthread_spin_init(&lock_s, PTHREAD_PROCESS_PRIVATE);
    rc = pthread_spin_unlock(&lock_s); /* LINE:spin_unlock */
  }
  printf("misuse_unlock: %s: last unlock returned %s\n", mode, rc == 0 ? "0" : strerror(rc));
  printf("misuse_unlock: done\n");
  return 0;
}
