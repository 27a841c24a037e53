/* misuse.h - lock misuse: using a lock wrongly, apart from the order locks are taken in.
 *
 * What it checks (each a report kind of its own, lockgraph.h's LG_REPORT_*):
 *   bad unlock      an unlock by a thread that does not hold the lock: nobody held it, another
 *                   thread holds it (a default mutex lets that through, an errorcheck or
 *                   recursive one returns EPERM), one unlock too many on a recursive mutex, an
 *                   rwlock or spinlock released while not held. The holder, and where it was
 *                   taken, are in the report; the holder's held set loses the lock (the real
 *                   call did release it), so no lock-order edge is invented from it later.
 *   destroy held    pthread_{mutex,rwlock,spin}_destroy of a lock that is locked.
 *   invalid lock    a lock, trylock, timed lock or unlock of a destroyed lock, or of memory
 *                   that is not an initialized mutex; the destroy's stack is shown next to the
 *                   use when it is known.
 *   init held       pthread_{mutex,rwlock,spin}_init on a lock some thread holds.
 *   condvar misuse  a wait with a mutex the thread does not hold, with something that is not
 *                   an initialized mutex, or on a condition variable other threads wait on with
 *                   another mutex at that moment.
 * Signalling a condition variable without holding its mutex is legal and common (signal after
 * unlock saves the woken thread a block on the mutex): it is not reported.
 *
 * On which paths (the fast path of a correct program gains no instruction):
 *   - unlock: only when the held-stack pop did not find the lock on the caller's stack, or
 *     the real unlock failed;
 *   - lock, trylock, timed lock: only when the real call failed with EINVAL; rwlocks and
 *     spinlocks (whose glibc destroy leaves nothing behind) on the slow path of the first
 *     acquisition after a destroy;
 *   - init and destroy, after the real call, with no atomic read-modify-write: a successful
 *     mutex destroy walks a few frame pointers and writes its record into the calling thread's
 *     ring of recent destroys (only that thread writes it) and one word of a shared index (the
 *     newest destroy per address hash); an init that ended no live lock does nothing but one
 *     load (of the count of rwlock and spinlock records). An rwlock or spinlock destroy takes a
 *     slot flag in a table of its own (and, when it held a live lock, loads its state); while
 *     that table holds records, an init, and a mutex destroy, also probe it. The held stacks
 *     are scanned only when a destroy met a locked lock or an init ended a live one (an init
 *     without a destroy before it);
 *   - condition waits: a probe of a table of waited condition variables (a per-slot flag)
 *     before and after the real wait, which blocks anyway.
 * Cost: scanning the threads' held stacks (under lg_rt.mu) happens only once a misuse is seen;
 * a mutex destroy's record is read only after a call failed with EINVAL (a seqlock read of one
 * ring entry, no lock: its owner may be overwriting it), an rwlock's or spinlock's on the
 * slow path of an acquisition (under its slot flag).
 * Which destroy a report shows: a mutex's newest tracked destroy, as long as its ring has
 * taken fewer than 256 destroys since and no destroy at an address with the same hash came
 * later (no init clears it: every tracked destroy at an address writes its word again, and
 * the record is read only when glibc marks the mutex destroyed); an rwlock's or spinlock's
 * destroy until an init, a use, or a destroy at an address with the same hash.
 * Memory: fixed tables (an index of 8192 words, 4096 rwlock and spinlock destroys, 1024 waited
 * condition variables), and a ring of 256 destroys (20 KiB) per thread that destroys a mutex,
 * made at its first destroy. A ring is never freed: when its thread exits (or in a fork
 * child, for the threads that are not there) it goes to the next thread that needs one, its
 * entries readable until overwritten, so a destroy by a thread that has exited is still shown.
 *
 * Every function here is called from a wrapper on a tracked thread (t != NULL), keeps errno,
 * guards against re-entry itself, and never ends the run unless halt_on_error=1 asks.
 * A report is made once per kind and call site.
 */
#ifndef LG_MISUSE_H
#define LG_MISUSE_H

#include <stdint.h>

#include "lockgraph.h"

/* After a release that was not of the top of the caller's held stack, or that failed (the real
 * call returned rc): pops the lock from deeper in the stack, or reports the unlock of a lock
 * the caller does not hold. `op` names the call. */
void lg_misuse_release(lg_thread_t *t, uintptr_t addr, uint8_t kind, int rc, const char *op,
                       uintptr_t pc);
/* The report of such an unlock (rc: the real call's result). */
void lg_misuse_unlock(lg_thread_t *t, uintptr_t addr, uint8_t kind, int rc, const char *op,
                      uintptr_t pc);

/* After a lock, trylock or timed lock that returned rc != 0 (only EINVAL says anything). */
void lg_misuse_lock_failed(lg_thread_t *t, uintptr_t addr, uint8_t kind, int rc, const char *op,
                           uintptr_t pc);

/* The slow path of an acquisition, before it takes the detector lock: an rwlock or spinlock
 * destroyed earlier and not initialized since is being used. One load when no such destroy is
 * on record. */
extern _Atomic uint32_t lg_misuse_destroyed_unverified;
void lg_misuse_acquire_destroyed(lg_thread_t *t, uintptr_t addr, uint8_t kind, uintptr_t pc);
static inline void lg_misuse_acquire_slow(lg_thread_t *t, uintptr_t addr, uint8_t kind,
                                          uintptr_t pc) {
  if (LG_UNLIKELY(atomic_load_explicit(&lg_misuse_destroyed_unverified, memory_order_relaxed) != 0))
    lg_misuse_acquire_destroyed(t, addr, kind, pc);
}

