/* interpose.c - the exported pthread wrappers, and the real functions behind them.
 *
 * Every wrapper is transparent: it returns exactly what the real call returned and leaves errno
 * as the real call left it (the fast path never touches errno; every slow path saves and
 * restores it). An acquisition is recorded only when the real call succeeded; for
 * the blocking calls the order check runs BEFORE the real call, so an inversion (or a relock
 * that would hang) is reported before the program can hang on it.
 *
 * The real symbols are resolved once, here, with dlsym(RTLD_NEXT); the condition variable
 * functions with dlvsym at GLIBC_2.3.2, the ABI our (unversioned, hence default) definitions
 * present to the program. A wrapper called while the runtime is not ready, on an untracked
 * thread, or from inside the detector goes straight to the real function.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lockgraph.h"
#include "misuse.h"

lg_real_t lg_real;
static _Atomic int lg_real_state; /* 0 unresolved, 1 resolving, 2 done */

static void *lg_real_sym(const char *name) {
  return dlsym(RTLD_NEXT, name);
}

static void *lg_real_vsym(const char *name, const char *version) {
  void *p = dlvsym(RTLD_NEXT, name, version);
  return p ? p : dlsym(RTLD_NEXT, name);
}

void lg_real_resolve(void) {
  int expected = 0;
  if (atomic_load_explicit(&lg_real_state, memory_order_acquire) == 2)
    return;
  if (!atomic_compare_exchange_strong(&lg_real_state, &expected, 1)) {
    /* Another thread resolves; a re-entrant call from dlsym itself returns at once and the
     * caller falls back (see lg_boot_*). */
    return;
  }
  lg_real_t r;
  memset(&r, 0, sizeof r);
#define LG_RESOLVE(field, name) r.field = (__typeof__(r.field))lg_real_sym(name)
  LG_RESOLVE(mutex_init, "pthread_mutex_init");
  LG_RESOLVE(mutex_destroy, "pthread_mutex_destroy");
  LG_RESOLVE(mutex_lock, "pthread_mutex_lock");
  LG_RESOLVE(mutex_trylock, "pthread_mutex_trylock");
  LG_RESOLVE(mutex_timedlock, "pthread_mutex_timedlock");
  LG_RESOLVE(mutex_clocklock, "pthread_mutex_clocklock");
  LG_RESOLVE(mutex_unlock, "pthread_mutex_unlock");
  r.cond_wait = (__typeof__(r.cond_wait))lg_real_vsym("pthread_cond_wait", "GLIBC_2.3.2");
  r.cond_timedwait =
      (__typeof__(r.cond_timedwait))lg_real_vsym("pthread_cond_timedwait", "GLIBC_2.3.2");
  LG_RESOLVE(cond_clockwait, "pthread_cond_clockwait");
  LG_RESOLVE(rwlock_init, "pthread_rwlock_init");
  LG_RESOLVE(rwlock_destroy, "pthread_rwlock_destroy");
  LG_RESOLVE(rwlock_rdlock, "pthread_rwlock_rdlock");
  LG_RESOLVE(rwlock_wrlock, "pthread_rwlock_wrlock");
  LG_RESOLVE(rwlock_tryrdlock, "pthread_rwlock_tryrdlock");
  LG_RESOLVE(rwlock_trywrlock, "pthread_rwlock_trywrlock");
  LG_RESOLVE(rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
  LG_RESOLVE(rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
  LG_RESOLVE(rwlock_clockrdlock, "pthread_rwlock_clockrdlock");
  LG_RESOLVE(rwlock_clockwrlock, "pthread_rwlock_clockwrlock");
  LG_RESOLVE(rwlock_unlock, "pthread_rwlock_unlock");
  LG_RESOLVE(spin_init, "pthread_spin_init");
  LG_RESOLVE(spin_destroy, "pthread_spin_destroy");
  LG_RESOLVE(spin_lock, "pthread_spin_lock");
  LG_RESOLVE(spin_trylock, "pthread_spin_trylock");
  LG_RESOLVE(spin_unlock, "pthread_spin_unlock");
  LG_RESOLVE(create, "pthread_create");
  LG_RESOLVE(join, "pthread_join");
  LG_RESOLVE(tryjoin_np, "pthread_tryjoin_np");
  LG_RESOLVE(timedjoin_np, "pthread_timedjoin_np");
  LG_RESOLVE(clockjoin_np, "pthread_clockjoin_np");
  LG_RESOLVE(detach, "pthread_detach");
  LG_RESOLVE(exit, "pthread_exit");
  LG_RESOLVE(sig_action, "sigaction");
  LG_RESOLVE(sig_signal, "signal");
  LG_RESOLVE(sig_sysv, "sysv_signal");
  LG_RESOLVE(sig_bsd, "bsd_signal");
  LG_RESOLVE(sig_set, "sigset");
  LG_RESOLVE(mtx_init, "mtx_init");
  LG_RESOLVE(mtx_destroy, "mtx_destroy");
  LG_RESOLVE(mtx_lock, "mtx_lock");
  LG_RESOLVE(mtx_trylock, "mtx_trylock");
  LG_RESOLVE(mtx_timedlock, "mtx_timedlock");
  LG_RESOLVE(mtx_unlock, "mtx_unlock");
  LG_RESOLVE(cnd_wait, "cnd_wait");
  LG_RESOLVE(cnd_timedwait, "cnd_timedwait");
  LG_RESOLVE(sem_wait, "sem_wait");
  LG_RESOLVE(sem_timedwait, "sem_timedwait");
  LG_RESOLVE(sem_clockwait, "sem_clockwait");
  LG_RESOLVE(read, "read");
  LG_RESOLVE(read_chk, "__read_chk");
  LG_RESOLVE(recv_chk, "__recv_chk");
  LG_RESOLVE(poll_chk, "__poll_chk");
  LG_RESOLVE(write, "write");
  LG_RESOLVE(recv, "recv");
  LG_RESOLVE(send, "send");
  LG_RESOLVE(accept, "accept");
  LG_RESOLVE(connect, "connect");
  LG_RESOLVE(poll, "poll");
  LG_RESOLVE(select, "select");
  LG_RESOLVE(epoll_wait, "epoll_wait");
  LG_RESOLVE(nanosleep, "nanosleep");
  LG_RESOLVE(sleep, "sleep");
  LG_RESOLVE(usleep, "usleep");
  LG_RESOLVE(waitpid, "waitpid");
  LG_RESOLVE(fsync, "fsync");
  LG_RESOLVE(pipe, "pipe");
  LG_RESOLVE(pipe2, "pipe2");
  LG_RESOLVE(socketpair, "socketpair");
  LG_RESOLVE(close, "close");
  LG_RESOLVE(process_exit, "_exit");
  LG_RESOLVE(execve, "execve");
  LG_RESOLVE(execvpe, "execvpe");
  LG_RESOLVE(fexecve, "fexecve");
  LG_RESOLVE(daemon, "daemon");
  LG_RESOLVE(fork_raw, "_Fork");
  LG_RESOLVE(posix_spawn, "posix_spawn");
  LG_RESOLVE(posix_spawnp, "posix_spawnp");
  LG_RESOLVE(popen, "popen");
  LG_RESOLVE(system, "system");
  LG_RESOLVE(timer_create, "timer_create");
  LG_RESOLVE(timer_settime, "timer_settime");
  LG_RESOLVE(timer_delete, "timer_delete");
  LG_RESOLVE(mq_notify, "mq_notify");
  LG_RESOLVE(mq_close, "mq_close");
  LG_RESOLVE(aio_read, "aio_read");
  LG_RESOLVE(aio_write, "aio_write");
  LG_RESOLVE(aio_fsync, "aio_fsync");
  LG_RESOLVE(lio_listio, "lio_listio");
  LG_RESOLVE(aio_return, "aio_return");
  LG_RESOLVE(sendmsg, "sendmsg");
  LG_RESOLVE(sendmmsg, "sendmmsg");
  LG_RESOLVE(recvmsg, "recvmsg");
  LG_RESOLVE(recvmmsg, "recvmmsg");
  LG_RESOLVE(unshare, "unshare");
  LG_RESOLVE(setns, "setns");
#undef LG_RESOLVE
  lg_real = r;
  atomic_store_explicit(&lg_real_state, 2, memory_order_release);
}

/* A real function pointer, resolving it first if a wrapper runs before the constructor. NULL
 * only while dlsym itself is being resolved on this thread. */
#define LG_REAL(field) (LG_LIKELY(lg_real.field != NULL) ? lg_real.field : (lg_real_resolve(), lg_real.field))

/* Calls through when the real function cannot be had yet (a lock call from inside dlsym during
 * bootstrap: single-threaded, so succeeding without locking is harmless). */
#define LG_CALL_REAL(field, ...) \
  (LG_REAL(field) != NULL ? lg_real.field(__VA_ARGS__) : 0)

#define LG_CALLER_PC ((uintptr_t)__builtin_return_address(0))
#define LG_CALLER_CFA ((uintptr_t)__builtin_dwarf_cfa())
#define LG_SELF_FP ((uintptr_t)__builtin_frame_address(0)) /* the library keeps frame pointers */

/* ---- the shape every acquisition shares ---- */

/* A blocking acquisition's real call failed: an errorcheck relock (EDEADLK) is reported, as is
 * a destroyed or uninitialized lock (EINVAL). Out of line and cold: the inline path passes the
 * entry it prepared (so only the thread lives across the real call), the slow form what it
 * knows. A robust mutex's dead owner (EOWNERDEAD) left it held: the inline path's prepared
 * entry is covered here, so that its own test of the outcome is only rc == 0 (the slow form
 * commits that case itself and never passes it). */
static __attribute__((noinline, cold)) int lg_blocking_failed(lg_thread_t *t, uintptr_t addr,
                                                              uint32_t id, uint32_t ver,
                                                              uintptr_t pc, uintptr_t cfa, int rc,
                                                              uint8_t kind, const char *func) {
  if (rc == EOWNERDEAD) {
    lg_held_commit(t);
    return rc;
  }
  if (rc == EDEADLK)
    lg_lock_report_errcheck(t, addr, id, ver, pc, cfa);
  else if (rc == EINVAL)
    lg_misuse_lock_failed(t, addr, kind, rc, func, pc);
  return rc;
}

/* The real blocking acquisitions, all of one type for lg_blocking_slow. */
typedef int (*lg_lockcall_t)(void *lock);
static int lg_call_mutex_lock(void *l) { return lg_real.mutex_lock(l); }
static int lg_call_rwlock_rdlock(void *l) { return lg_real.rwlock_rdlock(l); }
static int lg_call_rwlock_wrlock(void *l) { return lg_real.rwlock_wrlock(l); }
static int lg_call_spin_lock(void *l) { return lg_real.spin_lock(l); }

/* A blocking acquisition the wrapper's inline path does not take on (an unknown lock or chain,
 * a lock outside the thread's cached shadow region, a full held stack): check first (may report
 * before a hang), prepare the held entry, publish the wait, call; on success only the depth
 * changes. pc, cfa and fp are the wrapper's (its frame is live meanwhile). */
static __attribute__((noinline)) int lg_blocking_slow(lg_thread_t *t, void *lock, uint8_t kind,
                                                      uint8_t mode, lg_lockcall_t call,
                                                      const char *func, uintptr_t pc,
                                                      uintptr_t cfa, uintptr_t fp) {
  lg_acq_t a;
  /* A signal handler that locks meanwhile (while the entry is prepared, while this call
   * blocks, before the entry is covered) must not reuse the prepared entry: its calls pass
   * straight through until this one is done (lg_own_begin). */
  lg_own_begin(t);
  /* In the cached region with room on the stack, the inline check already found the lock or
   * its chain unknown: straight to the slow path, without looking the slot up again. */
  int pre = ((uintptr_t)lock >> LG_REGION_SHIFT) == t->region_key && t->depth != t->cap
                ? lg_lock_slow(t, (uintptr_t)lock, kind, mode, LG_ACQ_BLOCKING, pc, cfa, &a)
                : lg_acquire_check(t, (uintptr_t)lock, kind, mode, LG_ACQ_BLOCKING, pc, cfa, &a);
  if (pre == LG_PRE_UNTRACKED) {
    int rc = call(lock);
    lg_own_end(t);
    return rc;
  }
  int filled = lg_held_fill(t, (uintptr_t)lock, &a, kind, mode, pc, cfa, fp) == 0;
  if (LG_LIKELY(filled))
    lg_wait_begin(t);
  int rc = call(lock);
  if (LG_LIKELY(filled))
    lg_wait_end(t);
  if (LG_LIKELY(rc == 0) || rc == EOWNERDEAD) { /* a robust mutex's dead owner: held */
    if (LG_LIKELY(filled))
      lg_held_commit(t);
    lg_own_end(t);
    return rc;
  }
  lg_own_end(t);
  return lg_blocking_failed(t, (uintptr_t)lock, a.id, a.ver, pc, cfa, rc, kind, func);
}

/* A blocking acquisition. Inline, only the known case (the lock in the thread's cached region,
 * its chain key processed before, room on the held stack): the check is a few loads, the
 * entry is prepared outside the program's critical section and covered once the real call
 * succeeded, and only the thread lives across the real call (the failures read the prepared
 * entry). Anything else is lg_blocking_slow, whose checks come first. */
#define LG_BLOCKING(t, lockp, kind, mode, realcall, lockcall)                               \
  do {                                                                                     \
    uintptr_t addr_ = (uintptr_t)(lockp);                                                  \
    lg_own_begin(t); /* until the entry is covered: see lg_blocking_slow */                \
    /* The thread's fields before the slot's acquire load, so none is loaded twice. */     \
    uint32_t d_ = (t)->depth;                                                              \
    lg_held_t *top_ = &(t)->held[d_];                                                      \
    uint64_t slot_ = lg_slot_peek((t), addr_), key_;                                       \
    if (LG_UNLIKELY(d_ == (t)->cap) ||                                                     \
        !lg_acquire_known_top((t), d_, top_, slot_, (kind), (mode), LG_ACQ_BLOCKING, &key_)) { \
      lg_own_end(t);                                                                       \
      int slow_ = lg_blocking_slow((t), (void *)addr_, (kind), (mode), (lockcall), __func__, \
                                   LG_CALLER_PC, LG_CALLER_CFA, LG_SELF_FP);               \
      /* Not a tail call: the walk from LG_SELF_FP needs this frame alive. */             \
      __asm__ volatile("" : "+r"(slow_));                                                  \
      return slow_;                                                                        \
    }                                                                                      \
    /* The slot less its kind (known to match): the lock's id and version, as the check   \
     * computed them. */                                                                   \
    lg_held_prepare_at(top_, (t)->stack_hi, addr_, slot_ ^ (uint64_t)(kind) << 56, key_,   \
                       (kind), (mode), LG_CALLER_PC, LG_CALLER_CFA, LG_SELF_FP);           \
    lg_wait_begin(t);                                                                      \
    int rc_ = (realcall);                                                                  \
    lg_wait_end(t);                                                                        \
    if (LG_LIKELY(rc_ == 0)) { /* EOWNERDEAD, also held, is committed out of line */       \
      lg_held_commit(t);                                                                   \
      lg_own_end(t);                                                                       \
      __asm__("" : "+r"(rc_)); /* returned as is: no second register made 0 */             \
      return rc_;                                                                          \
    }                                                                                      \
    lg_own_end(t);                                                                         \
    const lg_held_t *h_ = &(t)->held[(t)->depth]; /* only t lives across the call */       \
    return lg_blocking_failed((t), h_->addr, h_->id, h_->ver, h_->pc, h_->cfa, rc_, (kind),  \
                              __func__);                                                   \
  } while (0)

/* A timed acquisition that failed. It waited, so the order it asked for is the program's as
 * much as a successful one's: a lock-order cycle whose deadline turned it into ETIMEDOUT is
 * still a cycle, and its edges are learned now (the held stack is what it was before the
 * call; nothing is pushed). A relock that timed out (the caller holds the lock) is left
 * alone. EDEADLK is an owner's relock of an errorcheck mutex or a write-held rwlock: the same
 * self-deadlock report as for a blocking one. */
static __attribute__((noinline, cold)) void lg_timed_failed(lg_thread_t *t, uintptr_t addr,
                                                            uint8_t kind, uint8_t mode, int rc,
                                                            uintptr_t pc, uintptr_t cfa) {
  lg_acq_t a;
  int was = lg_guard_enter(t);
  if (rc == EDEADLK) {
    if (lg_acquire_check(t, addr, kind, mode, LG_ACQ_BLOCKING, pc, cfa, &a) ==
        LG_PRE_ERRCHECK_RELOCK)
      lg_lock_report_errcheck(t, addr, a.id, a.ver, pc, cfa);
  } else if (rc == ETIMEDOUT) {
    int held = 0;
    for (uint32_t i = 0; i < t->depth && !held; i++)
      held = t->held[i].addr == addr;
    if (!held)
      lg_acquire_check(t, addr, kind, mode, LG_ACQ_TIMED, pc, cfa, &a);
  }
  lg_guard_leave(t, was);
}

/* A timed or try acquisition: call first, record only what succeeded (and what a timed one
 * that failed asked for: lg_timed_failed). */
#define LG_AFTER(t, lockp, kind, mode, acq, realcall)                                      \
  do {                                                                                     \
    uintptr_t pc_ = LG_CALLER_PC, cfa_ = LG_CALLER_CFA;                                    \
    int rc_ = (realcall);                                                                   \
    if (rc_ != 0 && rc_ != EOWNERDEAD) { /* EOWNERDEAD: acquired from a dead owner */       \
      if (LG_UNLIKELY(rc_ == EINVAL)) /* a destroyed or uninitialized lock */               \
        lg_misuse_lock_failed((t), (uintptr_t)(lockp), (kind), rc_, __func__, pc_);         \
      else if ((acq) == LG_ACQ_TIMED && (rc_ == ETIMEDOUT || rc_ == EDEADLK))              \
        lg_timed_failed((t), (uintptr_t)(lockp), (kind), (mode), rc_, pc_, cfa_);           \
      if (LG_UNLIKELY(atomic_load_explicit(&lg_abandoned_any, memory_order_relaxed)))       \
        lg_abandoned_try_failed((t), (uintptr_t)(lockp), (kind), (mode));                   \
      return rc_;                                                                           \
    }                                                                                       \
    lg_held_record((t), (uintptr_t)(lockp), (kind), (mode), (acq), pc_, cfa_, LG_SELF_FP);  \
    return rc_;                                                                             \
  } while (0)

/* A release the fast path does not explain (lg_misuse_release), out of line; returns rc, so
 * that the wrapper ends in a jump to it and keeps no stack slot for rc. */
static __attribute__((noinline, cold)) int lg_release_misuse(lg_thread_t *t, uintptr_t addr,
                                                             uint8_t kind, int rc,
                                                             const char *func, uintptr_t pc) {
  lg_misuse_release(t, addr, kind, rc, func, pc);
  return rc;
}

/* A release: the real call first, so nothing of ours runs while the program still holds the
 * lock (but the load of the thread's state and its passthrough flag, so that only the thread
 * and the lock live across the call); the held stack is the calling thread's own and can be
 * popped after. A thread with no state yet holds nothing tracked, so none is created here. A
 * release of a lock the thread does not hold (not on its held stack, or refused by the real
 * call) is a misuse. */
#define LG_RELEASE(field, lockp, kind)                                                    \
  do {                                                                                    \
    lg_thread_t *t_ = lg_tls_self;                                                        \
    if (LG_UNLIKELY(t_ == NULL || t_->passthrough))                                       \
      return LG_CALL_REAL(field, (lockp));                                                \
    /* Tracked, so the runtime has started, resolving the real functions first: called   \
     * without a test of the pointer, as the acquisitions' wrappers call theirs. */       \
    /* A compiler barrier: the pointer is loaded by the call itself (call *mem) rather    \
     * than ahead of the tests into a register of its own. */                              \
    __asm__ volatile("" : : : "memory");                                                  \
    int rc_ = lg_real.field(lockp);                                                       \
    if (LG_LIKELY(rc_ == 0)) {                                                            \
      /* The top entry: the fast path. Anything else (deeper, or absent) is one call      \
       * that needs nothing back. An empty stack is the decrement's borrow (one sub and   \
       * branch, where a test of depth and the index's own decrement took three). */      \
      uint64_t d_;                                                                        \
      if (LG_LIKELY(!__builtin_sub_overflow((uint64_t)t_->depth, 1u, &d_) &&              \
                    t_->held[d_].addr == (uintptr_t)(lockp))) {                           \
        t_->depth = (uint32_t)d_;                                                         \
        return 0;                                                                         \
      }                                                                                   \
      return lg_release_misuse(t_, (uintptr_t)(lockp), (kind), 0, __func__, LG_CALLER_PC); \
    }                                                                                     \
    return lg_release_misuse(t_, (uintptr_t)(lockp), (kind), rc_, __func__, LG_CALLER_PC); \
  } while (0)

/* init and destroy: the instance at this address ends (a new one starts at first use). The
 * misuse checks look at the outcome (held while destroyed or initialized again, and the destroy
 * to remember or forget). */
#define LG_LIFECYCLE(lockp, kind, op, realcall)                                           \
  do {                                                                                  \
    int busy_ = (op) == LG_MISUSE_INIT && lg_lock_word_busy((uintptr_t)(lockp), (kind));  \
    int rc_ = (realcall);                                                               \
    lg_thread_t *t_ = lg_enter();                                                       \
    if (t_ != NULL) {                                                                   \
      int errno_ = errno;                                                               \
      uint64_t dead_ = rc_ == 0 ? lg_lock_retire((uintptr_t)(lockp)) : 0;               \
      lg_misuse_lifecycle(t_, (uintptr_t)(lockp), (kind), (op), rc_,                    \
                          lg_misuse_init_ended(op, busy_, dead_), __func__, LG_CALLER_PC, \
                          LG_SELF_FP);                                                  \
      errno = errno_;                                                                   \
    }                                                                                   \
    return rc_;                                                                         \
  } while (0)

/* ---- mutexes ---- */

LG_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr) {
  LG_LIFECYCLE(m, LG_KIND_MUTEX, LG_MISUSE_INIT, LG_CALL_REAL(mutex_init, m, attr));
}

LG_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m) {
  LG_LIFECYCLE(m, LG_KIND_MUTEX, LG_MISUSE_DESTROY, LG_CALL_REAL(mutex_destroy, m));
}

