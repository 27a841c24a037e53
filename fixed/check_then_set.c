/* check_then_set - thread-safe does not mean logic-safe (lesson section 24).
 *
 * The registry is an hz_map whose every call is locked, so each call alone is "thread-safe".
 * register_ids() (lines 51-53 of buggy/) still races: it checks hz_map_contains, validates
 * the id (a short simulated I/O, done without any lock held, as it should be), then calls
 * hz_map_put. Two threads that both check before either puts register the same id twice
 * (the line marked BUG). Every thread tries every id, all starting together at a barrier.
 *
 * No data-race detector reports this: every memory access is under the map's mutex. The bug
 * is in the logic, between two correct calls, and only the oracle sees it.
 *
 * The fix (fixed/) turns the check and the set into one locked step: hz_map_put_if_absent,
 * counting a registration only when that call inserted the id. The contains() check stays as
 * a cheap filter that skips the validation of ids already known.
 *
 * Oracle: the registrations, summed from per-thread counts after join, must equal the number
 * of distinct ids; more is a HAZARD (exit 1).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hz_args.h"
#include "hz_map.h"

typedef struct worker {
  pthread_t thread;
  long registered; /* this thread's own count: no shared counter to race on */
  int error;
} worker_t;

static hz_map_t *registry;
static pthread_barrier_t start;
static long ids;

static void validate(int id)
{
  struct timespec io = {0, 100000 + (id % 4) * 25000}; /* "validation I/O": 100-175 us */
  nanosleep(&io, NULL);
}

static void *register_ids(void *arg)
{
  worker_t *w = arg;

  pthread_barrier_wait(&start);
  for (int id = 0; id < ids && !w->error; id++) {
    if (!hz_map_contains(registry, id)) {
      validate(id);
      int rc = hz_map_put_if_absent(registry, id, id); /* FIX: check and set in one step */
      if (rc == 0)
        w->registered++;
      else if (rc != -EEXIST) /* FIX: EEXIST: another thread registered it, not an error */
        w->error = rc;
    }
  }
  return NULL;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"distinct ids to register", 200, 4, false};
  hz_args_t a;
  worker_t *workers;
  long registered = 0;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  ids = a.size;
  workers = calloc((size_t)a.threads, sizeof *workers);
  if (!workers || ids > 0x7fffffff || hz_map_create(&registry, (size_t)ids) < 0 ||
      pthread_barrier_init(&start, NULL, (unsigned)a.threads) != 0) {
    fprintf(stderr, "check_then_set: cannot set up %ld ids and %ld threads\n", ids, a.threads);
    return 2;
  }
  for (long t = 0; t < a.threads; t++)
    if (pthread_create(&workers[t].thread, NULL, register_ids, &workers[t]) != 0) {
      fprintf(stderr, "check_then_set: cannot create thread %ld\n", t);
      return 2;
    }
  for (long t = 0; t < a.threads; t++) {
    pthread_join(workers[t].thread, NULL);
    if (workers[t].error) {
      fprintf(stderr, "check_then_set: map error: %s\n", strerror(-workers[t].error));
      return 2;
    }
    registered += workers[t].registered;
  }
  pthread_barrier_destroy(&start);
  free(workers);
  hz_map_destroy(registry);

  if (registered != ids) {
    printf("check_then_set: HAZARD %ld registrations for %ld distinct ids (%ld duplicates)\n",
           registered, ids, registered - ids);
    return 1;
  }
  printf("check_then_set: OK %ld registrations for %ld distinct ids\n", registered, ids);
  return 0;
}
