/* abandoned.c - locks whose holder no longer exists.
 *
 * Two ways a lock outlives its holder:
 *   - fork: the child has only the forking thread; a lock another thread held at the fork
 *     stays locked in the child forever. A blocking acquisition of it in the child would hang:
 *     it is reported (with where the holder took it, before the fork) and ends the run; a
 *     trylock or timed acquisition of it fails in the child, which is reported once per lock
 *     and the run goes on (the program may be polling it). A child that never touches those
 *     locks, or execs, is the normal pattern and hears nothing from us.
 *   - exit: a thread ends (returns, pthread_exit, cancelled) still holding a lock. That is
 *     reported at once with where the lock was taken. A later blocking acquisition by another
 *     thread would hang: it is reported as a deadlock that happened and ends the run.
 *     Robust mutexes are left out (EOWNERDEAD is how they recover), and so is a mutex whose
 *     glibc owner field no longer names the thread (another thread unlocked it for it: glibc
 *     allows that handoff).
 *
 * Both mark the lock orphan (locks.c: its shadow slot sends every acquisition to the slow
 * path), and remember here who held it, how and where. The table is small (locks held at one
 * moment), searched linearly, under lg_rt.mu; it is full at LG_ABANDONED_MAX entries, after
 * which further locks are marked but reported without their holder's stack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lockgraph.h"
#include "mem.h"
#include "misuse.h"

#define LG_ABANDONED_MAX 1024

typedef struct lg_abandoned {
  uint32_t id, ver;
  lg_tid_t tid;   /* the holder */
  pid_t ktid;     /* its kernel tid: glibc's owner field names it while the lock is still its */
  uint8_t why;    /* LG_ABANDON_* */
  uint8_t mode;   /* LG_MODE_WRITE if any holder held it exclusively */
  uint8_t kind;
  uint8_t try_reported;
  uintptr_t pc, up[LG_HELD_UP];
  /* Fork: where the holder was at the fork, when it was blocked in a published wait (the call
   * site and its callers as the wait recorded them); at_pc 0 when it was running. */
  const char *at_what;
  uintptr_t at_pc, at_up[LG_WAIT_UP];
} lg_abandoned_t;

static lg_abandoned_t *lg_ab;
static uint32_t lg_nab, lg_capab;
static int lg_warned_full;
_Atomic int lg_abandoned_any;

/* Under lg_rt.mu. */
static lg_abandoned_t *lg_ab_find(uint32_t id, uint32_t ver) {
  for (uint32_t i = 0; i < lg_nab; i++)
    if (lg_ab[i].id == id && lg_ab[i].ver == ver)
      return &lg_ab[i];
  return NULL;
}

/* Under lg_rt.mu: the record of (id, ver), created or merged. */
static lg_abandoned_t *lg_ab_note(const lg_thread_t *holder, const lg_held_t *h, uint8_t why) {
  lg_abandoned_t *a = lg_ab_find(h->id, h->ver);
  if (a != NULL) {
    if (h->mode == LG_MODE_WRITE)
      a->mode = LG_MODE_WRITE;
    return a;
  }
  if (lg_nab == lg_capab) {
    uint32_t ncap = lg_capab ? lg_capab * 2 : 16;
    lg_abandoned_t *n = ncap <= LG_ABANDONED_MAX
                            ? lg_mem_realloc(lg_ab, lg_capab * sizeof(*n), ncap * sizeof(*n))
                            : NULL;
    if (n == NULL) {
      lg_warn_once(&lg_warned_full, "too many locks held by threads that are gone; "
                   "further ones are reported without their holder's stack");
      return NULL;
    }
    lg_ab = n;
    lg_capab = ncap;
  }
  a = &lg_ab[lg_nab++];
  memset(a, 0, sizeof *a);
  a->id = h->id;
  a->ver = h->ver;
  a->tid = holder->tid;
  a->ktid = holder->ktid;
  a->why = why;
  a->mode = h->mode;
  a->kind = h->kind;
  a->pc = h->pc;
  memcpy(a->up, h->up, sizeof a->up);
  atomic_store_explicit(&lg_abandoned_any, 1, memory_order_relaxed);
  return a;
}

static lg_stack_t *lg_ab_stack(const lg_abandoned_t *a) {
  uintptr_t pcs[1 + LG_HELD_UP];
  uint32_t n = 0;
  pcs[n++] = a->pc;
  for (int k = 0; k < LG_HELD_UP && a->up[k] != 0; k++)
    pcs[n++] = a->up[k];
  return lg_stack_new(pcs, n);
}

static lg_stack_t *lg_held_stack(const lg_held_t *h) {
  uintptr_t pcs[1 + LG_HELD_UP];
  uint32_t n = 0;
  pcs[n++] = h->pc;
  for (int k = 0; k < LG_HELD_UP && h->up[k] != 0; k++)
    pcs[n++] = h->up[k];
  return lg_stack_new(pcs, n);
}

static uint32_t lg_ab_add_lock(lg_report_t *r, uint32_t id, uint32_t ver) {
  lg_lock_t *n = lg_lock_at(id);
  return lg_report_add_lock(r, id, ver, atomic_load_explicit(&n->addr, memory_order_relaxed),
                            n->kind, atomic_load_explicit(&n->first_pc, memory_order_relaxed));
}

