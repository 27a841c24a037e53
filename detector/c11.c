/* c11.c - the C11 <threads.h> wrappers: mtx_*, cnd_*, thrd_* follow the rules of their pthread
 * twins.
 *
 * Why a module of its own: glibc implements mtx_lock, cnd_wait, thrd_create and the rest by
 * calling its internal pthread functions directly, never through the exported symbols, so the
 * pthread wrappers of interpose.c and threads.c do not see a C11 program at all. These
 * wrappers put the C11 calls on the same paths:
 *  - a mtx_t is a pthread mutex in glibc (same layout), so it gets the same identity (shadow
 *    slot and node), the same held stack, and the same self-deadlock checks (a mtx_plain is a
 *    default mutex, a mtx_recursive a recursive one);
 *  - mtx_lock is a blocking acquisition (checked before the real call, published to the
 *    watchdog), mtx_timedlock a timed one, mtx_trylock a try (no edge into the lock);
 *  - cnd_wait and cnd_timedwait release the mutex for the wait and retake it after, whatever
 *    they return;
 *  - thrd_create, thrd_join and thrd_detach go through the pthread wrappers (happens-before
 *    at create and join, thread records), with the C11 start routine adapted: its int result
 *    travels as the thread's pointer result, as glibc does, so thrd_join reads it back.
 *  - the misuse checks (misuse.h) are the pthread wrappers': an unlock of a mtx the caller
 *    does not hold (which also takes it off its holder's stack, as a hand-off), an init or
 *    destroy of a held one, a use of a destroyed one, a condition wait with a mtx not held or
 *    two mtx on one condition variable; the calls are named as the program made them.
 * Contract, as for every wrapper: the result is exactly what glibc's own function returns
 * (thrd_success, thrd_busy, thrd_timedout, thrd_nomem, thrd_error), errno is left as the real
 * call left it, and only a successful acquisition is recorded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <threads.h>

#include "lockgraph.h"
#include "mem.h"
#include "misuse.h"

#define LG_C11_PC ((uintptr_t)__builtin_return_address(0))
#define LG_C11_CFA ((uintptr_t)__builtin_dwarf_cfa())
#define LG_C11_FP ((uintptr_t)__builtin_frame_address(0))

/* The tracked state of the calling thread, or NULL to pass straight through (as lg_enter in
 * interpose.c). */
static inline lg_thread_t *lg_c11_enter(void) {
  if (LG_UNLIKELY(lg_real.mtx_lock == NULL))
    lg_real_resolve();
  return lg_enter();
}

/* glibc's mapping of a pthread error to a C11 result (thrd_priv.h). */
static int lg_c11_result(int err) {
  switch (err) {
  case 0:
    return thrd_success;
  case ENOMEM:
    return thrd_nomem;
  case ETIMEDOUT:
    return thrd_timedout;
  case EBUSY:
    return thrd_busy;
  default:
    return thrd_error;
  }
}

/* ---- mutexes ---- */

/* The real calls run with the thread in passthrough: a glibc that implements them through the
 * exported pthread functions (before 2.34, in libpthread) must not have them tracked twice. */
static int lg_c11_call_timed(lg_thread_t *t, mtx_t *m, const struct timespec *ts) {
  if (t == NULL)
    return lg_real.mtx_timedlock(m, ts);
  t->passthrough = 1;
  int rc = lg_real.mtx_timedlock(m, ts);
  t->passthrough = 0;
  return rc;
}

static int lg_c11_call_try(lg_thread_t *t, mtx_t *m) {
  if (t == NULL)
    return lg_real.mtx_trylock(m);
  t->passthrough = 1;
  int rc = lg_real.mtx_trylock(m);
  t->passthrough = 0;
  return rc;
}

/* init and destroy, as interpose.c's LG_LIFECYCLE: the instance at m ends when the call
 * succeeded (rc 0), and the misuse checks look at the outcome. */
static void lg_c11_lifecycle(lg_thread_t *t, mtx_t *m, int op, int rc, int busy,
                             const char *name, uintptr_t pc, uintptr_t fp) {
  int e = errno;
  uint64_t dead = rc == 0 ? lg_lock_retire((uintptr_t)m) : 0;
  lg_misuse_lifecycle(t, (uintptr_t)m, LG_KIND_MUTEX, op, rc, lg_misuse_init_ended(op, busy, dead),
                      name, pc, fp);
  errno = e;
}

LG_EXPORT int mtx_init(mtx_t *m, int type) {
  lg_thread_t *t = lg_c11_enter();
  int busy = lg_lock_word_busy((uintptr_t)m, LG_KIND_MUTEX); /* see lg_misuse_init_ended */
  int rc = lg_real.mtx_init(m, type);
  if (t != NULL)
    lg_c11_lifecycle(t, m, LG_MISUSE_INIT, rc == thrd_success ? 0 : EINVAL, busy, "mtx_init",
                     LG_C11_PC, LG_C11_FP);
  return rc;
}

