/* swallowed_error - failures nobody looks at (lesson sections 13, 14 and 39).
 *
 * Every FAIL_EVERY-th item fails by design with -EIO. The buggy program submits each item
 * and drops the future exec_submit returns (line 57, marked BUG): the task's error lives in
 * that future, so it is dropped too, and the run ends "successfully" with failures nobody
 * reported. In Python terms: submit() without ever calling result().
 *
 * Who notices: the compiler (exec_submit is warn_unused_result, so -Wall warns at line 57),
 * the executor at run time (a future left at shutdown with an unobserved error is reported
 * on stderr with its submission line), and the oracle below.
 *
 * The fix (fixed/) keeps every future and consumes each one as it completes (lines 52-79 of fixed/:
 * exec_as_completed_*, exec_future_get), reporting every failure with its item: "use
 * as_completed and handle per future ... failed item logged/collected ... no silent failure".
 *
 * Oracle: the program knows how many failures it designed; reporting fewer is a HAZARD
 * (exit 1).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "executor.h"
#include "hz_args.h"

#define FAIL_EVERY 7

/* Checks one item: a short wait standing for its I/O, and a designed failure now and then. */
static int check_item(void *arg, void **value)
{
  long id = (long)(intptr_t)arg;
  struct timespec io = {0, 100000};

  (void)value;
  nanosleep(&io, NULL);
  return id % FAIL_EVERY == FAIL_EVERY - 1 ? -EIO : 0;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"items to check", 100, 4, false};
  hz_args_t a;
  exec_pool_t *pool;
  long designed = 0, reported = 0;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  if (exec_pool_create(&pool, (size_t)a.threads, 0) < 0) {
    fprintf(stderr, "swallowed_error: cannot start %ld workers\n", a.threads);
    return 2;
  }
  for (long id = 0; id < a.size; id++) {
    if (id % FAIL_EVERY == FAIL_EVERY - 1)
      designed++;
    exec_submit(pool, check_item, (void *)(intptr_t)id); /* BUG: future and its error dropped */
  }
  exec_pool_destroy(pool);

  if (reported != designed) {
    printf("swallowed_error: HAZARD %ld of %ld failures reported (the run claimed %ld items "
           "done)\n", reported, designed, a.size);
    return 1;
  }
  printf("swallowed_error: OK %ld of %ld failures reported, %ld items succeeded\n", reported,
         designed, a.size - reported);
  return 0;
}
