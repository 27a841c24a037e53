/* test_executor.c - the executor's contract: results, errors, timeouts, cancellation,
 * completion order, backpressure, the high-water mark, the unobserved-error report and
 * shutdown. Tasks that must stay running wait on a gate the test opens, so no test relies
 * on sleeping to order events. */
#define _GNU_SOURCE /* asprintf */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "executor.h"

/* A gate: tasks that enter it report that they did, then wait until the test opens it. */
typedef struct gate {
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  int entered;
  bool open;
} gate_t;

static void gate_init(gate_t *g)
{
  pthread_mutex_init(&g->mutex, NULL);
  pthread_cond_init(&g->changed, NULL);
  g->entered = 0;
  g->open = false;
}

static int gate_task(void *arg, void **value)
{
  gate_t *g = arg;

  pthread_mutex_lock(&g->mutex);
  g->entered++;
  pthread_cond_broadcast(&g->changed);
  while (!g->open)
    pthread_cond_wait(&g->changed, &g->mutex);
  pthread_mutex_unlock(&g->mutex);
  *value = g;
  return 0;
}

static void gate_wait_entered(gate_t *g, int n)
{
  pthread_mutex_lock(&g->mutex);
  while (g->entered < n)
    pthread_cond_wait(&g->changed, &g->mutex);
  pthread_mutex_unlock(&g->mutex);
}

static void gate_open(gate_t *g)
{
  pthread_mutex_lock(&g->mutex);
  g->open = true;
  pthread_cond_broadcast(&g->changed);
  pthread_mutex_unlock(&g->mutex);
}

/* Returns its argument doubled as the value. */
static int double_task(void *arg, void **value)
{
  *value = (void *)((intptr_t)arg * 2);
  return 0;
}

/* Fails with the errno value it is given. */
static int fail_task(void *arg, void **value)
{
  (void)value;
  return -(int)(intptr_t)arg;
}

static exec_pool_t *pool_start(size_t workers, size_t bound)
{
  exec_pool_t *p = NULL;

  cr_assert_eq(exec_pool_create(&p, workers, bound), 0);
  return p;
}

Test(executor, get_returns_each_task_value, .timeout = 10)
{
  exec_pool_t *p = pool_start(3, 0);
  exec_future_t *f[20];

  for (intptr_t i = 0; i < 20; i++)
    cr_assert_not_null(f[i] = exec_submit(p, double_task, (void *)i));
  for (intptr_t i = 0; i < 20; i++) {
    void *v = NULL;
    cr_expect_eq(exec_future_get(f[i], &v), 0);
    cr_expect_eq((intptr_t)v, 2 * i);
    cr_expect_eq(exec_future_status(f[i]), EXEC_FUTURE_DONE);
    exec_future_free(f[i]);
  }
  exec_pool_destroy(p);
}

Test(executor, get_returns_the_task_error, .timeout = 10)
{
  exec_pool_t *p = pool_start(2, 0);
  exec_future_t *f = exec_submit(p, fail_task, (void *)(intptr_t)EPIPE);

  cr_assert_not_null(f);
  cr_expect_eq(exec_future_get(f, NULL), -EPIPE);
  cr_expect_eq(exec_future_get(f, NULL), -EPIPE, "a result can be read again");
  exec_future_free(f);
  exec_pool_destroy(p);
}

Test(executor, get_timeout_returns_etimedout_while_running, .timeout = 10)
{
  gate_t g;
  exec_pool_t *p = pool_start(1, 0);
  exec_future_t *f;
  void *v = NULL;

  gate_init(&g);
  cr_assert_not_null(f = exec_submit(p, gate_task, &g));
  gate_wait_entered(&g, 1);
  cr_expect_eq(exec_future_get_timeout(f, &v, 0), -ETIMEDOUT);
  cr_expect_eq(exec_future_get_timeout(f, &v, 50), -ETIMEDOUT);
  cr_expect_eq(exec_future_status(f), EXEC_FUTURE_RUNNING);
  cr_expect_not(exec_future_done(f));
  gate_open(&g);
  cr_expect_eq(exec_future_get_timeout(f, &v, 5000), 0);
  cr_expect_eq(v, &g);
  exec_future_free(f);
  exec_pool_destroy(p);
}

