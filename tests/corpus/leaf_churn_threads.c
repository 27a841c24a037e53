/* leaf_churn_threads - four threads each make 3,000 request locks, every one taken under the
 * thread's own lock and a shared registry lock, then destroyed.
 *
 * Checks: 12,000 new locks with two edges into each (own -> request, registry -> request), all
 * in the same order, from threads running at once: nothing to report, and the summary counts
 * every lock and edge exactly: 4 own locks + 1 registry + 12,000 requests = 12,005 locks;
 * 4 edges own -> registry + 24,000 into requests = 24,004 edges.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define REQUESTS 3000

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t own[THREADS];

static void *serve(void *arg)
{
  pthread_mutex_t *mine = arg;
  for (int i = 0; i < REQUESTS; i++) {
    pthread_mutex_t *request = malloc(sizeof(*request));
    pthread_mutex_init(request, NULL);
    pthread_mutex_lock(mine);
    pthread_mutex_lock(&registry);
    pthread_mutex_lock(request);
    pthread_mutex_unlock(request);
    pthread_mutex_unlock(&registry);
    pthread_mutex_unlock(mine);
    pthread_mutex_destroy(request);
    free(request);
  }
  return NULL;
}

int main(void)
{
  pthread_t t[THREADS];

  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < THREADS; i++) {
    pthread_mutex_init(&own[i], NULL);
    pthread_create(&t[i], NULL, serve, &own[i]);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  printf("leaf_churn_threads: done\n");
  return 0;
}
