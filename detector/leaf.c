/* leaf.c - leaf locks: a lock taken only innermost lives and dies without the detector lock.
 * The contract is in leaf.h, where edges live in edges.h.
 *
 * Synchronization: a leaf's `in` vector, its `leaf` mark and its death are guarded by the
 * lock's spin flag (lg_lock_aux_t.spin); the detector lock's side takes the flag too when it
 * publishes or destroys a leaf (lg_rt.mu first, then the flag; never the other way). The
 * shadow slot is set and cleared by compare-and-swap on both sides. Lock ids and edge records
 * come from per-thread pools, refilled and drained under lg_rt.mu a batch at a time. Stack
 * references are taken and dropped with atomics, and only on stacks the thread's memo holds a
 * reference on; a drop that would free a stack waits in the thread's list for lg_rt.mu.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "capture.h"
#include "edges.h"
#include "leaf.h"
#include "lockgraph.h"
#include "mem.h"

/* Edges into one leaf; one more and it is published (a lock many locks are held over). */
#define LG_LEAF_IN_MAX 8
_Static_assert(LG_LEAF_IN_MAX < LG_EDGE_INDEX_DEGREE, "a leaf's edges in are never a big vector (edges.h)");

/* ---- the flag ---- */

void lg_leaf_spin_lock(lg_lock_aux_t *x) {
  for (unsigned spins = 0;; spins++) {
    if (atomic_load_explicit(&x->spin, memory_order_relaxed) == 0 &&
        atomic_exchange_explicit(&x->spin, 1, memory_order_acquire) == 0)
      return;
    if (spins < 100) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      sched_yield(); /* the holder may be descheduled: held for a few hundred instructions */
    }
  }
}

void lg_leaf_spin_unlock(lg_lock_aux_t *x) {
  atomic_store_explicit(&x->spin, 0, memory_order_release);
}

/* ---- the thread's pools ---- */

static uint32_t lg_leaf_id_get(lg_thread_t *t) {
  lg_leaf_tls_t *l = &t->leaf;
  if (l->nids == 0) {
    lg_rt_lock();
    while (l->nids < LG_LEAF_IDS / 2) {
      uint32_t id = lg_lock_id_alloc();
      if (id == 0)
        break;
      l->ids[l->nids++] = id;
    }
    lg_rt_unlock();
    if (l->nids == 0)
      return 0;
  }
  return l->ids[--l->nids];
}

static void lg_leaf_id_put(lg_thread_t *t, uint32_t id) {
  lg_leaf_tls_t *l = &t->leaf;
  if (l->nids == LG_LEAF_IDS) {
    lg_rt_lock();
    while (l->nids > LG_LEAF_IDS / 2)
      lg_lock_id_free_locked(l->ids[--l->nids]);
    lg_rt_unlock();
  }
  l->ids[l->nids++] = id;
}

static lg_edge_t *lg_leaf_edge_get(lg_thread_t *t) {
  lg_leaf_tls_t *l = &t->leaf;
  if (l->nedges == 0)
    return lg_mem_alloc(sizeof(lg_edge_t)); /* zeroed */
  lg_edge_t *e = l->edges[--l->nedges];
  memset(e, 0, sizeof(*e));
  return e;
}

static void lg_leaf_edge_put(lg_thread_t *t, lg_edge_t *e) {
  lg_leaf_tls_t *l = &t->leaf;
  if (l->nedges < LG_LEAF_EDGES)
    l->edges[l->nedges++] = e;
  else
    lg_mem_free(e, sizeof(*e));
}

/* Drops a reference without the lock when it is not the last one; else puts it off. Never
 * called with a flag held (it may take lg_rt.mu). */
static void lg_leaf_stack_put(lg_thread_t *t, lg_stack_t *s) {
  if (s == NULL)
    return;
  for (uint32_t i = 0; i < LG_LEAF_MEMO; i++) {
    lg_leaf_memo_t *m = &t->leaf.memo[i];
    if (m->gen != 0 && (m->held == s || m->acq == s)) {
      /* One of the memo's stacks: the reference becomes a spare one of the memo's, no atomic
       * operation. Spares are per pair, so the pair's other stack gives its reference in
       * the same call of lg_leaf_edge_free. */
      if (m->held == s)
        m->spare_held++;
      else
        m->spare_acq++;
      return;
    }
  }
  uint32_t r = atomic_load_explicit(&s->refs, memory_order_relaxed);
  while ((r & ~LG_STACK_IDLE) > 1)
    if (atomic_compare_exchange_weak_explicit(&s->refs, &r, r - 1, memory_order_relaxed,
                                              memory_order_relaxed))
      return;
  lg_leaf_tls_t *l = &t->leaf;
  if (l->ndefer == LG_LEAF_DEFER) {
    lg_rt_lock();
    lg_leaf_flush_locked(t);
    lg_rt_unlock();
  }
  l->defer[l->ndefer++] = s;
}

