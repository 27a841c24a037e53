/* capture.c - the slow path's stacks: capture through the thread's cache of call sites, and
 * the stacks an edge or a report shows. The contract (what, when, cost, thread-safety, fork,
 * signal handlers) is in capture.h.
 */
#define _GNU_SOURCE
#include <string.h>

#include "capture.h"
#include "edges.h"
#include "leaf.h"
#include "lockgraph.h"
#include "mem.h"

/* ---- the capture ---- */

/* The cached stack of the call site (pc, cfa) when every return address in it is still where
 * it was read (see lg_scache_entry_t); NULL otherwise. */
static const lg_scache_entry_t *lg_scache_find(const lg_thread_t *t, uintptr_t pc, uintptr_t cfa) {
  if (t->scache == NULL)
    return NULL;
  const lg_scache_entry_t *e = &t->scache[(pc ^ (pc >> 9)) % LG_SCACHE_WAYS];
  if (e->n == 0 || e->pc != pc || e->cfa != cfa)
    return NULL;
  uintptr_t lo = cfa, hi = t->stack_hi;
  for (int i = 0; i < e->n; i++) {
    uintptr_t sp = e->f[i].sp;
    if (sp < lo || sp > hi || ((const uintptr_t *)sp)[-1] != e->f[i].pc)
      return NULL;
    lo = sp;
  }
  return e;
}

uint32_t lg_scache_gen(const lg_thread_t *t, uintptr_t pc, uintptr_t cfa) {
  const lg_scache_entry_t *e = lg_scache_find(t, pc, cfa);
  return e ? e->gen : 0;
}

/* Keeps a fresh capture for its call site, if it can be checked later: it starts at the
 * caller of the wrapper and every frame has a stack pointer within the thread's stack. */
static void lg_scache_store(lg_thread_t *t, uintptr_t pc, uintptr_t cfa, const lg_frame_pcsp_t *f,
                            int n) {
  if (n <= 0 || t->stack_hi == 0 || f[0].pc != pc || f[0].sp != cfa)
    return;
  uintptr_t lo = cfa;
  for (int i = 0; i < n; i++) {
    if (f[i].sp < lo || f[i].sp > t->stack_hi || ((const uintptr_t *)f[i].sp)[-1] != f[i].pc)
      return; /* a signal frame or a stack switch: nothing to check it against */
    lo = f[i].sp;
  }
  if (t->scache == NULL &&
      (t->scache = lg_mem_alloc(LG_SCACHE_WAYS * sizeof(lg_scache_entry_t))) == NULL)
    return;
  static _Atomic uint32_t gens;
  lg_scache_entry_t *e = &t->scache[(pc ^ (pc >> 9)) % LG_SCACHE_WAYS];
  e->pc = pc;
  e->cfa = cfa;
  e->n = n;
  e->gen = atomic_fetch_add_explicit(&gens, 1, memory_order_relaxed) + 1;
  if (e->gen == 0) /* wrapped: 0 means "not from the cache" */
    e->gen = atomic_fetch_add_explicit(&gens, 1, memory_order_relaxed) + 1;
  memcpy(e->f, f, (size_t)n * sizeof(*f));
}

/* Captures for the slow path: from the thread's cache of call sites when the same chain of
 * calls is on the stack, else with libunwind. Stack pointers (the slower unwind) are needed
 * when some held lock was taken in another frame than this acquisition, and to cache a stack;
 * a call site is cached the second time it misses, so a one-off site costs what it did. */
int lg_capture_for(lg_thread_t *t, uintptr_t pc, uintptr_t cfa, lg_frame_pcsp_t *f,
                   uint32_t *gen) {
  *gen = 0;
  if (f == NULL)
    return 0;
  const lg_scache_entry_t *e = lg_scache_find(t, pc, cfa);
  if (e != NULL) {
    memcpy(f, e->f, (size_t)e->n * sizeof(*f));
    *gen = e->gen;
    return e->n;
  }
  int need_sp = 0;
  for (uint32_t i = 0; i < t->depth && !need_sp; i++)
    need_sp = t->held[i].cfa != cfa;
  uintptr_t *seen = &t->scache_seen[(pc ^ (pc >> 9)) % LG_SCACHE_WAYS];
  if (!need_sp && *seen != pc) {
    *seen = pc;
    return lg_stack_capture_fast(f, LG_STACK_MAX);
  }
  int n = lg_stack_capture(f, LG_STACK_MAX);
  lg_scache_store(t, pc, cfa, f, n);
  return n;
}

/* ---- stacks for an edge or a report ---- */

lg_stack_t *lg_stack_of_frames(const lg_frame_pcsp_t *f, int n) {
  static uintptr_t pcs[LG_STACK_MAX]; /* under lg_rt.mu, off the program's stack */
  int k = 0;
  for (int i = 0; i < n && k < (int)lg_rt.opt.stack_depth && k < LG_STACK_MAX; i++)
    pcs[k++] = f[i].pc;
  return lg_stack_new(pcs, (uint32_t)k);
}

