/* threads.c - per-thread state, thread create/join/detach/exit, and fork.
 *
 * Each program thread has a record (lg_thread_t) reached through an initial-exec TLS pointer:
 * its held-lock stack, its chain-key cache, what it waits for (for the watchdog), and its
 * happens-before segment. Threads are numbered T1 (main), T2, ... in creation order: the
 * creator numbers the child inside pthread_create, so the numbers follow the program's order,
 * not the scheduler's. A record lives until the thread is joined (the joiner needs its last
 * segment) or, for a detached thread, until it exits.
 *
 * Exit is seen through a pthread key destructor, which runs for a return from the start
 * routine and for pthread_exit alike. fork: pthread_atfork handlers take the report lock, the
 * detector lock and lg_mem's lock around the fork, so the child starts with consistent
 * tables; the child then forgets every other thread and marks the locks they held as orphans
 * (blocking on one in the child can never end).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leaf.h"
#include "lockgraph.h"
#include "mem.h"
#include "misuse.h"
#include "notify.h"

__thread lg_thread_t *lg_tls_self __attribute__((tls_model("initial-exec")));

/* Threads that must never be tracked again (exited) point here. */
static lg_thread_t lg_thread_gone = {.passthrough = 1};
static pthread_key_t lg_thread_key;
static int lg_thread_key_ok;
static int lg_warned_threads;

#define LG_HELD_INITIAL 16

/* The calling thread's stack bounds: the top bounds the frame-pointer walk, the bottom tells
 * stack capture how much room is left (stack.c). Both 0 when unknown. */
static void lg_stack_bounds(lg_thread_t *t) {
  pthread_attr_t attr;
  void *lo = NULL;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0)
    return;
  pthread_attr_getstack(&attr, &lo, &size);
  pthread_attr_destroy(&attr);
  t->stack_lo = (uintptr_t)lo;
  t->stack_hi = (uintptr_t)lo + size;
}


static lg_thread_t *lg_thread_new(void) {
  lg_thread_t *t = lg_mem_alloc(sizeof(*t));
  if (t == NULL)
    return NULL;
  t->held = lg_mem_alloc(LG_HELD_INITIAL * sizeof(lg_held_t));
  if (t->held == NULL) {
    lg_mem_free(t, sizeof(*t));
    return NULL;
  }
  t->cap = LG_HELD_INITIAL;
  t->cache = lg_mem_alloc(LG_TCACHE_INITIAL * sizeof(uint64_t));
  if (t->cache == NULL) {
    lg_mem_free(t->held, t->cap * sizeof(lg_held_t));
    lg_mem_free(t, sizeof(*t));
    return NULL;
  }
  t->cache_mask = LG_TCACHE_INITIAL - 1;
  t->region_key = UINTPTR_MAX;
  return t;
}

void lg_thread_cache_insert(lg_thread_t *t, uint64_t key) {
  if ((t->cache_used + 1) * 2 > t->cache_mask + 1) {
    uint32_t cap = t->cache_mask + 1, ncap = cap < LG_TCACHE_MAX ? cap * 2 : cap;
    uint64_t *n = ncap != cap ? lg_mem_alloc(ncap * sizeof(uint64_t)) : NULL;
    if (n != NULL) {
      for (uint32_t i = 0; i < cap; i++) {
        uint64_t k = t->cache[i];
        if (k == 0)
          continue;
        uint32_t j = (uint32_t)k & (ncap - 1);
        while (n[j] != 0)
          j = (j + 1) & (ncap - 1);
        n[j] = k;
      }
      lg_mem_free(t->cache, cap * sizeof(uint64_t));
      t->cache = n;
      t->cache_mask = ncap - 1;
    } else {
      memset(t->cache, 0, cap * sizeof(uint64_t)); /* full: start over */
      t->cache_used = 0;
    }
  }
  uint32_t i = (uint32_t)key & t->cache_mask;
  while (t->cache[i] != 0) {
    if (t->cache[i] == key)
      return;
    i = (i + 1) & t->cache_mask;
  }
  t->cache[i] = key;
  t->cache_used++;
}

