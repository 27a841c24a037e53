/* executor.c - thread pool, futures and their runtime checks (see executor.h).
 *
 * One mutex per pool guards the queue, every future's state and the list of futures the
 * caller still owns. Three condition variables say what changed: work (a task was queued or
 * the pool is stopping: workers), space (the queue shrank or the pool is stopping: blocked
 * submitters), done (some future finished: getters and wait-any). "done" is broadcast, since
 * its waiters wait for different futures. Reports are formatted under the mutex but written
 * after it is released, so that no thread ever does I/O while holding the pool lock. */
#define _GNU_SOURCE /* strerror_r returning the message */
#include "executor.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct exec_future {
  exec_pool_t *pool;
  exec_task_fn_t fn;
  void *arg;
  const char *file;
  int line;
  exec_future_status_t state;
  int result;
  void *value;
  bool observed;        /* an exec_future_get returned the result */
  bool released;        /* the caller freed it before it finished: the worker frees it */
  exec_future_t *queue_next;
  exec_future_t *live_prev, *live_next;  /* futures the caller still owns */
};

struct exec_pool {
  pthread_mutex_t mutex;
  pthread_cond_t work;
  pthread_cond_t space;
  pthread_cond_t done;   /* CLOCK_MONOTONIC, for timed waits */
  exec_future_t *head, *tail;
  size_t queued, bound, high_water;
  bool stopping;
  bool joined;
  exec_future_t *live;
  pthread_t *threads;
  size_t nthreads;
};

/* ---- unobserved-error reports ---- */

static bool exec_future_failed_unobserved(const exec_future_t *f)
{
  return f->state == EXEC_FUTURE_DONE && f->result < 0 && !f->observed;
}

/* The last two components of a path: enough to find the file, stable across build trees. */
static const char *exec_path_short(const char *path)
{
  const char *last = strrchr(path, '/'), *p;

  if (!last)
    return path;
  for (p = last - 1; p >= path; p--)
    if (*p == '/')
      return p + 1;
  return path;
}

static void exec_report_unobserved(const exec_future_t *f)
{
  char msg[512], err[128];
  int len;

  /* strerror_r (GNU) may return a static string rather than fill err. */
  const char *text = strerror_r(-f->result, err, sizeof err);
  len = snprintf(msg, sizeof msg,
                 "executor: future submitted at %s:%d failed (%s)"
                 " and its error was never observed\n",
                 exec_path_short(f->file), f->line, text);
  if (len > (int)sizeof msg - 1)
    len = (int)sizeof msg - 1;
  /* One write per line, so reports from several threads never interleave mid-line. */
  if (write(STDERR_FILENO, msg, (size_t)len) < 0)
    return; /* stderr is gone: nowhere left to report to */
}

/* ---- the live list and the queue (caller holds the mutex) ---- */

static void exec_live_unlink(exec_pool_t *p, exec_future_t *f)
{
  if (f->live_prev)
    f->live_prev->live_next = f->live_next;
  else
    p->live = f->live_next;
  if (f->live_next)
    f->live_next->live_prev = f->live_prev;
  f->live_prev = f->live_next = NULL;
}

static void exec_queue_push(exec_pool_t *p, exec_future_t *f)
{
  f->queue_next = NULL;
  if (p->tail)
    p->tail->queue_next = f;
  else
    p->head = f;
  p->tail = f;
  if (++p->queued > p->high_water)
    p->high_water = p->queued;
}

static exec_future_t *exec_queue_pop(exec_pool_t *p)
{
  exec_future_t *f = p->head;

  if (f) {
    p->head = f->queue_next;
    if (!p->head)
      p->tail = NULL;
    p->queued--;
    f->queue_next = NULL;
  }
  return f;
}

