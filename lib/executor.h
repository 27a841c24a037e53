/* executor.h - a fixed thread pool with futures: the C counterpart of concurrent.futures.
 *
 * What it gives (lesson sections 12-14, 20, 21, 39):
 *   - exec_submit returns a future, remembering the file:line of the call;
 *   - a future is waited on with exec_future_get (or with a timeout), cancelled while still
 *     queued, and consumed in completion order with exec_wait_any / exec_as_completed_*;
 *   - an optional queue bound: exec_submit blocks while the queue is full (backpressure);
 *   - shutdown finishes the queued work (or cancels it) and joins every worker.
 *
 * Runtime checks, because a dropped failure is silent otherwise (lesson section 39):
 *   - a future whose task failed and whose error nobody observed (no exec_future_get returned
 *     it) is reported on stderr when the future is freed, or at exec_pool_destroy if it never
 *     was, naming where it was submitted:
 *       executor: future submitted at dir/file.c:57 failed (Input/output error) and its error
 *       was never observed
 *     (one line; the path is cut to its last two components). Cancellations are not failures.
 *   - the queue's high-water mark (exec_pool_high_water), for budgets on queued work.
 *
 * Errors are negative errno values. Results that must not be dropped are marked
 * EXEC_MUST_USE (warn_unused_result), so that the compiler flags the classic mistakes.
 *
 * Thread-safety: every function may be called from any thread, except exec_pool_shutdown and
 * exec_pool_destroy (one thread, once no other thread uses the pool or submits to it) and
 * exec_future_free (once no other thread waits on that future). One pool mutex guards all
 * state; tasks run without it. Synchronization is pthread mutexes and condition variables
 * only, so that Helgrind and DRD understand every happens-before edge.
 *
 * Ownership: the pool owns its workers and queue. The caller owns each future exec_submit
 * returns and frees it with exec_future_free (which may be called before the task ran: the
 * task still runs, and the pool frees the future when it finishes). Futures never freed are
 * freed by exec_pool_destroy. A task's arg and value are the caller's.
 */
#ifndef EXECUTOR_H
#define EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>

#define EXEC_MUST_USE __attribute__((warn_unused_result))

typedef struct exec_pool exec_pool_t;
typedef struct exec_future exec_future_t;

/* A task: returns 0 or a negative errno value (its failure), and may store a result in
 * *value (which starts as NULL). */
typedef int (*exec_task_fn_t)(void *arg, void **value);

typedef enum exec_future_status {
  EXEC_FUTURE_PENDING,    /* queued, not started */
  EXEC_FUTURE_RUNNING,
  EXEC_FUTURE_DONE,       /* the task returned (success or failure) */
  EXEC_FUTURE_CANCELLED   /* never ran: exec_future_cancel or a cancelling shutdown */
} exec_future_status_t;

typedef enum exec_shutdown_mode {
  EXEC_SHUTDOWN_WAIT,     /* run everything already queued, then stop */
  EXEC_SHUTDOWN_CANCEL    /* cancel what has not started, finish what is running */
} exec_shutdown_mode_t;

/* Starts a pool of `workers` threads (>= 1). queue_bound is the most tasks that may wait in
 * the queue (not counting running ones) before exec_submit blocks; 0 means no bound.
 * Returns 0, -EINVAL, -ENOMEM or the error pthread_create gave (negated). */
int exec_pool_create(exec_pool_t **out, size_t workers, size_t queue_bound) EXEC_MUST_USE;

/* Queues fn(arg) and returns its future, or NULL with errno set: ESHUTDOWN (the pool is
 * shutting down, also when that happens while blocked on a full queue), ENOMEM, EINVAL.
 * Blocks while a bounded queue is full. Use the exec_submit macro, which records the call
 * site for the unobserved-error report. */
exec_future_t *exec_submit_at(exec_pool_t *pool, exec_task_fn_t fn, void *arg,
                              const char *file, int line) EXEC_MUST_USE;
#define exec_submit(pool, fn, arg) exec_submit_at((pool), (fn), (arg), __FILE__, __LINE__)

/* Waits for the task and returns its result: 0, the task's negative errno, or -ECANCELED.
 * On 0 or a task failure, stores the task's value in *value when value is not NULL. Marks
 * the error as observed. */
int exec_future_get(exec_future_t *f, void **value) EXEC_MUST_USE;

/* exec_future_get that gives up after timeout_ms milliseconds (< 0: wait forever; 0: do not
 * wait) with -ETIMEDOUT; the future is unchanged then and can be waited on again. */
int exec_future_get_timeout(exec_future_t *f, void **value, long timeout_ms) EXEC_MUST_USE;

/* Cancels the task if it has not started. Returns 0 when cancelled (now or before), -EBUSY
 * when it is running or done. */
int exec_future_cancel(exec_future_t *f) EXEC_MUST_USE;

/* The future's state right now (possibly stale once returned); does not observe errors. */
exec_future_status_t exec_future_status(exec_future_t *f);

/* Whether the future is DONE or CANCELLED. */
bool exec_future_done(exec_future_t *f);

/* The arg the future was submitted with (never changes; no lock needed). */
void *exec_future_arg(const exec_future_t *f);

/* Releases the caller's future; reports an unobserved failure (see the top). NULL is
 * ignored. No other thread may be waiting on f. */
void exec_future_free(exec_future_t *f);

/* Waits until one of futures[0..n) is done (or cancelled) and stores its index (the lowest
 * done one) in *index. All must belong to one pool. timeout_ms as in exec_future_get_timeout.
 * Returns 0, -ETIMEDOUT, or -EINVAL (n == 0, a NULL future, futures of different pools). */
int exec_wait_any(exec_future_t *const *futures, size_t n, long timeout_ms,
                  size_t *index) EXEC_MUST_USE;

/* Iteration in completion order over a set of futures ("as_completed"): every future is
 * yielded exactly once, as soon as it is done. Each step scans the futures not yet yielded,
 * so a whole iteration costs O(n^2) in the worst case: fine for the hundreds of futures it is
 * meant for. The iterator copies the array; the futures stay the caller's. */
typedef struct exec_as_completed {
  exec_future_t **pending;  /* not yet yielded */
  size_t count;
} exec_as_completed_t;

/* Returns 0, -EINVAL (see exec_wait_any; n == 0 is allowed) or -ENOMEM. */
int exec_as_completed_init(exec_as_completed_t *it, exec_future_t *const *futures,
                           size_t n) EXEC_MUST_USE;

/* Blocks until a not yet yielded future is done and stores it in *out. Returns 0, or -ENOENT
 * once every future has been yielded. */
int exec_as_completed_next(exec_as_completed_t *it, exec_future_t **out) EXEC_MUST_USE;

void exec_as_completed_destroy(exec_as_completed_t *it);

/* Stops the pool (mode above): later submits fail with ESHUTDOWN, blocked submitters wake
 * and fail, and every worker is joined before it returns. Calling it again returns 0.
 * Returns 0 or the negated error of pthread_join. */
int exec_pool_shutdown(exec_pool_t *pool, exec_shutdown_mode_t mode);

/* The most tasks that were ever waiting in the queue at once. */
size_t exec_pool_high_water(exec_pool_t *pool);

/* Shuts down (EXEC_SHUTDOWN_WAIT) if not done yet, reports the unobserved failures of
 * futures never freed, frees them and the pool. NULL is ignored. */
void exec_pool_destroy(exec_pool_t *pool);

#endif
