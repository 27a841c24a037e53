/* inversion_under_deep_nesting - a plain two-lock inversion among locks taken nested in order.
 *
 * Main takes L0 .. L23 in that order, all held at once (every order Li -> Lj, i < j, 276 of
 * them), and lets them go; then a second thread takes L20 and, while it holds it, L0: the
 * reverse of L0 -> L20. The two-lock cycle is the shortest of the cycles this closes; the
 * longer ones (L0 -> Li -> ... -> L20 -> L0) number 2^19, more than one search may look at.
 * Expected verdict: potential deadlocks, the first a cycle of 2 locks, L0 and L20 (main's
 * "nest" line and the thread's "inverse_first"/"inverse_second" lines); exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

#define NLOCKS 24
#define INVERTED 20

static pthread_mutex_t locks[NLOCKS];
static sem_t nested_done;

static void *inverse(void *arg)
{
  while (sem_wait(&nested_done) != 0)
    ;
  pthread_mutex_lock(&locks[INVERTED]); /* LINE:inverse_first */
  pthread_mutex_lock(&locks[0]);        /* LINE:inverse_second */
  pthread_mutex_unlock(&locks[0]);
  pthread_mutex_unlock(&locks[INVERTED]);
  return arg;
}

int main(void)
{
  pthread_t t;
  sem_init(&nested_done, 0, 0);
  for (int i = 0; i < NLOCKS; i++)
    pthread_mutex_init(&locks[i], NULL);
  if (pthread_create(&t, NULL, inverse, NULL) != 0)
    return 2;
  for (int i = 0; i < NLOCKS; i++)
    pthread_mutex_lock(&locks[i]); /* LINE:nest */
  for (int i = NLOCKS - 1; i >= 0; i--)
    pthread_mutex_unlock(&locks[i]);
  sem_post(&nested_done);
  pthread_join(t, NULL);
  printf("inversion_under_deep_nesting: done\n");
  return 0;
}
