/* shortest_cycle - one edge closes a 2-cycle and a 3-cycle at once.
 *
 * Checks: the graph first holds B -> A, B -> C and C -> A; then A -> B arrives, closing both
 * A -> B -> A and A -> B -> C -> A. Two distinct sets of locks, so two reports, the shortest
 * first: a cycle of 2 locks made of the edge taken at close_first/close_second and the edge
 * taken at ba_first/ba_second, then the ring of 3 (three threads running take_pair(B, C),
 * take_pair(C, A) and the closing pair would deadlock even without the B -> A order).
 * Expected verdict: two potential deadlocks, the first of 2 locks; exit 66.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;

static void take_pair(pthread_mutex_t *outer, pthread_mutex_t *inner)
{
  pthread_mutex_lock(outer); /* LINE:pair_first */
  pthread_mutex_lock(inner); /* LINE:pair_second */
  pthread_mutex_unlock(inner);
  pthread_mutex_unlock(outer);
}

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  take_pair(&lock_b, &lock_c);
  take_pair(&lock_c, &lock_a);

  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  pthread_mutex_lock(&lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);

  pthread_mutex_lock(&lock_a); /* LINE:close_first */
  pthread_mutex_lock(&lock_b); /* LINE:close_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  printf("shortest_cycle: done\n");
  return 0;
}
