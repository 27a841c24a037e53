/* heap_and_static - an inversion between a malloc'd mutex and a statically initialized one.
 *
 * Checks: a lock first seen through PTHREAD_MUTEX_INITIALIZER (never passed to
 * pthread_mutex_init) and one set up by pthread_mutex_init on the heap are both tracked, and
 * the report names them by their real addresses (printed here for the test to compare).
 * Expected verdict: one potential deadlock, a cycle of 2 locks whose addresses are the two
 * printed below; exit 66.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t static_lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
  pthread_mutex_t *heap_lock = malloc(sizeof(*heap_lock));

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (heap_lock == NULL || pthread_mutex_init(heap_lock, NULL) != 0)
    return 1;
  printf("heap_and_static: static=%p heap=%p\n", (void *)&static_lock, (void *)heap_lock);

  pthread_mutex_lock(&static_lock); /* LINE:sh_first */
  pthread_mutex_lock(heap_lock);    /* LINE:sh_second */
  pthread_mutex_unlock(heap_lock);
  pthread_mutex_unlock(&static_lock);

  pthread_mutex_lock(heap_lock);    /* LINE:hs_first */
  pthread_mutex_lock(&static_lock); /* LINE:hs_second */
  pthread_mutex_unlock(&static_lock);
  pthread_mutex_unlock(heap_lock);

  pthread_mutex_destroy(heap_lock);
  free(heap_lock);
  printf("heap_and_static: done\n");
  return 0;
}
