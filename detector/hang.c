/* hang.c - hangs that are not lock-order cycles, and stalls, found from the watchdog.
 *
 * Input: every tracked thread's published wait (lg_wait_now: a lock acquisition, or the wait its
 * lg_wait_t describes: waits.h), timed by the watchdog (lg_wait_age: a wait is as old as the
 * first look that saw it). One scan, under lg_rt.mu, copies
 * what each thread waits for and which locks it holds, then decides, in this order:
 *
 *   stall   a thread has waited stall_ms for a lock whose holder is, right now, inside a
 *           blocking call that something will end: a system call (sleep, I/O, poll, waitpid,
 *           fsync), or any wait with a deadline. Reported once per pair of call sites (the
 *           blocking call, the waiting acquisition); the run goes on. No waiter, no report: a
 *           lone thread writing under a lock is not a stall. A holder in an untimed condition
 *           variable, semaphore or join that only the program can end is left to the hang
 *           rules below.
 *   hang    (a) a cycle of threads, each blocked watchdog_ms, through joins and locks with at
 *           least one join in it (T1 holds L and joins T2; T2 waits for L). A cycle of locks
 *           alone is the watchdog's "deadlock (it happened)".
 *           (b) no progress: every thread of the program has been blocked watchdog_ms in a wait
 *           that has no deadline and that only another thread of the program could end (a lock,
 *           a process-private condition variable or semaphore, a join, a pipe the process made).
 *           Nobody is left to wake anybody. The report lists each thread's wait and the chains
 *           that explain it (T1 waits on condition C while holding L; T2 waits for L).
 *           A hang ends the run with the exit code, like a deadlock.
 *
 * A thread that is running, in a timed wait, or in a wait the outside can end (accept, a
 * socket, waitpid, poll) keeps the program alive as far as this module is concerned: a pool
 * idling in pthread_cond_wait while main sleeps with a deadline, or a server in accept, is
 * never a hang. Before a hang is written every involved thread is asked for its stack (by
 * signal, as the deadlock report does) and the waits are checked again: any thread that moved
 * cancels the report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kstate.h"
#include "lockgraph.h"
#include "mem.h"
#include "notify.h"
#include "waitcycle.h"

#define LG_HANG_SHOWN 10    /* threads shown with a stack in a hang report */
#define LG_HANG_HOLDERS 8
#define LG_STALL_PAIRS 256

typedef struct lg_hthread {
  lg_thread_t *t;
  uint64_t seq;      /* odd: blocked in the wait below */
  uint64_t since_ns; /* when the watchdog first saw this wait */
  lg_wait_t w;       /* a copy, for waits other than locks */
  /* LOCK waits: the wanted lock and where it is wanted. */
  uint32_t id, ver;
  uint8_t mode, kind;
  uintptr_t want_pc, want_up[LG_HELD_UP];
  int stuck;         /* blocked at least limit_ns */
  int internal;      /* no deadline, and only a thread of the program can end it */
  int joins;         /* JOIN: index of the joined thread, -1 when not among them */
  uint32_t nholders;
  uint32_t holders[LG_HANG_HOLDERS]; /* LOCK: indices of threads holding the wanted lock */
} lg_hthread_t;

/* Stall reports already written: (blocking call site, waiting site). */
static struct {
  uintptr_t block_pc, wait_pc;
} lg_stall_seen[LG_STALL_PAIRS];
static uint32_t lg_nstall_seen;

/* Reads another thread's held stack with the care lg_wd_holds takes: the arrays it points to
 * are never freed while the thread lives, a torn read is caught by the lg_wait_now check. */
static uint32_t lg_h_depth(const lg_thread_t *t, lg_held_t **held) {
  uint32_t d = *(volatile const uint32_t *)&t->depth;
  *held = *(lg_held_t *volatile const *)&t->held;
  uint32_t cap = *(volatile const uint32_t *)&t->cap;
  return d <= cap ? d : 0;
}

