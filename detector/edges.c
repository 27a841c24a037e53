/* edges.c - the lock-order edges: the table, the records and their occurrences, the refused
 * edges and the interned stacks (edges.h states the contract: what is owned, under which lock).
 *
 * Finding an edge A -> B: when A has few edges out or B few edges in (fewer than
 * LG_EDGE_INDEX_DEGREE), by a scan of that short vector; only an edge between a lock with many
 * edges out and one with many edges in is looked up in the table, so only those are in it
 * (lg_edge_t.indexed). Most locks have an edge or two each way (a chain, a lock per object under
 * a few long-lived ones): their edges cost no table slot, and learning and forgetting them no
 * random access into a table that outgrows the cache. A lock's vector is marked big
 * (lg_lock_aux_t.big) once it reaches the degree, when every edge of it whose other end is big
 * the other way goes into the table, and stays big while the lock lives; so whenever both ends
 * of an edge are big, it is in the table. The table is keyed by from << 32 | to, with linear
 * probing and backward-shift deletion, at most half full, one 8-byte word per slot (see
 * lg_eslot_make). Adding an occurrence is O(the edge's occurrences), dead ones dropped each time
 * the array doubles; interning a stack is O(its frames). Memory is that of the live edges and
 * stacks plus bounded pools (LG_EDGE_POOL records, LG_INTERN_IDLE stacks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "edges.h"
#include "leaf.h"
#include "lockgraph.h"
#include "mem.h"

static _Atomic uint64_t lg_edge_seq; /* every edge ever learned (leaf.c adds without the lock) */

static uint64_t *lg_edges; /* slots: 0 free, else lg_eslot_make's word */
static size_t lg_edges_cap, lg_edges_used;

int lg_warned_mem; /* one out-of-memory warning for lock records and edges alike */

lg_edge_t **lg_refused;  /* edges the graph refused, still alive: cycles run through them */
size_t lg_refused_live;
static size_t lg_refused_cap;

/* The graph reads only locks it has placed, which have had an edge out: published, so their
 * vectors are lg_rt.mu's, never a leaf's. */
static uint32_t lg_edges_list(void *ctx, lg_node_t n, int dir, void *const **items) {
  (void)ctx;
  const lg_lock_aux_t *x = lg_aux_at(n);
  const lg_edge_vec_t *v = dir == LG_GRAPH_OUT ? &x->out : &x->in;
  *items = (void *const *)lg_edge_vec_items(v);
  return lg_edge_vec_len(v);
}

const lg_graph_adj_t lg_edges_view = {.list = lg_edges_list,
                                      .from_off = offsetof(lg_edge_t, from),
                                      .to_off = offsetof(lg_edge_t, to),
                                      .skip_off = offsetof(lg_edge_t, refused)};

void lg_refused_add(lg_edge_t *e) {
  e->refused = 1; /* out of the graph's order at once, whatever happens to the list */
  if (lg_refused_live == lg_refused_cap) {
    size_t ncap = lg_refused_cap ? lg_refused_cap * 2 : 16;
    lg_edge_t **p = lg_mem_realloc(lg_refused, lg_refused_cap * sizeof(*p), ncap * sizeof(*p));
    if (p == NULL) { /* cycles through this edge will not be searched */
      lg_warn_once(&lg_warned_mem, "out of memory in the lock-order graph; some edges are not checked");
      return;
    }
    lg_refused = p;
    lg_refused_cap = ncap;
  }
  lg_refused[lg_refused_live++] = e;
}

static void lg_refused_drop(lg_edge_t *e) {
  for (size_t i = 0; i < lg_refused_live; i++)
    if (lg_refused[i] == e) {
      lg_refused[i] = lg_refused[--lg_refused_live];
      return;
    }
}

/* Interned edge stacks: a loop that creates many edges from one line shares one stack. A stack
 * whose last edge goes is kept in a small ring of idle ones, still interned: a program that
 * creates and destroys locks from the same lines finds its stacks again instead of allocating
 * and freeing two per new edge. The ring is bounded, so memory stays that of the live edges
 * plus LG_INTERN_IDLE stacks. */
