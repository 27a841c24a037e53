/* leaf_holder_reinit - request locks taken under a lock that is then destroyed and initialized
 * again in the same memory, and one request lock taken before the new lock.
 *
 * Checks: six fresh heap mutexes are each taken under `table` (the last one kept), so each
 * gets an edge from that instance of `table`; `table` is destroyed and initialized again, a
 * new lock at the same address; then the kept request lock is held while the new `table` is
 * taken. The old edge table -> request is from a lock that no longer exists and must not meet
 * request -> new table.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define REQUESTS 6

static pthread_mutex_t table;

int main(void)
{
  pthread_mutex_t *kept = NULL;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_init(&table, NULL);
  for (int i = 0; i < REQUESTS; i++) {
    pthread_mutex_t *request = malloc(sizeof(*request));
    pthread_mutex_init(request, NULL);
    pthread_mutex_lock(&table);
    pthread_mutex_lock(request);
    pthread_mutex_unlock(request);
    pthread_mutex_unlock(&table);
    if (i + 1 < REQUESTS) {
      pthread_mutex_destroy(request);
      free(request);
    } else {
      kept = request;
    }
  }
  pthread_mutex_destroy(&table);
  pthread_mutex_init(&table, NULL);
  pthread_mutex_lock(kept);
  pthread_mutex_lock(&table);
  pthread_mutex_unlock(&table);
  pthread_mutex_unlock(kept);
  pthread_mutex_destroy(kept);
  free(kept);
  printf("leaf_holder_reinit: done\n");
  return 0;
}
