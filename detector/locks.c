/* locks.c - lock identity, held stacks, and the slow path that builds the lock-order graph.
 * The edges themselves (their table, records, occurrences and interned stacks) are edges.c's
 * (edges.h); judging and searching cycles is cycles.c's (cycles.h); capturing the stacks the
 * slow path shows, through the thread's cache of call sites, is capture.c's (capture.h).
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
 * held lock to the new one and records on each edge this occurrence (hb segment, modes, the
 * other locks held) unless the edge has it already. A new occurrence can close cycles only
 * once the graph has refused some edge (before that it is acyclic); then every simple cycle
 * through its edge is searched over all edges, refused ones included, and judged with this
 * occurrence fixed and one occurrence chosen per other edge: a potential deadlock when the
 * choice can be in progress at once (no read request against a read hold, no lock held by two
 * of them unless both read it, no two ordered by create/join). Every combination is judged
 * when its last occurrence arrives, so nothing needs re-examining later. A reportable cycle
 * is reported once per set of locks; cycles over locks already reported are counted.
 *
 * New locks and new edges are the slow path's common case (a lock per request, taken under a
 * long-lived one, then destroyed), so they are made cheap: an edge into a lock that has never
 * had an edge out stays out of the graph's order until that lock takes one (lg_graph_learn),
 * an edge between two call sites already seen reuses its stacks (capture.c), released
 * edge records and stacks wait in small bounded pools for the next edge, and every edge knows
 * its place in its locks' vectors, so a destroy costs O(the lock's edges).
 *
 * The slow path (its own section below) is a driver, lg_lock_slow, the one place lg_rt.mu is
 * taken and dropped and a stack captured; each pass under the lock (lg_slow_pass_locked) runs
 * the judgements in turn (relock, stacks needed, edges learned), each returning what to do next.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "capture.h"
#include "cycles.h"
#include "edges.h"
#include "leaf.h"
#include "lockgraph.h"
#include "mem.h"
#include "misuse.h"
#include "visit.h"

#define LG_CHUNK_LOCKS (1u << LG_NODE_CHUNK_SHIFT)
#define LG_TOP_BITS 15 /* address bits 32..46 */
#define LG_MID_BITS (32 - LG_REGION_SHIFT)

lg_lock_t *_Atomic lg_lock_chunks[1u << (32 - LG_NODE_CHUNK_SHIFT)];
_Atomic uint64_t *_Atomic lg_hot_chunks[1u << (32 - LG_NODE_CHUNK_SHIFT)];
lg_lock_aux_t *lg_aux_chunks[1u << (32 - LG_NODE_CHUNK_SHIFT)]; /* under lg_rt.mu */

static _Atomic(_Atomic(lg_region_t *) *) lg_top[1u << LG_TOP_BITS]; /* -> mid arrays -> regions */

/* Everything below is under lg_rt.mu. */
static uint32_t lg_next_id = 1;   /* ids start at 1: a zero slot is empty */
static uint32_t lg_free_head;     /* free list of ids */
static _Atomic size_t lg_lock_instances; /* every instance ever seen (leaf.c adds without the lock) */

typedef struct lg_addr_slot {
  uintptr_t addr;
  uint64_t val;
} lg_addr_slot_t;
static lg_addr_slot_t *lg_overflow; /* locks that share a granule with another lock */
static size_t lg_overflow_cap, lg_overflow_used;
static _Atomic size_t lg_overflow_live; /* entries ever put there (read without the lock) */

static int lg_warned_ids;

/* ---- shadow regions ---- */