/* init and destroy, after the real call: gets its result and the instance lg_lock_retire ended
 * (dead, 0 for none), reports an init or destroy of a held lock (a mutex destroy refused with
 * EBUSY; an rwlock or spinlock destroyed while its glibc state says locked, which glibc's
 * destroy leaves as it was; an init that ended a live instance some thread holds), and
 * remembers the destroy of this address (an init, or a mutex destroy, forgets an rwlock's or
 * spinlock's there). fp is the wrapper's frame address (for a cheap stack of the destroy). */
enum { LG_MISUSE_INIT = 0, LG_MISUSE_DESTROY = 1 };

/* glibc's rwlock state word: a writer holds it, and the readers counted from this bit up. */
#define LG_RWLOCK_WRLOCKED 0x2u
#define LG_RWLOCK_READER_SHIFT 3

/* Whether the lock at addr is locked as glibc's own state says. Read before an init (the
 * memory may hold anything: only trusted where a live instance was there) or after a destroy
 * of an rwlock or spinlock (glibc's destroy leaves their state as it was). */
static inline int lg_lock_word_busy(uintptr_t addr, uint8_t kind) {
  if (kind == LG_KIND_MUTEX)
    return ((const pthread_mutex_t *)addr)->__data.__lock != 0;
  if (kind == LG_KIND_RWLOCK) {
    unsigned readers = ((const pthread_rwlock_t *)addr)->__data.__readers;
    return (readers & LG_RWLOCK_WRLOCKED) != 0 || (readers >> LG_RWLOCK_READER_SHIFT) != 0;
  }
#if defined(__x86_64__) || defined(__i386__)
  return *(const volatile int *)addr <= 0; /* a spinlock; x86: 1 is free, a lock decrements it */
#else
  return *(const volatile int *)addr != 0;
#endif
}
void lg_misuse_lifecycle_slow(lg_thread_t *t, uintptr_t addr, uint8_t kind, int op, int rc,
                              uint64_t dead, const char *name, uintptr_t pc, uintptr_t fp);
/* The instance an init ended, for its check (dead, as lg_lock_retire gave it), or 0 when the
 * lock was free just before the init (busy: lg_lock_word_busy then): a holder's held entry
 * outlives its real unlock by a few instructions (the release wrapper pops it after glibc's
 * call), and a lock the init found free held nothing it could lose. */
static inline uint64_t lg_misuse_init_ended(int op, int busy, uint64_t dead) {
  return op == LG_MISUSE_INIT && !busy ? 0 : dead;
}
/* A successful mutex destroy: into the caller's ring of destroys, and the index. */
void lg_misuse_mutex_destroyed(lg_thread_t *t, uintptr_t addr, uint64_t dead, uintptr_t pc,
                               uintptr_t fp);
/* The two usual cases inline, when no rwlock or spinlock destroy is on record: an init that
 * ended no live lock (nothing to check), and a successful mutex destroy. */
static inline void lg_misuse_lifecycle(lg_thread_t *t, uintptr_t addr, uint8_t kind, int op,
                                       int rc, uint64_t dead, const char *name, uintptr_t pc,
                                       uintptr_t fp) {
  if (LG_LIKELY(atomic_load_explicit(&lg_misuse_destroyed_unverified, memory_order_relaxed) ==
                0)) {
    if (op == LG_MISUSE_INIT && LG_LIKELY(dead == 0))
      return;
    if (op == LG_MISUSE_DESTROY && kind == LG_KIND_MUTEX && LG_LIKELY(rc == 0)) {
      lg_misuse_mutex_destroyed(t, addr, dead, pc, fp);
      return;
    }
  }
  lg_misuse_lifecycle_slow(t, addr, kind, op, rc, dead, name, pc, fp);
}

/* A condition wait with mutex m not on the caller's held stack: reports it (not held, or not
 * an initialized mutex). Returns nonzero when glibc will nonetheless release m and take it back
 * for the caller (a default mutex): the wrapper then records m as held after a wait that
 * returned 0 or ETIMEDOUT. */
int lg_misuse_cond_unheld(lg_thread_t *t, uintptr_t cond, uintptr_t m, const char *op,
                          uintptr_t pc);

/* Around the real wait: notes that the caller waits on cond with m (reports a second mutex on
 * the same condition variable). enter returns a token for leave. */
int lg_misuse_cond_enter(lg_thread_t *t, uintptr_t cond, uintptr_t m, const char *op, uintptr_t pc,
                         uintptr_t cfa, uintptr_t fp);
void lg_misuse_cond_leave(uintptr_t cond, int token);

/* Drops from t's held stack the locks other threads released for it (t->nforeign != 0). Under
 * lg_rt.mu, on t's own thread. */
void lg_misuse_drain_locked(lg_thread_t *t);

/* Thread exit, under lg_rt.mu, on the exiting thread: its ring of destroys goes to the next
 * thread that needs one (its entries stay readable until overwritten). */
void lg_misuse_thread_exit_locked(void);

/* Fork child: the tables' slot flags may have been taken by threads that do not exist here,
 * their waits on condition variables are gone, and their rings go to the free list. */
void lg_misuse_after_fork_child(void);

#endif