/* Removes a queued future from anywhere in the queue; false if it is not there. */
static bool exec_queue_remove(exec_pool_t *p, exec_future_t *f)
{
  exec_future_t **link = &p->head, *prev = NULL;

  while (*link && *link != f) {
    prev = *link;
    link = &(*link)->queue_next;
  }
  if (!*link)
    return false;
  *link = f->queue_next;
  if (p->tail == f)
    p->tail = prev;
  p->queued--;
  f->queue_next = NULL;
  return true;
}

/* ---- workers ---- */

static void *exec_worker_main(void *arg)
{
  exec_pool_t *p = arg;

  pthread_mutex_lock(&p->mutex);
  for (;;) {
    exec_future_t *f;
    void *value = NULL;
    int result;
    bool orphan;

    while (!p->head && !p->stopping)
      pthread_cond_wait(&p->work, &p->mutex);
    f = exec_queue_pop(p);
    if (!f)
      break; /* stopping and the queue is drained */
    f->state = EXEC_FUTURE_RUNNING;
    pthread_cond_signal(&p->space);
    pthread_mutex_unlock(&p->mutex);

    result = f->fn(f->arg, &value);

    pthread_mutex_lock(&p->mutex);
    f->result = result;
    f->value = value;
    f->state = EXEC_FUTURE_DONE;
    orphan = f->released;
    pthread_cond_broadcast(&p->done);
    if (orphan) {
      /* Nobody can observe it any more: report and free outside the lock. */
      pthread_mutex_unlock(&p->mutex);
      if (exec_future_failed_unobserved(f))
        exec_report_unobserved(f);
      free(f);
      pthread_mutex_lock(&p->mutex);
    }
  }
  pthread_mutex_unlock(&p->mutex);
  return NULL;
}

/* ---- pool ---- */

int exec_pool_create(exec_pool_t **out, size_t workers, size_t queue_bound)
{
  exec_pool_t *p;
  pthread_condattr_t attr;
  size_t i;
  int rc;

  if (!out || workers < 1)
    return -EINVAL;
  p = calloc(1, sizeof *p);
  if (!p)
    return -ENOMEM;
  p->threads = calloc(workers, sizeof *p->threads);
  if (!p->threads) {
    free(p);
    return -ENOMEM;
  }
  p->bound = queue_bound;
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->space, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&p->done, &attr);
  pthread_condattr_destroy(&attr);

  for (i = 0; i < workers; i++) {
    rc = pthread_create(&p->threads[i], NULL, exec_worker_main, p);
    if (rc != 0) {
      p->nthreads = i;
      exec_pool_destroy(p);
      return -rc;
    }
  }
  p->nthreads = workers;
  *out = p;
  return 0;
}

exec_future_t *exec_submit_at(exec_pool_t *p, exec_task_fn_t fn, void *arg, const char *file,
                              int line)
{
  exec_future_t *f;

  if (!p || !fn) {
    errno = EINVAL;
    return NULL;
  }
  f = calloc(1, sizeof *f);
  if (!f) {
    errno = ENOMEM;
    return NULL;
  }
  f->pool = p;
  f->fn = fn;
  f->arg = arg;
  f->file = file ? file : "?";
  f->line = line;
  f->state = EXEC_FUTURE_PENDING;

  pthread_mutex_lock(&p->mutex);
  while (p->bound && p->queued >= p->bound && !p->stopping)
    pthread_cond_wait(&p->space, &p->mutex);   /* backpressure */
  if (p->stopping) {
    pthread_mutex_unlock(&p->mutex);
    free(f);
    errno = ESHUTDOWN;
    return NULL;
  }
  exec_queue_push(p, f);
  f->live_next = p->live;
  if (p->live)
    p->live->live_prev = f;
  p->live = f;
  pthread_cond_signal(&p->work);
  pthread_mutex_unlock(&p->mutex);
  return f;
}

static bool exec_future_finished(const exec_future_t *f)
{
  return f->state == EXEC_FUTURE_DONE || f->state == EXEC_FUTURE_CANCELLED;
}