static int lg_h_holds(const lg_thread_t *t, uint32_t id, uint32_t ver, uint8_t mode,
                      const lg_held_t **which) {
  lg_held_t *h;
  uint32_t d = lg_h_depth(t, &h);
  for (uint32_t k = 0; k < d; k++)
    if (h[k].id == id && h[k].ver == ver && (mode == LG_MODE_WRITE || h[k].mode == LG_MODE_WRITE)) {
      if (which)
        *which = &h[k];
      return 1;
    }
  return 0;
}

/* The calls that read from a pipe or socket pair, and those that read or write one: a wait in
 * one on a pair only this program holds is ended by this program alone. */
static int lg_h_pipe_reads(uint8_t call) {
  return call == LG_CALL_READ || call == LG_CALL_RECV || call == LG_CALL_RECVMSG ||
         call == LG_CALL_RECVMMSG;
}

static int lg_h_pipe_call(uint8_t call) {
  return lg_h_pipe_reads(call) || call == LG_CALL_WRITE || call == LG_CALL_SEND ||
         call == LG_CALL_SENDMSG || call == LG_CALL_SENDMMSG;
}

static int lg_h_internal(const lg_hthread_t *x) {
  const lg_wait_t *w = &x->w;
  switch (w->what) {
  case LG_WAIT_LOCK:
    return 1;
  case LG_WAIT_COND:
  case LG_WAIT_JOIN:
    return !w->timed && !w->outside;
  case LG_WAIT_SEM: /* sem_post is async-signal-safe: a handler may end it */
    return !w->timed && !w->outside && !lg_waits_signal_can_wake();
  case LG_WAIT_CALL: /* so is write(): the self-pipe trick */
    return !w->timed && !w->outside && !lg_waits_signal_can_wake() &&
           lg_h_pipe_call(w->call) &&
           lg_fd_is_internal((int)w->obj);
  }
  return 0;
}

static const char *lg_h_block_name(const lg_wait_t *w) {
  switch (w->what) {
  case LG_WAIT_COND: return w->timed ? "pthread_cond_timedwait" : "pthread_cond_wait";
  case LG_WAIT_SEM: return w->timed ? "sem_timedwait" : "sem_wait";
  case LG_WAIT_JOIN: return w->timed ? "pthread_timedjoin_np" : "pthread_join";
  case LG_WAIT_CALL: return lg_call_name(w->call);
  }
  return "?";
}

static lg_stack_t *lg_h_stack(uintptr_t pc, const uintptr_t *up, int nup) {
  uintptr_t pcs[1 + LG_WAIT_UP];
  uint32_t n = 0;
  pcs[n++] = pc;
  for (int k = 0; k < nup && up[k] != 0; k++)
    pcs[n++] = up[k];
  return lg_stack_new(pcs, n);
}

static uint32_t lg_h_lock(lg_report_t *r, uint32_t id, uint32_t ver) {
  lg_lock_t *n = lg_lock_at(id);
  return lg_report_add_lock(r, id, ver, atomic_load_explicit(&n->addr, memory_order_relaxed),
                            n->kind, atomic_load_explicit(&n->first_pc, memory_order_relaxed));
}

/* ", holding M1, M2" for the locks t holds (into buf). */
static void lg_h_holding(lg_report_t *r, const lg_thread_t *t, char *buf, size_t cap) {
  lg_held_t *h;
  uint32_t d = lg_h_depth(t, &h);
  size_t n = 0;
  buf[0] = '\0';
  for (uint32_t k = 0; k < d && n + 24 < cap; k++) {
    uint32_t li = lg_h_lock(r, h[k].id, h[k].ver);
    n += (size_t)snprintf(buf + n, cap - n, "%s{L%u}", k ? ", " : ", holding ", li);
  }
}