/* Whether the lock at addr is still held by the thread with kernel tid ktid, as far as
 * glibc's own fields tell (a mutex's owner, an rwlock's writer); readers are not recorded,
 * so a read-held rwlock counts as still held. */
static int lg_still_held_by(const lg_abandoned_t *a, uintptr_t addr) {
  if (a->kind == LG_KIND_MUTEX)
    return lg_mutex_owned_by(addr, a->ktid);
  if (a->kind == LG_KIND_RWLOCK && a->mode == LG_MODE_WRITE)
    return ((const pthread_rwlock_t *)addr)->__data.__cur_writer == a->ktid;
  return 1;
}

/* What a blocked thread was blocked in, for "blocked in sem_wait": a lock acquisition (lock,
 * lg_wait_now's), or the wait w describes. */
static const char *lg_wait_name(int lock, const lg_wait_t *w) {
  switch (lock ? LG_WAIT_LOCK : w->what) {
  case LG_WAIT_LOCK: return "a lock acquisition";
  case LG_WAIT_COND: return "pthread_cond_wait";
  case LG_WAIT_SEM: return "sem_wait";
  case LG_WAIT_JOIN: return "pthread_join";
  default: return lg_call_name(w->call);
  }
}

void lg_abandoned_note_fork(const lg_thread_t *holder, const lg_held_t *h) {
  lg_abandoned_t *a = lg_ab_note(holder, h, LG_ABANDON_FORK);
  /* The holder is frozen in the child as it was at the fork: if it was blocked in a wait, its
   * record says where. */
  int lock;
  if (a == NULL || a->at_pc != 0 || lg_wait_now(holder, &lock) == 0)
    return;
  const lg_wait_t *w = &holder->wait;
  a->at_what = lg_wait_name(lock, w);
  if (lock) {
    if (holder->depth >= holder->cap)
      return;
    const lg_held_t *next = &holder->held[holder->depth];
    a->at_pc = next->pc;
    for (int k = 0; k < LG_HELD_UP && k < LG_WAIT_UP; k++)
      a->at_up[k] = next->up[k];
  } else {
    a->at_pc = w->pc;
    memcpy(a->at_up, w->up, sizeof a->at_up);
  }
}

static lg_stack_t *lg_ab_at_stack(const lg_abandoned_t *a) {
  uintptr_t pcs[1 + LG_WAIT_UP];
  uint32_t n = 0;
  pcs[n++] = a->at_pc;
  for (int k = 0; k < LG_WAIT_UP && a->at_up[k] != 0; k++)
    pcs[n++] = a->at_up[k];
  return lg_stack_new(pcs, n);
}

void lg_abandoned_thread_exit(lg_thread_t *t) {
  int saved_errno = errno;
  lg_report_t *r = NULL;
  lg_rt_lock();
  for (uint32_t i = 0; i < t->depth; i++) {
    const lg_held_t *h = &t->held[i];
    if (atomic_load_explicit(&lg_lock_at(h->id)->ver, memory_order_relaxed) != h->ver)
      continue; /* destroyed while held */
    if (h->kind == LG_KIND_MUTEX) {
      const pthread_mutex_t *m = (const pthread_mutex_t *)h->addr;
      if (m->__data.__kind & 16 /* glibc: PTHREAD_MUTEX_ROBUST_NORMAL_NP */)
        continue; /* the next locker gets EOWNERDEAD: recovery, not a hang */
      if (!lg_mutex_owned_by(h->addr, t->ktid))
        continue; /* unlocked for it by another thread (a handoff) */
    }
    if (r == NULL && (r = lg_report_new(LG_REPORT_LEAK)) == NULL)
      break;
    uint32_t li = lg_ab_add_lock(r, h->id, h->ver);
    lg_report_add_section(r, lg_held_stack(h), "{L%u}%s acquired at", li,
                          h->kind == LG_KIND_RWLOCK
                              ? (h->mode == LG_MODE_READ ? " (read)" : " (write)")
                              : "");
    lg_ab_note(t, h, LG_ABANDON_EXIT);
    lg_locks_mark_orphan(h->id, h->ver);
  }
  if (r != NULL) {
    char held[LG_REPORT_TEXT] = "";
    size_t n = 0;
    for (uint32_t i = 0; i < r->nlocks && n + 16 < sizeof held; i++)
      n += (size_t)snprintf(held + n, sizeof held - n, "%s{L%u}", i ? ", " : "", i);
    snprintf(r->message, sizeof r->message,
             "thread T%u ended holding %s: a thread that later waits for %s blocks forever",
             t->tid, held, r->nlocks == 1 ? "it" : "one of them");
  }
  lg_rt_unlock();
  if (r != NULL)
    lg_report_emit(r);
  errno = saved_errno;
}