LG_EXPORT int pthread_mutex_lock(pthread_mutex_t *m) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(mutex_lock, m);
  LG_BLOCKING(t, m, LG_KIND_MUTEX, LG_MODE_WRITE, lg_real.mutex_lock(m), lg_call_mutex_lock);
}

LG_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(mutex_trylock, m);
  LG_AFTER(t, m, LG_KIND_MUTEX, LG_MODE_WRITE, LG_ACQ_TRY, lg_real.mutex_trylock(m));
}

LG_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *ts) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(mutex_timedlock, m, ts);
  LG_AFTER(t, m, LG_KIND_MUTEX, LG_MODE_WRITE, LG_ACQ_TIMED, lg_real.mutex_timedlock(m, ts));
}

LG_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *ts) {
  if (LG_REAL(mutex_clocklock) == NULL)
    return ENOSYS;
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return lg_real.mutex_clocklock(m, clk, ts);
  LG_AFTER(t, m, LG_KIND_MUTEX, LG_MODE_WRITE, LG_ACQ_TIMED, lg_real.mutex_clocklock(m, clk, ts));
}

LG_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m) {
  LG_RELEASE(mutex_unlock, m, LG_KIND_MUTEX);
}

/* ---- condition variables: the wait releases the mutex and takes it back ---- */