static void lg_thread_free_parts(lg_thread_t *t) {
  for (uint32_t i = 0; i < t->nretired; i++)
    lg_mem_free(t->retired[i], t->retired_caps[i] * sizeof(lg_held_t));
  lg_mem_free(t->retired, t->capretired * sizeof(lg_held_t *));
  lg_mem_free(t->retired_caps, t->capretired * sizeof(uint32_t));
  t->retired = NULL;
  t->retired_caps = NULL;
  t->nretired = t->capretired = 0;
}

static void lg_thread_free(lg_thread_t *t) {
  lg_thread_free_parts(t);
  lg_mem_free(t->scache, LG_SCACHE_WAYS * sizeof(lg_scache_entry_t));
  lg_mem_free(t->frames, LG_STACK_MAX * sizeof(lg_frame_pcsp_t));
  lg_mem_free(t->cache, (t->cache_mask + 1) * sizeof(uint64_t));
  lg_mem_free(t->held, t->cap * sizeof(lg_held_t));
  lg_mem_free(t, sizeof(*t));
}

/* Under lg_rt.mu. */
static void lg_thread_link(lg_thread_t *t) {
  t->next = lg_rt.threads;
  t->prev = NULL;
  if (lg_rt.threads)
    lg_rt.threads->prev = t;
  lg_rt.threads = t;
}

static void lg_thread_unlink(lg_thread_t *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    lg_rt.threads = t->next;
  if (t->next)
    t->next->prev = t->prev;
  t->next = t->prev = NULL;
}

/* A record for a thread the wrappers meet without having seen it created (the main thread
 * before the constructor, or a thread glibc started internally). */
lg_thread_t *lg_thread_self(void) {
  lg_thread_t *t = lg_tls_self;
  if (t != NULL)
    return t;
  if (!lg_runtime_ensure())
    return NULL;
  t = lg_tls_self; /* the constructor may have just made it (main thread) */
  if (t != NULL)
    return t;
  t = lg_thread_new();
  if (t == NULL)
    return NULL;
  t->passthrough = 1;
  lg_tls_self = t;
  lg_stack_bounds(t);
  lg_rt_lock();
  t->tid = ++lg_rt.next_tid;
  lg_rt.nthreads_total++;
  t->pth = pthread_self();
  t->ktid = (pid_t)syscall(SYS_gettid);
  /* Unknown origin: a segment of its own that knows nothing, so no order is assumed. */
  t->seg = lg_hb_orphan_segment(t->tid);
  /* Created without our pthread_create (C11 thrd_create, a raw clone): no join of ours is
   * sure to come for it (thrd_join bypasses pthread_join), so its record goes when it exits,
   * as a detached thread's does, instead of staying forever. */
  t->detached = 1;
  t->seed = lg_seed_of(t->seg);
  lg_thread_link(t);
  lg_rt_unlock();
  if (lg_thread_key_ok)
    pthread_setspecific(lg_thread_key, t);
  t->passthrough = 0;
  return t;
}

void lg_thread_init_main(void) {
  lg_thread_t *t = lg_thread_new();
  if (t == NULL)
    return;
  t->tid = ++lg_rt.next_tid;
  lg_rt.nthreads_total++;
  t->pth = pthread_self();
  t->ktid = (pid_t)syscall(SYS_gettid);
  lg_stack_bounds(t);
  t->seg = lg_hb_main_segment();
  t->seed = lg_seed_of(t->seg);
  lg_thread_link(t);
  lg_tls_self = t;
}

/* ---- thread exit ---- */

/* Unlinks t (under lg_rt.mu); returns nonzero when the caller may free it now, zero when its
 * creator still holds it (see pthread_create) and will free it. */
static int lg_thread_retire_locked(lg_thread_t *t) {
  lg_thread_unlink(t);
  if (t->creator_ref) {
    t->free_pending = 1;
    return 0;
  }
  return 1;
}