Test(executor, cancel_works_only_before_the_task_starts, .timeout = 10)
{
  gate_t g;
  exec_pool_t *p = pool_start(1, 0);
  exec_future_t *running, *queued;

  gate_init(&g);
  cr_assert_not_null(running = exec_submit(p, gate_task, &g));
  gate_wait_entered(&g, 1);
  cr_assert_not_null(queued = exec_submit(p, fail_task, (void *)(intptr_t)EIO));
  cr_expect_eq(exec_future_status(queued), EXEC_FUTURE_PENDING);
  cr_expect_eq(exec_future_cancel(queued), 0);
  cr_expect_eq(exec_future_cancel(queued), 0, "cancelling twice is fine");
  cr_expect_eq(exec_future_status(queued), EXEC_FUTURE_CANCELLED);
  cr_expect(exec_future_done(queued));
  cr_expect_eq(exec_future_cancel(running), -EBUSY);
  gate_open(&g);
  cr_expect_eq(exec_future_get(running, NULL), 0);
  cr_expect_eq(exec_future_get(queued, NULL), -ECANCELED);
  cr_expect_eq(exec_future_cancel(running), -EBUSY, "a finished task cannot be cancelled");
  exec_future_free(running);
  exec_future_free(queued);
  exec_pool_destroy(p);
}

Test(executor, as_completed_yields_every_future_once, .timeout = 10)
{
  enum { N = 64 };
  exec_pool_t *p = pool_start(4, 0);
  exec_future_t *f[N], *next;
  exec_as_completed_t it;
  int seen[N] = {0}, yielded = 0;

  for (intptr_t i = 0; i < N; i++)
    cr_assert_not_null(f[i] = exec_submit(p, double_task, (void *)i));
  cr_assert_eq(exec_as_completed_init(&it, f, N), 0);
  while (exec_as_completed_next(&it, &next) == 0) {
    void *v;
    cr_assert(exec_future_done(next), "yielded before it was done");
    cr_assert_eq(exec_future_get(next, &v), 0);
    seen[(intptr_t)v / 2]++;
    yielded++;
  }
  cr_expect_eq(yielded, N);
  for (int i = 0; i < N; i++)
    cr_expect_eq(seen[i], 1, "future %d yielded %d times", i, seen[i]);
  cr_expect_eq(exec_as_completed_next(&it, &next), -ENOENT);
  exec_as_completed_destroy(&it);
  for (int i = 0; i < N; i++)
    exec_future_free(f[i]);
  exec_pool_destroy(p);
}

Test(executor, wait_any_returns_the_finished_future, .timeout = 10)
{
  gate_t g;
  exec_pool_t *p = pool_start(2, 0);
  exec_future_t *f[2];
  size_t idx = 99;

  gate_init(&g);
  cr_assert_not_null(f[0] = exec_submit(p, gate_task, &g));
  cr_assert_not_null(f[1] = exec_submit(p, double_task, (void *)1));
  cr_expect_eq(exec_wait_any(f, 2, -1, &idx), 0);
  cr_expect_eq(idx, 1);
  cr_expect_eq(exec_wait_any(f, 1, 20, &idx), -ETIMEDOUT);
  cr_expect_eq(exec_wait_any(f, 0, 20, &idx), -EINVAL);
  gate_open(&g);
  cr_expect_eq(exec_wait_any(f, 1, -1, &idx), 0);
  cr_expect_eq(idx, 0);
  cr_expect_eq(exec_future_get(f[0], NULL), 0);
  cr_expect_eq(exec_future_get(f[1], NULL), 0);
  exec_future_free(f[0]);
  exec_future_free(f[1]);
  exec_pool_destroy(p);
}

/* A helper that submits one task and records when exec_submit returned. */
typedef struct submitter {
  exec_pool_t *pool;
  exec_future_t *future;
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  bool returned;
} submitter_t;

static void *submitter_main(void *arg)
{
  submitter_t *s = arg;
  exec_future_t *f = exec_submit(s->pool, double_task, (void *)21);

  pthread_mutex_lock(&s->mutex);
  s->future = f;
  s->returned = true;
  pthread_cond_broadcast(&s->changed);
  pthread_mutex_unlock(&s->mutex);
  return NULL;
}

/* The helper's condition variable waits on the monotonic clock: a step of the wall clock
 * (NTP, a VM resumed) during the test must not stretch or cut the waits below. */
