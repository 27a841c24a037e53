/* non_idempotent_retry - a retried operation applied twice (lesson section 25).
 *
 * The caller adds one note per case through an executor and waits for each with a timeout
 * (section 15: never wait forever); when the wait times out it retries, as the client of a
 * slow service would. add_note() appends the note blindly (line 52 of buggy/, marked BUG),
 * so an attempt that timed out on the caller's side but was applied anyway leaves a
 * duplicate once the retry is applied too: "append note blindly. If retry happens, note
 * duplicates."
 *
 * Every SLOW_EVERY-th note's first attempt is applied, then its reply is held until the
 * caller has given up on it (a semaphore per attempt, lines 55 and 92 of buggy/): the
 * lost or late acknowledgement of a real service, made certain. Left to chance, the timeouts
 * would depend on the machine's load, and so would the verdict.
 *
 * The fix (fixed/, lines 46, 54-57 and 77) makes the operation idempotent: the note's id is its
 * idempotency key, and the store records which ids it has applied, so a repeated attempt is
 * acknowledged without appending again ("record processed event IDs"). The timeout and the
 * retry stay: retrying is right; an operation that is not safe to repeat is the bug.
 *
 * Oracle: every note in the store exactly once; a duplicate or a missing note is a HAZARD
 * (exit 1).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#include "executor.h"
#include "hz_args.h"

#define ATTEMPTS 2     /* one retry */
#define TIMEOUT_MS 25  /* how long the caller waits for one attempt */
#define SLOW_EVERY 5   /* notes 0, 5, 10, ...: the first attempt's reply comes late */

typedef struct attempt {
  long note;           /* the note's id */
  int number;          /* 1 = first attempt */
  sem_t reply_held;    /* a slow first attempt waits here after applying its note */
} attempt_t;

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static long *store;    /* the ids of the notes appended, in order */
static long stored;

static int add_note(void *arg, void **value)
{
  attempt_t *at = arg;

  (void)value;
  pthread_mutex_lock(&store_lock);
  store[stored++] = at->note; /* BUG: appends again when a retry repeats an applied note */
  pthread_mutex_unlock(&store_lock);
  if (at->number == 1 && at->note % SLOW_EVERY == 0)
    while (sem_wait(&at->reply_held) != 0 && errno == EINTR)
      continue;
  return 0;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"notes to add", 20, 4, false};
  hz_args_t a;
  exec_pool_t *pool;
  attempt_t *attempts;
  long *copies, retries = 0, duplicates = 0, missing = 0;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  attempts = calloc((size_t)a.size * ATTEMPTS, sizeof *attempts);
  store = calloc((size_t)a.size * ATTEMPTS, sizeof *store);
  copies = calloc((size_t)a.size, sizeof *copies);
  if (!attempts || !store || !copies ||
      exec_pool_create(&pool, (size_t)a.threads, 0) < 0) {
    fprintf(stderr, "non_idempotent_retry: cannot set up %ld notes\n", a.size);
    return 2;
  }
  for (long note = 0; note < a.size; note++) {
    int rc = -ETIMEDOUT;
    for (int k = 0; k < ATTEMPTS && rc == -ETIMEDOUT; k++) {
      attempt_t *at = &attempts[note * ATTEMPTS + k];
      exec_future_t *f;

      at->note = note;
      at->number = k + 1;
      if (sem_init(&at->reply_held, 0, 0) != 0 || !(f = exec_submit(pool, add_note, at))) {
        perror("non_idempotent_retry: submit");
        return 2;
      }
      rc = exec_future_get_timeout(f, NULL, TIMEOUT_MS);
      exec_future_free(f); /* a timed-out attempt finishes on its own; the pool frees it */
      if (rc == -ETIMEDOUT) {
        sem_post(&at->reply_held); /* the late reply: it arrives after the caller gave up */
        retries += k + 1 < ATTEMPTS;
      }
    }
  }
  exec_pool_destroy(pool);
  for (long i = 0; i < a.size * ATTEMPTS; i++)
    if (attempts[i].number > 0)
      sem_destroy(&attempts[i].reply_held);

  for (long i = 0; i < stored; i++)
    duplicates += copies[store[i]]++ > 0;
  for (long note = 0; note < a.size; note++)
    missing += copies[note] == 0;
  free(attempts);
  free(store);
  free(copies);
  if (duplicates > 0 || missing > 0) {
    printf("non_idempotent_retry: HAZARD %ld notes stored for %ld cases after %ld retries "
           "(%ld duplicates, %ld missing)\n", stored, a.size, retries, duplicates, missing);
    return 1;
  }
  printf("non_idempotent_retry: OK %ld notes stored for %ld cases after %ld retries\n", stored,
         a.size, retries);
  return 0;
}