lg_report_t *lg_abandoned_blocking(lg_thread_t *t, uint32_t id, uint32_t ver, uint8_t mode,
                                   lg_stack_t *acq) {
  lg_lock_t *n = lg_lock_at(id);
  uintptr_t addr = atomic_load_explicit(&n->addr, memory_order_relaxed);
  lg_abandoned_t *a = lg_ab_find(id, ver);
  if (a != NULL && a->why == LG_ABANDON_EXIT && !lg_still_held_by(a, addr)) {
    lg_locks_clear_orphan(id, ver); /* released since, for the dead thread */
    lg_stack_free(acq);
    return NULL;
  }
  if (a != NULL && a->mode == LG_MODE_READ && mode == LG_MODE_READ) {
    lg_stack_free(acq); /* readers do not exclude readers */
    return NULL;
  }
  int fork = a == NULL || a->why == LG_ABANDON_FORK; /* no record: marked at a fork */
  if (fork && !lg_lock_word_busy(addr, n->kind)) {
    /* Free as glibc's own state says: the child made it anew without an init we saw (the
     * static initializer assigned in an atfork handler), so nothing is left to wait for. */
    lg_locks_clear_orphan(id, ver);
    lg_stack_free(acq);
    return NULL;
  }
  lg_report_t *r = lg_report_new(fork ? LG_REPORT_FORK : LG_REPORT_ABANDONED);
  if (r == NULL) {
    lg_stack_free(acq);
    return NULL;
  }
  r->ends_run = 1;
  r->tid = t->tid;
  uint32_t li = lg_ab_add_lock(r, id, ver);
  if (fork) {
    if (a != NULL)
      snprintf(r->message, sizeof r->message,
               "thread T%u waits for {L%u} in the forked child; thread T%u held it at the fork "
               "and does not exist here", t->tid, li, a->tid);
    else
      snprintf(r->message, sizeof r->message,
               "thread T%u waits for {L%u} in the forked child; a thread that does not exist "
               "here held it at the fork", t->tid, li);
    if (a != NULL)
      lg_report_add_section(r, lg_ab_stack(a), "{L%u} taken by thread T%u (before the fork) at",
                            li, a->tid);
    if (a != NULL && a->at_pc != 0)
      lg_report_add_section(r, lg_ab_at_stack(a), "thread T%u at the fork, blocked in %s, at",
                            a->tid, a->at_what);
  } else {
    snprintf(r->message, sizeof r->message,
             "thread T%u waits for {L%u}, held by thread T%u, which exited without releasing it",
             t->tid, li, a->tid);
    lg_report_add_section(r, lg_ab_stack(a), "{L%u} taken by thread T%u at", li, a->tid);
  }
  lg_report_add_section(r, acq, "thread T%u waits for {L%u} at", t->tid, li);
  return r;
}

void lg_abandoned_try_failed(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode) {
  (void)kind;
  int saved_errno = errno;
  int was = lg_guard_enter(t);
  lg_frame_pcsp_t f[LG_STACK_MAX];
  int nf = -1;
  lg_report_t *r = NULL;
  lg_rt_lock();
  lg_abandoned_t *a = NULL;
  for (uint32_t i = 0; i < lg_nab && a == NULL; i++) {
    lg_lock_t *n = lg_lock_at(lg_ab[i].id);
    if (atomic_load_explicit(&n->addr, memory_order_relaxed) == addr &&
        atomic_load_explicit(&n->ver, memory_order_relaxed) == lg_ab[i].ver)
      a = &lg_ab[i];
  }
  /* Only the fork case: an exited holder was reported when it exited. */
  int report = a != NULL && a->why == LG_ABANDON_FORK && !a->try_reported &&
               !(a->mode == LG_MODE_READ && mode == LG_MODE_READ);
  if (report)
    a->try_reported = 1;
  lg_abandoned_t copy;
  if (report)
    copy = *a;
  lg_rt_unlock();
  if (!report)
    goto out;
  nf = lg_stack_capture_fast(f, LG_STACK_MAX);
  uintptr_t pcs[LG_STACK_MAX];
  uint32_t np = 0;
  for (int i = 0; i < nf && np < lg_rt.opt.stack_depth; i++)
    pcs[np++] = f[i].pc;
  r = lg_report_new(LG_REPORT_FORK);
  if (r == NULL)
    goto out;
  lg_rt_lock();
  uint32_t li = lg_ab_add_lock(r, copy.id, copy.ver);
  lg_rt_unlock();
  r->tid = t->tid;
  snprintf(r->message, sizeof r->message,
           "a trylock or timed lock of {L%u} fails in the forked child: thread T%u held it at "
           "the fork and does not exist here, so it never will succeed", li, copy.tid);
  lg_report_add_section(r, lg_ab_stack(&copy), "{L%u} taken by thread T%u (before the fork) at",
                        li, copy.tid);
  if (copy.at_pc != 0)
    lg_report_add_section(r, lg_ab_at_stack(&copy), "thread T%u at the fork, blocked in %s, at",
                          copy.tid, copy.at_what);
  lg_report_add_section(r, lg_stack_new(pcs, np), "thread T%u tries {L%u} at", t->tid, li);
  lg_report_emit(r);
out:
  lg_guard_leave(t, was);
  errno = saved_errno;
}