/* The misuse checks of a wait, before the real call: the mutex must be held by the caller and
 * be the one other waiters of c use. Returns nonzero when the mutex is held after the wait
 * returns `rc` (the real wait takes it back for the caller on every return when it was held,
 * on 0 and ETIMEDOUT when glibc let a default mutex the caller did not hold go). */
#define LG_COND_BEFORE(t, c, m, pc, cfa)                                                    \
  /* The mutex is released: was it a tracked held lock? */                                \
  int was_held = lg_held_release_for_wait((t), (uintptr_t)(m));                            \
  int unheld_retake =                                                                     \
      !was_held && lg_misuse_cond_unheld((t), (uintptr_t)(c), (uintptr_t)(m), __func__, (pc)); \
  int cv_token = lg_misuse_cond_enter((t), (uintptr_t)(c), (uintptr_t)(m), __func__, (pc), \
                                      (cfa), LG_SELF_FP)
#define LG_COND_HELD_AFTER(c, rc)                                                           \
  (lg_misuse_cond_leave((uintptr_t)(c), cv_token),                                        \
   was_held || (unheld_retake && ((rc) == 0 || (rc) == ETIMEDOUT)))

/* After the wait (whatever it returned, glibc holds the mutex again): a blocking retake. */
static void lg_cond_retake(lg_thread_t *t, pthread_mutex_t *m, uintptr_t pc, uintptr_t cfa,
                           uintptr_t fp) {
  int errno_ = errno;
  lg_held_record(t, (uintptr_t)m, LG_KIND_MUTEX, LG_MODE_WRITE, LG_ACQ_TIMED, pc, cfa, fp);
  errno = errno_;
}