static void exec_deadline_set(struct timespec *deadline, long timeout_ms)
{
  clock_gettime(CLOCK_MONOTONIC, deadline);
  deadline->tv_sec += timeout_ms / 1000;
  deadline->tv_nsec += (timeout_ms % 1000) * 1000000L;
  if (deadline->tv_nsec >= 1000000000L) {
    deadline->tv_sec++;
    deadline->tv_nsec -= 1000000000L;
  }
}

/* One wait on "done"; returns false once the deadline passed. Caller holds the mutex. */
static bool exec_done_wait(exec_pool_t *p, long timeout_ms, const struct timespec *deadline)
{
  if (timeout_ms == 0)
    return false;
  if (timeout_ms < 0) {
    pthread_cond_wait(&p->done, &p->mutex);
    return true;
  }
  return pthread_cond_timedwait(&p->done, &p->mutex, deadline) != ETIMEDOUT;
}

int exec_future_get_timeout(exec_future_t *f, void **value, long timeout_ms)
{
  exec_pool_t *p;
  struct timespec deadline;
  int rc;

  if (!f)
    return -EINVAL;
  p = f->pool;
  if (timeout_ms > 0)
    exec_deadline_set(&deadline, timeout_ms);
  pthread_mutex_lock(&p->mutex);
  while (!exec_future_finished(f))
    if (!exec_done_wait(p, timeout_ms, &deadline) && !exec_future_finished(f)) {
      pthread_mutex_unlock(&p->mutex);
      return -ETIMEDOUT;
    }
  if (f->state == EXEC_FUTURE_CANCELLED) {
    rc = -ECANCELED;
  } else {
    rc = f->result;
    f->observed = true;
    if (value)
      *value = f->value;
  }
  pthread_mutex_unlock(&p->mutex);
  return rc;
}

int exec_future_get(exec_future_t *f, void **value)
{
  return exec_future_get_timeout(f, value, -1);
}

int exec_future_cancel(exec_future_t *f)
{
  exec_pool_t *p = f->pool;
  int rc = -EBUSY;

  pthread_mutex_lock(&p->mutex);
  if (f->state == EXEC_FUTURE_CANCELLED) {
    rc = 0;
  } else if (f->state == EXEC_FUTURE_PENDING && exec_queue_remove(p, f)) {
    f->state = EXEC_FUTURE_CANCELLED;
    f->result = -ECANCELED;
    pthread_cond_broadcast(&p->done);
    pthread_cond_signal(&p->space);
    rc = 0;
  }
  pthread_mutex_unlock(&p->mutex);
  return rc;
}

exec_future_status_t exec_future_status(exec_future_t *f)
{
  exec_future_status_t s;

  pthread_mutex_lock(&f->pool->mutex);
  s = f->state;
  pthread_mutex_unlock(&f->pool->mutex);
  return s;
}

bool exec_future_done(exec_future_t *f)
{
  exec_future_status_t s = exec_future_status(f);

  return s == EXEC_FUTURE_DONE || s == EXEC_FUTURE_CANCELLED;
}

void *exec_future_arg(const exec_future_t *f)
{
  return f->arg;
}

void exec_future_free(exec_future_t *f)
{
  exec_pool_t *p;

  if (!f)
    return;
  p = f->pool;
  pthread_mutex_lock(&p->mutex);
  exec_live_unlink(p, f);
  if (!exec_future_finished(f)) {
    f->released = true; /* the worker that runs it frees it */
    pthread_mutex_unlock(&p->mutex);
    return;
  }
  pthread_mutex_unlock(&p->mutex);
  /* Finished and unlinked: no other thread can reach it now. */
  if (exec_future_failed_unobserved(f))
    exec_report_unobserved(f);
  free(f);
}