static void lg_thread_exit_cb(void *arg) {
  lg_thread_t *t = arg;
  if (t == NULL || t == &lg_thread_gone)
    return;
  /* The program's own key (and C11 tss) destructors run in the same rounds as this one, after
   * it (this key was made first), and may block, take locks or release them: until they are
   * done the thread is not gone. glibc runs rounds while some value is set again, at most
   * PTHREAD_DESTRUCTOR_ITERATIONS: set again, this one is called in every round and the
   * thread ends in the last (before, a join of a thread whose destructor ran for a second was
   * a hang, and a lock its destructor released was held at thread exit). */
  if (++t->exit_rounds < PTHREAD_DESTRUCTOR_ITERATIONS &&
      pthread_setspecific(lg_thread_key, t) == 0)
    return;
  t->passthrough = 1;
  if (t->depth != 0)
    lg_abandoned_thread_exit(t);
  lg_rt_lock();
  lg_leaf_thread_exit_locked(t);
  lg_misuse_thread_exit_locked();
  t->exited = 1;
  t->depth = 0;
  atomic_store_explicit(&t->wait_seq, 0, memory_order_relaxed);
  atomic_store_explicit(&t->call_seq, 0, memory_order_relaxed);
  int drop = t->detached && lg_thread_retire_locked(t);
  lg_rt_unlock();
  lg_tls_self = &lg_thread_gone;
  if (drop)
    lg_thread_free(t);
}

static void lg_thread_key_init(void) {
  if (!lg_thread_key_ok && pthread_key_create(&lg_thread_key, lg_thread_exit_cb) == 0)
    lg_thread_key_ok = 1;
}

/* ---- create ---- */

typedef struct lg_start {
  void *(*fn)(void *);
  void *arg;
  lg_thread_t *t;
} lg_start_t;

static void *lg_thread_trampoline(void *p) {
  lg_start_t s = *(lg_start_t *)p;
  lg_thread_t *t = s.t;
  /* First, so that anything below that re-enters a wrapper finds this thread in passthrough:
   * pthread_getattr_np (in lg_stack_bounds) calls realloc under a glibc lock, and a program's
   * malloc may take a pthread mutex. */
  lg_tls_self = t;
  lg_stack_bounds(t);
  lg_mem_free(p, sizeof(lg_start_t));
  lg_rt_lock();
  t->ktid = (pid_t)syscall(SYS_gettid);
  t->pth = pthread_self(); /* here, not in the creator: a detached thread may be gone by then */
  lg_rt_unlock();
  if (lg_thread_key_ok)
    pthread_setspecific(lg_thread_key, t);
  t->passthrough = 0;
  return s.fn(s.arg);
}

LG_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg) {
  if (lg_real.create == NULL)
    lg_real_resolve();
  if (lg_real.create == NULL)
    return EAGAIN;
  lg_thread_t *self = lg_tls_self;
  if (self == NULL)
    self = lg_thread_self();
  if (self == NULL || self->passthrough)
    return lg_real.create(th, attr, fn, arg);

  int saved_errno = errno;
  int was = lg_guard_enter(self);
  lg_start_t *s = lg_mem_alloc(sizeof(*s));
  lg_thread_t *t = s ? lg_thread_new() : NULL;
  if (t == NULL) {
    lg_warn_once(&lg_warned_threads, "out of memory for thread records; new threads are not tracked");
    if (s)
      lg_mem_free(s, sizeof(*s));
    lg_guard_leave(self, was);
    errno = saved_errno;
    return lg_real.create(th, attr, fn, arg);
  }
  int detached = 0;
  if (attr != NULL) {
    int ds;
    if (pthread_attr_getdetachstate(attr, &ds) == 0)
      detached = ds == PTHREAD_CREATE_DETACHED;
  }
  t->passthrough = 1; /* until the trampoline runs on the new thread */
  t->detached = detached;
  t->creator_ref = !detached;
  s->fn = fn;
  s->arg = arg;
  s->t = t;
  lg_rt_lock();
  t->tid = ++lg_rt.next_tid;
  lg_rt.nthreads_total++;
  lg_segment_t *seg = self->seg ? lg_hb_thread_start(&self->seg, t->tid) : NULL;
  t->seg = seg;
  t->seed = lg_seed_of(seg);
  lg_thread_rekey(self);
  lg_thread_link(t);
  lg_rt_unlock();
  lg_watchdog_start();

  /* The real call writes *th before the child runs, as glibc does: children may read it. */
  errno = saved_errno;
  int rc = lg_real.create(th, attr, lg_thread_trampoline, s);
  int real_errno = errno;
  if (rc != 0) {
    lg_rt_lock();
    lg_thread_unlink(t);
    lg_rt.nthreads_total--;
    lg_rt_unlock();
    lg_thread_free(t);
    lg_mem_free(s, sizeof(*s));
  } else if (!detached) {
    /* Name the thread now, so that a pthread_detach right after create finds it. The record
     * cannot be gone yet: creator_ref keeps it until here, even if the thread has already
     * detached itself and exited. (A detached thread names itself in the trampoline.) */
    lg_rt_lock();
    t->pth = *th;
    t->creator_ref = 0;
    int free_now = t->free_pending;
    lg_rt_unlock();
    if (free_now)
      lg_thread_free(t);
  }
  lg_guard_leave(self, was);
  errno = real_errno;
  return rc;
}