/* glibc's own cleanup list (not declared in pthread.h any more): a buffer on it is run by a
 * cancellation's unwind when the unwind leaves our frame, whether the program's handlers are
 * exception-based or entered by longjmp (which skips a cleanup attribute of ours). */
extern void _pthread_cleanup_push(struct _pthread_cleanup_buffer *, void (*)(void *), void *);
extern void _pthread_cleanup_pop(struct _pthread_cleanup_buffer *, int);

/* What a cancellation inside a condition wait must put right: glibc takes the mutex back
 * before the program's cleanup handlers run (which usually unlock it), so the held stack must
 * have it again; and the wait is over. */
typedef struct lg_cond_cancel {
  struct _pthread_cleanup_buffer buf;
  lg_thread_t *thread;
  pthread_cond_t *cond;
  pthread_mutex_t *mutex;
  uintptr_t site_pc, site_cfa, site_fp;
  int held_after, cv_token, waited; /* waited: the wait was published (lg_wait_enter) */
} lg_cond_cancel_t;

static void lg_cond_cancelled(void *arg) {
  lg_cond_cancel_t *x = arg;
  lg_misuse_cond_leave((uintptr_t)x->cond, x->cv_token);
  if (x->waited)
    lg_wait_leave(&x->thread);
  if (x->held_after)
    lg_cond_retake(x->thread, x->mutex, x->site_pc, x->site_cfa, x->site_fp);
}

