/* leaf_request_inversion - a lock per request, taken under a long-lived lock, then one request's
 * lock taken the other way round by another thread.
 *
 * Checks: the worker serves 12 requests, each with a fresh heap mutex taken under `table` and
 * destroyed after, except the last, which is kept: every request lock is new, with a single
 * edge into it and none out, the shape lockgraph handles without its detector lock once the
 * call sites are known. Then main takes the kept request's lock and, under it, `table`: the
 * kept lock's first edge out, which closes table -> request -> table while the worker is still
 * alive (no create/join order between the two).
 * Expected verdict: one potential deadlock of 2 mutexes; the edge table -> request shows the
 * worker's lines (held and acquired), the edge request -> table main's; exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#define REQUESTS 12

static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *kept;
static sem_t served, audited;

static void *serve_requests(void *arg)
{
  (void)arg;
  for (int i = 0; i < REQUESTS; i++) {
    pthread_mutex_t *request = malloc(sizeof(*request));
    pthread_mutex_init(request, NULL);
    pthread_mutex_lock(&table); /* LINE:ab_first */
    pthread_mutex_lock(request); /* LINE:ab_second */
    pthread_mutex_unlock(request);
    pthread_mutex_unlock(&table);
    if (i + 1 < REQUESTS) {
      pthread_mutex_destroy(request);
      free(request);
    } else {
      kept = request;
    }
  }
  sem_post(&served);
  sem_wait(&audited); /* stay alive until main has taken the other order */
  return NULL;
}

static void audit_request(void)
{
  pthread_mutex_lock(kept); /* LINE:ba_first */
  pthread_mutex_lock(&table); /* LINE:ba_second */
  pthread_mutex_unlock(&table);
  pthread_mutex_unlock(kept);
}

int main(void)
{
  pthread_t worker;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&served, 0, 0);
  sem_init(&audited, 0, 0);
  pthread_create(&worker, NULL, serve_requests, NULL);
  sem_wait(&served);
  audit_request();
  sem_post(&audited);
  pthread_join(worker, NULL);
  pthread_mutex_destroy(kept);
  free(kept);
  printf("leaf_request_inversion: done\n");
  return 0;
}