/* One line saying what x waits for. */
static void lg_h_describe(lg_report_t *r, const lg_hthread_t *c, uint32_t i, char *buf,
                          size_t cap) {
  const lg_hthread_t *x = &c[i];
  char holding[96];
  lg_h_holding(r, x->t, holding, sizeof holding);
  const lg_wait_t *w = &x->w;
  switch (w->what) {
  case LG_WAIT_LOCK: {
    uint32_t li = lg_h_lock(r, x->id, x->ver);
    if (x->nholders > 0)
      snprintf(buf, cap, "thread T%u waits for {L%u}, held by thread T%u%s", x->t->tid, li,
               c[x->holders[0]].t->tid, holding);
    else
      snprintf(buf, cap, "thread T%u waits for {L%u}%s", x->t->tid, li, holding);
    break;
  }
  case LG_WAIT_COND: {
    uint32_t mid, mver;
    if (lg_lock_lookup(w->obj2, &mid, &mver))
      snprintf(buf, cap, "thread T%u waits on condition variable 0x%lx with {L%u}%s", x->t->tid,
               (unsigned long)w->obj, lg_h_lock(r, mid, mver), holding);
    else
      snprintf(buf, cap, "thread T%u waits on condition variable 0x%lx (mutex 0x%lx)%s",
               x->t->tid, (unsigned long)w->obj, (unsigned long)w->obj2, holding);
    break;
  }
  case LG_WAIT_SEM:
    snprintf(buf, cap, "thread T%u waits on semaphore 0x%lx%s", x->t->tid, (unsigned long)w->obj,
             holding);
    break;
  case LG_WAIT_JOIN:
    if (x->joins >= 0)
      snprintf(buf, cap, "thread T%u joins thread T%u%s", x->t->tid, c[x->joins].t->tid, holding);
    else
      snprintf(buf, cap, "thread T%u joins a thread%s", x->t->tid, holding);
    break;
  default:
    snprintf(buf, cap, "thread T%u blocks in %s(fd %d), a pipe only this program can %s%s",
             x->t->tid, lg_call_name(w->call), (int)w->obj,
             lg_h_pipe_reads(w->call) ? "write" : "read", holding);
    break;
  }
}

/* The stuck threads' wait-for graph, through lock and join edges. */
typedef struct lg_h_graph {
  lg_hthread_t *c;
  int locks_only; /* a cycle of lock waits alone was met */
} lg_h_graph_t;

static int lg_h_node_ok(void *ctx, uint32_t v) {
  return ((lg_h_graph_t *)ctx)->c[v].stuck;
}

static uint32_t lg_h_degree(void *ctx, uint32_t v) {
  const lg_hthread_t *x = &((lg_h_graph_t *)ctx)->c[v];
  return x->w.what == LG_WAIT_JOIN ? (x->joins >= 0) : x->nholders;
}

static uint32_t lg_h_target(void *ctx, uint32_t v, uint32_t k) {
  const lg_hthread_t *x = &((lg_h_graph_t *)ctx)->c[v];
  return x->w.what == LG_WAIT_JOIN ? (uint32_t)x->joins : x->holders[k];
}

/* Only a cycle with a join is a hang of ours; one of lock waits alone is the deadlock
 * report's. */
static int lg_h_accept(void *ctx, const uint32_t *cycle, uint32_t len) {
  lg_h_graph_t *g = ctx;
  for (uint32_t q = 0; q < len; q++)
    if (g->c[cycle[q]].w.what == LG_WAIT_JOIN)
      return 1;
  g->locks_only = 1;
  return 0;
}

/* A cycle among stuck threads through lock and join edges, with at least one join; its
 * indices in cyc; returns the length (0: none). *locks_only is set when a cycle of lock waits
 * alone was met (the watchdog's deadlock report will speak of it). */
static uint32_t lg_h_cycle(lg_hthread_t *c, uint32_t n, uint32_t *cyc, int *locks_only) {
  lg_h_graph_t hg = {c, 0};
  const lg_waitcycle_graph_t g = {&hg, n, lg_h_node_ok, lg_h_degree, lg_h_target, lg_h_accept};
  uint32_t len = lg_waitcycle_find(&g, cyc);
  if (hg.locks_only)
    *locks_only = 1;
  return len;
}