/* The wait itself, published for the watchdog (waits.h); a process-shared condition variable
 * (bit 0 of glibc's __wrefs) may be signalled by another process. Uses LG_COND_BEFORE's
 * locals. */
#define LG_COND_BLOCK(t, c, m, timed, pc, cfa, fp, realcall)                                  \
  ({                                                                                         \
    lg_cond_cancel_t cx_ = {.thread = (t), .cond = (c), .mutex = (m), .site_pc = (pc),        \
                            .site_cfa = (cfa), .site_fp = (fp),                              \
                            .held_after = was_held || unheld_retake, .cv_token = cv_token};  \
    cx_.waited = lg_wait_enter((t), LG_WAIT_COND, LG_CALL_NONE, (timed),                      \
                               ((c)->__data.__wrefs & 1) != 0, (uintptr_t)(c), (uintptr_t)(m), \
                               (pc), (cfa), (fp));                                           \
    _pthread_cleanup_push(&cx_.buf, lg_cond_cancelled, &cx_);                                 \
    int rc_ = (realcall);                                                                    \
    _pthread_cleanup_pop(&cx_.buf, 0);                                                       \
    if (cx_.waited)                                                                          \
      lg_wait_leave(&cx_.thread);                                                            \
    rc_;                                                                                     \
  })

