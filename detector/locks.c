/* locks.c - lock identity, held stacks, and the slow path that builds the lock-order graph.
 *
 * Identity: a shadow table maps a lock's address to its node: a region table (1 MiB of address
 * space per region, found through two levels keyed by address bits and cached per thread),
 * then one 8-byte slot per 16-byte granule, holding id, version and kind (lockgraph.h). Locks that sit next to
 * each other in memory get slots next to each other. Node records live in a dense array by id
 * (one cache line each), allocated in first-seen order, with a parallel array of hot words
 * (the last chain key per lock: all the fast path reads once a lock's ways in are known); a
 * destroyed lock's id goes to a free
 * list and its version is bumped, so stale slots, chain keys and edges never match a new lock.
 * Two locks in one granule (adjacent 4-byte spinlocks) fall back to a small map under the
 * detector lock.
 *
 * The slow path runs for anything the fast path (lockgraph.h) has not seen: a new lock, a new
 * chain of held locks, a new hb segment. Under the detector lock it adds an edge from every
 * held lock to the new one, keeps per edge the intersection of the other held locks (gates),
 * the hb segments it was taken in and whether it was ever more than read-after-read, asks the
 * graph for a cycle, and reports it unless a gate, hb order, or read-only edges explain it.
 * Such cycles stay pending and are re-examined whenever one of their edges changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lockgraph.h"
#include "mem.h"
#include "misuse.h"

#define LG_GATE_MAX 4
#define LG_SEG_MAX 32    /* segments kept per edge; past that no order is claimed */
#define LG_SEG_INLINE 2
#define LG_CHUNK_LOCKS (1u << LG_NODE_CHUNK_SHIFT)
#define LG_TOP_BITS 15 /* address bits 32..46 */
#define LG_MID_BITS (32 - LG_REGION_SHIFT)

struct lg_edge {
  uint32_t from, to;
  uint64_t seq; /* creation order: a report starts at its oldest edge */
  lg_tid_t tid;
  uint8_t from_mode, to_mode;
  uint8_t strong;       /* some occurrence was not read-after-read on rwlocks */
  uint8_t ngate;        /* gate set: other locks held at EVERY occurrence (bounded) */
  uint8_t seg_overflow; /* too many segments to prove any order */
  uint32_t nseg;
  uint32_t pending_refs;
  uint32_t capseg;
  uint64_t gate[LG_GATE_MAX];
  lg_segment_t **segs; /* seg_inline, or a growing array */
  lg_segment_t *seg_inline[LG_SEG_INLINE];
  lg_stack_t *held, *acq; /* interned */
};

typedef struct lg_pending {
  uint32_t k;
  lg_edge_t *e[];
} lg_pending_t;

lg_lock_t *_Atomic lg_lock_chunks[1u << (32 - LG_NODE_CHUNK_SHIFT)];
_Atomic uint64_t *_Atomic lg_hot_chunks[1u << (32 - LG_NODE_CHUNK_SHIFT)];
static lg_lock_aux_t *lg_aux_chunks[1u << (32 - LG_NODE_CHUNK_SHIFT)]; /* under lg_rt.mu */

static lg_lock_aux_t *lg_aux_at(uint32_t id) {
  return lg_aux_chunks[id >> LG_NODE_CHUNK_SHIFT] + (id & ((1u << LG_NODE_CHUNK_SHIFT) - 1));
}

static _Atomic(_Atomic(_Atomic uint64_t *) *) lg_top[1u << LG_TOP_BITS];

/* Everything below is under lg_rt.mu. */
static uint32_t lg_next_id = 1;   /* ids start at 1: a zero slot is empty */
static uint32_t lg_free_head;     /* free list of ids */
static size_t lg_lock_instances;  /* every instance ever seen */
static size_t lg_edge_records;
static uint64_t lg_edge_seq;
static uint32_t lg_stamp;

typedef struct lg_edge_slot {
  uint64_t key;
  lg_edge_t *e;
} lg_edge_slot_t;
static lg_edge_slot_t *lg_edges;
static size_t lg_edges_cap, lg_edges_used;

typedef struct lg_addr_slot {
  uintptr_t addr;
  uint64_t val;
} lg_addr_slot_t;
static lg_addr_slot_t *lg_overflow; /* locks that share a granule with another lock */
static size_t lg_overflow_cap, lg_overflow_used;
static _Atomic size_t lg_overflow_live; /* entries ever put there (read without the lock) */

static lg_pending_t **lg_pending;
static size_t lg_npending, lg_cap_pending;

static uint64_t *lg_signatures; /* reported cycles, by the code locations of their edges */
static size_t lg_nsig, lg_cap_sig;

static int lg_warned_ids, lg_warned_mem, lg_warned_long;

/* Interned edge stacks: a loop that creates many edges from one line shares one stack. */
#define LG_INTERN_BUCKETS 4096
static lg_stack_t *lg_interned[LG_INTERN_BUCKETS];

static lg_stack_t *lg_stack_intern(const uintptr_t *pc, uint32_t n) {
  uint64_t h = n;
  for (uint32_t i = 0; i < n; i++)
    h = lg_chain_mix(h, (uint32_t)pc[i], (uint32_t)(pc[i] >> 32), 0);
  lg_stack_t **b = &lg_interned[h % LG_INTERN_BUCKETS];
  for (lg_stack_t *s = *b; s != NULL; s = s->next)
    if (s->hash == h && s->n == n && memcmp(s->pc, pc, n * sizeof(uintptr_t)) == 0) {
      s->refs++;
      return s;
    }
  lg_stack_t *s = lg_stack_new(pc, n);
  if (s == NULL)
    return NULL;
  s->hash = h;
  s->refs = 1;
  s->next = *b;
  *b = s;
  return s;
}