/* Who holds what each old lock waiter wants, and whom each old joiner joins. The wanted locks
 * go in a small hash table first, so the held stacks are walked once: linear in the locks
 * held and the waiters, however many threads wait (a pool of thousands blocked on one lock
 * costs no more than a few). Under lg_rt.mu. */
typedef struct lg_hwant {
  uint64_t key; /* ver << 32 | id, 0: empty */
  uint32_t n;
  uint32_t who[LG_HANG_HOLDERS];
  uint8_t mode[LG_HANG_HOLDERS];
} lg_hwant_t;

/* Whether x has waited (for a lock, a join: `what`) for at least `need` ns. */
static int lg_h_waits(const lg_hthread_t *x, uint8_t what, uint64_t now, uint64_t need) {
  return (x->seq & 1) && x->w.what == what && now - x->since_ns >= need;
}

/* The entry of lock instance (id, ver) in tab (cap entries, a power of two): its own, or the
 * empty one where it would go, which `claim` makes its own (key 0: not there). */
static lg_hwant_t *lg_h_slot(lg_hwant_t *tab, uint32_t cap, uint32_t id, uint32_t ver, int claim) {
  uint64_t key = (uint64_t)ver << 32 | id | 1ull << 63;
  uint32_t k = (uint32_t)(key * 0x9e3779b97f4a7c15ull >> 40) & (cap - 1);
  while (tab[k].key != 0 && tab[k].key != key)
    k = (k + 1) & (cap - 1);
  if (claim)
    tab[k].key = key;
  return &tab[k];
}

static void lg_h_link(lg_hthread_t *c, uint32_t n, uint64_t now, uint64_t need) {
  uint32_t nw = 0;
  for (uint32_t i = 0; i < n; i++)
    nw += lg_h_waits(&c[i], LG_WAIT_LOCK, now, need);
  uint32_t cap = 16;
  while (cap < nw * 2)
    cap *= 2;
  lg_hwant_t *tab = nw ? lg_mem_alloc(cap * sizeof(*tab)) : NULL;
  if (tab != NULL) {
    /* Every lock waited for gets an entry; then each thread holding one is listed in it. */
    for (uint32_t i = 0; i < n; i++)
      if (lg_h_waits(&c[i], LG_WAIT_LOCK, now, need))
        lg_h_slot(tab, cap, c[i].id, c[i].ver, 1);
    for (uint32_t j = 0; j < n; j++) {
      lg_held_t *h;
      uint32_t d = lg_h_depth(c[j].t, &h);
      for (uint32_t q = 0; q < d; q++) {
        lg_hwant_t *w = lg_h_slot(tab, cap, h[q].id, h[q].ver, 0);
        if (w->key != 0 && w->n < LG_HANG_HOLDERS && (w->n == 0 || w->who[w->n - 1] != j)) {
          w->who[w->n] = j;
          w->mode[w->n++] = h[q].mode;
        }
      }
    }
    for (uint32_t i = 0; i < n; i++) {
      lg_hthread_t *x = &c[i];
      if (!lg_h_waits(x, LG_WAIT_LOCK, now, need))
        continue;
      const lg_hwant_t *w = lg_h_slot(tab, cap, x->id, x->ver, 0);
      for (uint32_t q = 0; q < w->n; q++)
        if (w->who[q] != i && (x->mode == LG_MODE_WRITE || w->mode[q] == LG_MODE_WRITE))
          x->holders[x->nholders++] = w->who[q];
    }
    lg_mem_free(tab, cap * sizeof(*tab));
  }
  /* Joins: by pthread_t. Few threads join at once; each looks through the list. A timed join
   * (pthread_timedjoin_np) ends by itself: no edge, as for every timed wait. */
  for (uint32_t i = 0; i < n; i++) {
    lg_hthread_t *x = &c[i];
    if (!lg_h_waits(x, LG_WAIT_JOIN, now, need) || x->w.timed)
      continue;
    for (uint32_t j = 0; j < n && x->joins < 0; j++)
      if (j != i && c[j].t->pth == (pthread_t)x->w.obj)
        x->joins = (int)j;
  }
}

