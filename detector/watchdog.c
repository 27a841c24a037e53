/* watchdog.c - a deadlock that really happened ends the run instead of hanging it.
 *
 * Every tracked thread publishes "waiting for lock X" (an odd wait_seq) just before it calls a
 * real blocking acquisition. The watchdog - a thread made with the REAL pthread_create when the
 * program makes its first thread, never tracked, never counted - wakes about four times per
 * watchdog_ms. A thread seen waiting in the same acquisition (same lg_wait_now) for watchdog_ms
 * is a candidate. Among candidates it walks the wait-for graph (a thread waits for a lock; the
 * lock is held by the threads whose held stacks contain it, write holders only for a reader)
 * and on a cycle reports "deadlock (it happened)" with every involved thread's stack, then ends
 * the run with the exit code. Threads that are merely blocked, without a cycle, are left alone.
 *
 * A blocked thread cannot be unwound from outside with local-only libunwind, so each thread in
 * the cycle is asked with a signal to capture its own stack (the handler only unwinds and sets
 * a flag). The handler is installed only at that moment: the run is about to end anyway.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kstate.h"
#include "lockgraph.h"
#include "mem.h"
#include "waitcycle.h"

#define LG_WD_SIGNAL (SIGRTMAX - 2)
#define LG_WD_MAX_OWNERS 8

static lg_thread_t lg_wd_record = {.passthrough = 1};

/* The next scans also look at condition waits that are taking their mutex back (hang.c found
 * every thread stuck with such a one among them: a lock cycle, which is this file's). */
_Atomic int lg_wd_retakes_wanted;

typedef struct lg_wd_cand {
  lg_thread_t *t;
  uint64_t seq;
  uint32_t id, ver;
  uint8_t mode, kind;
  uint32_t nowners;
  uint32_t owners[LG_WD_MAX_OWNERS]; /* candidate indices */
  uintptr_t retake; /* a condition wait taking this mutex back, 0 for a lock acquisition */
  uint8_t behind_writer; /* a read request of a writer-preferring rwlock a writer waits for */
} lg_wd_cand_t;

/* Sleeps ms, or less when lg_watchdog_pause wakes it (a futex wait on the stop word). */
static void lg_wd_sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  if (atomic_load(&lg_rt.watchdog_stop) == 0)
    syscall(SYS_futex, &lg_rt.watchdog_stop, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
}

/* The entry a waiting thread prepared for the lock it waits for (one above its top), NULL when
 * the fields read do not fit together (the thread moved on: the lg_wait_now check catches it). */
static const lg_held_t *lg_wd_wanted(lg_thread_t *t) {
  uint32_t d = *(volatile uint32_t *)&t->depth;
  lg_held_t *h = *(lg_held_t *volatile *)&t->held;
  if (d >= *(volatile uint32_t *)&t->cap)
    return NULL;
  return &h[d];
}

/* Does candidate j hold the lock candidate i waits for (in a mode that blocks i)? */
static int lg_wd_holds(const lg_wd_cand_t *i, const lg_wd_cand_t *j) {
  lg_thread_t *t = j->t;
  uint32_t d = *(volatile uint32_t *)&t->depth;
  lg_held_t *h = *(lg_held_t *volatile *)&t->held;
  if (d > *(volatile uint32_t *)&t->cap)
    return 0;
  for (uint32_t k = 0; k < d; k++)
    if (h[k].id == i->id && h[k].ver == i->ver &&
        (i->mode == LG_MODE_WRITE || h[k].mode == LG_MODE_WRITE || i->behind_writer))
      return 1;
  return 0;
}

/* The candidates' wait-for graph: a candidate waits for the owners of the lock it wants. */
static int lg_wd_node_ok(void *ctx, uint32_t v) {
  (void)ctx;
  (void)v;
  return 1;
}

static uint32_t lg_wd_degree(void *ctx, uint32_t v) {
  return ((const lg_wd_cand_t *)ctx)[v].nowners;
}

static uint32_t lg_wd_target(void *ctx, uint32_t v, uint32_t k) {
  return ((const lg_wd_cand_t *)ctx)[v].owners[k];
}

static int lg_wd_accept(void *ctx, const uint32_t *cycle, uint32_t len) {
  (void)ctx;
  (void)cycle;
  (void)len;
  return 1;
}

/* A cycle in the candidates' wait-for graph, written into cyc (indices); returns its length. */
static uint32_t lg_wd_find_cycle(lg_wd_cand_t *c, uint32_t n, uint32_t *cyc) {
  const lg_waitcycle_graph_t g = {c, n, lg_wd_node_ok, lg_wd_degree, lg_wd_target, lg_wd_accept};
  return lg_waitcycle_find(&g, cyc);
}