void lg_leaf_flush_locked(lg_thread_t *t) {
  lg_leaf_tls_t *l = &t->leaf;
  for (uint32_t i = 0; i < l->ndefer; i++)
    lg_stack_unref(l->defer[i]);
  l->ndefer = 0;
}

/* ---- the memo: an edge's stacks by (capture, held entry) ---- */

static lg_leaf_memo_t *lg_leaf_memo_slot(lg_thread_t *t, uint32_t gen, const lg_held_t *h) {
  uint64_t k = lg_chain_mix(gen, (uint32_t)h->pc, (uint32_t)h->cfa, 0);
  return &t->leaf.memo[(k >> 32) % LG_LEAF_MEMO];
}

static int lg_leaf_memo_same(const lg_leaf_memo_t *m, uint32_t gen, const lg_held_t *h) {
  return m->gen == gen && m->hpc == h->pc && m->hcfa == h->cfa &&
         memcmp(m->up, h->up, sizeof m->up) == 0;
}

/* Gives back the memo entry's references (its own and the spare ones). Under lg_rt.mu. */
static void lg_leaf_memo_clear_locked(lg_leaf_memo_t *m) {
  if (m->held != NULL) {
    atomic_fetch_sub_explicit(&m->held->refs, m->spare_held, memory_order_relaxed);
    lg_stack_unref(m->held);
  }
  if (m->acq != NULL) {
    atomic_fetch_sub_explicit(&m->acq->refs, m->spare_acq, memory_order_relaxed);
    lg_stack_unref(m->acq);
  }
  memset(m, 0, sizeof(*m));
}

/* A reference on each of the entry's stacks for a new edge: a spare one, or a batch. */
#define LG_LEAF_SPARE_BATCH 32
static void lg_leaf_memo_take(lg_leaf_memo_t *m) {
  if (m->spare_held == 0) {
    atomic_fetch_add_explicit(&m->held->refs, LG_LEAF_SPARE_BATCH, memory_order_relaxed);
    m->spare_held = LG_LEAF_SPARE_BATCH;
  }
  if (m->spare_acq == 0) {
    atomic_fetch_add_explicit(&m->acq->refs, LG_LEAF_SPARE_BATCH, memory_order_relaxed);
    m->spare_acq = LG_LEAF_SPARE_BATCH;
  }
  m->spare_held--;
  m->spare_acq--;
}

/* The stacks the detector lock's side built for an edge from h made at capture gen: the
 * same capture and the same held entry give the same stacks (capture.c's lg_edge_stacks). */
static lg_leaf_memo_t *lg_leaf_memo_find(lg_thread_t *t, uint32_t gen, const lg_held_t *h) {
  lg_leaf_memo_t *m = lg_leaf_memo_slot(t, gen, h);
  return lg_leaf_memo_same(m, gen, h) ? m : NULL;
}

void lg_leaf_memo_store_locked(lg_thread_t *t, const lg_held_t *h, uint32_t gen,
                               lg_stack_t *held, lg_stack_t *acq) {
  lg_leaf_memo_t *m = lg_leaf_memo_slot(t, gen, h);
  if (lg_leaf_memo_same(m, gen, h) && m->held == held && m->acq == acq)
    return;
  lg_stack_ref(held);
  lg_stack_ref(acq);
  lg_leaf_memo_clear_locked(m);
  m->gen = gen;
  m->hpc = h->pc;
  m->hcfa = h->cfa;
  memcpy(m->up, h->up, sizeof m->up);
  m->held = held;
  m->acq = acq;
}

/* ---- a leaf's life ---- */

static lg_edge_t *lg_leaf_edge_from(const lg_lock_aux_t *x, uint32_t from, uint32_t from_ver) {
  lg_edge_t *const *items = lg_edge_vec_items(&x->in);
  for (uint32_t i = 0, n = lg_edge_vec_len(&x->in); i < n; i++)
    if (items[i]->from == from && items[i]->from_ver == from_ver)
      return items[i];
  return NULL;
}

/* Held locks the leaf path takes on at most: deeper stacks go the detector lock's way. */
#define LG_LEAF_DEPTH 8