/* Under lg_rt.mu: the stall report for waiter i and holder j, or NULL when the pair of call
 * sites was reported before. */
static lg_report_t *lg_h_stall(const lg_hthread_t *c, uint32_t i, uint32_t j, uint64_t now) {
  const lg_hthread_t *x = &c[i], *y = &c[j];
  for (uint32_t k = 0; k < lg_nstall_seen; k++)
    if (lg_stall_seen[k].block_pc == y->w.pc && lg_stall_seen[k].wait_pc == x->want_pc)
      return NULL;
  const lg_held_t *h = NULL;
  if (!lg_h_holds(y->t, x->id, x->ver, x->mode, &h))
    return NULL;
  lg_held_t held = *h;
  if (lg_nstall_seen < LG_STALL_PAIRS) {
    lg_stall_seen[lg_nstall_seen].block_pc = y->w.pc;
    lg_stall_seen[lg_nstall_seen++].wait_pc = x->want_pc;
  }
  lg_report_t *r = lg_report_new(LG_REPORT_STALL);
  if (r == NULL)
    return NULL;
  uint32_t li = lg_h_lock(r, x->id, x->ver);
  uint64_t waited = now - x->since_ns;
  snprintf(r->message, sizeof r->message,
           "thread T%u has waited %lu ms for {L%u}, held by thread T%u while it blocks in %s",
           x->t->tid, (unsigned long)(waited / 1000000u), li, y->t->tid, lg_h_block_name(&y->w));
  lg_report_add_section(r, lg_h_stack(held.pc, held.up, LG_HELD_UP),
                        "{L%u} taken by thread T%u at", li, y->t->tid);
  lg_report_add_section(r, lg_h_stack(y->w.pc, y->w.up, LG_WAIT_UP),
                        "thread T%u blocks in %s holding {L%u}, at", y->t->tid,
                        lg_h_block_name(&y->w), li);
  lg_report_add_section(r, lg_h_stack(x->want_pc, x->want_up, LG_HELD_UP),
                        "thread T%u waits for {L%u} at", x->t->tid, li);
  return r;
}

/* Under lg_rt.mu: the hang report over threads idx[0..n) (stacks filled in later), with the
 * chains that explain it. */
