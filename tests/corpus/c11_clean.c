/* c11_clean - a correct C11 <threads.h> program: nothing to report.
 *
 * Checks: the C11 wrappers follow the pthread rules, so none of these is a cycle:
 *  - A then B in a thread that main joins (thrd_join) before it takes B then A: ordered by
 *    create/join;
 *  - a mtx_recursive mutex retaken by its owner (mtx_timed | mtx_recursive too);
 *  - D then C by mtx_trylock after C then D: a trylock never waits;
 *  - cnd_timedwait releases its mutex during the wait (then times out and holds it again):
 *    the mutex is not held across the wait, and a lock taken after is not ordered under it.
 * Expected verdict: no report; the program prints "c11_clean: done" and exits 0.
 */
#include <stdio.h>
#include <threads.h>
#include <time.h>

static mtx_t lock_a, lock_b, lock_c, lock_d, rec, cv_mu;
static cnd_t cv;

static int take_ab(void *arg)
{
  (void)arg;
  mtx_lock(&lock_a);
  mtx_lock(&lock_b);
  mtx_unlock(&lock_b);
  mtx_unlock(&lock_a);
  return 0;
}

int main(void)
{
  thrd_t t;
  struct timespec ts;
  setvbuf(stdout, NULL, _IOLBF, 0);
  mtx_init(&lock_a, mtx_plain);
  mtx_init(&lock_b, mtx_timed);
  mtx_init(&lock_c, mtx_plain);
  mtx_init(&lock_d, mtx_plain);
  mtx_init(&rec, mtx_timed | mtx_recursive);
  mtx_init(&cv_mu, mtx_plain);
  cnd_init(&cv);

  thrd_create(&t, take_ab, NULL);
  thrd_join(t, NULL);
  mtx_lock(&lock_b);
  mtx_lock(&lock_a);
  mtx_unlock(&lock_a);
  mtx_unlock(&lock_b);

  mtx_lock(&rec);
  mtx_lock(&rec);
  mtx_unlock(&rec);
  mtx_unlock(&rec);

  mtx_lock(&lock_c);
  mtx_lock(&lock_d);
  mtx_unlock(&lock_d);
  mtx_unlock(&lock_c);
  mtx_lock(&lock_d);
  if (mtx_trylock(&lock_c) == thrd_success)
    mtx_unlock(&lock_c);
  mtx_unlock(&lock_d);

  mtx_lock(&cv_mu);
  timespec_get(&ts, TIME_UTC);
  ts.tv_nsec += 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  int rc = cnd_timedwait(&cv, &cv_mu, &ts);
  mtx_unlock(&cv_mu);
  if (rc != thrd_timedout && rc != thrd_success) {
    fprintf(stderr, "c11_clean: cnd_timedwait returned %d\n", rc);
    return 1;
  }
  mtx_lock(&lock_c);
  mtx_lock(&cv_mu);
  mtx_unlock(&cv_mu);
  mtx_unlock(&lock_c);

  mtx_destroy(&lock_a);
  mtx_destroy(&lock_b);
  mtx_destroy(&lock_c);
  mtx_destroy(&lock_d);
  mtx_destroy(&rec);
  mtx_destroy(&cv_mu);
  cnd_destroy(&cv);
  printf("c11_clean: done\n");
  return 0;
}