static void lg_wd_signal_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  (void)uc;
  lg_thread_t *t = lg_tls_self;
  if (t == NULL || t == &lg_wd_record)
    return;
  int saved = errno;
  /* The unwinder takes locks of its own (libunwind's caches): they are not the program's. */
  int was = lg_guard_enter(t);
  t->stack_n = lg_stack_capture_after_self(t->stack, LG_STACK_MAX);
  lg_guard_leave(t, was);
  atomic_store_explicit(&t->stack_ready, 1, memory_order_release);
  errno = saved;
}

/* Asks each thread for its own stack; waits a little for the answers. */
void lg_watchdog_collect_stacks(lg_thread_t **ts, uint32_t n) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = lg_wd_signal_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(LG_WD_SIGNAL, &sa, NULL) != 0)
    return;
  pid_t pid = getpid();
  for (uint32_t i = 0; i < n; i++) {
    atomic_store(&ts[i]->stack_ready, 0);
    syscall(SYS_tgkill, pid, ts[i]->ktid, LG_WD_SIGNAL);
  }
  for (int waited = 0; waited < 500; waited++) {
    uint32_t ready = 0;
    for (uint32_t i = 0; i < n; i++)
      ready += atomic_load_explicit(&ts[i]->stack_ready, memory_order_acquire) != 0;
    if (ready == n)
      return;
    lg_wd_sleep_ms(1);
  }
}