int exec_wait_any(exec_future_t *const *futures, size_t n, long timeout_ms, size_t *index)
{
  exec_pool_t *p;
  struct timespec deadline;
  size_t i;

  if (!futures || n == 0 || !index)
    return -EINVAL;
  for (i = 0; i < n; i++)
    if (!futures[i] || futures[i]->pool != futures[0]->pool)
      return -EINVAL;
  p = futures[0]->pool;
  if (timeout_ms > 0)
    exec_deadline_set(&deadline, timeout_ms);
  pthread_mutex_lock(&p->mutex);
  for (;;) {
    bool waited;

    for (i = 0; i < n; i++)
      if (exec_future_finished(futures[i])) {
        pthread_mutex_unlock(&p->mutex);
        *index = i;
        return 0;
      }
    waited = exec_done_wait(p, timeout_ms, &deadline);
    if (!waited) {
      for (i = 0; i < n && !exec_future_finished(futures[i]); i++)
        ;
      pthread_mutex_unlock(&p->mutex);
      if (i == n)
        return -ETIMEDOUT;
      *index = i;
      return 0;
    }
  }
}

int exec_as_completed_init(exec_as_completed_t *it, exec_future_t *const *futures, size_t n)
{
  size_t i;

  it->pending = NULL;
  it->count = 0;
  for (i = 0; i < n; i++)
    if (!futures[i] || futures[i]->pool != futures[0]->pool)
      return -EINVAL;
  if (n == 0)
    return 0;
  it->pending = malloc(n * sizeof *it->pending);
  if (!it->pending)
    return -ENOMEM;
  memcpy(it->pending, futures, n * sizeof *it->pending);
  it->count = n;
  return 0;
}

int exec_as_completed_next(exec_as_completed_t *it, exec_future_t **out)
{
  size_t i;
  int rc;

  if (it->count == 0)
    return -ENOENT;
  rc = exec_wait_any(it->pending, it->count, -1, &i);
  if (rc < 0)
    return rc;
  *out = it->pending[i];
  it->pending[i] = it->pending[--it->count];
  return 0;
}

void exec_as_completed_destroy(exec_as_completed_t *it)
{
  free(it->pending);
  it->pending = NULL;
  it->count = 0;
}

int exec_pool_shutdown(exec_pool_t *p, exec_shutdown_mode_t mode)
{
  exec_future_t *orphans = NULL, *f;
  size_t i;
  int rc = 0;

  pthread_mutex_lock(&p->mutex);
  if (p->joined) {
    pthread_mutex_unlock(&p->mutex);
    return 0;
  }
  p->stopping = true;
  if (mode == EXEC_SHUTDOWN_CANCEL) {
    while ((f = exec_queue_pop(p))) {
      f->state = EXEC_FUTURE_CANCELLED;
      f->result = -ECANCELED;
      if (f->released) {
        f->queue_next = orphans;
        orphans = f;
      }
    }
  }
  pthread_cond_broadcast(&p->work);
  pthread_cond_broadcast(&p->space);
  pthread_cond_broadcast(&p->done);
  pthread_mutex_unlock(&p->mutex);

  while ((f = orphans)) {
    orphans = f->queue_next;
    free(f);
  }
  for (i = 0; i < p->nthreads; i++) {
    int e = pthread_join(p->threads[i], NULL);
    if (e && !rc)
      rc = -e;
  }
  pthread_mutex_lock(&p->mutex);
  p->joined = true;
  pthread_mutex_unlock(&p->mutex);
  return rc;
}

size_t exec_pool_high_water(exec_pool_t *p)
{
  size_t hw;

  pthread_mutex_lock(&p->mutex);
  hw = p->high_water;
  pthread_mutex_unlock(&p->mutex);
  return hw;
}

void exec_pool_destroy(exec_pool_t *p)
{
  exec_future_t *f;

  if (!p)
    return;
  (void)exec_pool_shutdown(p, EXEC_SHUTDOWN_WAIT);
  /* Workers are joined: this thread is the only one left touching the pool. */
  while ((f = p->live)) {
    p->live = f->live_next;
    if (exec_future_failed_unobserved(f))
      exec_report_unobserved(f);
    free(f);
  }
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->space);
  pthread_cond_destroy(&p->work);
  pthread_mutex_destroy(&p->mutex);
  free(p->threads);
  free(p);
}
