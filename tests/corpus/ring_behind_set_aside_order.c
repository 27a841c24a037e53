/* ring_behind_set_aside_order - a real ring of three locks through an order that was set
 * aside earlier, when it closed a cycle that was rightly not reported.
 *
 * Checks: main first takes A then C and C then A, both under a gate G (no deadlock: G
 * serializes them), before any thread exists. The order C -> A then closes a cycle the graph
 * cannot keep, and is set aside. Later three threads, concurrent, take A then B, B then C,
 * and C then A without the gate: a ring of three that can deadlock, and it runs through the
 * order C -> A. It must be found. The pair A/C is not reported (the gated orders are main's,
 * before the threads). Sequenced by semaphores: never hangs.
 * Expected verdict: one potential deadlock, a cycle of 3 locks; exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;
static sem_t step1, step2;

static void pair(pthread_mutex_t *x, pthread_mutex_t *y)
{
  pthread_mutex_lock(x);
  pthread_mutex_lock(y);
  pthread_mutex_unlock(y);
  pthread_mutex_unlock(x);
}

static void *take_ab(void *arg)
{
  (void)arg;
  pair(&lock_a, &lock_b);
  sem_post(&step1);
  return NULL;
}

static void *take_bc(void *arg)
{
  (void)arg;
  sem_wait(&step1);
  pair(&lock_b, &lock_c);
  sem_post(&step2);
  return NULL;
}

static void *take_ca(void *arg)
{
  (void)arg;
  sem_wait(&step2);
  pair(&lock_c, &lock_a);
  return NULL;
}

int main(void)
{
  pthread_t t[3];
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&step1, 0, 0);
  sem_init(&step2, 0, 0);
  pthread_mutex_lock(&gate);
  pair(&lock_a, &lock_c);
  pthread_mutex_unlock(&gate);
  pthread_mutex_lock(&gate);
  pair(&lock_c, &lock_a);
  pthread_mutex_unlock(&gate);
  pthread_create(&t[0], NULL, take_ab, NULL);
  pthread_create(&t[1], NULL, take_bc, NULL);
  pthread_create(&t[2], NULL, take_ca, NULL);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  printf("ring_behind_set_aside_order: done\n");
  return 0;
}