LG_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(cond_wait, c, m);
  uintptr_t pc = LG_CALLER_PC, cfa = LG_CALLER_CFA;
  LG_COND_BEFORE(t, c, m, pc, cfa);
  int rc = LG_COND_BLOCK(t, c, m, 0, pc, cfa, LG_SELF_FP, lg_real.cond_wait(c, m));
  if (LG_COND_HELD_AFTER(c, rc)) /* held again on every return, errors included: glibc checks before unlocking */
    lg_cond_retake(t, m, pc, cfa, LG_SELF_FP);
  return rc;
}

LG_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *ts) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(cond_timedwait, c, m, ts);
  uintptr_t pc = LG_CALLER_PC, cfa = LG_CALLER_CFA;
  LG_COND_BEFORE(t, c, m, pc, cfa);
  int rc = LG_COND_BLOCK(t, c, m, 1, pc, cfa, LG_SELF_FP, lg_real.cond_timedwait(c, m, ts));
  if (LG_COND_HELD_AFTER(c, rc)) /* held again on every return: ETIMEDOUT, and EINVAL found before unlocking */
    lg_cond_retake(t, m, pc, cfa, LG_SELF_FP);
  return rc;
}

LG_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                     const struct timespec *ts) {
  if (LG_REAL(cond_clockwait) == NULL)
    return ENOSYS;
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return lg_real.cond_clockwait(c, m, clk, ts);
  uintptr_t pc = LG_CALLER_PC, cfa = LG_CALLER_CFA;
  LG_COND_BEFORE(t, c, m, pc, cfa);
  int rc = LG_COND_BLOCK(t, c, m, 1, pc, cfa, LG_SELF_FP, lg_real.cond_clockwait(c, m, clk, ts));
  if (LG_COND_HELD_AFTER(c, rc)) /* held again on every return: ETIMEDOUT, and EINVAL found before unlocking */
    lg_cond_retake(t, m, pc, cfa, LG_SELF_FP);
  return rc;
}