static lg_stack_t *lg_edge_stack_of_frames(const lg_frame_pcsp_t *f, int n) {
  static uintptr_t pcs[LG_STACK_MAX]; /* under lg_rt.mu, off the program's stack */
  int k = 0;
  for (int i = 0; i < n && k < (int)lg_rt.opt.stack_depth && k < LG_STACK_MAX; i++)
    pcs[k++] = f[i].pc;
  return lg_stack_intern(pcs, (uint32_t)k);
}

/* Where a held lock was taken: its call site, then the frames of the current stack that were
 * already there when it was taken (the callers of the function that took it). When it was
 * taken from the same frame as the current acquisition (same caller stack pointer, `cfa`),
 * those are simply the current frames after #0; otherwise frames are told apart by their
 * stack pointers, which only the slow capture provides. */
lg_stack_t *lg_stack_of_held(const lg_held_t *h, uintptr_t cfa, const lg_frame_pcsp_t *f, int n,
                             int intern) {
  static uintptr_t pcs[LG_STACK_MAX]; /* under lg_rt.mu, off the program's stack */
  int k = 0;
  pcs[k++] = h->pc;
  if (h->up[0] != 0) {
    /* The frame-pointer walk made at the acquisition is the truth while it lasts; the frames
     * beyond it are the current ones that were already there (stack pointer beyond it). */
    int j = 0;
    for (; j < LG_HELD_UP && h->up[j] != 0 && k < (int)lg_rt.opt.stack_depth; j++)
      if (h->up[j] < lg_rt.self_lo || h->up[j] >= lg_rt.self_hi) /* not our own frames (the C11 start adapter) */
        pcs[k++] = h->up[j];
    if (j == LG_HELD_UP) {
      int at = -1;
      for (int i = 0; i < n; i++)
        if (f[i].pc == h->up[LG_HELD_UP - 1])
          at = i;
      for (int i = at + 1; at >= 0 && i < n && k < (int)lg_rt.opt.stack_depth; i++)
        pcs[k++] = f[i].pc;
    }
    return intern ? lg_stack_intern(pcs, (uint32_t)k) : lg_stack_new(pcs, (uint32_t)k);
  }
  for (int i = 0; i < n && k < (int)lg_rt.opt.stack_depth && k < LG_STACK_MAX; i++)
    if (h->cfa == cfa ? i > 0 : f[i].sp > h->cfa)
      pcs[k++] = f[i].pc;
  return intern ? lg_stack_intern(pcs, (uint32_t)k) : lg_stack_new(pcs, (uint32_t)k);
}

/* The interned stacks of an edge from held entry h to the acquisition whose frames are f. When
 * f is a cached capture (gen != 0), the same generation and the same held entry give the same
 * stacks: they are remembered here (with a reference each) and found again without building
 * and hashing them, for every new edge between two call sites already seen. Under lg_rt.mu. */
#define LG_SMEMO 64
typedef struct lg_smemo {
  uint32_t gen;
  uintptr_t hpc, hcfa, up[LG_HELD_UP];
  lg_stack_t *held, *acq;
} lg_smemo_t;
static lg_smemo_t lg_smemo[LG_SMEMO];

void lg_edge_stacks(lg_thread_t *t, const lg_held_t *h, uintptr_t cfa, const lg_frame_pcsp_t *f,
                    int n, uint32_t gen, lg_stack_t **held, lg_stack_t **acq) {
  lg_smemo_t *m = NULL;
  if (gen != 0) {
    uint64_t k = lg_chain_mix(gen, (uint32_t)h->pc, (uint32_t)h->cfa, 0);
    m = &lg_smemo[(k >> 32) % LG_SMEMO];
    if (m->gen == gen && m->hpc == h->pc && m->hcfa == h->cfa &&
        memcmp(m->up, h->up, sizeof m->up) == 0) {
      m->held->refs++;
      m->acq->refs++;
      *held = m->held;
      *acq = m->acq;
      lg_leaf_memo_store_locked(t, h, gen, *held, *acq);
      return;
    }
  }
  *held = lg_stack_of_held(h, cfa, f, n, 1);
  *acq = lg_edge_stack_of_frames(f, n);
  if (m == NULL || *held == NULL || *acq == NULL)
    return;
  lg_stack_unref(m->held);
  lg_stack_unref(m->acq);
  m->gen = gen;
  m->hpc = h->pc;
  m->hcfa = h->cfa;
  memcpy(m->up, h->up, sizeof m->up);
  m->held = *held;
  m->acq = *acq;
  m->held->refs++;
  m->acq->refs++;
  lg_leaf_memo_store_locked(t, h, gen, *held, *acq);
}
