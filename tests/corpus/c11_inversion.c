/* c11_inversion - a lock-order inversion written with C11 <threads.h>: mtx_lock, thrd_create.
 *
 * Checks: glibc implements mtx_lock by an internal call, never through pthread_mutex_lock, so
 * only wrappers of the C11 functions themselves see it. Two threads take A then B and B then
 * A; the second waits (cnd_wait on a flag) until the first is done, so the run never hangs,
 * and the condition variable's mutex is released during the wait, not held (no false order
 * between it and A or B).
 * Expected verdict: one potential deadlock, a cycle of 2 mutexes (ab_first/ab_second,
 * ba_first/ba_second); thrd_join returns each thread's result; exit 66.
 */
#include <stdio.h>
#include <threads.h>

static mtx_t lock_a, lock_b, flag_mu;
static cnd_t flag_cv;
static int ab_done;

static int worker_ab(void *arg)
{
  (void)arg;
  mtx_lock(&lock_a); /* LINE:ab_first */
  mtx_lock(&lock_b); /* LINE:ab_second */
  mtx_unlock(&lock_b);
  mtx_unlock(&lock_a);
  mtx_lock(&flag_mu);
  ab_done = 1;
  cnd_signal(&flag_cv);
  mtx_unlock(&flag_mu);
  return 7;
}

static int worker_ba(void *arg)
{
  (void)arg;
  mtx_lock(&flag_mu);
  while (!ab_done)
    cnd_wait(&flag_cv, &flag_mu);
  mtx_unlock(&flag_mu);
  mtx_lock(&lock_b); /* LINE:ba_first */
  mtx_lock(&lock_a); /* LINE:ba_second */
  mtx_unlock(&lock_a);
  mtx_unlock(&lock_b);
  return 9;
}

int main(void)
{
  thrd_t t1, t2;
  int r1 = 0, r2 = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  mtx_init(&lock_a, mtx_plain);
  mtx_init(&lock_b, mtx_plain);
  mtx_init(&flag_mu, mtx_plain);
  cnd_init(&flag_cv);
  if (thrd_create(&t1, worker_ab, NULL) != thrd_success ||
      thrd_create(&t2, worker_ba, NULL) != thrd_success) {
    fprintf(stderr, "c11_inversion: thrd_create failed\n");
    return 1;
  }
  thrd_join(t1, &r1);
  thrd_join(t2, &r2);
  printf("c11_inversion: results %d %d\n", r1, r2);
  printf("c11_inversion: done\n");
  return 0;
}