static lg_report_t *lg_h_hang(lg_hthread_t *c, uint32_t nc, const uint32_t *idx, uint32_t n,
                              int cycle, uint64_t now) {
  uint32_t total = cycle ? n : nc; /* threads in the hang; idx lists the first n of them */
  lg_report_t *r = lg_report_new(LG_REPORT_HANG);
  if (r == NULL)
    return NULL;
  r->ends_run = 1;
  uint64_t least = UINT64_MAX;
  for (uint32_t k = 0; k < n; k++)
    if (now - c[idx[k]].since_ns < least)
      least = now - c[idx[k]].since_ns;
  if (cycle) {
    char path[LG_REPORT_TEXT];
    size_t p = 0;
    for (uint32_t k = 0; k <= n && p + 16 < sizeof path; k++)
      p += (size_t)snprintf(path + p, sizeof path - p, "%sT%u", k ? " -> " : "",
                            c[idx[k % n]].t->tid);
    snprintf(r->message, sizeof r->message,
             "%u threads wait for each other through joins and locks: %s", n, path);
  } else {
    snprintf(r->message, sizeof r->message,
             "no progress: all %u threads have been blocked for %lu ms in waits that only "
             "another thread of the program could end", nc, (unsigned long)(least / 1000000u));
  }
  char line[LG_REPORT_TEXT];
  for (uint32_t k = 0; k < n && k < LG_HANG_SHOWN; k++) {
    lg_h_describe(r, c, idx[k], line, sizeof line);
    lg_report_add_section(r, NULL, "%s", line); /* its stack is filled in after the scan */
  }
  if (total > LG_HANG_SHOWN)
    lg_report_add_section(r, NULL, "... and %u more threads, blocked too", total - LG_HANG_SHOWN);
  /* The chains: threads wait for a lock whose holder is in a wait of another kind. One line
   * per holder and lock, however many wait for it. */
  uint32_t chains = 0;
  for (uint32_t k = 0; k < n && chains < 3; k++) {
    const lg_hthread_t *x = &c[idx[k]];
    if (x->w.what != LG_WAIT_LOCK || x->nholders == 0)
      continue;
    const lg_hthread_t *y = &c[x->holders[0]];
    if (y->w.what == LG_WAIT_LOCK)
      continue;
    int seen = 0;
    uint32_t more = 0;
    for (uint32_t q = 0; q < nc; q++) { /* every thread waiting for it behind this holder */
      const lg_hthread_t *o = &c[q];
      if (o == x || !(o->seq & 1) || o->w.what != LG_WAIT_LOCK || o->nholders == 0 ||
          o->id != x->id || o->ver != x->ver || o->holders[0] != x->holders[0])
        continue;
      more++;
      for (uint32_t p = 0; p < k && !seen; p++)
        seen = idx[p] == q; /* its line was written already */
    }
    if (seen)
      continue;
    char others[48] = "";
    if (more > 0)
      snprintf(others, sizeof others, " (and %u more)", more);
    uint32_t li = lg_h_lock(r, x->id, x->ver);
    if (y->w.what == LG_WAIT_COND)
      lg_report_add_section(r, NULL, "chain: thread T%u waits on condition variable 0x%lx while "
                            "holding {L%u}; thread T%u%s, which would have to signal it (no other "
                            "thread runs), waits for {L%u}", y->t->tid, (unsigned long)y->w.obj,
                            li, x->t->tid, others, li);
    else
      lg_report_add_section(r, NULL, "chain: thread T%u blocks in %s while holding {L%u}; thread "
                            "T%u%s waits for {L%u}", y->t->tid, lg_h_block_name(&y->w), li,
                            x->t->tid, others, li);
    chains++;
  }
  lg_report_add_section(r, NULL, "-> %s", cycle ? "none of them can ever go on"
                                                 : "nobody is left to signal, post, unlock or "
                                                   "write: the program can never go on");
  return r;
}

/* Whether thread x is not blocked where its record says (kstate.h): running, or in another
 * system call than its wait's (a lock acquisition: in anything but a futex). Only before a
 * hang or a stall is reported. A thread caught between two steps of its call (a futex woken
 * and waited again) shows up on the next scan. */
static int lg_h_running(const lg_hthread_t *x) {
  return x->w.what == LG_WAIT_LOCK ? lg_kstate_lock_elsewhere(x->t->ktid, x->kind)
                                   : lg_kstate_call_elsewhere(x->t->ktid, &x->w);
}

/* Whether any of the threads c[idx[0..n-1]] (c[0..n-1] when idx is NULL) is running
 * although its record says it waits. */
static int lg_h_any_running(const lg_hthread_t *c, const uint32_t *idx, uint32_t n) {
  for (uint32_t k = 0; k < n; k++)
    if (lg_h_running(&c[idx != NULL ? idx[k] : k]))
      return 1;
  return 0;
}

/* Whether one of the threads c[idx[0..n-1]] (c[0..n-1] when idx is NULL) is in a condition
 * wait that is over, blocked taking its mutex back: it waits for a lock, so what looks like a
 * hang may be a lock cycle through that mutex. Then the watchdog's lock-cycle search is asked
 * to look at such waits too (watchdog.c), and no hang is reported meanwhile. */
static int lg_h_any_retaking(const lg_hthread_t *c, const uint32_t *idx, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) {
    const lg_hthread_t *x = &c[idx != NULL ? idx[k] : k];
    if (x->w.what == LG_WAIT_COND && lg_kstate_retaking(x->t->ktid, x->w.obj2)) {
      atomic_store(&lg_wd_retakes_wanted, 1);
      return 1;
    }
  }
  return 0;
}