LG_EXPORT void mtx_destroy(mtx_t *m) {
  lg_thread_t *t = lg_c11_enter();
  lg_real.mtx_destroy(m);
  /* No result in C11: glibc's pthread_mutex_destroy underneath marks the mutex destroyed
   * (kind -1), or refuses a locked one (EBUSY) and leaves it as it was. */
  if (t != NULL)
    lg_c11_lifecycle(t, m, LG_MISUSE_DESTROY,
                     ((pthread_mutex_t *)m)->__data.__kind == -1 ? 0 : EBUSY, 1, "mtx_destroy",
                     LG_C11_PC, LG_C11_FP);
}

/* An acquisition that failed: thrd_error from a lock is glibc's EINVAL (a destroyed or never
 * initialized mtx; the misuse check confirms it), and a failed try of a lock whose holder is
 * gone is looked at as the pthread wrappers do. */
static void lg_c11_lock_failed(lg_thread_t *t, mtx_t *m, int rc, const char *op, uintptr_t pc) {
  if (rc == thrd_error)
    lg_misuse_lock_failed(t, (uintptr_t)m, LG_KIND_MUTEX, EINVAL, op, pc);
  else if (LG_UNLIKELY(atomic_load_explicit(&lg_abandoned_any, memory_order_relaxed)))
    lg_abandoned_try_failed(t, (uintptr_t)m, LG_KIND_MUTEX, LG_MODE_WRITE);
}

LG_EXPORT int mtx_lock(mtx_t *m) {
  lg_thread_t *t = lg_c11_enter();
  if (LG_UNLIKELY(t == NULL))
    return lg_real.mtx_lock(m);
  uintptr_t pc = LG_C11_PC, cfa = LG_C11_CFA, addr = (uintptr_t)m;
  lg_acq_t a;
  /* A signal handler locking meanwhile must not reuse the entry (lg_own_begin); the real call
   * runs in passthrough too (see lg_c11_call_timed). */
  lg_own_begin(t);
  int pre = lg_acquire_check(t, addr, LG_KIND_MUTEX, LG_MODE_WRITE, LG_ACQ_BLOCKING, pc, cfa, &a);
  if (pre == LG_PRE_UNTRACKED) {
    int rc = lg_real.mtx_lock(m);
    lg_own_end(t);
    return rc;
  }
  int filled = lg_held_fill(t, addr, &a, LG_KIND_MUTEX, LG_MODE_WRITE, pc, cfa, LG_C11_FP) == 0;
  if (LG_LIKELY(filled))
    lg_wait_begin(t);
  int rc = lg_real.mtx_lock(m);
  if (LG_LIKELY(filled)) {
    lg_wait_end(t);
    if (rc == thrd_success)
      lg_held_commit(t);
  }
  lg_own_end(t);
  if (LG_UNLIKELY(rc != thrd_success))
    lg_c11_lock_failed(t, m, rc, "mtx_lock", pc);
  return rc;
}

LG_EXPORT int mtx_timedlock(mtx_t *__restrict m, const struct timespec *__restrict ts) {
  lg_thread_t *t = lg_c11_enter();
  uintptr_t pc = LG_C11_PC, cfa = LG_C11_CFA;
  int rc = lg_c11_call_timed(t, m, ts);
  if (rc == thrd_success && t != NULL)
    lg_held_record(t, (uintptr_t)m, LG_KIND_MUTEX, LG_MODE_WRITE, LG_ACQ_TIMED, pc, cfa, LG_C11_FP);
  else if (t != NULL && rc != thrd_timedout)
    lg_c11_lock_failed(t, m, rc, "mtx_timedlock", pc);
  return rc;
}

LG_EXPORT int mtx_trylock(mtx_t *m) {
  lg_thread_t *t = lg_c11_enter();
  uintptr_t pc = LG_C11_PC, cfa = LG_C11_CFA;
  int rc = lg_c11_call_try(t, m);
  if (rc == thrd_success && t != NULL)
    lg_held_record(t, (uintptr_t)m, LG_KIND_MUTEX, LG_MODE_WRITE, LG_ACQ_TRY, pc, cfa, LG_C11_FP);
  else if (t != NULL)
    lg_c11_lock_failed(t, m, rc, "mtx_trylock", pc);
  return rc;
}

LG_EXPORT int mtx_unlock(mtx_t *m) {
  if (LG_UNLIKELY(lg_real.mtx_unlock == NULL))
    lg_real_resolve();
  lg_thread_t *t = lg_tls_self;
  if (t == NULL || t->passthrough)
    return lg_real.mtx_unlock(m);
  t->passthrough = 1;
  int rc = lg_real.mtx_unlock(m);
  t->passthrough = 0;
  uint32_t d = t->depth;
  if (LG_LIKELY(rc == thrd_success && d != 0 && t->held[d - 1].addr == (uintptr_t)m))
    t->depth = d - 1;
  else /* deeper in the stack, or not the caller's: a misuse (and a hand-off) */
    lg_misuse_release(t, (uintptr_t)m, LG_KIND_MUTEX, rc == thrd_success ? 0 : EPERM,
                      "mtx_unlock", LG_C11_PC);
  return rc;
}