static void submitter_init(submitter_t *s)
{
  pthread_condattr_t attr;

  pthread_mutex_init(&s->mutex, NULL);
  cr_assert_eq(pthread_condattr_init(&attr), 0);
  cr_assert_eq(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), 0);
  cr_assert_eq(pthread_cond_init(&s->changed, &attr), 0);
  pthread_condattr_destroy(&attr);
}

/* Waits up to timeout_ms for the helper's submit to return; returns whether it did. */
static bool submitter_wait(submitter_t *s, long timeout_ms)
{
  struct timespec deadline;
  bool returned;

  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&s->mutex);
  while (!s->returned && pthread_cond_timedwait(&s->changed, &s->mutex, &deadline) == 0)
    ;
  returned = s->returned;
  pthread_mutex_unlock(&s->mutex);
  return returned;
}

Test(executor, bounded_queue_blocks_submit_until_space, .timeout = 20)
{
  enum { BOUND = 3 };
  gate_t g;
  exec_pool_t *p = pool_start(1, BOUND);
  exec_future_t *f[BOUND + 1];
  submitter_t s = {.pool = p, .returned = false};
  pthread_t helper;
  void *v = NULL;

  gate_init(&g);
  submitter_init(&s);
  /* The one worker holds the first task at the gate; BOUND more fill the queue. */
  for (int i = 0; i < BOUND + 1; i++)
    cr_assert_not_null(f[i] = exec_submit(p, gate_task, &g));
  gate_wait_entered(&g, 1);
  cr_assert_eq(pthread_create(&helper, NULL, submitter_main, &s), 0);
  /* Nothing can make room while the gate is shut: a return here would be a bug. */
  cr_expect_not(submitter_wait(&s, 300), "submit returned while the queue was full");
  cr_expect_eq(exec_pool_high_water(p), BOUND);
  gate_open(&g);
  cr_expect(submitter_wait(&s, 10000), "submit still blocked after the queue drained");
  pthread_join(helper, NULL);
  cr_assert_not_null(s.future);
  cr_expect_eq(exec_future_get(s.future, &v), 0);
  cr_expect_eq((intptr_t)v, 42);
  exec_future_free(s.future);
  for (int i = 0; i < BOUND + 1; i++) {
    cr_expect_eq(exec_future_get(f[i], NULL), 0);
    exec_future_free(f[i]);
  }
  cr_expect_eq(exec_pool_high_water(p), BOUND, "the bound also caps the high-water mark");
  exec_pool_destroy(p);
}

Test(executor, high_water_counts_queued_tasks, .timeout = 10)
{
  gate_t g;
  exec_pool_t *p = pool_start(1, 0);
  exec_future_t *f[8];

  gate_init(&g);
  cr_expect_eq(exec_pool_high_water(p), 0);
  cr_assert_not_null(f[0] = exec_submit(p, gate_task, &g));
  gate_wait_entered(&g, 1);
  for (int i = 1; i < 8; i++)
    cr_assert_not_null(f[i] = exec_submit(p, gate_task, &g));
  cr_expect_eq(exec_pool_high_water(p), 7, "7 queued behind the running one");
  gate_open(&g);
  for (int i = 0; i < 8; i++) {
    cr_expect_eq(exec_future_get(f[i], NULL), 0);
    exec_future_free(f[i]);
  }
  cr_expect_eq(exec_pool_high_water(p), 7, "a high-water mark never goes down");
  exec_pool_destroy(p);
}

static char *expected_report(int line)
{
  char *s = NULL;

  cr_assert_geq(asprintf(&s, "executor: future submitted at tests/test_executor.c:%d failed "
                             "(Input/output error) and its error was never observed\n",
                    line), 0);
  return s;
}

Test(executor, freed_future_with_unobserved_error_is_reported, .init = cr_redirect_stderr,
     .timeout = 10)
{
  exec_pool_t *p = pool_start(1, 0);
  size_t idx;
  int line = __LINE__ + 1;
  exec_future_t *f = exec_submit(p, fail_task, (void *)(intptr_t)EIO);
  char *want = expected_report(line);

  cr_assert_not_null(f);
  /* Waiting does not observe the error; only exec_future_get does. */
  cr_assert_eq(exec_wait_any(&f, 1, -1, &idx), 0);
  exec_future_free(f);
  exec_pool_destroy(p);
  fflush(stderr);
  cr_expect_stderr_eq_str(want);
  free(want);
}

