/* real_deadlock - two threads that really deadlock.
 *
 * Checks: each thread takes its first lock, both meet at a barrier, then each asks for the
 * other's lock: both block forever. The watchdog must see the cycle of waiting threads,
 * report it with both threads' stacks, and end the run with the exit code within a few
 * seconds (watchdog_ms defaults to 1000).
 * Expected verdict: a "deadlock (it happened): 2 threads blocked in a cycle" report, each
 * thread waiting at its LINE:*_second marker; "done" never printed; exit 66, promptly.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold_one;

static void *worker_ab(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  pthread_barrier_wait(&both_hold_one);
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  return NULL;
}

static void *worker_ba(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  pthread_barrier_wait(&both_hold_one);
  pthread_mutex_lock(&lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_barrier_init(&both_hold_one, NULL, 2);
  pthread_create(&t1, NULL, worker_ab, NULL);
  pthread_create(&t2, NULL, worker_ba, NULL);
  printf("real_deadlock: threads started\n");
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("real_deadlock: done\n");
  return 0;
}