static void lg_leaf_edge_free(lg_thread_t *t, lg_edge_t *e);

/* Adds to leaf x (id) the edge from held entry h with occurrence o, its stacks from memo m.
 * The caller owns x's `in` (holds its flag, or x is not visible yet). 0, or -ENOMEM. */
static int lg_leaf_edge_add(lg_thread_t *t, lg_lock_aux_t *x, uint32_t id, const lg_held_t *h,
                            const lg_occ_t *o, lg_leaf_memo_t *m) {
  lg_edge_t *e = m != NULL && lg_edge_vec_len(&x->in) < LG_LEAF_IN_MAX ? lg_leaf_edge_get(t) : NULL;
  if (e == NULL)
    return -ENOMEM;
  if (lg_edge_add_occ(e, o) != 0 || lg_edge_vec_push(&x->in, e, &e->in_pos) != 0) {
    lg_leaf_edge_free(t, e); /* (no stacks yet: o's are the edge's own, taken below) */
    return -ENOMEM;
  }
  e->from = h->id;
  e->to = id;
  e->from_ver = h->ver;
  e->seq = lg_edge_seq_leaf();
  lg_leaf_memo_take(m);
  e->held = m->held;
  e->acq = m->acq;
  atomic_store_explicit(&t->leaf.edges_made, t->leaf.edges_made + 1, memory_order_relaxed);
  return 0;
}

/* Held entry i, unless an entry below it is the same lock or it was destroyed while held
 * (no edge from it, as on the detector lock's path). */
static const lg_held_t *lg_leaf_held(const lg_thread_t *t, uint32_t i) {
  const lg_held_t *h = &t->held[i];
  for (uint32_t j = 0; j < i; j++)
    if (t->held[j].id == h->id)
      return NULL;
  return atomic_load_explicit(&lg_lock_at(h->id)->ver, memory_order_relaxed) == h->ver ? h : NULL;
}

/* Empties a leaf's `in` the caller owns, handing its edges over in *taken (to free once the
 * flag is released); returns how many (at most LG_LEAF_IN_MAX). */
static uint32_t lg_leaf_take_edges(lg_lock_aux_t *x, lg_edge_vec_t *taken) {
  *taken = x->in;
  x->in.w = 0;
  return lg_edge_vec_len(taken);
}

static void lg_leaf_free_edges(lg_thread_t *t, lg_edge_vec_t *taken) {
  lg_edge_t **e = lg_edge_vec_items(taken);
  for (uint32_t i = 0, k = lg_edge_vec_len(taken); i < k; i++)
    lg_leaf_edge_free(t, e[i]);
  lg_edge_vec_free(taken);
}

/* A lock never seen: its record and its edges in are made before anyone else can see it, then
 * it is installed in the (empty) slot. 0 when no id is left, memory ran out, or the slot was
 * taken meanwhile: the detector lock's path decides then. */
static int lg_leaf_new(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode, int edges,
                       lg_leaf_memo_t *const *memo, uintptr_t pc, _Atomic uint64_t *slot,
                       lg_acq_t *a) {
  uint32_t id = lg_leaf_id_get(t);
  if (id == 0)
    return 0;
  lg_lock_t *n = lg_lock_at(id);
  lg_lock_aux_t *x = lg_aux_at(id);
  uint32_t ver = lg_lock_record_begin(id, kind, addr, pc, 1);
  uint32_t d = t->depth;
  a->id = id;
  a->ver = ver;
  a->key = lg_chain_mix(d ? t->held[d - 1].key : t->seed, id, ver, mode);
  int ok = 1;
  for (uint32_t i = 0; edges && ok && i < d; i++) {
    const lg_held_t *h = lg_leaf_held(t, i);
    if (h == NULL)
      continue;
    lg_occ_t o;
    lg_occ_of(t, h, id, mode, &o);
    ok = lg_leaf_edge_add(t, x, id, h, &o, memo[i]) == 0;
  }
  if (ok && edges && d > 0)
    lg_chain_remember(NULL, id, n, a->key);
  uint64_t v = lg_slot_value(id, ver, kind), empty = 0;
  if (ok && atomic_compare_exchange_strong_explicit(slot, &empty, v, memory_order_release,
                                                    memory_order_relaxed)) {
    atomic_store_explicit(&t->leaf.locks_made, t->leaf.locks_made + 1, memory_order_relaxed);
    return 1;
  }
  /* Never visible: undone here. */
  lg_edge_vec_t dead;
  uint32_t k = lg_leaf_take_edges(x, &dead);
  atomic_store_explicit(&t->leaf.edges_made, t->leaf.edges_made - k, memory_order_relaxed);
  lg_lock_record_end(id);
  lg_leaf_free_edges(t, &dead);
  lg_leaf_id_put(t, id);
  return 0;
}