/* ---- rwlocks ---- */

LG_EXPORT int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr) {
  LG_LIFECYCLE(l, LG_KIND_RWLOCK, LG_MISUSE_INIT, LG_CALL_REAL(rwlock_init, l, attr));
}

LG_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *l) {
  LG_LIFECYCLE(l, LG_KIND_RWLOCK, LG_MISUSE_DESTROY, LG_CALL_REAL(rwlock_destroy, l));
}

LG_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(rwlock_rdlock, l);
  LG_BLOCKING(t, l, LG_KIND_RWLOCK, LG_MODE_READ, lg_real.rwlock_rdlock(l), lg_call_rwlock_rdlock);
}

LG_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(rwlock_wrlock, l);
  LG_BLOCKING(t, l, LG_KIND_RWLOCK, LG_MODE_WRITE, lg_real.rwlock_wrlock(l), lg_call_rwlock_wrlock);
}

LG_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(rwlock_tryrdlock, l);
  LG_AFTER(t, l, LG_KIND_RWLOCK, LG_MODE_READ, LG_ACQ_TRY, lg_real.rwlock_tryrdlock(l));
}

LG_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(rwlock_trywrlock, l);
  LG_AFTER(t, l, LG_KIND_RWLOCK, LG_MODE_WRITE, LG_ACQ_TRY, lg_real.rwlock_trywrlock(l));
}

LG_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *ts) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(rwlock_timedrdlock, l, ts);
  LG_AFTER(t, l, LG_KIND_RWLOCK, LG_MODE_READ, LG_ACQ_TIMED, lg_real.rwlock_timedrdlock(l, ts));
}

LG_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *ts) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(rwlock_timedwrlock, l, ts);
  LG_AFTER(t, l, LG_KIND_RWLOCK, LG_MODE_WRITE, LG_ACQ_TIMED, lg_real.rwlock_timedwrlock(l, ts));
}

LG_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clk,
                                         const struct timespec *ts) {
  if (LG_REAL(rwlock_clockrdlock) == NULL)
    return ENOSYS;
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return lg_real.rwlock_clockrdlock(l, clk, ts);
  LG_AFTER(t, l, LG_KIND_RWLOCK, LG_MODE_READ, LG_ACQ_TIMED, lg_real.rwlock_clockrdlock(l, clk, ts));
}

LG_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clk,
                                         const struct timespec *ts) {
  if (LG_REAL(rwlock_clockwrlock) == NULL)
    return ENOSYS;
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return lg_real.rwlock_clockwrlock(l, clk, ts);
  LG_AFTER(t, l, LG_KIND_RWLOCK, LG_MODE_WRITE, LG_ACQ_TIMED, lg_real.rwlock_clockwrlock(l, clk, ts));
}

LG_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l) {
  LG_RELEASE(rwlock_unlock, l, LG_KIND_RWLOCK);
}

/* ---- spinlocks ---- */

LG_EXPORT int pthread_spin_init(pthread_spinlock_t *s, int pshared) {
  LG_LIFECYCLE(s, LG_KIND_SPIN, LG_MISUSE_INIT, LG_CALL_REAL(spin_init, s, pshared));
}

