/* big_vectors - locks with many edges each way, found again by a second thread, one of them
 * destroyed and made again, then an inversion between two of them.
 *
 * Checks: main takes each of 24 hub mutexes h[i] with each of 24 mutexes l[j] inside it, hub
 * by hub (576 edges h[i] -> l[j]); every hub ends with 24 edges out and every l[j] with 24 in,
 * so each vector grows past the point where the detector starts to index its edges, in the
 * middle of the pass for the l[j]. Besides: s -> l[0] (a lock with one edge out) and
 * h[0] -> t (a lock with one edge in). Then l[3] is destroyed and initialized again (a new lock,
 * its 24 edges gone), and a second thread takes every pair again: its acquisitions are new to
 * the detector (another thread), so each one looks its edges up, and only the 24 pairs with the
 * new l[3] are new edges. An edge looked up and not found would be learned a second time and
 * show in the count. Last, a third thread, running beside the second and sequenced after it by
 * a semaphore (so it never hangs), takes l[5] then h[7]: the cycle h[7] -> l[5] -> h[7].
 * Expected verdict: one potential deadlock (2 locks); the summary counts 51 locks (24 + 24 +
 * s + t + the new l[3]) and 603 edges (576 + 2 + 24 + 1); prints "big_vectors: done".
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

#define HUBS 24
#define INNER 24

static pthread_mutex_t h[HUBS], l[INNER], s, t;
static sem_t again_done;

static void all_pairs(void)
{
  for (int i = 0; i < HUBS; i++)
    for (int j = 0; j < INNER; j++) {
      pthread_mutex_lock(&h[i]);
      pthread_mutex_lock(&l[j]);
      pthread_mutex_unlock(&l[j]);
      pthread_mutex_unlock(&h[i]);
    }
}

/* s -> l[0] (s has one edge out) and h[0] -> t (t has one edge in). */
static void small_ends(void)
{
  pthread_mutex_lock(&s);
  pthread_mutex_lock(&l[0]);
  pthread_mutex_unlock(&l[0]);
  pthread_mutex_unlock(&s);
  pthread_mutex_lock(&h[0]);
  pthread_mutex_lock(&t);
  pthread_mutex_unlock(&t);
  pthread_mutex_unlock(&h[0]);
}

static void *again(void *arg)
{
  (void)arg;
  all_pairs();
  small_ends();
  sem_post(&again_done);
  return NULL;
}

static void *invert(void *arg)
{
  (void)arg;
  sem_wait(&again_done);
  pthread_mutex_lock(&l[5]);
  pthread_mutex_lock(&h[7]);
  pthread_mutex_unlock(&h[7]);
  pthread_mutex_unlock(&l[5]);
  return NULL;
}

int main(void)
{
  for (int i = 0; i < HUBS; i++)
    pthread_mutex_init(&h[i], NULL);
  for (int j = 0; j < INNER; j++)
    pthread_mutex_init(&l[j], NULL);
  pthread_mutex_init(&s, NULL);
  pthread_mutex_init(&t, NULL);

  all_pairs();
  small_ends();

  pthread_mutex_destroy(&l[3]);
  pthread_mutex_init(&l[3], NULL);

  pthread_t t1, t2;
  sem_init(&again_done, 0, 0);
  pthread_create(&t1, NULL, again, NULL);
  pthread_create(&t2, NULL, invert, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);

  for (int i = 0; i < HUBS; i++)
    pthread_mutex_destroy(&h[i]);
  for (int j = 0; j < INNER; j++)
    pthread_mutex_destroy(&l[j]);
  pthread_mutex_destroy(&s);
  pthread_mutex_destroy(&t);
  puts("big_vectors: done");
  return 0;
}
