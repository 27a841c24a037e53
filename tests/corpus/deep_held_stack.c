/* deep_held_stack - edges from a held stack deeper than the detector's direct scan, with two
 * recursive mutexes held twice in it, then an inversion against one of those held locks.
 *
 * Checks: main takes 20 mutexes in order (each one an edge from every one above it: 190
 * edges), takes m[5] and m[18] again (recursive: no edge), then x: one edge from each of the 20
 * held locks however many times each is held (20 edges, not 22); then takes x then m[3], which
 * closes the cycle m[3] -> x -> m[3]. Beyond depth 16 the detector tells a lock held twice by a
 * set of its own rather than by comparing entries: an edge from a lock there that it dropped,
 * or counted twice, shows in the count.
 * Expected verdict: one potential deadlock (2 locks); the summary counts 21 locks and 211
 * edges; prints "deep_held_stack: done".
 */
#include <pthread.h>
#include <stdio.h>

#define DEPTH 20

int main(void)
{
  pthread_mutex_t m[DEPTH], x;
  pthread_mutexattr_t recursive;

  pthread_mutexattr_init(&recursive);
  pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
  for (int i = 0; i < DEPTH; i++)
    pthread_mutex_init(&m[i], i == 5 || i == 18 ? &recursive : NULL);
  pthread_mutex_init(&x, NULL);

  for (int i = 0; i < DEPTH; i++)
    pthread_mutex_lock(&m[i]);
  pthread_mutex_lock(&m[5]);
  pthread_mutex_lock(&m[18]);
  pthread_mutex_lock(&x);
  pthread_mutex_unlock(&x);
  pthread_mutex_unlock(&m[18]);
  pthread_mutex_unlock(&m[5]);
  for (int i = DEPTH - 1; i >= 0; i--)
    pthread_mutex_unlock(&m[i]);

  pthread_mutex_lock(&x);
  pthread_mutex_lock(&m[3]);
  pthread_mutex_unlock(&m[3]);
  pthread_mutex_unlock(&x);

  for (int i = 0; i < DEPTH; i++)
    pthread_mutex_destroy(&m[i]);
  pthread_mutex_destroy(&x);
  pthread_mutexattr_destroy(&recursive);
  puts("deep_held_stack: done");
  return 0;
}
