/* create_join_separation - the two orders live in threads that never overlap in time.
 *
 * Checks: thread 1 takes A then B and is joined; only then is thread 2 created, taking B then
 * A. The join and the create order every event of thread 1 before every event of thread 2, so
 * no interleaving can deadlock; such a cycle is not reported.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *worker_ab(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  return NULL;
}

static void *worker_ba(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_b);
  pthread_mutex_lock(&lock_a);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  return NULL;
}

int main(void)
{
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&t, NULL, worker_ab, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, worker_ba, NULL);
  pthread_join(t, NULL);
  printf("create_join_separation: done\n");
  return 0;
}
