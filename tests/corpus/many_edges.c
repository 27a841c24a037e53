/* many_edges - more than two million lock-order edges, half of them forgotten, the rest found
 * again by another thread.
 *
 * Checks: scale of the edge table beyond what its slots' own hash bits can place (2^22 slots:
 * past that, growing the table and deleting from it read each moved edge's record). main takes
 * every pair (m[i], m[j]), i < j, of 2,112 mutexes once: 2,229,216 edges, all agreeing with one
 * order. It then destroys every odd mutex (their edges go, moved slots must land where lookups
 * look), and a second thread takes every pair of the even ones again: new to the detector
 * (another thread), each looks its edge up, and an edge not found would be learned twice.
 * Expected verdict: no report; the summary counts 2,112 locks and 2,229,216 edges; prints
 * "many_edges: 2229216 edges" and "many_edges: done".
 */
#include <pthread.h>
#include <stdio.h>

#define LOCK_COUNT 2112

static pthread_mutex_t locks[LOCK_COUNT];

/* Every pair (i, j), i < j, of the locks whose index is a multiple of step. */
static void take_pairs(int step)
{
  for (int i = 0; i < LOCK_COUNT; i += step)
    for (int j = i + step; j < LOCK_COUNT; j += step) {
      pthread_mutex_lock(&locks[i]);
      pthread_mutex_lock(&locks[j]);
      pthread_mutex_unlock(&locks[j]);
      pthread_mutex_unlock(&locks[i]);
    }
}

static void *even_pairs(void *arg)
{
  (void)arg;
  take_pairs(2);
  return NULL;
}

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < LOCK_COUNT; i++)
    pthread_mutex_init(&locks[i], NULL);
  take_pairs(1);
  for (int i = 1; i < LOCK_COUNT; i += 2)
    pthread_mutex_destroy(&locks[i]);

  pthread_t t;
  pthread_create(&t, NULL, even_pairs, NULL);
  pthread_join(t, NULL);
  printf("many_edges: %d edges\n", LOCK_COUNT * (LOCK_COUNT - 1) / 2);
  printf("many_edges: done\n");
  return 0;
}
