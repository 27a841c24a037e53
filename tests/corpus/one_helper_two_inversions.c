/* one_helper_two_inversions - two unrelated lock-order inversions, every lock taken through one
 * helper, my_lock().
 *
 * Checks: a project that wraps its locking in one function puts the same innermost frame on
 * every acquisition; the inversion of A and B and the inversion of C and D are still two
 * bugs (two distinct sets of locks) and get two reports. Everything runs in one thread, one
 * phase after the other; the rules compare its orders as if two threads ran them (see
 * one_thread_inversion), so the run never hangs.
 * Expected verdict: two potential deadlocks, each a cycle of 2 locks, the first over A and B
 * (ab_first/ab_second, ba_first/ba_second), the second over C and D; exit 66.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_d = PTHREAD_MUTEX_INITIALIZER;

static void my_lock(pthread_mutex_t *m)
{
  pthread_mutex_lock(m);
}

static void my_unlock(pthread_mutex_t *m)
{
  pthread_mutex_unlock(m);
}

static void accounts_ab(void)
{
  my_lock(&lock_a); /* LINE:ab_first */
  my_lock(&lock_b); /* LINE:ab_second */
  my_unlock(&lock_b);
  my_unlock(&lock_a);
}

static void accounts_ba(void)
{
  my_lock(&lock_b); /* LINE:ba_first */
  my_lock(&lock_a); /* LINE:ba_second */
  my_unlock(&lock_a);
  my_unlock(&lock_b);
}

static void cache_cd(void)
{
  my_lock(&lock_c);
  my_lock(&lock_d);
  my_unlock(&lock_d);
  my_unlock(&lock_c);
}

static void cache_dc(void)
{
  my_lock(&lock_d);
  my_lock(&lock_c);
  my_unlock(&lock_c);
  my_unlock(&lock_d);
}

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  accounts_ab();
  accounts_ba();
  cache_cd();
  cache_dc();
  printf("one_helper_two_inversions: done\n");
  return 0;
}
