/* completion_order - results kept in completion order where input order was promised
 * (lesson section 29).
 *
 * Every case is scored on an executor and the caller collects the futures as they complete
 * (exec_as_completed_*, the C counterpart of as_completed). The report promises results in
 * input order: results[i] is case i's score. The buggy caller stores each result in the next
 * free slot (line 79, marked BUG), so results[i] is the i-th result to FINISH. That goes
 * unnoticed whenever the cases happen to finish in the order they were submitted.
 *
 * Case 0's reply is held until the caller has collected another result (a semaphore, lines
 * 39 and 85): one slow request, made certain. Left to chance, a short run may finish in input
 * order and the verdict would depend on luck. So at least two workers are needed (one waits on
 * the slow case while another finishes the rest), and at least two cases.
 *
 * The fix (fixed/, line 79) stores each result at its own case's index, which the future
 * carries (exec_future_arg): the lesson's `results[index] = future.result()`.
 *
 * Oracle: results[i] must be case i's score for every i; any other is a HAZARD (exit 1).
 */
#include <errno.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "executor.h"
#include "hz_args.h"

static sem_t slow_reply; /* case 0 answers only once another case has been collected */

static long score_of(long id) { return 7 * id + 3; }

/* Scores one case; the score is the future's value. */
static int score_case(void *arg, void **value)
{
  long id = (long)(intptr_t)arg;

  if (id == 0)
    while (sem_wait(&slow_reply) != 0 && errno == EINTR)
      continue;
  *value = (void *)(intptr_t)score_of(id);
  return 0;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"cases to score", 50, 4, false};
  hz_args_t a;
  exec_pool_t *pool;
  exec_future_t **futures;
  exec_as_completed_t done;
  long *results, collected = 0, misplaced = 0, first = -1;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  if (a.threads < 2 || a.size < 2) {
    fprintf(stderr, "completion_order: needs -t 2 or more and -n 2 or more (case 0 waits "
            "until another case is collected)\n");
    return 2;
  }
  futures = calloc((size_t)a.size, sizeof *futures);
  results = calloc((size_t)a.size, sizeof *results);
  if (!futures || !results || sem_init(&slow_reply, 0, 0) != 0 ||
      exec_pool_create(&pool, (size_t)a.threads, 0) < 0) {
    fprintf(stderr, "completion_order: cannot set up %ld cases and %ld workers\n", a.size,
            a.threads);
    return 2;
  }
  for (long id = 0; id < a.size; id++)
    if (!(futures[id] = exec_submit(pool, score_case, (void *)(intptr_t)id))) {
      perror("completion_order: exec_submit");
      return 2;
    }
  if (exec_as_completed_init(&done, futures, (size_t)a.size) < 0) {
    fprintf(stderr, "completion_order: out of memory\n");
    return 2;
  }
  for (exec_future_t *f; exec_as_completed_next(&done, &f) == 0; exec_future_free(f)) {
    void *value;
    long slot = collected; /* BUG: the next free slot: completion order, not input order */

    if (exec_future_get(f, &value) < 0)
      return 2;
    results[slot] = (long)(intptr_t)value;
    if (++collected == 1)
      sem_post(&slow_reply); /* the slow case may answer now */
  }
  exec_as_completed_destroy(&done);
  exec_pool_destroy(pool);
  sem_destroy(&slow_reply);
  free(futures);

  for (long i = 0; i < a.size; i++)
    if (results[i] != score_of(i) && misplaced++ == 0)
      first = i;
  if (misplaced > 0) {
    printf("completion_order: HAZARD %ld of %ld results out of input order (slot %ld holds "
           "case %ld's score)\n", misplaced, a.size, first, (results[first] - 3) / 7);
    free(results);
    return 1;
  }
  printf("completion_order: OK %ld results in input order\n", a.size);
  free(results);
  return 0;
}