LG_EXPORT int pthread_spin_destroy(pthread_spinlock_t *s) {
  LG_LIFECYCLE(s, LG_KIND_SPIN, LG_MISUSE_DESTROY, LG_CALL_REAL(spin_destroy, s));
}

LG_EXPORT int pthread_spin_lock(pthread_spinlock_t *s) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(spin_lock, s);
  LG_BLOCKING(t, s, LG_KIND_SPIN, LG_MODE_WRITE, lg_real.spin_lock(s), lg_call_spin_lock);
}

LG_EXPORT int pthread_spin_trylock(pthread_spinlock_t *s) {
  lg_thread_t *t = lg_enter();
  if (LG_UNLIKELY(t == NULL))
    return LG_CALL_REAL(spin_trylock, s);
  LG_AFTER(t, s, LG_KIND_SPIN, LG_MODE_WRITE, LG_ACQ_TRY, lg_real.spin_trylock(s));
}

LG_EXPORT int pthread_spin_unlock(pthread_spinlock_t *s) {
  LG_RELEASE(spin_unlock, s, LG_KIND_SPIN);
}

/* ---- signal dispositions: the program's own handlers always win ---- */

/* Where our fatal-signal handler is installed, the program believes the disposition is still
 * SIG_DFL: it is told so, and a handler it installs replaces ours for good. */
LG_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  /* Not through LG_REAL: while another thread is resolving, its fields are still NULL, and
   * a program's sigaction must never fail because of us. */
  __typeof__(lg_real.sig_action) real = lg_real.sig_action;
  if (real == NULL && (real = (__typeof__(real))lg_real_sym("sigaction")) == NULL) {
    errno = ENOSYS;
    return -1;
  }
  int ours = lg_signal_is_ours(sig);
  /* The default action asked for: ours in its place where we take it (lg_signal_default). */
  int rc = act != NULL && act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO)
               ? lg_signal_default(sig, old)
               : -2;
  int took = rc != -2;
  if (!took)
    rc = real(sig, act, old);
  if (rc == 0 && act != NULL)
    lg_waits_note_handler(sig, act->sa_handler);
  if (rc == 0 && ours) {
    if (old != NULL) {
      old->sa_handler = SIG_DFL;
      old->sa_flags = 0;
      sigemptyset(&old->sa_mask);
    }
    if (act != NULL && !took)
      lg_signal_forget(sig);
  }
  return rc;
}

typedef void (*lg_sighandler_t)(int);
typedef lg_sighandler_t (*lg_signal_fn_t)(int, lg_sighandler_t);

/* signal and its older names (real: the C library's function of that name, `name`, or NULL
 * while another thread resolves it): as sigaction above, through the function the program
 * called, whose semantics (one-shot, BSD, SysV's hold) it keeps. */
static lg_sighandler_t lg_signal_call(lg_signal_fn_t real, const char *name, int sig,
                                      lg_sighandler_t handler) {
  if (real == NULL && (real = (lg_signal_fn_t)lg_real_sym(name)) == NULL) {
    errno = ENOSYS;
    return SIG_ERR;
  }
  if (handler == SIG_HOLD) /* sigset: the signal blocked, its disposition as it was */
    return real(sig, handler);
  int ours = lg_signal_is_ours(sig);
  struct sigaction was;
  int rc = handler == SIG_DFL ? lg_signal_default(sig, &was) : -2;
  int took = rc != -2; /* our handler goes on in place of the default */
  void (*prev)(int) = !took ? real(sig, handler) : rc == 0 ? was.sa_handler : SIG_ERR;
  if (prev != SIG_ERR)
    lg_waits_note_handler(sig, handler);
  if (prev != SIG_ERR && ours) {
    if (!took)
      lg_signal_forget(sig);
    prev = SIG_DFL;
  }
  return prev;
}

LG_EXPORT lg_sighandler_t signal(int sig, lg_sighandler_t handler) {
  return lg_signal_call(lg_real.sig_signal, "signal", sig, handler);
}

LG_EXPORT lg_sighandler_t sysv_signal(int sig, lg_sighandler_t handler) {
  return lg_signal_call(lg_real.sig_sysv, "sysv_signal", sig, handler);
}

/* A strict ISO C build's signal (glibc's headers redirect it here). */
LG_EXPORT lg_sighandler_t __sysv_signal(int sig, lg_sighandler_t handler) {
  return lg_signal_call(lg_real.sig_sysv, "sysv_signal", sig, handler);
}

LG_EXPORT lg_sighandler_t bsd_signal(int sig, lg_sighandler_t handler) {
  return lg_signal_call(lg_real.sig_bsd, "bsd_signal", sig, handler);
}

LG_EXPORT lg_sighandler_t sigset(int sig, lg_sighandler_t handler) {
  return lg_signal_call(lg_real.sig_set, "sigset", sig, handler);
}
