/* leaf_first_lock_race - four threads take the same never-seen mutexes at the same moment.
 *
 * Checks: 2,000 rounds; in each, a fresh heap mutex is made by main and four threads released
 * together (a barrier) each take it once, some with a lock of their own held (its edges in),
 * some with nothing held. Whichever thread's first acquisition makes the lock, the others
 * must find that same lock, never make a second one for the address: the summary counts
 * every mutex once (the 2 own locks taken + 2,000 = 2,002 locks, 4,000 edges) and reports
 * nothing.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define ROUNDS 2000

static pthread_barrier_t start, done;
static pthread_mutex_t *shared;
static pthread_mutex_t own[THREADS];

static void *taker(void *arg)
{
  long i = (long)arg;
  for (int r = 0; r < ROUNDS; r++) {
    pthread_barrier_wait(&start);
    if (i % 2)
      pthread_mutex_lock(&own[i]);
    pthread_mutex_lock(shared);
    pthread_mutex_unlock(shared);
    if (i % 2)
      pthread_mutex_unlock(&own[i]);
    pthread_barrier_wait(&done);
  }
  return NULL;
}

int main(void)
{
  pthread_t t[THREADS];

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_barrier_init(&start, NULL, THREADS + 1);
  pthread_barrier_init(&done, NULL, THREADS + 1);
  for (long i = 0; i < THREADS; i++) {
    pthread_mutex_init(&own[i], NULL);
    pthread_create(&t[i], NULL, taker, (void *)i);
  }
  for (int r = 0; r < ROUNDS; r++) {
    pthread_mutex_t *m = malloc(sizeof(*m));
    pthread_mutex_init(m, NULL);
    shared = m;
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&done);
    pthread_mutex_destroy(m);
    free(m);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  printf("leaf_first_lock_race: done\n");
  return 0;
}