/* ---- join and detach ---- */

/* The record of a thread by its pthread_t, under lg_rt.mu. */
static lg_thread_t *lg_thread_find(pthread_t th) {
  for (lg_thread_t *t = lg_rt.threads; t != NULL; t = t->next)
    if (t->pth == th && (t->exited || !t->detached))
      return t;
  return NULL;
}

static void lg_thread_joined(pthread_t th) {
  lg_thread_t *self = lg_tls_self;
  if (self == NULL || self->passthrough)
    return;
  int saved_errno = errno;
  int was = lg_guard_enter(self);
  lg_rt_lock();
  lg_thread_t *t = lg_thread_find(th);
  if (t != NULL) {
    if (self->seg != NULL && t->seg != NULL) {
      lg_hb_thread_join(&self->seg, t->seg);
      lg_thread_rekey(self);
    }
    if (!lg_thread_retire_locked(t))
      t = NULL;
  }
  lg_rt_unlock();
  if (t != NULL)
    lg_thread_free(t);
  lg_guard_leave(self, was);
  errno = saved_errno;
}

/* A join is a wait for the thread (waits.h): published for the watchdog while it blocks. */
static int lg_join_blocking(pthread_t th, void **ret, uint8_t timed, const struct timespec *ts,
                            uintptr_t pc) {
  lg_thread_t *self = lg_tls_self;
  if (self == NULL || self->passthrough)
    return timed ? lg_real.timedjoin_np(th, ret, ts) : lg_real.join(th, ret);
  int pub = lg_wait_enter(self, LG_WAIT_JOIN, LG_CALL_NONE, timed, 0, (uintptr_t)th, 0, pc, 0, 0);
  LG_WAIT_SCOPE(self, pub);
  return timed ? lg_real.timedjoin_np(th, ret, ts) : lg_real.join(th, ret);
}

LG_EXPORT int pthread_join(pthread_t th, void **ret) {
  if (lg_real.join == NULL)
    lg_real_resolve();
  int rc = lg_join_blocking(th, ret, 0, NULL, (uintptr_t)__builtin_return_address(0));
  if (rc == 0)
    lg_thread_joined(th);
  return rc;
}

LG_EXPORT int pthread_tryjoin_np(pthread_t th, void **ret) {
  if (lg_real.tryjoin_np == NULL)
    lg_real_resolve();
  int rc = lg_real.tryjoin_np(th, ret);
  if (rc == 0)
    lg_thread_joined(th);
  return rc;
}

LG_EXPORT int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *ts) {
  if (lg_real.timedjoin_np == NULL)
    lg_real_resolve();
  int rc = lg_join_blocking(th, ret, 1, ts, (uintptr_t)__builtin_return_address(0));
  if (rc == 0)
    lg_thread_joined(th);
  return rc;
}

LG_EXPORT int pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clk,
                                   const struct timespec *ts) {
  if (lg_real.clockjoin_np == NULL)
    lg_real_resolve();
  if (lg_real.clockjoin_np == NULL)
    return ENOSYS;
  int rc = lg_real.clockjoin_np(th, ret, clk, ts);
  if (rc == 0)
    lg_thread_joined(th);
  return rc;
}

