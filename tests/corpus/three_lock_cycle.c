/* three_lock_cycle - A -> B, B -> C, C -> A, each edge by its own thread, one after another.
 *
 * Checks: a cycle longer than two, where no pair of threads is inverted on its own.
 * Expected verdict: one potential deadlock, a cycle of 3 locks whose three edges carry the
 * stacks of the LINE: markers; exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;
static sem_t ab_done, bc_done;

static void *worker_ab(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  sem_post(&ab_done);
  return NULL;
}

static void *worker_bc(void *arg)
{
  (void)arg;
  sem_wait(&ab_done);
  pthread_mutex_lock(&lock_b); /* LINE:bc_first */
  pthread_mutex_lock(&lock_c); /* LINE:bc_second */
  pthread_mutex_unlock(&lock_c);
  pthread_mutex_unlock(&lock_b);
  sem_post(&bc_done);
  return NULL;
}

static void *worker_ca(void *arg)
{
  (void)arg;
  sem_wait(&bc_done);
  pthread_mutex_lock(&lock_c); /* LINE:ca_first */
  pthread_mutex_lock(&lock_a); /* LINE:ca_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_c);
  return NULL;
}

int main(void)
{
  pthread_t t[3];

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&ab_done, 0, 0);
  sem_init(&bc_done, 0, 0);
  pthread_create(&t[0], NULL, worker_ab, NULL);
  pthread_create(&t[1], NULL, worker_bc, NULL);
  pthread_create(&t[2], NULL, worker_ca, NULL);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  printf("three_lock_cycle: done\n");
  return 0;
}