Test(executor, future_left_at_shutdown_with_error_is_reported, .init = cr_redirect_stderr,
     .timeout = 10)
{
  exec_pool_t *p = pool_start(2, 0);
  exec_future_t *ok, *failed;
  int line = __LINE__ + 1;
  failed = exec_submit(p, fail_task, (void *)(intptr_t)EIO);
  char *want = expected_report(line);

  ok = exec_submit(p, double_task, (void *)3);
  cr_assert_not_null(failed);
  cr_assert_not_null(ok);
  exec_pool_destroy(p); /* never freed: the pool reports and frees them */
  fflush(stderr);
  cr_expect_stderr_eq_str(want);
  free(want);
}

Test(executor, observed_error_is_not_reported, .init = cr_redirect_stderr, .timeout = 10)
{
  exec_pool_t *p = pool_start(1, 0);
  exec_future_t *f = exec_submit(p, fail_task, (void *)(intptr_t)EIO);

  cr_assert_not_null(f);
  cr_expect_eq(exec_future_get(f, NULL), -EIO);
  exec_future_free(f);
  exec_pool_destroy(p);
  fflush(stderr);
  cr_expect_stderr_eq_str("");
}

static pthread_mutex_t ran_mutex = PTHREAD_MUTEX_INITIALIZER;
static int ran;

static int count_task(void *arg, void **value)
{
  (void)arg;
  (void)value;
  pthread_mutex_lock(&ran_mutex);
  ran++;
  pthread_mutex_unlock(&ran_mutex);
  return 0;
}

Test(executor, shutdown_runs_queued_work_and_joins, .timeout = 10)
{
  enum { N = 200 };
  exec_pool_t *p = pool_start(3, 0);
  exec_future_t *f[N];

  ran = 0;
  for (int i = 0; i < N; i++)
    cr_assert_not_null(f[i] = exec_submit(p, count_task, NULL));
  cr_assert_eq(exec_pool_shutdown(p, EXEC_SHUTDOWN_WAIT), 0);
  /* Joined: every task ran, and reading ran needs no lock now. */
  cr_expect_eq(ran, N);
  for (int i = 0; i < N; i++)
    cr_expect_eq(exec_future_status(f[i]), EXEC_FUTURE_DONE);
  errno = 0;
  cr_expect_null(exec_submit(p, count_task, NULL));
  cr_expect_eq(errno, ESHUTDOWN);
  cr_expect_eq(exec_pool_shutdown(p, EXEC_SHUTDOWN_WAIT), 0, "a second shutdown is harmless");
  for (int i = 0; i < N; i++)
    exec_future_free(f[i]);
  exec_pool_destroy(p);
}

static void *shutdown_cancel_main(void *arg)
{
  return (void *)(intptr_t)exec_pool_shutdown(arg, EXEC_SHUTDOWN_CANCEL);
}

Test(executor, shutdown_cancel_drops_pending_tasks, .timeout = 10)
{
  gate_t g;
  exec_pool_t *p = pool_start(1, 0);
  exec_future_t *running, *pending[5];
  pthread_t stopper;
  size_t idx;
  void *rc;

  gate_init(&g);
  cr_assert_not_null(running = exec_submit(p, gate_task, &g));
  gate_wait_entered(&g, 1);
  for (int i = 0; i < 5; i++)
    cr_assert_not_null(pending[i] = exec_submit(p, fail_task, (void *)(intptr_t)EIO));
  /* The shutdown blocks joining the worker held at the gate; the cancellation of the
   * pending tasks must happen before that, so wait for it with the gate still shut. */
  cr_assert_eq(pthread_create(&stopper, NULL, shutdown_cancel_main, p), 0);
  for (int i = 0; i < 5; i++)
    cr_expect_eq(exec_wait_any(&pending[i], 1, -1, &idx), 0);
  cr_expect_eq(exec_future_status(running), EXEC_FUTURE_RUNNING);
  gate_open(&g);
  pthread_join(stopper, &rc);
  cr_expect_eq((intptr_t)rc, 0);
  cr_expect_eq(exec_future_get(running, NULL), 0, "the running task finished");
  for (int i = 0; i < 5; i++) {
    cr_expect_eq(exec_future_get(pending[i], NULL), -ECANCELED);
    exec_future_free(pending[i]);
  }
  exec_future_free(running);
  exec_pool_destroy(p);
}