LG_EXPORT int pthread_detach(pthread_t th) {
  if (lg_real.detach == NULL)
    lg_real_resolve();
  int rc = lg_real.detach(th);
  lg_thread_t *self = lg_tls_self;
  if (rc != 0 || self == NULL || self->passthrough)
    return rc;
  int saved_errno = errno;
  int was = lg_guard_enter(self);
  lg_rt_lock();
  lg_thread_t *t = lg_thread_find(th);
  if (t != NULL) {
    t->detached = 1;
    if (!t->exited || !lg_thread_retire_locked(t))
      t = NULL;
  }
  lg_rt_unlock();
  if (t != NULL && t != self)
    lg_thread_free(t);
  lg_guard_leave(self, was);
  errno = saved_errno;
  return rc;
}

/* ---- fork ---- */

static int lg_fork_was;

static void lg_fork_prepare(void) {
  lg_thread_t *t = lg_tls_self;
  lg_fork_was = t ? lg_guard_enter(t) : 0;
  lg_real.mutex_lock(&lg_rt.report_mu);
  lg_real.mutex_lock(&lg_rt.mu);
  lg_mem_fork_prepare();
}

static void lg_fork_parent(void) {
  lg_waits_after_fork();
  lg_mem_fork_parent();
  lg_real.mutex_unlock(&lg_rt.mu);
  lg_real.mutex_unlock(&lg_rt.report_mu);
  lg_thread_t *t = lg_tls_self;
  if (t)
    lg_guard_leave(t, lg_fork_was);
  lg_runtime_fork_parent();
}

/* Whether the lock at addr is process-shared (glibc: the mutex kind's PSHARED bit, the
 * rwlock's shared word); a spinlock's sharing is not recorded in it. */
static int lg_lock_process_shared(uintptr_t addr, uint8_t kind) {
  if (kind == LG_KIND_MUTEX)
    return (((const pthread_mutex_t *)addr)->__data.__kind & 128) != 0;
  if (kind == LG_KIND_RWLOCK)
    return ((const pthread_rwlock_t *)addr)->__data.__shared != 0;
  return 0;
}

static void lg_fork_child(void) {
  lg_mem_fork_child();
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
  lg_real.mutex_init(&lg_rt.mu, &ma);
  pthread_mutexattr_destroy(&ma);
  lg_real.mutex_init(&lg_rt.report_mu, NULL);
  lg_locks_after_fork_child();
  lg_thread_t *self = lg_tls_self;
  lg_thread_t *t = lg_rt.threads;
  int others = 0;
  while (t != NULL) {
    lg_thread_t *next = t->next;
    if (t != self) {
      others = 1;
      /* Its locks stay locked forever here: whoever blocks on one hangs. Not a process-
       * shared one: the thread holding it goes on in the parent, which releases it. */
      for (uint32_t i = 0; i < t->depth; i++) {
        if (lg_lock_process_shared(t->held[i].addr, t->held[i].kind))
          continue;
        lg_locks_mark_orphan(t->held[i].id, t->held[i].ver);
        lg_abandoned_note_fork(t, &t->held[i]);
      }
      lg_thread_unlink(t);
      lg_thread_free(t);
    }
    t = next;
  }
  lg_stack_after_fork_child(others);
  lg_notify_after_fork_child();
  lg_rt.fork_child = 1;
  lg_rt.pid = (pid_t)syscall(SYS_getpid);
  lg_waits_after_fork();
  lg_reports_after_fork_child();
  lg_watchdog_after_fork_child();
  lg_misuse_after_fork_child();
  if (self) {
    self->ktid = (pid_t)syscall(SYS_gettid);
    self->pth = pthread_self();
    lg_guard_leave(self, lg_fork_was);
  }
}

void lg_threads_setup(void) {
  lg_thread_key_init();
  /* The main thread too: when it ends with pthread_exit, its record must say so. */
  if (lg_thread_key_ok && lg_tls_self != NULL)
    pthread_setspecific(lg_thread_key, lg_tls_self);
  pthread_atfork(lg_fork_prepare, lg_fork_parent, lg_fork_child);
}