static void *lg_map_zero(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* The region's directory; creates the region when `create` (under lg_rt.mu). */
static lg_region_t *lg_region_get(uintptr_t addr, int create) {
  if (addr >> (32 + LG_TOP_BITS))
    return NULL; /* beyond 47-bit user space: the overflow map handles it */
  uintptr_t top = addr >> 32, mid = (addr >> LG_REGION_SHIFT) & ((1u << LG_MID_BITS) - 1);
  _Atomic(lg_region_t *) *m = atomic_load_explicit(&lg_top[top], memory_order_acquire);
  if (m == NULL) {
    if (!create)
      return NULL;
    m = lg_map_zero(sizeof(*m) << LG_MID_BITS);
    if (m == NULL)
      return NULL;
    atomic_store_explicit(&lg_top[top], m, memory_order_release);
  }
  lg_region_t *r = atomic_load_explicit(&m[mid], memory_order_acquire);
  if (r == NULL && create) {
    r = lg_map_zero(sizeof(lg_region_t) * LG_REGION_BLOCKS);
    if (r != NULL)
      atomic_store_explicit(&m[mid], r, memory_order_release);
  }
  return r;
}

lg_region_t *lg_region_find(lg_thread_t *t, uintptr_t addr) {
  lg_region_t *r = lg_region_get(addr, 0);
  if (r != NULL) {
    t->region_key = addr >> LG_REGION_SHIFT;
    t->region_dir = r;
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

uint32_t lg_lock_id_alloc(void) {
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

uint32_t lg_lock_record_begin(uint32_t id, uint8_t kind, uintptr_t addr, uintptr_t first_pc,
                              uint8_t leaf) {
  lg_lock_t *n = lg_lock_at(id);
  lg_lock_aux_t *x = lg_aux_at(id);
  uint32_t ver = (atomic_load_explicit(&n->ver, memory_order_relaxed) + 1) & LG_VER_MASK;
  if (ver == 0)
    ver = 1;
  n->kind = kind;
  n->reported = 0;
  n->wpref = kind == LG_KIND_RWLOCK && ((const pthread_rwlock_t *)addr)->__data.__flags ==
                                          PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
  atomic_store_explicit(&n->flags, 0, memory_order_relaxed);
  atomic_store_explicit(&n->first_pc, first_pc, memory_order_relaxed);
  atomic_store_explicit(&n->addr, addr, memory_order_relaxed);
  x->big = 0;
  atomic_store_explicit(&x->leaf, leaf, memory_order_relaxed);
  atomic_store_explicit(&n->ver, ver, memory_order_release); /* last: the record is whole */
  return ver;
}

void lg_lock_record_end(uint32_t id) {
  lg_lock_t *n = lg_lock_at(id);
  atomic_store_explicit(&n->prev_key, 0, memory_order_relaxed);
  atomic_store_explicit(lg_lock_hot(id), 0, memory_order_relaxed);
  atomic_store_explicit(&lg_aux_at(id)->leaf, 0, memory_order_relaxed);
  lg_aux_at(id)->big = 0;
  uint32_t nver = (atomic_load_explicit(&n->ver, memory_order_relaxed) + 1) & LG_VER_MASK;
  atomic_store_explicit(&n->ver, nver ? nver : 1, memory_order_release);
  atomic_store_explicit(&n->addr, 0, memory_order_relaxed);
}

void lg_lock_id_free_locked(uint32_t id) {
  lg_aux_at(id)->free_next = lg_free_head;
  lg_free_head = id;
}

/* Blocks of slots are never freed (their region lives as long as the process). Each thread
 * cuts the blocks it makes from arenas of its own, one after another, so the blocks of
 * neighbouring locks made in turn sit next to each other rather than between other records
 * of their size (a walk over many locks reads them in order); an arena starts small, for a
 * thread that makes few, and doubles up to LG_BLOCK_ARENA_MAX. What an exiting thread leaves
 * of its arena is not reused: at most what it used, plus LG_BLOCK_ARENA_MIN. A block is
 * published with a compare-and-swap on its directory word, so any thread may make one
 * (leaf.c does, without the detector lock); the loser keeps its block for its next. */
#define LG_BLOCK_BYTES (sizeof(uint64_t) * LG_BLOCK_SLOTS)
#define LG_BLOCK_ARENA_MIN ((size_t)512)
#define LG_BLOCK_ARENA_MAX ((size_t)64 << 10)

/* The slot of addr in region r, whose block was not made when the caller looked: makes it,
 * or takes the one another thread made meanwhile. NULL without memory. */
static __attribute__((noinline)) _Atomic uint64_t *lg_region_slot_make(lg_thread_t *t,
                                                                      lg_region_t *r,
                                                                      uintptr_t addr) {
  size_t slot = (addr >> LG_GRANULE_SHIFT) & (LG_BLOCK_SLOTS - 1);
  if ((size_t)(t->block_end - t->block_next) < LG_BLOCK_BYTES) {
    size_t size = t->block_arena < LG_BLOCK_ARENA_MIN ? LG_BLOCK_ARENA_MIN : t->block_arena;
    char *arena = lg_mem_alloc(size);
    if (arena == NULL)
      return NULL;
    t->block_next = arena;
    t->block_end = arena + size;
    t->block_arena = size < LG_BLOCK_ARENA_MAX ? 2 * size : size;
  }
  _Atomic uint64_t *b = (_Atomic uint64_t *)(void *)t->block_next, *cur = NULL;
  lg_region_t *word = &r[(addr >> LG_BLOCK_SHIFT) & (LG_REGION_BLOCKS - 1)];
  if (!atomic_compare_exchange_strong_explicit(word, &cur, b, memory_order_release,
                                               memory_order_acquire))
    return &cur[slot];
  t->block_next += LG_BLOCK_BYTES;
  return &b[slot];
}

/* What a slot lookup may make when it is missing: nothing, the block (any thread), or the
 * region and the block (under lg_rt.mu). */
enum { LG_SLOT_FIND = 0, LG_SLOT_BLOCK = 1, LG_SLOT_REGION = 2 };

/* The slot of addr in region r, its block made when missing unless make is LG_SLOT_FIND. */
LG_INLINE _Atomic uint64_t *lg_region_slot_get(lg_thread_t *t, lg_region_t *r, uintptr_t addr,
                                               int make) {
  _Atomic uint64_t *slot = lg_region_slot(r, addr);
  return slot != NULL || make == LG_SLOT_FIND ? slot : lg_region_slot_make(t, r, addr);
}

/* The slot that holds addr's node, or NULL (then the overflow map is used, or no lock has
 * lived in its block's span). make: LG_SLOT_*, with t the thread that makes a block. */
static _Atomic uint64_t *lg_slot_of(lg_thread_t *t, uintptr_t addr, int make) {
  lg_region_t *r = lg_region_get(addr, make == LG_SLOT_REGION);
  return r != NULL ? lg_region_slot_get(t, r, addr, make) : NULL;
}

/* lg_slot_of through the thread's cached region (regions are never unmapped): the slow path
 * mostly runs for locks next to the last one the thread took. Always inlined: the slow path
 * looks a slot up on every pass, and this test is most of what the lookup costs. */
LG_INLINE _Atomic uint64_t *lg_slot_cached(lg_thread_t *t, uintptr_t addr, int make) {
  if ((addr >> LG_REGION_SHIFT) == t->region_key)
    return lg_region_slot_get(t, t->region_dir, addr, make);
  return lg_slot_of(t, addr, make);
}

int lg_locks_overflow_any(void) {
  return atomic_load_explicit(&lg_overflow_live, memory_order_relaxed) != 0;
}

_Atomic uint64_t *lg_slot_lookup(lg_thread_t *t, uintptr_t addr) {
  return lg_slot_cached(t, addr, LG_SLOT_BLOCK);
}

/* Current (id, ver) of the lock at addr, 0 when none; `slot` is lg_slot_of(.., addr, ..), looked
 * up once by the caller. Under lg_rt.mu. */
static uint64_t lg_lock_find_locked(uintptr_t addr, _Atomic uint64_t *slot) {
  uint64_t v = slot ? atomic_load_explicit(slot, memory_order_relaxed) & ~LG_SLOT_SPECIAL : 0;
  if (v != 0 && atomic_load_explicit(&lg_lock_at((uint32_t)v)->addr, memory_order_relaxed) == addr)
    return v;
  lg_addr_slot_t *o = lg_overflow_find(addr);
  return o ? o->val : 0;
}

/* Ends the instance (id, ver): its edges go, its id is free again. Under lg_rt.mu. */
static void lg_lock_kill(uint64_t v, uintptr_t addr, _Atomic uint64_t *slot) {
  uint32_t id = (uint32_t)v;
  lg_lock_aux_t *x = lg_aux_at(id);
  if (atomic_load_explicit(&x->leaf, memory_order_relaxed))
    lg_leaf_drop_edges_locked(id); /* its edges are in `in` only */
  lg_edges_remove_all(&x->out, 1);
  lg_edges_remove_all(&x->in, 0);
  if (lg_rt.graph)
    lg_graph_remove_node(lg_rt.graph, id);
  lg_lock_record_end(id);
  lg_lock_id_free_locked(id);
  if (slot != NULL) { /* only if it still names this instance (special bits kept otherwise) */
    uint64_t cur = atomic_load_explicit(slot, memory_order_relaxed);
    if ((cur & ~LG_SLOT_SPECIAL) == v)
      atomic_compare_exchange_strong_explicit(slot, &cur, 0, memory_order_release,
                                              memory_order_relaxed);
  }
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
  uint32_t ver = lg_lock_record_begin(id, kind, addr, 0, 0);
  v = lg_slot_value(id, ver, kind);
  uint64_t seen = 0; /* leaf.c installs slots without the lock: compare and swap here too */
  if (slot != NULL && !atomic_compare_exchange_strong_explicit(slot, &seen, v, memory_order_release,
                                                               memory_order_relaxed) &&
      (seen & LG_SLOT_SPECIAL) == 0 && (uint8_t)(seen >> 56) == kind &&
      atomic_load_explicit(&lg_lock_at((uint32_t)seen)->addr, memory_order_relaxed) == addr) {
    /* Another thread's first acquisition of this very lock made it a leaf meanwhile: that is
     * the lock (a second record for the address would give it two identities). */
    lg_lock_record_end(id);
    lg_lock_id_free_locked(id);
    return seen;
  }
  lg_lock_instances++;
  if (slot != NULL && seen == 0) {
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
  return lg_lock_find_locked(addr, lg_slot_of(NULL, addr, LG_SLOT_FIND));
}

uint64_t lg_lock_retire(uintptr_t addr) {
  /* Most inits are of memory never seen as a lock: an empty slot (and no lock living in the
   * overflow map) needs no detector lock. The thread's cached region is the usual hit. */
  lg_thread_t *t = lg_tls_self;
  /* From the first look at the thread's region cache: a signal handler locking meanwhile must
   * not move it between its two fields (see lg_own_begin). */
  int was = t ? lg_guard_enter(t) : 0;
  _Atomic uint64_t *slot = t != NULL ? lg_slot_cached(t, addr, LG_SLOT_FIND)
                                      : lg_slot_of(NULL, addr, LG_SLOT_FIND);
  if (atomic_load_explicit(&lg_overflow_live, memory_order_relaxed) == 0 &&
      (slot == NULL || atomic_load_explicit(slot, memory_order_acquire) == 0)) {
    if (t)
      lg_guard_leave(t, was);
    return 0;
  }
  if (t != NULL && !was && slot != NULL &&
      atomic_load_explicit(&lg_overflow_live, memory_order_relaxed) == 0) {
    uint64_t s = atomic_load_explicit(slot, memory_order_acquire);
    if ((s & LG_SLOT_SPECIAL) == 0 && lg_leaf_retire(t, addr, slot, s)) {
      lg_guard_leave(t, was);
      return s;
    }
  }
  lg_rt_lock();
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
  _Atomic uint64_t *slot = lg_slot_of(NULL, addr, LG_SLOT_FIND);
  if (slot && (atomic_load_explicit(slot, memory_order_relaxed) & ~LG_SLOT_SPECIAL) ==
                  lg_slot_value(id, ver, n->kind))
    atomic_fetch_or_explicit(slot, LG_SLOT_ORPHAN, memory_order_relaxed);
}

int lg_lock_lookup(uintptr_t addr, uint32_t *id, uint32_t *ver) {
  uint64_t v = lg_lock_find_locked(addr, lg_slot_of(NULL, addr, LG_SLOT_FIND));
  if (v == 0)
    return 0;
  *id = (uint32_t)v;
  *ver = (uint32_t)(v >> 32) & LG_VER_MASK;
  return 1;
}

void lg_locks_clear_orphan(uint32_t id, uint32_t ver) {
  lg_lock_t *n = lg_lock_at(id);
  if (atomic_load_explicit(&n->ver, memory_order_relaxed) != ver)
    return;
  atomic_fetch_and_explicit(&n->flags, (uint8_t)~LG_NODE_ORPHAN, memory_order_relaxed);
  _Atomic uint64_t *slot =
      lg_slot_of(NULL, atomic_load_explicit(&n->addr, memory_order_relaxed), LG_SLOT_FIND);
  if (slot != NULL && (uint32_t)atomic_load_explicit(slot, memory_order_relaxed) == id)
    atomic_fetch_and_explicit(slot, ~LG_SLOT_ORPHAN, memory_order_relaxed);
}

void lg_locks_after_fork_child(void) {
  lg_leaf_after_fork_child(lg_next_id);
}

size_t lg_locks_count(int live) {
  return lg_lock_instances + lg_leaf_made(live, 0);
}

void lg_lock_publish_locked(uint32_t id) {
  lg_lock_aux_t *x = lg_aux_at(id);
  lg_leaf_spin_lock(x);
  if (!atomic_load_explicit(&x->leaf, memory_order_relaxed)) {
    lg_leaf_spin_unlock(x);
    return;
  }
  uint32_t k = 0, n = lg_edge_vec_len(&x->in);
  for (uint32_t i = 0; i < n; i++) {
    lg_edge_t *e = lg_edge_vec_items(&x->in)[i];
    if (atomic_load_explicit(&lg_lock_at(e->from)->ver, memory_order_relaxed) != e->from_ver) {
      lg_edge_free_locked(e); /* its holder lock was destroyed since */
      continue;
    }
    if (lg_edge_adopt_locked(e) != 0) {
      lg_warn_once(&lg_warned_mem, "out of memory for lock-order edges; some are not tracked");
      lg_edge_free_locked(e);
      continue;
    }
    e->in_pos = k;
    lg_edge_vec_items(&x->in)[k++] = e;
  }
  lg_edge_vec_truncate(&x->in, k);
  atomic_store_explicit(&x->leaf, 0, memory_order_relaxed);
  lg_leaf_spin_unlock(x);
  /* Each holder has an edge out now; the leaf has none, so these edges wait outside the order
   * (lg_graph_learn) and none can close a cycle. */
  for (uint32_t i = 0; i < k; i++)
    (void)lg_graph_learn(lg_edge_vec_items(&x->in)[i]);
}

/* ---- the slow path ---- */

/* A chain key processed into lock n (id): in the lock's hot word (the last key), the key it
 * replaces in the lock's prev_key, and in the thread's set. Two threads writing the lock's
 * words at once (leaf.c runs without the lock) may lose a key: they are only a cache. */
void lg_chain_remember(lg_thread_t *t, uint32_t id, lg_lock_t *n, uint64_t key) {
  _Atomic uint64_t *hot = lg_lock_hot(id);
  uint64_t last = atomic_load_explicit(hot, memory_order_relaxed);
  if (last != key) {
    if (last != 0)
      atomic_store_explicit(&n->prev_key, last, memory_order_relaxed);
    atomic_store_explicit(hot, key, memory_order_relaxed);
  }
  if (t != NULL)
    lg_thread_cache_insert(t, key);
}

static int lg_mutex_type(uintptr_t addr) {
  return ((pthread_mutex_t *)addr)->__data.__kind & 3; /* glibc's PTHREAD_MUTEX_KIND_MASK_NP */
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

/* The slow path, laid out as a driver and the steps it runs. lg_lock_slow alone takes and
 * drops lg_rt.mu; each step below runs under it, decides, and says what the driver does next.
 * A step that wants this acquisition's stack asks for it rather than capture under the lock:
 * the driver drops the lock, captures, retakes it and runs the pass again from the start, since
 * anything may have changed meanwhile. */
typedef enum {
  LG_SLOW_ON,    /* go on to the next step, lg_rt.mu still held */
  LG_SLOW_DONE,  /* drop lg_rt.mu and finish (emitting the report that ends the run, if any) */
  LG_SLOW_STACK, /* drop lg_rt.mu, capture this acquisition's stack, start the pass over */
  LG_SLOW_AGAIN, /* drop lg_rt.mu and start the pass over (the thread's held locks changed) */
} lg_slow_step_t;

/* One acquisition on the slow path: the call as lg_lock_slow was given it, and the stack
 * captured for it so far. */
typedef struct lg_slow {
  lg_thread_t *t;
  uintptr_t addr, pc, cfa;
  uint8_t kind, mode;
  int acq;
  lg_acq_t *a;             /* id, ver and chain key, filled in by each pass */
  lg_frame_pcsp_t *frames; /* the thread's buffer; NULL when it cannot be allocated */
  int nframes;             /* -1: not captured yet */
  uint32_t gen; /* nonzero: the frames are the thread's cached capture of that generation */
} lg_slow_t;

/* Captures this acquisition's stack, outside lg_rt.mu. gen goes through a local so that s
 * never escapes and the compiler can keep its fields in registers. */
static void lg_slow_capture(lg_slow_t *s) {
  uint32_t gen;
  s->nframes = lg_capture_for(s->t, s->pc, s->cfa, s->frames, &gen);
  s->gen = gen;
}

/* What the real call does when this thread takes again a lock it holds (held in held_mode):
 * 0 harmless (a recursive mutex, a second read hold, or a timed lock that succeeded so it was
 * not ours), 1 it fails with EDEADLK (an errorcheck mutex, a write-held rwlock), 2 it hangs.
 * Reads only the mutex's own type: needs no lock. */
static int lg_relock_outcome(uintptr_t addr, uint8_t kind, uint8_t mode, uint8_t held_mode,
                             int acq) {
  if (kind == LG_KIND_MUTEX) {
    int type = lg_mutex_type(addr);
    int outcome = type == PTHREAD_MUTEX_RECURSIVE ? 0 : type == PTHREAD_MUTEX_ERRORCHECK ? 1 : 2;
    if (outcome == 2 && acq == LG_ACQ_TIMED)
      outcome = 0; /* it succeeded, so it was not ours after all */
    return outcome;
  }
  if (kind == LG_KIND_RWLOCK)
    return (held_mode == LG_MODE_READ && mode == LG_MODE_READ) ? 0
           : held_mode == LG_MODE_WRITE                         ? 1
                                                                : 2;
  return 2;
}

/* The relock judgement, under lg_rt.mu: LG_SLOW_ON when the thread does not hold this lock
 * already. Otherwise a harmless relock is remembered in the chain caches; one the real call
 * refuses with EDEADLK sets *result to LG_PRE_ERRCHECK_RELOCK; a mutex this thread's held
 * entry says it holds but glibc says it does not (another thread unlocked it: a hand-off) drops
 * the stale entry and starts the pass over; a hang on a mutex the program hands off between
 * threads is left to the watchdog; any other hang is a self-deadlock, put in *fatal (with
 * this acquisition's stack, so it asks for one first). */
static lg_slow_step_t lg_relock_judge_locked(lg_slow_t *s, lg_lock_t *n, int *result,
                                             lg_report_t **fatal) {
  lg_thread_t *t = s->t;
  uint32_t id = s->a->id, ver = s->a->ver;
  const lg_held_t *h = NULL;
  for (uint32_t i = t->depth; i-- > 0;)
    if (t->held[i].id == id && t->held[i].ver == ver) {
      h = &t->held[i];
      break;
    }
  if (h == NULL)
    return LG_SLOW_ON;
  int outcome = lg_relock_outcome(s->addr, s->kind, s->mode, h->mode, s->acq);
  if (outcome == 2 && s->kind == LG_KIND_MUTEX && !lg_mutex_owned_by(s->addr, t->ktid)) {
    /* Another thread unlocked it for us (undefined by POSIX, but glibc allows it and programs
     * use a mutex as a handoff that way): the entry is stale, not a relock. */
    lg_held_pop_slow(t, s->addr);
    return LG_SLOW_AGAIN;
  }
  if (outcome == 2 && s->kind == LG_KIND_MUTEX &&
      (atomic_load_explicit(&n->flags, memory_order_relaxed) & LG_NODE_HANDOFF)) {
    /* A mutex the program hands off between threads (a bad unlock, reported): its locker
     * may be waiting for the next hand-off, not forever. The watchdog ends a wait that
     * never ends. Nothing is remembered, so the next relock is judged again. */
    return LG_SLOW_DONE;
  }
  if (outcome == 0) {
    lg_chain_remember(t, id, n, s->a->key);
    return LG_SLOW_DONE;
  }
  if (outcome == 1) {
    *result = LG_PRE_ERRCHECK_RELOCK;
    return LG_SLOW_DONE;
  }
  if (s->nframes < 0)
    return LG_SLOW_STACK;
  *fatal = lg_self_report(t, h, id, ver, s->cfa, s->frames, s->nframes, 1);
  return LG_SLOW_DONE;
}

/* ---- each held lock once: a lock held twice (recursive, or read mode) gives one edge ---- */

#define LG_HELD_SCAN 16 /* up to this depth, earlier entries are compared directly */
static lg_visit_t lg_held_seen; /* deeper stacks: the ids met so far in this pass */

/* Starts a pass over t's held stack in which lg_held_first is asked of every entry, in order. */
static void lg_held_pass_begin(const lg_thread_t *t) {
  if (t->depth > LG_HELD_SCAN)
    lg_visit_begin(&lg_held_seen);
}

/* Whether held entry i is the first entry of its lock instance below it, by a scan. */
static inline int lg_held_first_scan(const lg_thread_t *t, uint32_t i) {
  uint32_t id = t->held[i].id, ver = t->held[i].ver;
  for (uint32_t j = 0; j < i; j++)
    if (t->held[j].id == id && t->held[j].ver == ver)
      return 0;
  return 1;
}

/* lg_held_first on a deep stack: through the set (the scan when it cannot grow, and for an id
 * met before with another version, which is rare). */
static __attribute__((noinline)) int lg_held_first_deep(const lg_thread_t *t, uint32_t i) {
  uint32_t ver = t->held[i].ver, *seen;
  int added;
  if ((seen = lg_visit_put(&lg_held_seen, t->held[i].id, &added)) != NULL) {
    if (added)
      *seen = ver; /* the set keeps the first version met */
    if (added || *seen == ver)
      return added;
  }
  return lg_held_first_scan(t, i);
}

/* Whether held entry i is its lock instance's first entry in the stack (none below it has its
 * id and version: an entry of an instance destroyed while held does not hide the instance that
 * reuses its id). */
static inline int lg_held_first(const lg_thread_t *t, uint32_t i) {
  return LG_LIKELY(t->depth <= LG_HELD_SCAN) ? lg_held_first_scan(t, i) : lg_held_first_deep(t, i);
}

/* Does learning this acquisition need its stack? Under lg_rt.mu, before any edge changes:
 * yes when some held lock has no edge to this one yet (a new edge always keeps stacks), or
 * when a known edge gets an occurrence it lacks and some cycle may run through it (only once
 * the graph has refused an edge), since only then can this occurrence be the one reported. */
static int lg_stacks_needed_locked(const lg_slow_t *s) {
  const lg_thread_t *t = s->t;
  uint32_t id = s->a->id, d = t->depth;
  int need = 0;
  lg_held_pass_begin(t);
  for (uint32_t i = 0; i < d && !need; i++) {
    const lg_held_t *h = &t->held[i];
    if (!lg_held_first(t, i) || h->id == id)
      continue;
    const lg_edge_t *e = lg_edge_find(h->id, id);
    if (e == NULL) {
      need = 1;
    } else if (lg_refused_live > 0) {
      int64_t bound;
      lg_occ_t o;
      lg_occ_of(t, h, id, s->mode, &o);
      need = !lg_edge_has_occ(e, &o) && lg_cycle_possible(h->id, id, &bound);
    }
  }
  return need;
}

/* Learns the edge from every lock the thread holds (once per lock, skipping those destroyed
 * while held) to this one, under lg_rt.mu: a new edge is created with this acquisition's
 * stacks (when captured) and offered to the graph's order (lg_graph_learn), which refuses an
 * edge that closes a cycle; a known edge gains this occurrence unless it has it already, with
 * stacks of its own. Every cycle the edge may close (a refused edge exists, or it is one) is
 * searched and each reportable one added to reports. Out of memory, an edge or an occurrence
 * is skipped with a warning. */
static void lg_edges_learn_locked(const lg_slow_t *s, lg_report_list_t *reports) {
  lg_thread_t *t = s->t;
  uint32_t id = s->a->id, d = t->depth;
  int nframes = s->nframes;
  lg_held_pass_begin(t);
  for (uint32_t i = 0; i < d; i++) {
    const lg_held_t *h = &t->held[i];
    if (!lg_held_first(t, i) || h->id == id)
      continue;
    if (atomic_load_explicit(&lg_lock_at(h->id)->ver, memory_order_relaxed) != h->ver)
      continue; /* destroyed while held */

    lg_occ_t o;
    lg_occ_of(t, h, id, s->mode, &o);
    lg_edge_t *e = lg_edge_find(h->id, id);
    int fresh = e == NULL;
    if (fresh) {
      e = lg_edge_new(h->id, id);
      if (e == NULL) {
        lg_warn_once(&lg_warned_mem, "out of memory for lock-order edges; some are not tracked");
        continue;
      }
      if (nframes > 0)
        lg_edge_stacks(t, h, s->cfa, s->frames, nframes, s->gen, &e->held, &e->acq);
    } else if (lg_edge_has_occ(e, &o)) {
      continue;
    }
    if (nframes > 0 && !fresh) /* a first occurrence shows the edge's own stacks */
      lg_edge_stacks(t, h, s->cfa, s->frames, nframes, s->gen, &o.hstack, &o.astack);
    if (lg_edge_add_occ(e, &o) != 0) {
      lg_occ_release(&o);
      lg_warn_once(&lg_warned_mem, "out of memory for lock-order edges; some are not tracked");
      continue;
    }
    int cycle = fresh && lg_graph_learn(e);
    /* Without a refused edge the graph is acyclic: no cycle runs through this order. */
    if (cycle || lg_refused_live > 0)
      lg_cycles_through(e, &o, reports); /* o as added (its stacks are the edge's now) */
  }
}

/* One pass of the slow path under lg_rt.mu, from the start each time the driver retries:
 * settles what was left pending for this thread, finds (or makes) the lock's node and fills in
 * *s->a, then runs the judgements in order: an abandoned lock this call would block on, a try
 * or outermost acquisition (nothing to learn), a relock, the stacks learning needs, and last
 * the edges themselves. */
static lg_slow_step_t lg_slow_pass_locked(lg_slow_t *s, int *result, lg_report_t **fatal,
                                          lg_report_list_t *reports) {
  lg_thread_t *t = s->t;
  lg_acq_t *a = s->a;
  /* Locks another thread released for this one are not held any more. */
  if (LG_UNLIKELY(atomic_load_explicit(&t->nforeign, memory_order_relaxed) != 0))
    lg_misuse_drain_locked(t);
  if (t->leaf.ndefer != 0)
    lg_leaf_flush_locked(t);
  /* The slot is looked up (its region created) once per pass; everything below uses it. */
  _Atomic uint64_t *slot = lg_slot_cached(t, s->addr, LG_SLOT_REGION);
  uint64_t v = lg_lock_get_locked(s->addr, s->kind, slot);
  if (v == 0) {
    *result = LG_PRE_UNTRACKED;
    return LG_SLOW_DONE;
  }
  uint32_t id = (uint32_t)v, ver = (uint32_t)(v >> 32) & LG_VER_MASK;
  lg_lock_t *n = lg_lock_at(id);
  if (atomic_load_explicit(&n->first_pc, memory_order_relaxed) == 0)
    atomic_store_explicit(&n->first_pc, s->pc, memory_order_relaxed);
  /* What follows works on the table and the graph: leaves it meets join them first. */
  if (atomic_load_explicit(&lg_aux_at(id)->leaf, memory_order_relaxed))
    lg_lock_publish_locked(id);
  for (uint32_t i = 0; i < t->depth; i++) {
    const lg_held_t *h = &t->held[i];
    if (atomic_load_explicit(&lg_aux_at(h->id)->leaf, memory_order_relaxed) &&
        atomic_load_explicit(&lg_lock_at(h->id)->ver, memory_order_relaxed) == h->ver)
      lg_lock_publish_locked(h->id);
  }
  /* Keep the thread's region cache warm for the next acquisition nearby. */
  if (slot != NULL)
    lg_region_remember(t, s->addr);
  uint32_t d = t->depth;
  a->id = id;
  a->ver = ver;
  a->key = lg_chain_mix(d ? t->held[d - 1].key : t->seed, id, ver, s->mode);

  if ((atomic_load_explicit(&n->flags, memory_order_relaxed) & LG_NODE_ORPHAN) &&
      s->acq == LG_ACQ_BLOCKING) {
    if (s->nframes < 0)
      return LG_SLOW_STACK;
    /* Held by a thread that is gone (fork, exit): reported when the call would block. */
    *fatal = lg_abandoned_blocking(t, id, ver, s->mode, lg_stack_of_frames(s->frames, s->nframes));
    if (*fatal != NULL)
      return LG_SLOW_DONE;
  }
  if (s->acq == LG_ACQ_TRY || d == 0)
    return LG_SLOW_DONE;
  lg_slow_step_t step = lg_relock_judge_locked(s, n, result, fatal);
  if (step != LG_SLOW_ON)
    return step;
  if (s->nframes < 0 && lg_stacks_needed_locked(s))
    return LG_SLOW_STACK;
  lg_edges_learn_locked(s, reports);
  lg_chain_remember(t, id, n, a->key);
  return LG_SLOW_DONE;
}

/* Emits the cycles one acquisition found, after lg_rt.mu is dropped: shortest first when it
 * closed several (stable: found order otherwise). */
static void lg_reports_emit_shortest_first(lg_report_list_t *reports) {
  for (uint32_t i = 1; i < reports->n; i++)
    for (uint32_t j = i; j > 0 && reports->r[j - 1]->nedges > reports->r[j]->nedges; j--) {
      lg_report_t *x = reports->r[j];
      reports->r[j] = reports->r[j - 1];
      reports->r[j - 1] = x;
    }
  for (uint32_t i = 0; i < reports->n; i++)
    lg_report_emit(reports->r[i]);
}

int lg_lock_slow(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode, int acq,
                 uintptr_t pc, uintptr_t cfa, lg_acq_t *a) {
  int saved_errno = errno;
  int was = lg_guard_enter(t);
  /* This runs on the program's thread, whose stack may be PTHREAD_STACK_MIN: the big buffers
   * live elsewhere (the frames per thread, the cycle path under lg_rt.mu). */
  lg_slow_t s = {.t = t, .addr = addr, .pc = pc, .cfa = cfa, .kind = kind, .mode = mode,
                 .acq = acq, .a = a, .frames = lg_thread_frames(t), .nframes = -1, .gen = 0};
  lg_report_list_t reports;
  reports.n = 0; /* not the whole array: this runs for every new edge */
  lg_report_t *fatal = NULL; /* a report that ends the run, emitted once the lock is dropped */
  int result = LG_PRE_OK;

  /* An rwlock or spinlock used after its destroy (a destroyed mutex fails with EINVAL). */
  lg_misuse_acquire_slow(t, addr, kind, pc);

  /* A leaf lock taken under published ones needs no detector lock (leaf.c). */
  if (lg_leaf_acquire(t, addr, kind, mode, acq, pc, cfa, a))
    goto out;

  /* A lock never seen, taken while others are held, brings new edges for certain: capture
   * their stack now rather than find out under the lock, drop it and come back. A known one
   * may bring a new edge from the lock held last: what learning it touches first starts
   * coming into the cache meanwhile. */
  if (t->depth > 0 && acq != LG_ACQ_TRY) {
    _Atomic uint64_t *slot = lg_slot_cached(t, addr, LG_SLOT_FIND);
    uint64_t v = slot != NULL ? atomic_load_explicit(slot, memory_order_acquire) : 0;
    if (v == 0)
      lg_slow_capture(&s);
    else if ((v & LG_SLOT_SPECIAL) == 0)
      lg_edge_prefetch(t->held[t->depth - 1].id, (uint32_t)v);
  }

  /* Passes under lg_rt.mu until one finishes; a pass that wants the stack gets it between. */
  for (;;) {
    lg_rt_lock();
    lg_slow_step_t step = lg_slow_pass_locked(&s, &result, &fatal, &reports);
    lg_rt_unlock();
    if (step == LG_SLOW_STACK)
      lg_slow_capture(&s);
    else if (step != LG_SLOW_AGAIN)
      break;
  }
  if (fatal != NULL)
    lg_report_emit(fatal); /* ends the run */

out:
  lg_reports_emit_shortest_first(&reports);
  lg_guard_leave(t, was);
  errno = saved_errno;
  return result;
}

void lg_lock_report_errcheck(lg_thread_t *t, uintptr_t addr, uint32_t id, uint32_t ver,
                             uintptr_t pc, uintptr_t cfa) {
  int saved_errno = errno;
  int was = lg_guard_enter(t);
  lg_frame_pcsp_t *frames = lg_thread_frames(t);
  uint32_t gen;
  int nframes = lg_capture_for(t, pc, cfa, frames, &gen);
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