static void lg_stack_unref(lg_stack_t *s) {
  if (s == NULL || --s->refs > 0)
    return;
  for (lg_stack_t **p = &lg_interned[s->hash % LG_INTERN_BUCKETS]; *p != NULL; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  lg_stack_free(s);
}

/* ---- shadow regions ---- */

static void *lg_map_zero(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* The region's slots; creates the region when `create` (under lg_rt.mu). */
static _Atomic uint64_t *lg_region_get(uintptr_t addr, int create) {
  if (addr >> (32 + LG_TOP_BITS))
    return NULL; /* beyond 47-bit user space: the overflow map handles it */
  uintptr_t top = addr >> 32, mid = (addr >> LG_REGION_SHIFT) & ((1u << LG_MID_BITS) - 1);
  _Atomic(_Atomic uint64_t *) *m = atomic_load_explicit(&lg_top[top], memory_order_acquire);
  if (m == NULL) {
    if (!create)
      return NULL;
    m = lg_map_zero(sizeof(*m) << LG_MID_BITS);
    if (m == NULL)
      return NULL;
    atomic_store_explicit(&lg_top[top], m, memory_order_release);
  }
  _Atomic uint64_t *r = atomic_load_explicit(&m[mid], memory_order_acquire);
  if (r == NULL && create) {
    r = lg_map_zero(sizeof(uint64_t) * LG_REGION_SLOTS);
    if (r != NULL)
      atomic_store_explicit(&m[mid], r, memory_order_release);
  }
  return r;
}

_Atomic uint64_t *lg_region_find(lg_thread_t *t, uintptr_t addr) {
  _Atomic uint64_t *r = lg_region_get(addr, 0);
  if (r != NULL) {
    t->region_key = addr >> LG_REGION_SHIFT;
    t->region_slots = r;
  }
  return r;
}

/* ---- the overflow map (address -> slot value), open addressing ---- */

static size_t lg_addr_hash(uintptr_t a, size_t mask) {
  uint64_t x = a >> 2;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  return (size_t)x & mask;
}

static lg_addr_slot_t *lg_overflow_find(uintptr_t addr) {
  if (lg_overflow_cap == 0)
    return NULL;
  size_t mask = lg_overflow_cap - 1;
  for (size_t i = lg_addr_hash(addr, mask);; i = (i + 1) & mask) {
    if (lg_overflow[i].addr == addr)
      return &lg_overflow[i];
    if (lg_overflow[i].addr == 0)
      return NULL;
  }
}

static int lg_overflow_put(uintptr_t addr, uint64_t val) {
  lg_addr_slot_t *s = lg_overflow_find(addr);
  if (s != NULL) {
    s->val = val;
    return 0;
  }
  if ((lg_overflow_used + 1) * 2 > lg_overflow_cap) {
    size_t ncap = lg_overflow_cap ? lg_overflow_cap * 2 : 64;
    lg_addr_slot_t *n = lg_mem_alloc(ncap * sizeof(*n));
    if (n == NULL)
      return -ENOMEM;
    for (size_t i = 0; i < lg_overflow_cap; i++) {
      if (lg_overflow[i].addr == 0 || lg_overflow[i].val == 0)
        continue;
      size_t j = lg_addr_hash(lg_overflow[i].addr, ncap - 1);
      while (n[j].addr != 0)
        j = (j + 1) & (ncap - 1);
      n[j] = lg_overflow[i];
    }
    lg_mem_free(lg_overflow, lg_overflow_cap * sizeof(*n));
    lg_overflow = n;
    lg_overflow_cap = ncap;
  }
  size_t mask = lg_overflow_cap - 1, i = lg_addr_hash(addr, mask);
  while (lg_overflow[i].addr != 0)
    i = (i + 1) & mask;
  lg_overflow[i].addr = addr;
  lg_overflow[i].val = val;
  lg_overflow_used++;
  atomic_store_explicit(&lg_overflow_live, lg_overflow_used, memory_order_relaxed);
  return 0;
}

/* ---- node ids ---- */

/* The records of ids [id, next window) get their pages in one call each instead of a fault
 * per page: a program creating many locks walks these arrays in id order. */
#define LG_ID_WINDOW 1024u
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static int lg_populate_off;

static void lg_populate(void *p, size_t len) {
  uintptr_t page = 4096, a = (uintptr_t)p & ~(page - 1), e = ((uintptr_t)p + len + page - 1) & ~(page - 1);
  if (!lg_populate_off && madvise((void *)a, e - a, MADV_POPULATE_WRITE) != 0)
    lg_populate_off = 1;
}

static void lg_lock_records_populate(uint32_t id) {
  uint32_t c = id >> LG_NODE_CHUNK_SHIFT, i = id & (LG_CHUNK_LOCKS - 1);
  uint32_t n = ((i | (LG_ID_WINDOW - 1)) + 1) - i; /* up to the end of the window */
  lg_populate(atomic_load_explicit(&lg_lock_chunks[c], memory_order_relaxed) + i, n * sizeof(lg_lock_t));
  lg_populate(lg_aux_chunks[c] + i, n * sizeof(lg_lock_aux_t));
  lg_populate((void *)(atomic_load_explicit(&lg_hot_chunks[c], memory_order_relaxed) + i),
              n * sizeof(uint64_t));
}

static uint32_t lg_lock_id_alloc(void) {
  uint32_t id = lg_free_head;
  if (id != 0) {
    lg_free_head = lg_aux_at(id)->free_next;
    return id;
  }
  id = lg_next_id;
  if (id == UINT32_MAX) {
    lg_warn_once(&lg_warned_ids, "lock table full (%u locks); new locks are not tracked", id);
    return 0;
  }
  uint32_t c = id >> LG_NODE_CHUNK_SHIFT;
  if (atomic_load_explicit(&lg_lock_chunks[c], memory_order_relaxed) == NULL) {
    lg_lock_t *chunk = lg_map_zero(sizeof(lg_lock_t) * LG_CHUNK_LOCKS);
    lg_lock_aux_t *aux = chunk ? lg_map_zero(sizeof(lg_lock_aux_t) * LG_CHUNK_LOCKS) : NULL;
    _Atomic uint64_t *hot = aux ? lg_map_zero(sizeof(uint64_t) * LG_CHUNK_LOCKS) : NULL;
    if (hot == NULL) {
      if (aux != NULL)
        munmap(aux, sizeof(lg_lock_aux_t) * LG_CHUNK_LOCKS);
      if (chunk != NULL)
        munmap(chunk, sizeof(lg_lock_t) * LG_CHUNK_LOCKS);
      lg_warn_once(&lg_warned_mem, "out of memory for lock records; new locks are not tracked");
      return 0;
    }
    lg_aux_chunks[c] = aux;
    atomic_store_explicit(&lg_hot_chunks[c], hot, memory_order_release);
    atomic_store_explicit(&lg_lock_chunks[c], chunk, memory_order_release);
  }
  if ((id & (LG_ID_WINDOW - 1)) == 0)
    lg_lock_records_populate(id);
  lg_next_id = id + 1;
  return id;
}

/* The slot that holds addr's node, or NULL (then the overflow map is used). */
static _Atomic uint64_t *lg_slot_of(uintptr_t addr, int create) {
  _Atomic uint64_t *r = lg_region_get(addr, create);
  return r ? &r[(addr >> LG_GRANULE_SHIFT) & (LG_REGION_SLOTS - 1)] : NULL;
}

/* Current (id, ver) of the lock at addr, 0 when none; `slot` is lg_slot_of(addr, ...), looked
 * up once by the caller. Under lg_rt.mu. */
static uint64_t lg_lock_find_locked(uintptr_t addr, _Atomic uint64_t *slot) {
  uint64_t v = slot ? atomic_load_explicit(slot, memory_order_relaxed) & ~LG_SLOT_SPECIAL : 0;
  if (v != 0 && atomic_load_explicit(&lg_lock_at((uint32_t)v)->addr, memory_order_relaxed) == addr)
    return v;
  lg_addr_slot_t *o = lg_overflow_find(addr);
  return o ? o->val : 0;
}

static void lg_edge_remove(lg_edge_t *e);

/* Ends the instance (id, ver): its edges go, its id is free again. Under lg_rt.mu. */
static void lg_lock_kill(uint64_t v, uintptr_t addr, _Atomic uint64_t *slot) {
  uint32_t id = (uint32_t)v;
  lg_lock_t *n = lg_lock_at(id);
  lg_lock_aux_t *x = lg_aux_at(id);
  while (x->out.n)
    lg_edge_remove(x->out.v[x->out.n - 1]);
  while (x->in.n)
    lg_edge_remove(x->in.v[x->in.n - 1]);
  if (x->out.v != x->out.inl)
    lg_mem_free(x->out.v, x->out.cap * sizeof(lg_edge_t *));
  if (x->in.v != x->in.inl)
    lg_mem_free(x->in.v, x->in.cap * sizeof(lg_edge_t *));
  memset(&x->out, 0, sizeof x->out);
  memset(&x->in, 0, sizeof x->in);
  for (int k = 0; k < LG_LOCK_KEYS; k++)
    atomic_store_explicit(&n->keys[k], 0, memory_order_relaxed);
  atomic_store_explicit(lg_lock_hot(id), 0, memory_order_relaxed);
  if (lg_rt.graph)
    lg_graph_remove_node(lg_rt.graph, id);
  uint32_t nver = (atomic_load_explicit(&n->ver, memory_order_relaxed) + 1) & LG_VER_MASK;
  atomic_store_explicit(&n->ver, nver ? nver : 1, memory_order_release);
  atomic_store_explicit(&n->addr, 0, memory_order_relaxed);
  x->free_next = lg_free_head;
  lg_free_head = id;
  if (slot && (atomic_load_explicit(slot, memory_order_relaxed) & ~LG_SLOT_SPECIAL) == v)
    atomic_store_explicit(slot, 0, memory_order_release);
  lg_addr_slot_t *o = lg_overflow_find(addr);
  if (o && o->val == v)
    o->val = 0;
}

/* Finds or creates the node of the lock at addr. Under lg_rt.mu. Returns its slot value
 * (lg_slot_value, no special bits), 0 when the tables cannot grow. */
static uint64_t lg_lock_get_locked(uintptr_t addr, uint8_t kind, _Atomic uint64_t *slot) {
  uint64_t v = lg_lock_find_locked(addr, slot);
  if (v != 0) {
    if (lg_lock_at((uint32_t)v)->kind == kind)
      return v;
    lg_lock_kill(v, addr, slot); /* the memory now holds another kind of lock: a new instance */
  }
  uint32_t id = lg_lock_id_alloc();
  if (id == 0)
    return 0;
  lg_lock_t *n = lg_lock_at(id);
  uint32_t ver = (atomic_load_explicit(&n->ver, memory_order_relaxed) + 1) & LG_VER_MASK;
  if (ver == 0)
    ver = 1;
  n->kind = kind;
  atomic_store_explicit(&n->flags, 0, memory_order_relaxed);
  n->reported = 0;
  atomic_store_explicit(&n->first_pc, 0, memory_order_relaxed);
  atomic_store_explicit(&n->addr, addr, memory_order_relaxed);
  atomic_store_explicit(&n->ver, ver, memory_order_release);
  v = lg_slot_value(id, ver, kind);
  lg_lock_instances++;
  if (slot != NULL && atomic_load_explicit(slot, memory_order_relaxed) == 0) {
    atomic_store_explicit(slot, v, memory_order_release);
  } else if (slot != NULL && lg_overflow_put(addr, v) == 0) {
    /* Two locks in one granule: both go the slow way from now on. */
    atomic_fetch_or_explicit(slot, LG_SLOT_SHARED, memory_order_release);
  } else if (slot != NULL || lg_overflow_put(addr, v) != 0) {
    lg_warn_once(&lg_warned_mem, "out of memory for lock records; new locks are not tracked");
    lg_lock_kill(v, addr, slot);
    return 0;
  }
  return v;
}

uint64_t lg_lock_current_locked(uintptr_t addr) {
  return lg_lock_find_locked(addr, lg_slot_of(addr, 0));
}

uint64_t lg_lock_retire(uintptr_t addr) {
  /* Most inits are of memory never seen as a lock: an empty slot (and no lock living in the
   * overflow map) needs no detector lock. */
  _Atomic uint64_t *region = lg_region_get(addr, 0);
  if (atomic_load_explicit(&lg_overflow_live, memory_order_relaxed) == 0 &&
      (region == NULL ||
       atomic_load_explicit(&region[(addr >> LG_GRANULE_SHIFT) & (LG_REGION_SLOTS - 1)],
                            memory_order_acquire) == 0))
    return 0;
  lg_thread_t *t = lg_tls_self;
  int was = t ? lg_guard_enter(t) : 0;
  lg_rt_lock();
  _Atomic uint64_t *slot =
      region ? &region[(addr >> LG_GRANULE_SHIFT) & (LG_REGION_SLOTS - 1)] : lg_slot_of(addr, 0);
  uint64_t v = lg_lock_find_locked(addr, slot);
  if (v != 0)
    lg_lock_kill(v, addr, slot);
  lg_rt_unlock();
  if (t)
    lg_guard_leave(t, was);
  return v;
}

void lg_locks_mark_orphan(uint32_t id, uint32_t ver) {
  lg_lock_t *n = lg_lock_at(id);
  if (atomic_load_explicit(&n->ver, memory_order_relaxed) != ver)
    return;
  atomic_fetch_or_explicit(&n->flags, LG_NODE_ORPHAN, memory_order_relaxed);
  uintptr_t addr = atomic_load_explicit(&n->addr, memory_order_relaxed);
  _Atomic uint64_t *slot = lg_slot_of(addr, 0);
  if (slot && (atomic_load_explicit(slot, memory_order_relaxed) & ~LG_SLOT_SPECIAL) ==
                  lg_slot_value(id, ver, n->kind))
    atomic_fetch_or_explicit(slot, LG_SLOT_ORPHAN, memory_order_relaxed);
}

size_t lg_locks_count(void) {
  return lg_lock_instances;
}

size_t lg_edges_count(void) {
  return (size_t)lg_edge_seq; /* every edge ever learned, also those of destroyed locks */
}

/* ---- edges ---- */

static uint64_t lg_edge_key(uint32_t from, uint32_t to) {
  return (uint64_t)from << 32 | to;
}

static size_t lg_edge_home(uint64_t key, size_t mask) {
  uint64_t x = key;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return (size_t)x & mask;
}

static lg_edge_t *lg_edge_find(uint32_t from, uint32_t to) {
  /* A lock just learned has no edge in: no need for a probe of the table (a cache miss once
   * it is large). */
  if (lg_edges_cap == 0 || lg_aux_at(to)->in.n == 0 || lg_aux_at(from)->out.n == 0)
    return NULL;
  uint64_t key = lg_edge_key(from, to);
  size_t mask = lg_edges_cap - 1;
  for (size_t i = lg_edge_home(key, mask); lg_edges[i].e != NULL; i = (i + 1) & mask)
    if (lg_edges[i].key == key)
      return lg_edges[i].e;
  return NULL;
}

static int lg_edge_table_reserve(void) {
  if ((lg_edges_used + 1) * 2 <= lg_edges_cap)
    return 0;
  size_t ncap = lg_edges_cap ? lg_edges_cap * 2 : 1024;
  lg_edge_slot_t *n = lg_mem_alloc(ncap * sizeof(*n));
  if (n == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < lg_edges_cap; i++) {
    if (lg_edges[i].e == NULL)
      continue;
    size_t j = lg_edge_home(lg_edges[i].key, ncap - 1);
    while (n[j].e != NULL)
      j = (j + 1) & (ncap - 1);
    n[j] = lg_edges[i];
  }
  lg_mem_free(lg_edges, lg_edges_cap * sizeof(*n));
  lg_edges = n;
  lg_edges_cap = ncap;
  return 0;
}

/* Linear probing with backward-shift deletion: no tombstones to age the table. */
static void lg_edge_table_erase(uint64_t key) {
  size_t mask = lg_edges_cap - 1, i = lg_edge_home(key, mask);
  while (lg_edges[i].e != NULL && lg_edges[i].key != key)
    i = (i + 1) & mask;
  if (lg_edges[i].e == NULL)
    return;
  size_t j = i;
  for (;;) {
    lg_edges[i].e = NULL;
    for (;;) {
      j = (j + 1) & mask;
      if (lg_edges[j].e == NULL) {
        lg_edges_used--;
        return;
      }
      size_t home = lg_edge_home(lg_edges[j].key, mask);
      /* j may move to i when its home is not cyclically in (i, j]. */
      if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
        break;
    }
    lg_edges[i] = lg_edges[j];
    i = j;
  }
}

static int lg_edge_vec_push(lg_edge_vec_t *v, lg_edge_t *e) {
  if (v->v == NULL) {
    v->v = v->inl;
    v->cap = LG_EDGE_VEC_INLINE;
  }
  if (v->n == v->cap) {
    uint32_t ncap = v->cap * 2;
    lg_edge_t **p;
    if (v->v == v->inl) {
      p = lg_mem_alloc(ncap * sizeof(*p));
      if (p != NULL)
        memcpy(p, v->inl, v->n * sizeof(*p));
    } else {
      p = lg_mem_realloc(v->v, v->cap * sizeof(*p), ncap * sizeof(*p));
    }
    if (p == NULL)
      return -ENOMEM;
    v->v = p;
    v->cap = ncap;
  }
  v->v[v->n++] = e;
  return 0;
}

static void lg_edge_vec_drop(lg_edge_vec_t *v, lg_edge_t *e) {
  for (uint32_t i = 0; i < v->n; i++) {
    if (v->v[i] == e) {
      v->v[i] = v->v[--v->n];
      return;
    }
  }
}

static void lg_pending_drop_at(size_t i) {
  lg_pending_t *p = lg_pending[i];
  for (uint32_t j = 0; j < p->k; j++)
    p->e[j]->pending_refs--;
  lg_mem_free(p, sizeof(*p) + p->k * sizeof(p->e[0]));
  lg_pending[i] = lg_pending[--lg_npending];
}

static void lg_edge_remove(lg_edge_t *e) {
  if (e->pending_refs) {
    for (size_t i = 0; i < lg_npending;) {
      int has = 0;
      for (uint32_t j = 0; j < lg_pending[i]->k; j++)
        has |= lg_pending[i]->e[j] == e;
      if (has)
        lg_pending_drop_at(i);
      else
        i++;
    }
  }
  lg_edge_vec_drop(&lg_aux_at(e->from)->out, e);
  lg_edge_vec_drop(&lg_aux_at(e->to)->in, e);
  lg_edge_table_erase(lg_edge_key(e->from, e->to));
  lg_stack_unref(e->held);
  lg_stack_unref(e->acq);
  if (e->segs != e->seg_inline)
    lg_mem_free(e->segs, e->capseg * sizeof(e->segs[0]));
  lg_mem_free(e, sizeof(*e));
  lg_edge_records--;
}

static lg_edge_t *lg_edge_new(uint32_t from, uint32_t to) {
  if (lg_edge_table_reserve() != 0)
    return NULL;
  lg_edge_t *e = lg_mem_alloc(sizeof(*e));
  if (e == NULL)
    return NULL;
  if (lg_edge_vec_push(&lg_aux_at(from)->out, e) != 0) {
    lg_mem_free(e, sizeof(*e));
    return NULL;
  }
  if (lg_edge_vec_push(&lg_aux_at(to)->in, e) != 0) {
    lg_edge_vec_drop(&lg_aux_at(from)->out, e);
    lg_mem_free(e, sizeof(*e));
    return NULL;
  }
  e->from = from;
  e->to = to;
  e->seq = ++lg_edge_seq;
  e->segs = e->seg_inline;
  e->capseg = LG_SEG_INLINE;
  uint64_t key = lg_edge_key(from, to);
  size_t mask = lg_edges_cap - 1, i = lg_edge_home(key, mask);
  while (lg_edges[i].e != NULL)
    i = (i + 1) & mask;
  lg_edges[i].key = key;
  lg_edges[i].e = e;
  lg_edges_used++;
  lg_edge_records++;
  return e;
}

/* Folds one more occurrence into the edge; returns nonzero when anything the cycle filters
 * look at changed. */
static int lg_edge_observe(lg_edge_t *e, const uint64_t *others, uint32_t nothers, int strong,
                           lg_segment_t *seg) {
  int changed = 0;
  if (strong && !e->strong) {
    e->strong = 1;
    changed = 1;
  }
  uint8_t k = 0;
  for (uint8_t i = 0; i < e->ngate; i++) {
    int keep = 0;
    for (uint32_t j = 0; j < nothers && !keep; j++)
      keep = e->gate[i] == others[j];
    if (keep)
      e->gate[k++] = e->gate[i];
  }
  if (k != e->ngate) {
    e->ngate = k;
    changed = 1;
  }
  if (!e->seg_overflow && seg != NULL) {
    int seen = 0;
    for (uint32_t i = e->nseg; i-- > 0 && !seen;)
      seen = e->segs[i] == seg;
    if (!seen) {
      if (e->nseg == e->capseg && e->capseg < LG_SEG_MAX) {
        uint32_t ncap = e->capseg * 2;
        lg_segment_t **p = lg_mem_alloc(ncap * sizeof(*p));
        if (p != NULL) {
          memcpy(p, e->segs, e->nseg * sizeof(*p));
          if (e->segs != e->seg_inline)
            lg_mem_free(e->segs, e->capseg * sizeof(*p));
          e->segs = p;
          e->capseg = ncap;
        }
      }
      if (e->nseg < e->capseg)
        e->segs[e->nseg++] = seg;
      else
        e->seg_overflow = 1;
      changed = 1;
    }
  }
  return changed;
}

/* ---- cycles ---- */

enum { LG_VERDICT_REPORT = 0, LG_VERDICT_READ_ONLY, LG_VERDICT_GATED, LG_VERDICT_ORDERED };

/* Every occurrence of a happens before every occurrence of b. */
static int lg_edges_ordered(const lg_edge_t *a, const lg_edge_t *b) {
  if (a->seg_overflow || b->seg_overflow || a->nseg == 0 || b->nseg == 0)
    return 0;
  for (uint32_t i = 0; i < a->nseg; i++)
    for (uint32_t j = 0; j < b->nseg; j++)
      if (a->segs[i] == b->segs[j] || !lg_hb_before(a->segs[i], b->segs[j]))
        return 0;
  return 1;
}

static int lg_cycle_verdict(lg_edge_t *const *e, uint32_t k) {
  int strong = 0;
  for (uint32_t i = 0; i < k; i++)
    strong |= e[i]->strong;
  if (!strong)
    return LG_VERDICT_READ_ONLY;
  for (uint8_t g = 0; g < e[0]->ngate; g++) {
    int common = 1;
    for (uint32_t i = 1; i < k && common; i++) {
      int has = 0;
      for (uint8_t j = 0; j < e[i]->ngate && !has; j++)
        has = e[i]->gate[j] == e[0]->gate[g];
      common = has;
    }
    if (common)
      return LG_VERDICT_GATED;
  }
  for (uint32_t i = 0; i < k; i++)
    for (uint32_t j = 0; j < k; j++)
      if (i != j && lg_edges_ordered(e[i], e[j]))
        return LG_VERDICT_ORDERED;
  return LG_VERDICT_REPORT;
}

/* A report list built under the lock, emitted after it is dropped. */
typedef struct lg_report_list {
  lg_report_t *r[16];
  uint32_t n;
} lg_report_list_t;

static void lg_report_list_add(lg_report_list_t *l, lg_report_t *r) {
  if (l->n < sizeof(l->r) / sizeof(l->r[0]))
    l->r[l->n++] = r;
  else
    lg_report_free(r); /* one slow path closing more than 16 cycles: the rest wait for later */
}

/* The report of a cycle, starting at its oldest edge; NULL when the same code locations were
 * reported before (a cycle of new instances of the same locks is not a new finding). */
static lg_report_t *lg_cycle_report(lg_edge_t *const *e, uint32_t k) {
  uint32_t first = 0;
  for (uint32_t i = 1; i < k; i++)
    if (e[i]->seq < e[first]->seq)
      first = i;
  uint64_t sig = 0;
  for (uint32_t i = 0; i < k; i++) {
    uint64_t h = (e[i]->held && e[i]->held->n ? e[i]->held->pc[0] : e[i]->from) * 31 +
                 (e[i]->acq && e[i]->acq->n ? e[i]->acq->pc[0] : e[i]->to);
    sig += lg_chain_mix(h, k, 0, 0); /* order-free sum: rotation does not matter */
  }
  for (size_t i = 0; i < lg_nsig; i++)
    if (lg_signatures[i] == sig)
      return NULL;
  if (lg_nsig == lg_cap_sig) {
    size_t ncap = lg_cap_sig ? lg_cap_sig * 2 : 16;
    uint64_t *p = lg_mem_realloc(lg_signatures, lg_cap_sig * sizeof(*p), ncap * sizeof(*p));
    if (p != NULL) {
      lg_signatures = p;
      lg_cap_sig = ncap;
    }
  }
  if (lg_nsig < lg_cap_sig)
    lg_signatures[lg_nsig++] = sig;

  lg_report_t *r = lg_report_new(LG_REPORT_POTENTIAL);
  if (r == NULL)
    return NULL;
  r->edges = lg_mem_alloc(k * sizeof(lg_redge_t));
  if (r->edges == NULL) {
    lg_report_free(r);
    return NULL;
  }
  for (uint32_t i = 0; i < k; i++) {
    const lg_edge_t *x = e[(first + i) % k];
    lg_lock_t *n = lg_lock_at(x->from);
    lg_report_add_lock(r, x->from, atomic_load_explicit(&n->ver, memory_order_relaxed),
                       atomic_load_explicit(&n->addr, memory_order_relaxed), n->kind,
                       atomic_load_explicit(&n->first_pc, memory_order_relaxed));
  }
  for (uint32_t i = 0; i < k; i++) {
    const lg_edge_t *x = e[(first + i) % k];
    r->cycle[i] = i;
    lg_redge_t *re = &r->edges[i];
    re->from = i;
    re->to = (i + 1) % k;
    re->tid = x->tid;
    re->from_mode = x->from_mode;
    re->to_mode = x->to_mode;
    re->held = lg_stack_dup(x->held);
    re->acq = lg_stack_dup(x->acq);
  }
  r->cycle[k] = 0;
  r->ncycle = k + 1;
  r->nedges = k;
  return r;
}

/* A cycle found by the graph or re-examined: report it, or keep it pending. */
static void lg_cycle_consider(lg_edge_t *const *e, uint32_t k, lg_report_list_t *out) {
  if (lg_cycle_verdict(e, k) == LG_VERDICT_REPORT) {
    lg_report_t *r = lg_cycle_report(e, k);
    if (r != NULL)
      lg_report_list_add(out, r);
    return;
  }
  if (lg_npending == lg_cap_pending) {
    size_t ncap = lg_cap_pending ? lg_cap_pending * 2 : 16;
    lg_pending_t **p = lg_mem_realloc(lg_pending, lg_cap_pending * sizeof(*p), ncap * sizeof(*p));
    if (p == NULL)
      return;
    lg_pending = p;
    lg_cap_pending = ncap;
  }
  lg_pending_t *p = lg_mem_alloc(sizeof(*p) + k * sizeof(p->e[0]));
  if (p == NULL)
    return;
  p->k = k;
  for (uint32_t i = 0; i < k; i++) {
    p->e[i] = e[i];
    e[i]->pending_refs++;
  }
  lg_pending[lg_npending++] = p;
}

/* An edge of some pending cycles changed: any of them may now be a deadlock. */
static void lg_pending_recheck(const lg_edge_t *changed, lg_report_list_t *out) {
  for (size_t i = 0; i < lg_npending;) {
    lg_pending_t *p = lg_pending[i];
    int has = 0;
    for (uint32_t j = 0; j < p->k && !has; j++)
      has = p->e[j] == changed;
    if (has && lg_cycle_verdict(p->e, p->k) == LG_VERDICT_REPORT) {
      lg_report_t *r = lg_cycle_report(p->e, p->k);
      if (r != NULL)
        lg_report_list_add(out, r);
      lg_pending_drop_at(i);
      continue;
    }
    i++;
  }
}

/* The new edge from -> to closed a cycle; path is to -> ... -> from. */
static void lg_cycle_found(lg_edge_t *closing, const lg_node_t *path, size_t len,
                           lg_report_list_t *out) {
  static lg_edge_t *e[LG_STACK_MAX]; /* under lg_rt.mu, and off the program's stack */
  if (len + 1 > LG_STACK_MAX) {
    lg_warn_once(&lg_warned_long, "a lock-order cycle of %zu locks is too long to report", len);
    return;
  }
  uint32_t k = 0;
  e[k++] = closing;
  for (size_t i = 0; i + 1 < len; i++) {
    lg_edge_t *x = lg_edge_find(path[i], path[i + 1]);
    if (x == NULL)
      return; /* the graph and the edge table disagree: nothing sound to say */
    e[k++] = x;
  }
  lg_cycle_consider(e, k, out);
}

/* ---- stacks for an edge ---- */

static lg_stack_t *lg_stack_of_frames(const lg_frame_pcsp_t *f, int n) {
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
static lg_stack_t *lg_stack_of_held(const lg_held_t *h, uintptr_t cfa, const lg_frame_pcsp_t *f,
                                    int n, int intern) {
  static uintptr_t pcs[LG_STACK_MAX]; /* under lg_rt.mu, off the program's stack */
  int k = 0;
  pcs[k++] = h->pc;
  if (h->up[0] != 0) {
    /* The frame-pointer walk made at the acquisition is the truth while it lasts; the frames
     * beyond it are the current ones that were already there (stack pointer beyond it). */
    int j = 0;
    for (; j < LG_HELD_UP && h->up[j] != 0 && k < (int)lg_rt.opt.stack_depth; j++)
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
  lg_scache_entry_t *e = &t->scache[(pc ^ (pc >> 9)) % LG_SCACHE_WAYS];
  e->pc = pc;
  e->cfa = cfa;
  e->n = n;
  memcpy(e->f, f, (size_t)n * sizeof(*f));
}

/* Captures for the slow path: from the thread's cache of call sites when the same chain of
 * calls is on the stack, else with libunwind. Stack pointers (the slower unwind) are needed
 * when some held lock was taken in another frame than this acquisition, and to cache a stack;
 * a call site is cached the second time it misses, so a one-off site costs what it did. */
static int lg_capture_for(lg_thread_t *t, uintptr_t pc, uintptr_t cfa, lg_frame_pcsp_t *f) {
  if (f == NULL)
    return 0;
  const lg_scache_entry_t *e = lg_scache_find(t, pc, cfa);
  if (e != NULL) {
    memcpy(f, e->f, (size_t)e->n * sizeof(*f));
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

/* ---- the slow path ---- */

/* The thread's buffer of captured frames; NULL when it cannot be allocated (lg_capture_for
 * then captures nothing: the edges are learnt without stacks). */
static lg_frame_pcsp_t *lg_thread_frames(lg_thread_t *t) {
  if (t->frames == NULL)
    t->frames = lg_mem_alloc(LG_STACK_MAX * sizeof(lg_frame_pcsp_t));
  return t->frames;
}

/* A chain key processed into lock n (id): in the lock's hot word (the last key), its own small
 * set (first free, else a slot chosen by the key) and the thread's set. Under lg_rt.mu. */
static void lg_chain_remember(lg_thread_t *t, uint32_t id, lg_lock_t *n, uint64_t key) {
  int slot = -1;
  for (int k = 0; k < LG_LOCK_KEYS && slot < 0; k++)
    if (atomic_load_explicit(&n->keys[k], memory_order_relaxed) == 0)
      slot = k;
  if (slot < 0)
    slot = (int)((key >> 40) % LG_LOCK_KEYS);
  atomic_store_explicit(&n->keys[slot], key, memory_order_relaxed);
  atomic_store_explicit(lg_lock_hot(id), key, memory_order_relaxed);
  lg_thread_cache_insert(t, key);
}

static int lg_mutex_type(uintptr_t addr) {
  return ((pthread_mutex_t *)addr)->__data.__kind & 3; /* glibc's PTHREAD_MUTEX_KIND_MASK_NP */
}

/* glibc records the owner's kernel tid in every mutex it locks and clears it on unlock. */
static int lg_mutex_owned_by(uintptr_t addr, pid_t ktid) {
  return ((pthread_mutex_t *)addr)->__data.__owner == ktid;
}

/* A self-deadlock report for the held entry h relocked here. Under lg_rt.mu. */
static lg_report_t *lg_self_report(lg_thread_t *t, const lg_held_t *h, uint32_t id, uint32_t ver,
                                   uintptr_t cfa, const lg_frame_pcsp_t *f, int nf, int ends_run) {
  lg_report_t *r = lg_report_new(LG_REPORT_SELF);
  if (r == NULL)
    return NULL;
  lg_lock_t *n = lg_lock_at(id);
  lg_report_add_lock(r, id, ver, atomic_load_explicit(&n->addr, memory_order_relaxed), n->kind,
                     atomic_load_explicit(&n->first_pc, memory_order_relaxed));
  r->tid = t->tid;
  r->ends_run = ends_run;
  r->errorcheck = !ends_run && n->kind == LG_KIND_MUTEX;
  r->held_stack = h ? lg_stack_of_held(h, cfa, f, nf, 0) : NULL;
  r->acq_stack = lg_stack_of_frames(f, nf);
  return r;
}

int lg_lock_slow(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode, int acq,
                 uintptr_t pc, uintptr_t cfa, lg_acq_t *a) {
  int saved_errno = errno;
  int was = lg_guard_enter(t);
  /* This runs on the program's thread, whose stack may be PTHREAD_STACK_MIN: the big buffers
   * live elsewhere (the frames per thread, the cycle path under lg_rt.mu). */
  lg_frame_pcsp_t *frames = lg_thread_frames(t);
  int nframes = -1;
  lg_report_list_t reports;
  reports.n = 0; /* not the whole array: this runs for every new edge */
  int result = LG_PRE_OK;
  static lg_node_t path[LG_STACK_MAX]; /* under lg_rt.mu */

  /* A lock never seen, taken while others are held, brings new edges for certain: capture
   * their stack now rather than find out under the lock, drop it and come back. */
  if (t->depth > 0 && acq != LG_ACQ_TRY) {
    _Atomic uint64_t *slot = lg_slot_of(addr, 0);
    if (slot == NULL || atomic_load_explicit(slot, memory_order_acquire) == 0)
      nframes = lg_capture_for(t, pc, cfa, frames);
  }

  /* An rwlock or spinlock used after its destroy (a destroyed mutex fails with EINVAL). */
  lg_misuse_acquire_slow(t, addr, kind, pc);

retry:
  lg_rt_lock();
  /* Locks another thread released for this one are not held any more. */
  if (LG_UNLIKELY(atomic_load_explicit(&t->nforeign, memory_order_relaxed) != 0))
    lg_misuse_drain_locked(t);
  /* The slot is looked up (its region created) once per pass; everything below uses it. */
  _Atomic uint64_t *slot = lg_slot_of(addr, 1);
  uint64_t v = lg_lock_get_locked(addr, kind, slot);
  if (v == 0) {
    lg_rt_unlock();
    result = LG_PRE_UNTRACKED;
    goto out;
  }
  uint32_t id = (uint32_t)v, ver = (uint32_t)(v >> 32) & LG_VER_MASK;
  lg_lock_t *n = lg_lock_at(id);
  if (atomic_load_explicit(&n->first_pc, memory_order_relaxed) == 0)
    atomic_store_explicit(&n->first_pc, pc, memory_order_relaxed);
  /* Keep the thread's region cache warm for the next acquisition nearby. */
  if (slot != NULL) {
    t->region_key = addr >> LG_REGION_SHIFT;
    t->region_slots = slot - ((addr >> LG_GRANULE_SHIFT) & (LG_REGION_SLOTS - 1));
  }
  uint32_t d = t->depth;
  a->id = id;
  a->ver = ver;
  a->key = lg_chain_mix(d ? t->held[d - 1].key : t->seed, id, ver, mode);

  if ((atomic_load_explicit(&n->flags, memory_order_relaxed) & LG_NODE_ORPHAN) &&
      acq == LG_ACQ_BLOCKING) {
    if (nframes < 0) {
      lg_rt_unlock();
      nframes = lg_capture_for(t, pc, cfa, frames);
      goto retry;
    }
    lg_report_t *r = lg_self_report(t, NULL, id, ver, cfa, frames, nframes, 1);
    if (r != NULL)
      r->type = LG_REPORT_FORK;
    lg_rt_unlock();
    if (r != NULL)
      lg_report_emit(r); /* ends the run */
    goto out;
  }
  if (acq == LG_ACQ_TRY || d == 0) {
    lg_rt_unlock();
    goto out;
  }

  /* Retaking a lock this thread holds. */
  int relock = -1;
  for (uint32_t i = d; i-- > 0;)
    if (t->held[i].id == id && t->held[i].ver == ver) {
      relock = (int)i;
      break;
    }
  if (relock >= 0) {
    const lg_held_t *h = &t->held[relock];
    int outcome; /* 0 harmless, 1 the real call fails with EDEADLK, 2 the real call hangs */
    if (kind == LG_KIND_MUTEX) {
      int type = lg_mutex_type(addr);
      outcome = type == PTHREAD_MUTEX_RECURSIVE ? 0 : type == PTHREAD_MUTEX_ERRORCHECK ? 1 : 2;
      if (outcome == 2 && acq == LG_ACQ_TIMED)
        outcome = 0; /* it succeeded, so it was not ours after all */
    } else if (kind == LG_KIND_RWLOCK) {
      outcome = (h->mode == LG_MODE_READ && mode == LG_MODE_READ) ? 0
                : h->mode == LG_MODE_WRITE                          ? 1
                                                                    : 2;
    } else {
      outcome = 2;
    }
    if (outcome == 2 && kind == LG_KIND_MUTEX && !lg_mutex_owned_by(addr, t->ktid)) {
      /* Another thread unlocked it for us (undefined by POSIX, but glibc allows it and programs
       * use a mutex as a handoff that way): the entry is stale, not a relock. */
      lg_held_pop_slow(t, addr);
      lg_rt_unlock();
      goto retry;
    }
    if (outcome == 2 && kind == LG_KIND_MUTEX &&
        (atomic_load_explicit(&n->flags, memory_order_relaxed) & LG_NODE_HANDOFF)) {
      /* A mutex the program hands off between threads (a bad unlock, reported): its locker
       * may be waiting for the next hand-off, not forever. The watchdog ends a wait that
       * never ends. Nothing is remembered, so the next relock is judged again. */
      lg_rt_unlock();
      goto out;
    }
    if (outcome == 0) {
      lg_chain_remember(t, id, n, a->key);
      lg_rt_unlock();
      goto out;
    }
    if (outcome == 1) {
      lg_rt_unlock();
      result = LG_PRE_ERRCHECK_RELOCK;
      goto out;
    }
    if (nframes < 0) {
      lg_rt_unlock();
      nframes = lg_capture_for(t, pc, cfa, frames);
      goto retry;
    }
    lg_report_t *r = lg_self_report(t, h, id, ver, cfa, frames, nframes, 1);
    lg_rt_unlock();
    if (r != NULL)
      lg_report_emit(r); /* ends the run */
    goto out;
  }

  /* Are any of the edges new? Their stacks must be captured outside the lock. */
  if (nframes < 0) {
    uint32_t stamp = ++lg_stamp;
    int need = 0;
    for (uint32_t i = 0; i < d && !need; i++) {
      lg_lock_aux_t *hn = lg_aux_at(t->held[i].id);
      if (t->held[i].id == id || hn->stamp == stamp)
        continue;
      hn->stamp = stamp;
      need = lg_edge_find(t->held[i].id, id) == NULL;
    }
    if (need) {
      lg_rt_unlock();
      nframes = lg_capture_for(t, pc, cfa, frames);
      goto retry;
    }
  }

  uint32_t stamp = ++lg_stamp;
  for (uint32_t i = 0; i < d; i++) {
    const lg_held_t *h = &t->held[i];
    lg_lock_aux_t *hx = lg_aux_at(h->id);
    if (h->id == id || hx->stamp == stamp)
      continue;
    hx->stamp = stamp;
    if (atomic_load_explicit(&lg_lock_at(h->id)->ver, memory_order_relaxed) != h->ver)
      continue; /* destroyed while held */

    /* The other locks held at this occurrence: candidates for a gate. */
    uint64_t others[LG_GATE_MAX];
    uint32_t nothers = 0;
    for (uint32_t j = 0; j < d && nothers < LG_GATE_MAX; j++) {
      const lg_held_t *o = &t->held[j];
      if (o->id == h->id || o->id == id)
        continue;
      uint64_t g = (uint64_t)o->ver << 32 | o->id;
      int dup = 0;
      for (uint32_t x = 0; x < nothers && !dup; x++)
        dup = others[x] == g;
      if (!dup)
        others[nothers++] = g;
    }
    int strong = !(h->kind == LG_KIND_RWLOCK && kind == LG_KIND_RWLOCK &&
                   h->mode == LG_MODE_READ && mode == LG_MODE_READ);

    lg_edge_t *e = lg_edge_find(h->id, id);
    if (e != NULL && e->pending_refs && nframes < 0) {
      /* This occurrence may be the one that turns a pending cycle into a report: its stacks
       * are the ones to show. */
      lg_rt_unlock();
      nframes = lg_capture_for(t, pc, cfa, frames);
      goto retry;
    }
    if (e == NULL) {
      e = lg_edge_new(h->id, id);
      if (e == NULL) {
        lg_warn_once(&lg_warned_mem, "out of memory for lock-order edges; some are not tracked");
        continue;
      }
      e->tid = t->tid;
      e->from_mode = h->mode;
      e->to_mode = mode;
      e->strong = (uint8_t)strong;
      e->ngate = (uint8_t)nothers;
      memcpy(e->gate, others, nothers * sizeof(others[0]));
      if (t->seg != NULL)
        e->segs[e->nseg++] = t->seg;
      if (nframes > 0) {
        e->held = lg_stack_of_held(h, cfa, frames, nframes, 1);
        e->acq = lg_edge_stack_of_frames(frames, nframes);
      }
      size_t len = 0;
      int rc = lg_graph_add_edge(lg_rt.graph, h->id, id, path, LG_STACK_MAX, &len);
      if (rc == LG_GRAPH_CYCLE)
        lg_cycle_found(e, path, len, &reports);
      else if (rc < 0)
        lg_warn_once(&lg_warned_mem, "out of memory in the lock-order graph; some edges are not checked");
    } else if (lg_edge_observe(e, others, nothers, strong, t->seg) && e->pending_refs) {
      if (nframes > 0) {
        lg_stack_t *held = lg_stack_of_held(h, cfa, frames, nframes, 1);
        lg_stack_t *taken = lg_edge_stack_of_frames(frames, nframes);
        if (held != NULL && taken != NULL) {
          lg_stack_unref(e->held);
          lg_stack_unref(e->acq);
          e->held = held;
          e->acq = taken;
          e->tid = t->tid;
          e->from_mode = h->mode;
          e->to_mode = mode;
        } else {
          lg_stack_unref(held);
          lg_stack_unref(taken);
        }
      }
      lg_pending_recheck(e, &reports);
    }
  }
  lg_chain_remember(t, id, n, a->key);
  lg_rt_unlock();

out:
  for (uint32_t i = 0; i < reports.n; i++)
    lg_report_emit(reports.r[i]);
  lg_guard_leave(t, was);
  errno = saved_errno;
  return result;
}

void lg_lock_report_errcheck(lg_thread_t *t, uintptr_t addr, uint32_t id, uint32_t ver,
                             uintptr_t pc, uintptr_t cfa) {
  int saved_errno = errno;
  int was = lg_guard_enter(t);
  lg_frame_pcsp_t *frames = lg_thread_frames(t);
  int nframes = lg_capture_for(t, pc, cfa, frames);
  lg_report_t *r = NULL;
  lg_rt_lock();
  lg_lock_t *n = lg_lock_at(id);
  if (atomic_load_explicit(&n->ver, memory_order_relaxed) == ver &&
      atomic_load_explicit(&n->addr, memory_order_relaxed) == addr && !n->reported) {
    const lg_held_t *h = NULL;
    for (uint32_t i = t->depth; i-- > 0 && h == NULL;)
      if (t->held[i].id == id && t->held[i].ver == ver)
        h = &t->held[i];
    if (h != NULL) {
      n->reported = 1;
      r = lg_self_report(t, h, id, ver, cfa, frames, nframes, 0);
    }
  }
  lg_rt_unlock();
  if (r != NULL)
    lg_report_emit(r);
  lg_guard_leave(t, was);
  errno = saved_errno;
}

void lg_held_remove_at(lg_thread_t *t, uint32_t i) {
  uint32_t d = t->depth;
  /* Out-of-order release: close the gap and recompute the chain keys above it. */
  for (uint32_t j = i; j + 1 < d; j++)
    t->held[j] = t->held[j + 1];
  for (uint32_t j = i; j + 1 < d; j++) {
    lg_held_t *h = &t->held[j];
    h->key = lg_chain_mix(j ? t->held[j - 1].key : t->seed, h->id, h->ver, h->mode);
  }
  t->depth = d - 1;
}

int lg_held_pop_slow(lg_thread_t *t, uintptr_t addr) {
  for (uint32_t i = t->depth; i-- > 0;) {
    if (t->held[i].addr == addr) {
      lg_held_remove_at(t, i);
      return 1;
    }
  }
  return 0;
}