/* ---- condition variables: the wait releases the mutex and takes it back ---- */


static void lg_c11_retake(lg_thread_t *t, mtx_t *m, uintptr_t pc, uintptr_t cfa, uintptr_t fp) {
  int e = errno;
  lg_held_record(t, (uintptr_t)m, LG_KIND_MUTEX, LG_MODE_WRITE, LG_ACQ_TIMED, pc, cfa, fp);
  errno = e;
}

/* A condition wait (timed when ts != NULL), on interpose.c's rules: the mtx leaves the held
 * stack for the wait (a mtx not held, or a second mtx on the same condition variable, is a
 * misuse) and is taken back after it, whatever it returned; the wait is published for the
 * hang rules (waits.h). pc, cfa and fp are the exported wrapper's. */
static int lg_c11_cond_wait(lg_thread_t *t, cnd_t *c, mtx_t *m, const struct timespec *ts,
                            const char *op, uintptr_t pc, uintptr_t cfa, uintptr_t fp) {
  int was_held = lg_held_release_for_wait(t, (uintptr_t)m);
  int unheld_retake =
      !was_held && lg_misuse_cond_unheld(t, (uintptr_t)c, (uintptr_t)m, op, pc);
  int token = lg_misuse_cond_enter(t, (uintptr_t)c, (uintptr_t)m, op, pc, cfa, fp);
  int pub = lg_wait_enter(t, LG_WAIT_COND, LG_CALL_NONE, ts != NULL, 0, (uintptr_t)c,
                          (uintptr_t)m, pc, cfa, fp);
  t->passthrough = 1;
  int rc = ts != NULL ? lg_real.cnd_timedwait(c, m, ts) : lg_real.cnd_wait(c, m);
  t->passthrough = 0;
  if (pub)
    lg_wait_leave(&t);
  lg_misuse_cond_leave((uintptr_t)c, token);
  /* glibc holds the mutex again on every return when it was held; one that was not held, of
   * a kind glibc released anyway, on success and time-out */
  if (was_held || (unheld_retake && (rc == thrd_success || rc == thrd_timedout)))
    lg_c11_retake(t, m, pc, cfa, fp);
  return rc;
}

LG_EXPORT int cnd_wait(cnd_t *c, mtx_t *m) {
  lg_thread_t *t = lg_c11_enter();
  if (LG_UNLIKELY(t == NULL))
    return lg_real.cnd_wait(c, m);
  return lg_c11_cond_wait(t, c, m, NULL, "cnd_wait", LG_C11_PC, LG_C11_CFA, LG_C11_FP);
}

LG_EXPORT int cnd_timedwait(cnd_t *__restrict c, mtx_t *__restrict m,
                            const struct timespec *__restrict ts) {
  lg_thread_t *t = lg_c11_enter();
  if (LG_UNLIKELY(t == NULL))
    return lg_real.cnd_timedwait(c, m, ts);
  return lg_c11_cond_wait(t, c, m, ts, "cnd_timedwait", LG_C11_PC, LG_C11_CFA, LG_C11_FP);
}

/* ---- threads: through the pthread wrappers ---- */

typedef struct lg_c11_start {
  thrd_start_t fn;
  void *arg;
} lg_c11_start_t;

/* The thread's int result becomes its pointer result, as glibc's own C11 threads do. */
static void *lg_c11_trampoline(void *p) {
  lg_c11_start_t s = *(lg_c11_start_t *)p;
  lg_mem_free(p, sizeof(s));
  return (void *)(uintptr_t)s.fn(s.arg);
}

LG_EXPORT int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg) {
  int e = errno;
  lg_c11_start_t *s = lg_mem_alloc(sizeof(*s));
  if (s == NULL)
    return thrd_nomem;
  s->fn = fn;
  s->arg = arg;
  errno = e;
  int rc = pthread_create((pthread_t *)thr, NULL, lg_c11_trampoline, s);
  if (rc != 0)
    lg_mem_free(s, sizeof(*s));
  return lg_c11_result(rc);
}

LG_EXPORT int thrd_join(thrd_t thr, int *res) {
  void *p = NULL;
  int rc = pthread_join((pthread_t)thr, &p);
  if (rc == 0 && res != NULL)
    *res = (int)(uintptr_t)p;
  return lg_c11_result(rc);
}

LG_EXPORT int thrd_detach(thrd_t thr) {
  return lg_c11_result(pthread_detach((pthread_t)thr));
}