int lg_leaf_acquire(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode, int acq,
                    uintptr_t pc, uintptr_t cfa, lg_acq_t *a) {
  /* Once two locks share a granule (adjacent spinlocks), a slot no longer names its lock alone:
   * leaves stop. (A map entry made between this check and the slot read below is not seen;
   * that needs another thread to put adjacent locks in the map and destroy the slot's lock in
   * that window.) */
  if (atomic_load_explicit(&t->nforeign, memory_order_relaxed) != 0 || lg_locks_overflow_any())
    return 0;
  _Atomic uint64_t *slot = lg_slot_lookup(t, addr);
  if (slot == NULL)
    return 0;
  /* The lock first: most acquisitions that come here are of a published lock (a new order
   * between known locks), which is the detector lock's business, decided in a few loads. */
  uint64_t s = atomic_load_explicit(slot, memory_order_acquire);
  uint32_t id = 0, ver = 0;
  lg_lock_t *n = NULL;
  lg_lock_aux_t *x = NULL;
  if (s != 0) {
    if ((s >> 56) != kind) /* another kind, or a special slot */
      return 0;
    id = (uint32_t)s;
    ver = (uint32_t)(s >> 32) & LG_VER_MASK;
    n = lg_lock_at(id);
    x = lg_aux_at(id);
    if (!atomic_load_explicit(&x->leaf, memory_order_relaxed) ||
        atomic_load_explicit(&n->addr, memory_order_relaxed) != addr ||
        atomic_load_explicit(&n->flags, memory_order_relaxed) != 0)
      return 0;
  }
  uint32_t d = t->depth;
  int edges = d > 0 && acq != LG_ACQ_TRY;
  lg_leaf_memo_t *memo[LG_LEAF_DEPTH]; /* per held entry (NULL: no edge from it) */
  if (edges) {
    if (d > LG_LEAF_DEPTH)
      return 0;
    /* Every held lock published, and the stacks of an edge from it known for this call site
     * (the cheaper test first: a leaf held is the common miss, a lock chain's next link). */
    for (uint32_t i = 0; i < d; i++)
      if (atomic_load_explicit(&lg_aux_at(t->held[i].id)->leaf, memory_order_relaxed) &&
          lg_leaf_held(t, i) != NULL)
        return 0;
    uint32_t gen = lg_scache_gen(t, pc, cfa);
    if (gen == 0)
      return 0;
    for (uint32_t i = 0; i < d; i++) {
      const lg_held_t *h = lg_leaf_held(t, i);
      memo[i] = h != NULL ? lg_leaf_memo_find(t, gen, h) : NULL;
      if (h != NULL && memo[i] == NULL)
        return 0;
    }
  }
  lg_region_remember(t, addr);
  if (s == 0)
    return lg_leaf_new(t, addr, kind, mode, edges, memo, pc, slot, a);
  a->id = id;
  a->ver = ver;
  a->key = lg_chain_mix(d ? t->held[d - 1].key : t->seed, id, ver, mode);
  if (!edges)
    return 1;
  for (uint32_t i = 0; i < d; i++)
    if (t->held[i].id == id && t->held[i].ver == ver)
      return 0; /* a relock: judged on the detector lock's path */

  /* A leaf others may see: its `in` under its flag. */
  lg_leaf_spin_lock(x);
  int ok = atomic_load_explicit(&n->ver, memory_order_relaxed) == ver &&
           atomic_load_explicit(&x->leaf, memory_order_relaxed);
  for (uint32_t i = 0; ok && i < d; i++) {
    const lg_held_t *h = lg_leaf_held(t, i);
    if (h == NULL)
      continue;
    lg_occ_t o;
    lg_occ_of(t, h, id, mode, &o);
    lg_edge_t *e = lg_leaf_edge_from(x, h->id, h->ver);
    if (e != NULL)
      ok = lg_edge_has_occ(e, &o); /* a new way of taking it: the detector lock's path */
    else
      ok = lg_leaf_edge_add(t, x, id, h, &o, memo[i]) == 0;
  }
  if (ok)
    lg_chain_remember(NULL, id, n, a->key);
  lg_leaf_spin_unlock(x);
  return ok;
}