#define LG_INTERN_BUCKETS 4096
#define LG_INTERN_IDLE 256
static lg_stack_t *lg_interned[LG_INTERN_BUCKETS];
static lg_stack_t *lg_idle[LG_INTERN_IDLE];
static uint32_t lg_idle_next;

lg_stack_t *lg_stack_intern(const uintptr_t *pc, uint32_t n) {
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

static void lg_stack_drop(lg_stack_t *s) {
  for (lg_stack_t **p = &lg_interned[s->hash % LG_INTERN_BUCKETS]; *p != NULL; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  lg_stack_free(s);
}

void lg_stack_ref(lg_stack_t *s) {
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

/* refs is atomic because leaf.c takes and drops references without lg_rt.mu, but only ever
 * on a stack it holds a reference on and never down to zero: the count reaches zero here,
 * under the lock, or not at all. */
void lg_stack_unref(lg_stack_t *s) {
  if (s == NULL || (--s->refs & ~LG_STACK_IDLE) > 0 || (s->refs & LG_STACK_IDLE))
    return;
  /* Unreferenced: into the ring; the one it replaces goes unless it was found again. */
  lg_stack_t *old = lg_idle[lg_idle_next];
  lg_idle[lg_idle_next] = s;
  lg_idle_next = (lg_idle_next + 1) % LG_INTERN_IDLE;
  s->refs |= LG_STACK_IDLE;
  if (old != NULL && (atomic_fetch_and_explicit(&old->refs, ~LG_STACK_IDLE, memory_order_relaxed) &
                      ~LG_STACK_IDLE) == 0)
    lg_stack_drop(old);
}

size_t lg_edges_count(int live) {
  /* every edge ever learned, also those of destroyed locks */
  return (size_t)lg_edge_seq + lg_leaf_made(live, 1);
}

/* ---- edges ---- */

static uint64_t lg_edge_key(uint32_t from, uint32_t to) {
  return (uint64_t)from << 32 | to;
}

static uint64_t lg_edge_hash(uint64_t key) {
  uint64_t x = key;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/* A slot is one word: the record's address shifted right 6 in its low 42 bits (a record is a
 * 64-byte block of lg_mem, aligned to its size, at an address below 2^48), and the low 22 bits
 * of its key's hash above them. The hash bits place a slot at every table size up to 2^22
 * slots without reading the record (growth and deletion move slots to their homes) and tell
 * almost every other slot apart on a lookup, so only a match reads the record's key. Half the
 * memory of a slot holding the key and the pointer. */
#define LG_ESLOT_PTR_BITS 42
#define LG_ESLOT_HASH_MASK ((1ull << (64 - LG_ESLOT_PTR_BITS)) - 1)

/* Whether e can sit in a slot: always for lg_mem's records (checked, not assumed: an edge that
 * cannot is not tracked, as one without memory). */
static int lg_eslot_fits(const lg_edge_t *e) {
  return ((uintptr_t)e & 63) == 0 && ((uintptr_t)e >> (LG_ESLOT_PTR_BITS + 6)) == 0;
}

static uint64_t lg_eslot_make(const lg_edge_t *e) {
  return (uint64_t)(uintptr_t)e >> 6 |
         (lg_edge_hash(lg_edge_key(e->from, e->to)) & LG_ESLOT_HASH_MASK) << LG_ESLOT_PTR_BITS;
}

static lg_edge_t *lg_eslot_edge(uint64_t s) {
  return (lg_edge_t *)(uintptr_t)((s & ((1ull << LG_ESLOT_PTR_BITS) - 1)) << 6);
}

/* Where slot s belongs in a table of mask + 1 slots: from its hash bits, or, in a table of
 * more than 2^22 slots, from its record's key. */
static size_t lg_eslot_home(uint64_t s, size_t mask) {
  if ((mask & ~LG_ESLOT_HASH_MASK) == 0)
    return (size_t)(s >> LG_ESLOT_PTR_BITS) & mask;
  const lg_edge_t *e = lg_eslot_edge(s);
  return (size_t)lg_edge_hash(lg_edge_key(e->from, e->to)) & mask;
}

/* The edge of v (a short vector: not big) whose other end is `other`. */
static lg_edge_t *lg_edge_vec_find(const lg_edge_vec_t *v, int out, uint32_t other) {
  lg_edge_t *const *items = lg_edge_vec_items(v);
  for (uint32_t i = 0, n = lg_edge_vec_len(v); i < n; i++)
    if ((out ? items[i]->to : items[i]->from) == other)
      return items[i];
  return NULL;
}

lg_edge_t *lg_edge_find(uint32_t from, uint32_t to) {
  const lg_lock_aux_t *xf = lg_aux_at(from), *xt = lg_aux_at(to);
  /* A lock just learned has no edge in. */
  if (xt->in.w == 0 || xf->out.w == 0)
    return NULL;
  int small_out = !(xf->big & LG_BIG_OUT), small_in = !(xt->big & LG_BIG_IN);
  if (small_out && (!small_in || lg_edge_vec_len(&xf->out) <= lg_edge_vec_len(&xt->in)))
    return lg_edge_vec_find(&xf->out, 1, to);
  if (small_in)
    return lg_edge_vec_find(&xt->in, 0, from);
  if (lg_edges_cap == 0)
    return NULL;
  uint64_t h = lg_edge_hash(lg_edge_key(from, to)), tag = h & LG_ESLOT_HASH_MASK;
  size_t mask = lg_edges_cap - 1;
  for (size_t i = h & mask; lg_edges[i] != 0; i = (i + 1) & mask) {
    if ((lg_edges[i] >> LG_ESLOT_PTR_BITS) != tag)
      continue;
    lg_edge_t *e = lg_eslot_edge(lg_edges[i]);
    if (e->from == from && e->to == to)
      return e;
  }
  return NULL;
}

void lg_edge_prefetch(uint32_t from, uint32_t to) {
  const lg_lock_aux_t *xf = lg_aux_at(from), *xt = lg_aux_at(to);
  uintptr_t in = __atomic_load_n(&xt->in.w, __ATOMIC_RELAXED);
  if (in & 1)
    __builtin_prefetch((const void *)(in & ~(uintptr_t)1), 1);
  if ((__atomic_load_n(&xf->big, __ATOMIC_RELAXED) & LG_BIG_OUT) &&
      (__atomic_load_n(&xt->big, __ATOMIC_RELAXED) & LG_BIG_IN)) {
    uint64_t *tab = __atomic_load_n(&lg_edges, __ATOMIC_RELAXED);
    size_t cap = __atomic_load_n(&lg_edges_cap, __ATOMIC_RELAXED);
    if (cap != 0)
      __builtin_prefetch(&tab[lg_edge_hash(lg_edge_key(from, to)) & (cap - 1)], 1);
  }
}

/* Room for `more` edges in the table: 0 or -ENOMEM. */
static int lg_edge_table_reserve(size_t more) {
  if ((lg_edges_used + more) * 2 <= lg_edges_cap)
    return 0;
  size_t ncap = lg_edges_cap ? lg_edges_cap * 2 : 1024;
  while ((lg_edges_used + more) * 2 > ncap)
    ncap *= 2;
  uint64_t *n = lg_mem_alloc(ncap * sizeof(*n));
  if (n == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < lg_edges_cap; i++) {
    if (lg_edges[i] == 0)
      continue;
    size_t j = lg_eslot_home(lg_edges[i], ncap - 1);
    while (n[j] != 0)
      j = (j + 1) & (ncap - 1);
    n[j] = lg_edges[i];
  }
  lg_mem_free(lg_edges, lg_edges_cap * sizeof(*n));
  lg_edges = n;
  lg_edges_cap = ncap;
  return 0;
}

/* Linear probing with backward-shift deletion: no tombstones to age the table. */
static void lg_edge_table_erase(const lg_edge_t *e) {
  size_t mask = lg_edges_cap - 1, i = lg_edge_hash(lg_edge_key(e->from, e->to)) & mask;
  while (lg_edges[i] != 0 && lg_eslot_edge(lg_edges[i]) != e)
    i = (i + 1) & mask;
  if (lg_edges[i] == 0)
    return;
  size_t j = i;
  for (;;) {
    lg_edges[i] = 0;
    for (;;) {
      j = (j + 1) & mask;
      if (lg_edges[j] == 0) {
        lg_edges_used--;
        return;
      }
      size_t home = lg_eslot_home(lg_edges[j], mask);
      /* j may move to i when its home is not cyclically in (i, j]. */
      if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
        break;
    }
    lg_edges[i] = lg_edges[j];
    i = j;
  }
}

/* Enters e into the table (room reserved by lg_edge_table_reserve). */
static void lg_edge_table_put(lg_edge_t *e) {
  uint64_t s = lg_eslot_make(e);
  size_t mask = lg_edges_cap - 1, i = lg_eslot_home(s, mask);
  while (lg_edges[i] != 0)
    i = (i + 1) & mask;
  lg_edges[i] = s;
  lg_edges_used++;
}

static int lg_edge_both_big(uint32_t from, uint32_t to) {
  return (lg_aux_at(from)->big & LG_BIG_OUT) && (lg_aux_at(to)->big & LG_BIG_IN);
}

/* e into the table when both its ends are big (room reserved). */
static void lg_edge_index(lg_edge_t *e) {
  if (!e->indexed && lg_edge_both_big(e->from, e->to)) {
    lg_edge_table_put(e);
    e->indexed = 1;
  }
}

/* lg_edge_vec_grown's work once a vector has reached the degree: it is big from now on, and
 * those of its edges whose other end is big go into the table. Without memory for them it
 * stays small (found by a scan, still) and tries again at its next edge. */
static void lg_edge_vec_make_big(lg_lock_aux_t *x, const lg_edge_vec_t *v, uint8_t bit) {
  uint32_t n = lg_edge_vec_len(v);
  if (lg_edge_table_reserve(n) != 0)
    return;
  x->big |= bit;
  lg_edge_t *const *items = lg_edge_vec_items(v);
  for (uint32_t i = 0; i < n; i++)
    lg_edge_index(items[i]);
}

/* Lock id's vector out (or in) has grown: once it holds LG_EDGE_INDEX_DEGREE edges it is big.
 * A small vector's word is one edge or a block whose length is read from it. */
static inline void lg_edge_vec_grown(uint32_t id, int out) {
  lg_lock_aux_t *x = lg_aux_at(id);
  uint8_t bit = out ? LG_BIG_OUT : LG_BIG_IN;
  const lg_edge_vec_t *v = out ? &x->out : &x->in;
  if (!(x->big & bit) && (v->w & 1) && lg_edge_vec_block(v)->n >= LG_EDGE_INDEX_DEGREE)
    lg_edge_vec_make_big(x, v, bit);
}

int lg_edge_adopt_locked(lg_edge_t *e) {
  if (!lg_eslot_fits(e) || (lg_edge_both_big(e->from, e->to) && lg_edge_table_reserve(1) != 0) ||
      lg_edge_vec_push(&lg_aux_at(e->from)->out, e, &e->out_pos) != 0)
    return -ENOMEM;
  lg_edge_index(e);
  lg_edge_vec_grown(e->from, 1);
  return 0;
}

static size_t lg_edge_block_size(uint32_t cap) {
  return sizeof(lg_edge_block_t) + (size_t)cap * sizeof(lg_edge_t *);
}

/* Appends e to v and stores its index in *pos (the edge's out_pos or in_pos). */
int lg_edge_vec_push(lg_edge_vec_t *v, lg_edge_t *e, uint32_t *pos) {
  _Static_assert(_Alignof(lg_edge_t) >= 2, "an edge pointer leaves the vector's tag bit clear");
  if (v->w == 0) {
    v->w = (uintptr_t)e;
    *pos = 0;
    return 0;
  }
  lg_edge_block_t *b = lg_edge_vec_block(v);
  if (b == NULL || b->n == b->cap) {
    uint32_t cap = b == NULL ? 3 : b->cap * 2 + 1;
    lg_edge_block_t *nb;
    if (b == NULL) {
      nb = lg_mem_alloc(lg_edge_block_size(cap));
      if (nb != NULL) {
        nb->v[0] = (lg_edge_t *)v->w;
        nb->n = 1;
      }
    } else {
      nb = lg_mem_realloc(b, lg_edge_block_size(b->cap), lg_edge_block_size(cap));
    }
    if (nb == NULL)
      return -ENOMEM;
    nb->cap = cap;
    v->w = (uintptr_t)nb | 1;
    b = nb;
  }
  *pos = b->n;
  b->v[b->n++] = e;
  return 0;
}

void lg_edge_vec_free(lg_edge_vec_t *v) {
  lg_edge_block_t *b = lg_edge_vec_block(v);
  if (b != NULL)
    lg_mem_free(b, lg_edge_block_size(b->cap));
  v->w = 0;
}

void lg_edge_vec_truncate(lg_edge_vec_t *v, uint32_t n) {
  lg_edge_block_t *b = lg_edge_vec_block(v);
  if (n == 0)
    lg_edge_vec_free(v);
  else if (b != NULL)
    b->n = n;
}

/* Takes the last item off v (which has one). */
static lg_edge_t *lg_edge_vec_pop(lg_edge_vec_t *v) {
  lg_edge_block_t *b = lg_edge_vec_block(v);
  if (b == NULL) {
    lg_edge_t *e = (lg_edge_t *)v->w;
    v->w = 0;
    return e;
  }
  lg_edge_t *e = b->v[--b->n];
  if (b->n == 0)
    lg_edge_vec_free(v);
  return e;
}

/* Removal by the position the edge keeps in v, its `out` vector or its `in` one (no scan: a
 * lock with 100,000 edges is destroyed in O(its edges), not O(their square)); the last edge
 * fills the hole and learns its new place. */
static void lg_edge_vec_drop(lg_edge_vec_t *v, lg_edge_t *e, int out) {
  lg_edge_t **items = lg_edge_vec_items(v);
  lg_edge_t *last = lg_edge_vec_pop(v);
  if (last != e) {
    uint32_t pos = out ? e->out_pos : e->in_pos;
    items[pos] = last;
    *(out ? &last->out_pos : &last->in_pos) = pos;
  }
}

/* Edge records released by destroys wait here for the next new edge (a lock per request makes
 * and retires one per request), up to LG_EDGE_POOL of them; beyond that they are freed, so
 * memory stays that of the live edges plus the pool. Under lg_rt.mu. */
#define LG_EDGE_POOL 1024
static lg_edge_t *lg_edge_pool[LG_EDGE_POOL];
static uint32_t lg_edge_pool_n;

static lg_edge_t *lg_edge_record_alloc(void) {
  if (lg_edge_pool_n > 0) {
    lg_edge_t *e = lg_edge_pool[--lg_edge_pool_n];
    memset(e, 0, sizeof(*e));
    return e;
  }
  return lg_mem_alloc(sizeof(lg_edge_t)); /* zeroed */
}

static void lg_edge_record_free(lg_edge_t *e) {
  if (lg_edge_pool_n < LG_EDGE_POOL)
    lg_edge_pool[lg_edge_pool_n++] = e;
  else
    lg_mem_free(e, sizeof(*e));
}

void lg_edge_free_locked(lg_edge_t *e) {
  lg_stack_unref(e->held);
  lg_stack_unref(e->acq);
  uint32_t n;
  lg_occ_t *occ = lg_edge_occ_array(e, &n);
  for (uint32_t i = 0; i < n; i++)
    lg_occ_release(&occ[i]);
  lg_edge_occ_array_free(e);
  if (e->refused)
    lg_refused_drop(e);
  lg_edge_record_free(e);
}

void lg_edge_remove(lg_edge_t *e) {
  lg_edge_vec_drop(&lg_aux_at(e->from)->out, e, 1);
  lg_edge_vec_drop(&lg_aux_at(e->to)->in, e, 0);
  if (e->indexed)
    lg_edge_table_erase(e);
  lg_edge_free_locked(e);
}

/* A destroyed lock's edges, last first. In a big graph each removal touches memory nothing
 * else has touched lately: the record, its table slot, its place in the other lock's vector.
 * Those of the edges a few places further down are fetched ahead, so the misses overlap
 * instead of following one another. */
#define LG_REMOVE_AHEAD 4
void lg_edges_remove_all(lg_edge_vec_t *v, int out) {
  uint32_t n;
  while ((n = lg_edge_vec_len(v)) > 0) {
    lg_edge_t **items = lg_edge_vec_items(v);
    if (n > 2 * LG_REMOVE_AHEAD)
      __builtin_prefetch(items[n - 1 - 2 * LG_REMOVE_AHEAD]);
    if (n > LG_REMOVE_AHEAD) {
      const lg_edge_t *a = items[n - 1 - LG_REMOVE_AHEAD];
      if (a->indexed)
        __builtin_prefetch(&lg_edges[lg_edge_hash(lg_edge_key(a->from, a->to)) & (lg_edges_cap - 1)]);
      const lg_edge_vec_t *other = out ? &lg_aux_at(a->to)->in : &lg_aux_at(a->from)->out;
      lg_edge_t *const *oi = lg_edge_vec_items(other);
      __builtin_prefetch(&oi[out ? a->in_pos : a->out_pos]);
      __builtin_prefetch(&oi[lg_edge_vec_len(other) - 1]); /* the one moved into its place */
    }
    if (n > LG_REMOVE_AHEAD / 2) {
      const lg_edge_t *a = items[n - 1 - LG_REMOVE_AHEAD / 2];
      const lg_edge_vec_t *other = out ? &lg_aux_at(a->to)->in : &lg_aux_at(a->from)->out;
      __builtin_prefetch(lg_edge_vec_items(other)[lg_edge_vec_len(other) - 1], 1);
    }
    lg_edge_remove(items[n - 1]);
  }
}

lg_edge_t *lg_edge_new(uint32_t from, uint32_t to) {
  int both = lg_edge_both_big(from, to);
  if (both && lg_edge_table_reserve(1) != 0)
    return NULL;
  lg_edge_t *e = lg_edge_record_alloc();
  if (e == NULL)
    return NULL;
  if (!lg_eslot_fits(e) || lg_edge_vec_push(&lg_aux_at(from)->out, e, &e->out_pos) != 0) {
    lg_edge_record_free(e);
    return NULL;
  }
  if (lg_edge_vec_push(&lg_aux_at(to)->in, e, &e->in_pos) != 0) {
    lg_edge_vec_drop(&lg_aux_at(from)->out, e, 1);
    lg_edge_record_free(e);
    return NULL;
  }
  e->from = from;
  e->to = to;
  e->seq = lg_edge_seq_next();
  if (both) {
    lg_edge_table_put(e);
    e->indexed = 1;
  } else {
    lg_edge_vec_grown(from, 1);
    lg_edge_vec_grown(to, 0);
  }
  return e;
}

/* The detector lock's edges are numbered 2, 4, 6...; a leaf's edge made after edge 2n takes
 * 2n + 1 without adding (an atomic add on every leaf edge would make the threads that create
 * them contend on one cache line): it sorts after the edges before it and before those after. */
uint64_t lg_edge_seq_next(void) {
  return 2 * (atomic_fetch_add_explicit(&lg_edge_seq, 1, memory_order_relaxed) + 1);
}

uint64_t lg_edge_seq_leaf(void) {
  return 2 * atomic_load_explicit(&lg_edge_seq, memory_order_relaxed) + 1;
}

/* ---- occurrences ---- */

/* The occurrence of h -> (the lock being taken) on thread t: the other locks held, sorted. */
void lg_occ_of(const lg_thread_t *t, const lg_held_t *h, uint32_t id, uint8_t mode, lg_occ_t *o) {
  o->hstack = o->astack = NULL; /* held[] beyond nheld is never read */
  o->nheld = 0;
  o->seg = t->seg;
  o->tid = t->tid;
  o->from_mode = h->mode;
  o->to_mode = mode;
  for (uint32_t j = 0; j < t->depth && o->nheld < LG_GATE_MAX; j++) {
    const lg_held_t *x = &t->held[j];
    if (x->id == h->id || x->id == id)
      continue;
    uint64_t g = (uint64_t)x->ver << 32 | x->id;
    int dup = 0;
    for (uint32_t k = 0; k < o->nheld && !dup; k++)
      if ((o->held[k] & ~LG_HELD_READ) == g) {
        dup = 1;
        if (x->mode == LG_MODE_WRITE) /* held both ways (a recursive retake): exclusive */
          o->held[k] = g;
      }
    if (!dup)
      o->held[o->nheld++] = g | (x->mode == LG_MODE_READ ? LG_HELD_READ : 0);
  }
  for (uint32_t a = 1; a < o->nheld; a++) /* insertion sort: at most LG_GATE_MAX */
    for (uint32_t b = a; b > 0 && o->held[b - 1] > o->held[b]; b--) {
      uint64_t x = o->held[b];
      o->held[b] = o->held[b - 1];
      o->held[b - 1] = x;
    }
}

static int lg_occ_same(const lg_occ_t *a, const lg_occ_t *b) {
  return a->seg == b->seg && a->tid == b->tid && a->from_mode == b->from_mode &&
         a->to_mode == b->to_mode && a->nheld == b->nheld &&
         memcmp(a->held, b->held, a->nheld * sizeof(a->held[0])) == 0;
}

int lg_edge_has_occ(const lg_edge_t *e, const lg_occ_t *o) {
  lg_occ_t buf;
  for (uint32_t i = e->nocc; i-- > 0;)
    if (lg_occ_same(lg_edge_occ(e, i, &buf), o))
      return 1;
  return 0;
}

/* Nonzero when every live thread's current segment comes after seg: no occurrence made from
 * now on can run alongside one made in seg (threads created later start from a live thread's
 * knowledge), and every combination with the occurrences seen so far was judged when the last
 * of them came. Such an occurrence can never be part of a new finding. */
static int lg_seg_dead(const lg_segment_t *seg) {
  if (seg == NULL)
    return 0;
  for (const lg_thread_t *t = lg_rt.threads; t != NULL; t = t->next)
    if (!t->exited && !lg_hb_before(seg, t->seg)) /* its own segment included */
      return 0;
  return 1;
}

/* Drops the occurrences no future finding can use; called when the array doubled. */
static void lg_edge_gc(lg_edge_t *e) {
  lg_occ_t *v = e->occ.many.v;
  uint32_t k = 0;
  for (uint32_t i = 0; i < e->nocc; i++) {
    if (i + 1 < e->nocc && lg_seg_dead(v[i].seg)) { /* the newest one stays */
      lg_occ_release(&v[i]);
      continue;
    }
    v[k++] = v[i];
  }
  e->nocc = k;
  e->occ.many.gc_at = k * 2 > LG_OCC_GC_MIN ? k * 2 : LG_OCC_GC_MIN;
}

/* Gives e's occurrences an array of ncap entries: the compact one (if any) written out into a
 * new array, or the array grown. 0, or -ENOMEM with e unchanged. */
static int lg_edge_occ_grow(lg_edge_t *e, uint32_t ncap) {
  lg_occ_t *p;
  if (!e->spilled) {
    p = lg_mem_alloc(ncap * sizeof(*p)); /* zeroed */
    if (p == NULL)
      return -ENOMEM;
    if (e->nocc == 1)
      (void)lg_edge_occ(e, 0, &p[0]); /* the compact one, written out */
    e->occ.many.gc_at = LG_OCC_GC_MIN; /* (the union's compact form was read above) */
    e->spilled = 1;
  } else {
    p = lg_mem_realloc(e->occ.many.v, e->occ.many.cap * sizeof(*p), ncap * sizeof(*p));
    if (p == NULL)
      return -ENOMEM;
  }
  e->occ.many.v = p;
  e->occ.many.cap = ncap;
  return 0;
}

int lg_edge_add_occ(lg_edge_t *e, const lg_occ_t *o) {
  if (!e->spilled && e->nocc == 0 && o->nheld == 0 && o->hstack == NULL && o->astack == NULL) {
    e->occ.one = (lg_occ_one_t){
        .seg = o->seg, .tid = o->tid, .from_mode = o->from_mode, .to_mode = o->to_mode};
    e->nocc = 1;
    return 0;
  }
  if (e->spilled && e->nocc >= e->occ.many.gc_at)
    lg_edge_gc(e);
  if (!e->spilled || e->nocc == e->occ.many.cap) {
    /* a first array holds what is there and this one: most edges stop at one or two */
    if (lg_edge_occ_grow(e, e->spilled ? e->occ.many.cap * 2 : e->nocc + 1) != 0)
      return -ENOMEM;
  }
  e->occ.many.v[e->nocc++] = *o;
  return 0;
}

void lg_edge_occ_array_free(lg_edge_t *e) {
  if (e->spilled)
    lg_mem_free(e->occ.many.v, e->occ.many.cap * sizeof(e->occ.many.v[0]));
  e->spilled = 0;
  e->nocc = 0;
}