/* One look at the threads; ends the run when a deadlock is found. */
static void lg_wd_scan(uint64_t limit_ns) {
  uint64_t now = lg_now_ns();
  lg_rt_lock();
  uint32_t n = 0, cap = 0;
  for (lg_thread_t *t = lg_rt.threads; t != NULL; t = t->next)
    cap++;
  lg_wd_cand_t *c = cap ? lg_mem_alloc(cap * sizeof(*c)) : NULL;
  if (c == NULL) {
    lg_rt_unlock();
    return;
  }
  for (lg_thread_t *t = lg_rt.threads; t != NULL; t = t->next) {
    int lock;
    uint64_t seq = lg_wait_now(t, &lock);
    if (seq == 0 || t->exited)
      continue;
    if (lg_wait_age(t, seq, now) < limit_ns || !lock)
      continue; /* new or too young (limit_ns > 0), or not a lock acquisition (hang.c's) */
    lg_wd_cand_t *x = &c[n++];
    x->t = t;
    x->seq = seq;
    const lg_held_t *w = lg_wd_wanted(t);
    if (w == NULL) {
      n--;
      continue;
    }
    x->id = w->id;
    x->ver = w->ver;
    x->mode = w->mode;
    x->kind = w->kind;
    x->nowners = 0;
    x->retake = 0;
  }
  /* A condition wait whose thread is blocked taking its mutex back waits for that mutex: it
   * can close a lock cycle (the thread holds one lock and retakes the mutex another thread
   * holds while waiting for that first lock). Asked of the kernel (three system calls a
   * thread), only when a lock wait is old enough to be in a cycle, or when hang.c asks. */
  if (n > 0 || atomic_load_explicit(&lg_wd_retakes_wanted, memory_order_relaxed)) {
    for (lg_thread_t *t = lg_rt.threads; t != NULL && n < cap; t = t->next) {
      int lock;
      uint64_t seq = lg_wait_now(t, &lock);
      if (seq == 0 || lock || t->exited || lg_wait_age(t, seq, now) < limit_ns)
        continue;
      lg_wait_t w = t->wait;
      if (lg_wait_now(t, &lock) != seq || w.what != LG_WAIT_COND ||
          !lg_kstate_retaking(t->ktid, w.obj2))
        continue;
      uint64_t v = lg_lock_current_locked(w.obj2);
      if (v == 0)
        continue;
      lg_wd_cand_t *x = &c[n++];
      *x = (lg_wd_cand_t){.t = t, .seq = seq, .id = (uint32_t)v,
                          .ver = (uint32_t)(v >> 32) & LG_VER_MASK, .mode = LG_MODE_WRITE,
                          .kind = LG_KIND_MUTEX, .retake = w.obj2};
    }
  }
  /* A read request of an rwlock that prefers writers waits behind a writer that waits for the
   * same lock, and so for its read holders too. */
  for (uint32_t i = 0; i < n; i++) {
    c[i].behind_writer = 0;
    if (c[i].mode == LG_MODE_READ && lg_lock_at(c[i].id)->wpref)
      for (uint32_t j = 0; j < n && !c[i].behind_writer; j++)
        c[i].behind_writer = c[j].id == c[i].id && c[j].ver == c[i].ver &&
                             c[j].mode == LG_MODE_WRITE;
  }
  uint32_t len = 0;
  uint32_t *cyc = NULL;
  if (n >= 2) {
    for (uint32_t i = 0; i < n; i++)
      for (uint32_t j = 0; j < n && c[i].nowners < LG_WD_MAX_OWNERS; j++)
        if (i != j && lg_wd_holds(&c[i], &c[j]))
          c[i].owners[c[i].nowners++] = j;
    cyc = lg_mem_alloc(n * sizeof(uint32_t));
    if (cyc != NULL)
      len = lg_wd_find_cycle(c, n, cyc);
  }
  /* Still the same waits? Then nobody moved while we looked. And each of them blocked where its
   * record says, as the kernel sees it (kstate.h): a record a thread left behind by leaving
   * its acquisition without returning from it must not end the run. */
  int lock;
  for (uint32_t i = 0; i < len; i++) {
    const lg_wd_cand_t *x = &c[cyc[i]];
    if (lg_wait_now(x->t, &lock) != x->seq ||
        (x->retake ? !lg_kstate_retaking(x->t->ktid, x->retake)
                   : lg_kstate_lock_elsewhere(x->t->ktid, x->kind)))
      len = 0;
  }
  if (len >= 2)
    atomic_store(&lg_wd_retakes_wanted, 0);
  lg_report_t *r = NULL;
  lg_thread_t *ts[LG_STACK_MAX];
  uintptr_t retake_pc[LG_STACK_MAX]; /* where a retaking thread called its condition wait */
  if (len > LG_STACK_MAX / 2)
    len = LG_STACK_MAX / 2;
  if (len >= 2)
    r = lg_report_new(LG_REPORT_DEADLOCK);
  if (r != NULL) {
    r->threads = lg_mem_alloc(len * sizeof(lg_rthread_t));
    if (r->threads == NULL) {
      lg_report_free(r);
      r = NULL;
    }
  }
  if (r != NULL) {
    r->nthreads = len;
    for (uint32_t i = 0; i < len; i++) {
      lg_wd_cand_t *x = &c[cyc[i]];
      lg_rthread_t *th = &r->threads[i];
      ts[i] = x->t;
      retake_pc[i] = x->retake ? x->t->wait.pc : 0;
      th->tid = x->t->tid;
      lg_lock_t *ln = lg_lock_at(x->id);
      th->waits_for = (int)lg_report_add_lock(r, x->id, x->ver, atomic_load(&ln->addr),
                                              ln->kind, atomic_load(&ln->first_pc));
      th->wait_mode = x->mode;
      uint32_t d = x->t->depth, tmp[LG_STACK_MAX], nt = 0;
      for (uint32_t k = 0; k < d && nt < LG_STACK_MAX; k++) {
        const lg_held_t *h = &x->t->held[k];
        lg_lock_t *hn = lg_lock_at(h->id);
        uint32_t idx = lg_report_add_lock(r, h->id, h->ver, h->addr, h->kind,
                                          atomic_load(&hn->first_pc));
        int dup = 0;
        for (uint32_t q = 0; q < nt; q++)
          dup |= tmp[q] == idx;
        if (!dup)
          tmp[nt++] = idx;
      }
      th->holds = nt ? lg_mem_alloc(nt * sizeof(uint32_t)) : NULL;
      if (th->holds != NULL) {
        memcpy(th->holds, tmp, nt * sizeof(uint32_t));
        th->nholds = nt;
      }
    }
  }
  lg_mem_free(cyc, n * sizeof(uint32_t));
  lg_mem_free(c, cap * sizeof(*c));
  lg_rt_unlock();
  if (r == NULL)
    return;
  lg_watchdog_collect_stacks(ts, r->nthreads);
  for (uint32_t i = 0; i < r->nthreads; i++) {
    lg_thread_t *t = ts[i];
    uint32_t depth = lg_rt.opt.stack_depth;
    if (atomic_load(&t->stack_ready)) {
      r->threads[i].stack = lg_stack_new(t->stack, (uint32_t)t->stack_n < depth ? (uint32_t)t->stack_n : depth);
    } else {
      const lg_held_t *w = retake_pc[i] ? NULL : lg_wd_wanted(t);
      uintptr_t pc = retake_pc[i] ? retake_pc[i] : w ? w->pc : 0;
      r->threads[i].stack = lg_stack_new(&pc, pc != 0);
    }
  }
  lg_report_emit(r); /* ends the run */
}

/* Whether any thread of the program is still running. A program whose main ends with
 * pthread_exit ends when its last thread does: this thread must not keep it alive. */
static int lg_wd_program_alive(void) {
  int alive = 0;
  lg_rt_lock();
  for (lg_thread_t *t = lg_rt.threads; t != NULL && !alive; t = t->next)
    alive = !t->exited;
  lg_rt_unlock();
  return alive;
}

