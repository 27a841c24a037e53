/* c11_real_deadlock - two C11 threads that really deadlock on mtx_lock.
 *
 * Checks: the C11 wrappers publish a blocked mtx_lock to the watchdog like a blocked
 * pthread_mutex_lock: each thread takes its first lock, both meet (a counter under a third
 * mutex and a cnd_t), then each asks for the other's lock and blocks forever. The watchdog
 * must report it and end the run.
 * Expected verdict: a "deadlock (it happened): 2 threads blocked in a cycle" report, each
 * thread waiting at its LINE:*_second marker; "done" never printed; exit 66, promptly.
 */
#include <stdio.h>
#include <threads.h>

static mtx_t lock_a, lock_b, meet_mu;
static cnd_t meet_cv;
static int arrived;

static void meet(void)
{
  mtx_lock(&meet_mu);
  arrived++;
  cnd_broadcast(&meet_cv);
  while (arrived < 2)
    cnd_wait(&meet_cv, &meet_mu);
  mtx_unlock(&meet_mu);
}

static int worker_ab(void *arg)
{
  (void)arg;
  mtx_lock(&lock_a); /* LINE:ab_first */
  meet();
  mtx_lock(&lock_b); /* LINE:ab_second */
  mtx_unlock(&lock_b);
  mtx_unlock(&lock_a);
  return 0;
}

static int worker_ba(void *arg)
{
  (void)arg;
  mtx_lock(&lock_b); /* LINE:ba_first */
  meet();
  mtx_lock(&lock_a); /* LINE:ba_second */
  mtx_unlock(&lock_a);
  mtx_unlock(&lock_b);
  return 0;
}

int main(void)
{
  thrd_t t1, t2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  mtx_init(&lock_a, mtx_plain);
  mtx_init(&lock_b, mtx_plain);
  mtx_init(&meet_mu, mtx_plain);
  cnd_init(&meet_cv);
  thrd_create(&t1, worker_ab, NULL);
  thrd_create(&t2, worker_ba, NULL);
  printf("c11_real_deadlock: threads started\n");
  thrd_join(t1, NULL);
  thrd_join(t2, NULL);
  printf("c11_real_deadlock: done\n");
  return 0;
}
