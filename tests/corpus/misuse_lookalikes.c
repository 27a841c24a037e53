/* misuse_lookalikes - legal uses of locks that look like misuse, all in one run.
 *
 * Checks, one after the other, each legal:
 *   - a recursive mutex locked and unlocked twice, balanced;
 *   - an rwlock read-locked twice by one thread and unlocked twice;
 *   - a robust mutex taken over with EOWNERDEAD, made consistent, unlocked, locked again;
 *   - a mutex, an rwlock and a spinlock destroyed, initialized again, and used;
 *   - a static mutex destroyed and made again by assigning PTHREAD_MUTEX_INITIALIZER;
 *   - an rwlock local to a function, made by PTHREAD_RWLOCK_INITIALIZER and destroyed on
 *     every call (the next call's local lives at the same address);
 *   - a trylock that fails with EBUSY, an errorcheck mutex used properly;
 *   - a condition variable signalled without its mutex held, waited with M1 and, once no
 *     thread waits on it any more, with M2.
 * Expected verdict: no report; "misuse_lookalikes: done"; exit 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_robust;
static pthread_rwlock_t lock_rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t lock_s;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int flag;

static void init_typed(pthread_mutex_t *m, int type, int robust)
{
  pthread_mutexattr_t attr;

  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, type);
  if (robust)
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
}

static void *dies_holding(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_robust);
  return NULL;
}

static void *signaller(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a);
  flag = 1;
  pthread_mutex_unlock(&lock_a);
  pthread_cond_signal(&cond); /* after the unlock: legal, and the common way */
  return NULL;
}

static void *try_a(void *arg)
{
  (void)arg;
  return (void *)(long)pthread_mutex_trylock(&lock_a);
}

static void local_rwlock(void)
{
  pthread_rwlock_t local = PTHREAD_RWLOCK_INITIALIZER;

  pthread_rwlock_wrlock(&local);
  pthread_rwlock_unlock(&local);
  pthread_rwlock_destroy(&local);
}

static void wait_for_flag(pthread_mutex_t *m)
{
  pthread_t t;

  flag = 0;
  pthread_create(&t, NULL, signaller, NULL);
  pthread_mutex_lock(m);
  if (m == &lock_a) {
    while (!flag)
      pthread_cond_wait(&cond, m);
  } else {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec = ts.tv_nsec >= 900000000 ? ts.tv_nsec - 900000000 : ts.tv_nsec + 100000000;
    ts.tv_sec += ts.tv_nsec < 100000000;
    pthread_cond_timedwait(&cond, m, &ts); /* nobody else waits on cond now */
  }
  pthread_mutex_unlock(m);
  pthread_join(t, NULL);
}

int main(void)
{
  pthread_mutex_t recursive, errorcheck;
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  init_typed(&recursive, PTHREAD_MUTEX_RECURSIVE, 0);
  pthread_mutex_lock(&recursive);
  pthread_mutex_lock(&recursive);
  pthread_mutex_unlock(&recursive);
  pthread_mutex_unlock(&recursive);

  pthread_rwlock_rdlock(&lock_rw);
  pthread_rwlock_rdlock(&lock_rw);
  pthread_rwlock_unlock(&lock_rw);
  pthread_rwlock_unlock(&lock_rw);

  init_typed(&lock_robust, PTHREAD_MUTEX_NORMAL, 1);
  pthread_create(&t, NULL, dies_holding, NULL);
  pthread_join(t, NULL);
  if (pthread_mutex_lock(&lock_robust) == EOWNERDEAD) {
    pthread_mutex_consistent(&lock_robust);
    printf("misuse_lookalikes: robust lock returned EOWNERDEAD\n");
  }
  pthread_mutex_unlock(&lock_robust);
  pthread_mutex_lock(&lock_robust);
  pthread_mutex_unlock(&lock_robust);

  pthread_mutex_destroy(&recursive);
  pthread_mutex_init(&recursive, NULL);
  pthread_mutex_lock(&recursive);
  pthread_mutex_unlock(&recursive);
  pthread_rwlock_destroy(&lock_rw);
  pthread_rwlock_init(&lock_rw, NULL);
  pthread_rwlock_wrlock(&lock_rw);
  pthread_rwlock_unlock(&lock_rw);
  pthread_spin_init(&lock_s, PTHREAD_PROCESS_PRIVATE);
  pthread_spin_lock(&lock_s);
  pthread_spin_unlock(&lock_s);
  pthread_spin_destroy(&lock_s);
  pthread_spin_init(&lock_s, PTHREAD_PROCESS_PRIVATE);
  pthread_spin_lock(&lock_s);
  pthread_spin_unlock(&lock_s);
  pthread_mutex_destroy(&lock_b);
  lock_b = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&lock_b);
  pthread_mutex_unlock(&lock_b);

  for (int i = 0; i < 3; i++)
    local_rwlock();

  init_typed(&errorcheck, PTHREAD_MUTEX_ERRORCHECK, 0);
  pthread_mutex_lock(&errorcheck);
  pthread_mutex_unlock(&errorcheck);
  pthread_mutex_lock(&lock_a);
  if (pthread_create(&t, NULL, try_a, NULL) == 0) {
    void *rc;

    pthread_join(t, &rc);
    printf("misuse_lookalikes: trylock of a held mutex returned %s\n",
           (long)rc == EBUSY ? "EBUSY" : "something else");
  }
  pthread_mutex_unlock(&lock_a);

  wait_for_flag(&lock_a);
  wait_for_flag(&lock_b);
  printf("misuse_lookalikes: done\n");
  return 0;
}
