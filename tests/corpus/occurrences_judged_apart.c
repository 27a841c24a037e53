/* occurrences_judged_apart - one order taken twice, each occurrence explained by a different
 * rule; no occurrence of it can deadlock with the reverse order.
 *
 * Checks: main takes A then B without a gate, before it creates any thread (ordered before
 * everything the threads do). Then thread 1 takes A then B under gate G, and thread 2 takes B
 * then A under G. Against thread 2's B -> A, main's A -> B is ordered by create and thread 1's
 * is serialized by G. Summarizing the order A -> B by the gates common to all its occurrences
 * (none) and the timing of another (thread 1's, concurrent) would invent a cycle. Sequenced
 * by a semaphore: never hangs.
 * Expected verdict: no report; the program prints "occurrences_judged_apart: done", exit 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static sem_t first_done;

static void pair(pthread_mutex_t *x, pthread_mutex_t *y)
{
  pthread_mutex_lock(x);
  pthread_mutex_lock(y);
  pthread_mutex_unlock(y);
  pthread_mutex_unlock(x);
}

static void *gated_ab(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&gate);
  pair(&lock_a, &lock_b);
  pthread_mutex_unlock(&gate);
  sem_post(&first_done);
  return NULL;
}

static void *gated_ba(void *arg)
{
  (void)arg;
  sem_wait(&first_done);
  pthread_mutex_lock(&gate);
  pair(&lock_b, &lock_a);
  pthread_mutex_unlock(&gate);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&first_done, 0, 0);
  pair(&lock_a, &lock_b);
  pthread_create(&t1, NULL, gated_ab, NULL);
  pthread_create(&t2, NULL, gated_ba, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("occurrences_judged_apart: done\n");
  return 0;
}