void lg_hang_scan(uint64_t limit_ns, uint64_t stall_ns) {
  uint64_t now = lg_now_ns();
  uint64_t need = limit_ns && stall_ns ? (limit_ns < stall_ns ? limit_ns : stall_ns)
                                       : (limit_ns ? limit_ns : stall_ns);
  lg_rt_lock();
  /* First a cheap pass: time every wait, and stop here unless one is old enough to matter
   * (most scans of a healthy program end here, without allocating). */
  uint32_t cap = 0, n = 0, old = 0;
  for (lg_thread_t *t = lg_rt.threads; t != NULL; t = t->next) {
    cap++;
    int lock;
    uint64_t seq = lg_wait_now(t, &lock);
    if (seq == 0 || t->exited)
      continue;
    old += lg_wait_age(t, seq, now) >= need;
  }
  if (old == 0) {
    lg_rt_unlock();
    return;
  }
  lg_hthread_t *c = cap ? lg_mem_alloc(cap * sizeof(*c)) : NULL;
  if (c == NULL) {
    lg_rt_unlock();
    return;
  }
  int all_stuck = 1;
  for (lg_thread_t *t = lg_rt.threads; t != NULL; t = t->next) {
    if (t->exited)
      continue;
    lg_hthread_t *x = &c[n++];
    memset(x, 0, sizeof *x);
    x->t = t;
    x->joins = -1;
    int lock;
    x->seq = lg_wait_now(t, &lock);
    if (x->seq == 0) {
      all_stuck = 0;
      continue;
    }
    x->since_ns = now - lg_wait_age(t, x->seq, now);
    if (lock) {
      x->w.what = LG_WAIT_LOCK;
      lg_held_t *h;
      uint32_t d = *(volatile uint32_t *)&t->depth;
      h = *(lg_held_t *volatile *)&t->held;
      if (d >= *(volatile uint32_t *)&t->cap) {
        x->seq = 0; /* torn: treat as running */
        all_stuck = 0;
        continue;
      }
      x->id = h[d].id;
      x->ver = h[d].ver;
      x->mode = h[d].mode;
      x->kind = h[d].kind;
      x->want_pc = h[d].pc;
      memcpy(x->want_up, h[d].up, sizeof x->want_up);
    } else {
      x->w = t->wait;
    }
    if (lg_wait_now(t, &lock) != x->seq) {
      x->seq = 0; /* it moved while we read */
      all_stuck = 0;
      continue;
    }
    x->stuck = limit_ns != 0 && now - x->since_ns >= limit_ns;
    x->internal = lg_h_internal(x);
    if (!x->stuck || !x->internal)
      all_stuck = 0;
  }
  lg_h_link(c, n, now, need);

  /* A lock nobody here holds is held by someone we cannot see (another process sharing it, a
   * thread we do not know): its waiter may well go on. */
  for (uint32_t i = 0; i < n; i++)
    if ((c[i].seq & 1) && c[i].w.what == LG_WAIT_LOCK && c[i].nholders == 0)
      all_stuck = 0;

  lg_report_t *stall = NULL;
  if (stall_ns != 0) {
    for (uint32_t i = 0; i < n && stall == NULL; i++) {
      lg_hthread_t *x = &c[i];
      if (!(x->seq & 1) || x->w.what != LG_WAIT_LOCK || now - x->since_ns < stall_ns)
        continue;
      for (uint32_t k = 0; k < x->nholders && stall == NULL; k++) {
        lg_hthread_t *y = &c[x->holders[k]];
        /* A condition variable, semaphore or join without a deadline that only the program
         * can end is a hang in the making, not a slow call: the hang report speaks of it
         * once it lasts. A system call (sleep, I/O) always counts. */
        if (!(y->seq & 1) || y->w.what == LG_WAIT_LOCK ||
            (y->w.what != LG_WAIT_CALL && lg_h_internal(y)) || lg_h_running(y))
          continue;
        if (lg_h_running(x))
          break; /* the waiter itself is not in its futex wait: once per waiter */
        stall = lg_h_stall(c, i, x->holders[k], now);
      }
    }
  }

  lg_report_t *hang = NULL;
  uint32_t idx[LG_STACK_MAX], nidx = 0;
  lg_thread_t *ts[LG_STACK_MAX];
  uint64_t seqs[LG_STACK_MAX];
  if (limit_ns != 0 && n > 0 && !atomic_load(&lg_rt.ending)) {
    uint32_t *cyc = lg_mem_alloc(n * sizeof(uint32_t));
    int locks_only = 0;
    uint32_t len = cyc ? lg_h_cycle(c, n, cyc, &locks_only) : 0;
    if (len >= 2 && !lg_h_any_running(c, cyc, len) && !lg_h_any_retaking(c, cyc, len)) {
      for (uint32_t k = 0; k < len && nidx < LG_HANG_SHOWN; k++)
        idx[nidx++] = cyc[k];
      hang = lg_h_hang(c, n, idx, nidx, 1, now);
    } else if (len < 2 && all_stuck && !locks_only && !lg_notify_pending(now, limit_ns) &&
               !lg_h_any_running(c, NULL, n) && !lg_h_any_retaking(c, NULL, n)) {
      /* Threads in waits of other kinds first: with many threads queued on one lock, the one
       * that holds it while it waits is the one to see. */
      for (uint32_t k = 0; k < n && nidx < LG_STACK_MAX; k++)
        if (c[k].w.what != LG_WAIT_LOCK)
          idx[nidx++] = k;
      for (uint32_t k = 0; k < n && nidx < LG_STACK_MAX; k++)
        if (c[k].w.what == LG_WAIT_LOCK)
          idx[nidx++] = k;
      hang = lg_h_hang(c, n, idx, nidx, 0, now);
    }
    lg_mem_free(cyc, n * sizeof(uint32_t));
  }
  uint32_t nshown = nidx < LG_HANG_SHOWN ? nidx : LG_HANG_SHOWN;
  lg_stack_t *fallback[LG_HANG_SHOWN];
  for (uint32_t k = 0; k < nshown; k++) {
    lg_hthread_t *x = &c[idx[k]];
    ts[k] = x->t;
    seqs[k] = x->seq;
    fallback[k] = x->w.what == LG_WAIT_LOCK ? lg_h_stack(x->want_pc, x->want_up, LG_HELD_UP)
                                           : lg_h_stack(x->w.pc, x->w.up, LG_WAIT_UP);
  }
  lg_mem_free(c, cap * sizeof(*c));
  lg_rt_unlock();

  if (stall != NULL)
    lg_report_emit(stall);
  if (hang == NULL)
    return;
  lg_watchdog_collect_stacks(ts, nshown);
  /* Still the same waits? Then nobody moved while we looked. */
  int moved = 0, lock;
  for (uint32_t k = 0; k < nshown; k++)
    moved |= lg_wait_now(ts[k], &lock) != seqs[k];
  if (moved) {
    for (uint32_t k = 0; k < nshown; k++)
      lg_stack_free(fallback[k]);
    lg_report_free(hang);
    return;
  }
  uint32_t depth = lg_rt.opt.stack_depth;
  for (uint32_t k = 0; k < nshown && k < hang->nsections; k++) {
    lg_thread_t *t = ts[k];
    if (atomic_load(&t->stack_ready) && t->stack_n > 0) {
      hang->sections[k].stack =
          lg_stack_new(t->stack, (uint32_t)t->stack_n < depth ? (uint32_t)t->stack_n : depth);
      lg_stack_free(fallback[k]);
    } else {
      hang->sections[k].stack = fallback[k];
    }
  }
  lg_report_emit(hang); /* ends the run */
}