/* Frees what a leaf's edge holds, without the lock. */
static void lg_leaf_edge_free(lg_thread_t *t, lg_edge_t *e) {
  lg_leaf_stack_put(t, e->held);
  lg_leaf_stack_put(t, e->acq);
  uint32_t n;
  lg_occ_t *occ = lg_edge_occ_array(e, &n);
  for (uint32_t i = 0; i < n; i++) {
    lg_leaf_stack_put(t, occ[i].hstack);
    lg_leaf_stack_put(t, occ[i].astack);
  }
  lg_edge_occ_array_free(e);
  lg_leaf_edge_put(t, e);
}

int lg_leaf_retire(lg_thread_t *t, uintptr_t addr, _Atomic uint64_t *slot, uint64_t s) {
  uint32_t id = (uint32_t)s, ver = (uint32_t)(s >> 32) & LG_VER_MASK;
  if (id == 0)
    return 0;
  lg_lock_t *n = lg_lock_at(id);
  lg_lock_aux_t *x = lg_aux_at(id);
  if (!atomic_load_explicit(&x->leaf, memory_order_relaxed) ||
      atomic_load_explicit(&n->addr, memory_order_relaxed) != addr ||
      atomic_load_explicit(&n->flags, memory_order_relaxed) != 0)
    return 0;
  lg_leaf_spin_lock(x);
  if (!atomic_load_explicit(&x->leaf, memory_order_relaxed) ||
      atomic_load_explicit(&n->ver, memory_order_relaxed) != ver ||
      atomic_load_explicit(&n->addr, memory_order_relaxed) != addr ||
      atomic_load_explicit(slot, memory_order_relaxed) != s) {
    lg_leaf_spin_unlock(x);
    return 0;
  }
  lg_edge_vec_t dead;
  lg_leaf_take_edges(x, &dead);
  lg_lock_record_end(id);
  uint64_t cur = s; /* the detector lock's side may have marked the slot shared meanwhile */
  atomic_compare_exchange_strong_explicit(slot, &cur, 0, memory_order_release, memory_order_relaxed);
  lg_leaf_spin_unlock(x);
  lg_leaf_free_edges(t, &dead);
  lg_leaf_id_put(t, id);
  return 1;
}

void lg_leaf_drop_edges_locked(uint32_t id) {
  lg_lock_aux_t *x = lg_aux_at(id);
  lg_leaf_spin_lock(x);
  for (uint32_t i = 0, n = lg_edge_vec_len(&x->in); i < n; i++)
    lg_edge_free_locked(lg_edge_vec_items(&x->in)[i]);
  lg_edge_vec_free(&x->in);
  atomic_store_explicit(&x->leaf, 0, memory_order_relaxed);
  lg_leaf_spin_unlock(x);
}

/* Counts of ended threads. Under lg_rt.mu (read without it from a signal handler). */
static _Atomic uint64_t lg_leaf_locks_ended, lg_leaf_edges_ended;

size_t lg_leaf_made(int live, int edges) {
  uint64_t n = atomic_load_explicit(edges ? &lg_leaf_edges_ended : &lg_leaf_locks_ended,
                                    memory_order_relaxed);
  for (const lg_thread_t *t = live ? lg_rt.threads : NULL; t != NULL; t = t->next)
    n += atomic_load_explicit(edges ? &t->leaf.edges_made : &t->leaf.locks_made,
                              memory_order_relaxed);
  return (size_t)n;
}

void lg_leaf_thread_exit_locked(lg_thread_t *t) {
  lg_leaf_tls_t *l = &t->leaf;
  atomic_fetch_add_explicit(&lg_leaf_locks_ended, l->locks_made, memory_order_relaxed);
  atomic_fetch_add_explicit(&lg_leaf_edges_ended, l->edges_made, memory_order_relaxed);
  atomic_store_explicit(&l->locks_made, 0, memory_order_relaxed);
  atomic_store_explicit(&l->edges_made, 0, memory_order_relaxed);
  while (l->nids > 0)
    lg_lock_id_free_locked(l->ids[--l->nids]);
  while (l->nedges > 0)
    lg_mem_free(l->edges[--l->nedges], sizeof(lg_edge_t));
  for (uint32_t i = 0; i < LG_LEAF_MEMO; i++)
    lg_leaf_memo_clear_locked(&l->memo[i]);
  lg_leaf_flush_locked(t);
}

void lg_leaf_after_fork_child(uint32_t last) {
  for (uint32_t id = 1; id < last; id++)
    atomic_store_explicit(&lg_aux_at(id)->spin, 0, memory_order_relaxed);
}