static void *lg_watchdog_main(void *arg) {
  (void)arg;
  lg_tls_self = &lg_wd_record;
  atomic_store(&lg_rt.watchdog_ktid, (pid_t)syscall(SYS_gettid));
  unsigned ms = lg_rt.opt.watchdog_ms, st = lg_rt.opt.stall_ms;
  /* The shorter of the two limits sets the pace: a wait is timed to a quarter of it. */
  unsigned base = ms && st ? (ms < st ? ms : st) : (ms ? ms : st);
  unsigned period = base / 4 ? base / 4 : 1;
  uint64_t limit = (uint64_t)ms * 1000000ull, cycle_every = limit / 4, last_cycle = 0;
  for (;;) {
    lg_wd_sleep_ms(period);
    if (atomic_load(&lg_rt.watchdog_stop) || !lg_wd_program_alive())
      break;
    if (atomic_load(&lg_rt.ending))
      continue;
    /* The lock-cycle search keeps its own pace (a quarter of watchdog_ms), however short
     * stall_ms makes the period. */
    uint64_t now = lg_now_ns();
    if (ms != 0 && now - last_cycle >= cycle_every) {
      last_cycle = now;
      lg_wd_scan(limit);
    }
    lg_hang_scan(limit, (uint64_t)st * 1000000ull);
  }
  /* A thread the program creates later (one we never saw) starts a new watchdog. */
  atomic_store(&lg_rt.watchdog_started, 0);
  return NULL;
}

void lg_watchdog_start(void) {
  if ((lg_rt.opt.watchdog_ms == 0 && lg_rt.opt.stall_ms == 0) ||
      atomic_load(&lg_rt.watchdog_started))
    return;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&lg_rt.watchdog_started, &expected, 1))
    return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  /* Made with every signal blocked (a new thread inherits its creator's mask, restored at
   * once): a signal sent to the process must reach a thread of the program's, which runs its
   * handler, never this one. */
  sigset_t all, old;
  sigfillset(&all);
  int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
  pthread_t th;
  if (lg_real.create(&th, &attr, lg_watchdog_main, NULL) != 0)
    atomic_store(&lg_rt.watchdog_started, 0);
  if (masked)
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
}

int lg_watchdog_pause(void) {
  int running = atomic_load(&lg_rt.watchdog_started);
  if (!running && atomic_load(&lg_rt.watchdog_ktid) == 0)
    return 0;
  atomic_store(&lg_rt.watchdog_stop, 1);
  syscall(SYS_futex, &lg_rt.watchdog_stop, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  struct timespec ms = {0, 1000000L};
  /* One just started may not have said who it is yet (it stops at its first look). */
  for (int i = 0; i < 1000 && atomic_load(&lg_rt.watchdog_started) &&
                  atomic_load(&lg_rt.watchdog_ktid) == 0;
       i++)
    nanosleep(&ms, NULL);
  /* Gone for the kernel once a signal can no longer be sent to it (one that ended by itself
   * left its id too: it may still be on its way out). */
  pid_t pid = getpid(), ktid = atomic_load(&lg_rt.watchdog_ktid);
  for (int i = 0; ktid != 0 && i < 1000 && syscall(SYS_tgkill, pid, ktid, 0) == 0; i++)
    nanosleep(&ms, NULL);
  atomic_store(&lg_rt.watchdog_ktid, 0);
  return running;
}

void lg_watchdog_resume(void) {
  int saved = errno; /* the wrapped call's, for its caller */
  atomic_store(&lg_rt.watchdog_stop, 0);
  lg_watchdog_start();
  errno = saved;
}

/* A user namespace can be entered only by a process of one thread: the watchdog, which the
 * program's first pthread_create started and which stays, made these calls fail with EINVAL in
 * a program that had joined all its threads. It is stopped around them and started again. */
static int lg_ns_is_user(int fd, int nstype) {
  if (nstype != 0)
    return nstype == CLONE_NEWUSER;
  int saved = errno, type = ioctl(fd, NS_GET_NSTYPE); /* 0: any kind; ask the descriptor */
  errno = saved;
  return type == CLONE_NEWUSER;
}

LG_EXPORT int unshare(int flags) {
  int paused = (flags & CLONE_NEWUSER) && lg_watchdog_pause();
  int rc = LG_REAL_W(unshare, "unshare")(flags);
  if (paused)
    lg_watchdog_resume();
  return rc;
}

LG_EXPORT int setns(int fd, int nstype) {
  int paused = lg_ns_is_user(fd, nstype) && lg_watchdog_pause();
  int rc = LG_REAL_W(setns, "setns")(fd, nstype);
  if (paused)
    lg_watchdog_resume();
  return rc;
}

void lg_watchdog_after_fork_child(void) {
  atomic_store(&lg_rt.watchdog_started, 0);
}
