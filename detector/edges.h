/* edges.h - the lock-order edges (edges.c) and what locks.c shares with leaf.c (internal).
 *
 * edges.c owns every published edge: the records with their occurrences, one table keyed by
 * (from, to) for the edges between locks with many edges (LG_EDGE_INDEX_DEGREE), the list of
 * edges the graph refused, and the interned stacks they show. All of it is under lg_rt.mu;
 * leaf.c's own calls (marked below) work on a leaf's edges under its spin flag instead.
 * Finding an edge is O(1) expected (a scan of fewer than LG_EDGE_INDEX_DEGREE edges, or the
 * table), adding and removing one O(1) amortized; destroying a lock is O(its edges). The
 * graph's order (graph.c, through lg_edges_view) and the cycle search (cycles.c) read it; the
 * graph keeps no edges of its own, so an edge is in the order as soon as it is in the vectors
 * and both its ends are placed.
 *
 * An edge A -> B ("B was taken while A was held") is one record with the ways it was taken
 * (occurrences). Where it lives depends on B:
 *   - B is published (lg_lock_aux_t.leaf == 0): in A's `out` and B's `in` vectors, in
 *     edges.c's table when both are big, and (once B has an edge out) in the graph's order.
 *     All of it under lg_rt.mu.
 *   - B is a leaf (leaf.c): only in B's `in` vector, under B's spin flag, not lg_rt.mu. A
 *     leaf has no edge out, so no cycle can run through its edges; the record names A by
 *     (from, from_ver), and an edge whose A died meanwhile is dropped when B is published
 *     or destroyed. B is published (lg_lock_publish_locked) before the detector lock's side
 *     looks at B's edges: when B takes an edge out, or meets anything leaf.c does not handle.
 * Invariant: every lock held while an edge into a leaf is added is published, so an edge
 * never leads out of a leaf.
 */
#ifndef LG_EDGES_H
#define LG_EDGES_H

#include "lockgraph.h"

/* A lock's vector of edges out (in) is big once it has held this many; an edge is in edges.c's
 * table when both its ends are big (lg_lock_aux_t.big), and found by a scan otherwise. Above a
 * leaf's most edges in (leaf.c), so a leaf is never big. */
#define LG_EDGE_INDEX_DEGREE 9
enum { LG_BIG_OUT = 1, LG_BIG_IN = 2 };

#define LG_GATE_MAX 4     /* other held locks kept per occurrence; beyond that fewer gates are seen */
#define LG_HELD_READ (1ull << 63) /* in an occurrence's held set: that lock is held for reading */
#define LG_STACK_IDLE 0x80000000u /* in lg_stack_t.refs: the stack sits in the idle ring */
#define LG_OCC_GC_MIN 8   /* occurrences an edge keeps before it looks for dead ones */

/* One way an order A -> B was taken: what the rules judge. Two acquisitions of B under A are
 * the same occurrence when they were made in the same hb segment, in the same modes, with the
 * same other locks held in the same modes. A cycle is judged on one occurrence per edge, so
 * a gate or a create/join order that explains one occurrence never covers another. */
typedef struct lg_occ {
  lg_segment_t *seg;
  lg_tid_t tid;
  uint8_t from_mode, to_mode, nheld;
  uint64_t held[LG_GATE_MAX];   /* other locks held (ver << 32 | id, | LG_HELD_READ), sorted */
  lg_stack_t *hstack, *astack; /* interned; NULL when not captured (the edge's are shown) */
} lg_occ_t;

/* The first occurrence of an edge in the form most take: no other lock held, the edge's own
 * stacks (hstack and astack NULL). 16 bytes. */
typedef struct lg_occ_one {
  lg_segment_t *seg;
  lg_tid_t tid;
  uint8_t from_mode, to_mode;
} lg_occ_one_t;

struct lg_edge {
  uint32_t from, to;
  uint64_t seq;      /* creation order: a report starts at its oldest edge */
  /* Where it sits in from's out and to's in vectors (O(1) removal). An edge into a leaf is in
   * no out vector yet; it names instead the instance of `from` it was taken under, which may
   * be destroyed before the leaf is published. */
  union {
    uint32_t out_pos;
    uint32_t from_ver;
  };
  uint32_t in_pos;
  lg_stack_t *held, *acq; /* interned, of the first occurrence */
  uint32_t nocc;
  uint8_t refused;   /* the graph refused it (it closed a cycle): cycles may run through it */
  uint8_t spilled;   /* the occurrences are in occ.many (else nocc <= 1, in occ.one) */
  uint8_t indexed;   /* in edges.c's table (both ends' vectors are big: see lg_edge_find) */
  /* Most orders are taken one way only, with no other lock held: that occurrence is kept
   * compact, in place. Anything else (other locks held, stacks of its own, a second way) moves
   * every occurrence into a growing array, for good. (64 bytes in all: one allocation class.) */
  union {
    lg_occ_one_t one;
    struct {
      lg_occ_t *v;
      uint32_t cap, gc_at;
    } many;
  } occ;
};
_Static_assert(sizeof(struct lg_edge) == 64, "an edge record is one 64-byte allocation class");

/* ---- edges.c: the edge table, records, occurrences, refused edges, interned stacks ----
 * Under lg_rt.mu, but for those marked as leaf.c's (on a leaf's own edges, under its flag). */

/* The graph's view of the edges (graph.h): a lock's out and in vectors, each record's ends
 * and its refused byte (refused edges are outside the order). */
extern const lg_graph_adj_t lg_edges_view;

/* The edges the graph refused that are still alive (cycles run through them); read-only
 * outside edges.c. */
extern lg_edge_t **lg_refused;
extern size_t lg_refused_live;
/* The out-of-memory warning, once for lock records and edges alike. */
extern int lg_warned_mem;

/* Starts fetching what learning the edge from -> to will touch first (its table slot, to's
 * edges in), before the detector lock is taken; any thread, no lock: it only computes
 * addresses from words that may be changing and reads nothing through them. */
void lg_edge_prefetch(uint32_t from, uint32_t to);
/* The published edge from -> to, or NULL. */
lg_edge_t *lg_edge_find(uint32_t from, uint32_t to);
/* A new published edge from -> to with no occurrence yet (in the table and both vectors);
 * NULL without memory. */
lg_edge_t *lg_edge_new(uint32_t from, uint32_t to);
/* Takes e out of the table and both vectors and frees it. */
void lg_edge_remove(lg_edge_t *e);
/* Removes every edge of v, a dying lock's out (out = 1) or in vector (0). */
void lg_edges_remove_all(lg_edge_vec_t *v, int out);
/* A leaf's edge being published: into the table and its from's `out` vector; -ENOMEM when
 * either cannot grow (e is then in neither). */
int lg_edge_adopt_locked(lg_edge_t *e);
/* Frees an edge record and what it holds (stacks, occurrences, its refused entry). */
void lg_edge_free_locked(lg_edge_t *e);
/* Sets e aside as refused by the graph (cycles may run through it). */
void lg_refused_add(lg_edge_t *e);
/* Appends e to v, storing its index in *pos; -ENOMEM when the vector cannot grow. leaf.c's
 * too. */
int lg_edge_vec_push(lg_edge_vec_t *v, lg_edge_t *e, uint32_t *pos);
/* Keeps the first n items of v (n <= its length), freeing its block when n is 0. */
void lg_edge_vec_truncate(lg_edge_vec_t *v, uint32_t n);
/* Empties v, freeing its block (not the edges). */
void lg_edge_vec_free(lg_edge_vec_t *v);
/* Creation order of a new edge (lg_edge_t.seq): on the detector lock's path, and in leaf.c. */
uint64_t lg_edge_seq_next(void);
uint64_t lg_edge_seq_leaf(void);
/* The occurrence of held entry h -> (the lock `id` being taken in `mode`) on thread t, and
 * whether e has it already. leaf.c's too. */
void lg_occ_of(const lg_thread_t *t, const lg_held_t *h, uint32_t id, uint8_t mode, lg_occ_t *o);
int lg_edge_has_occ(const lg_edge_t *e, const lg_occ_t *o);
/* Adds occurrence o to e (taking over its stacks); 0, or -ENOMEM (o's stacks are then still
 * the caller's). On an edge with no occurrence yet it reads nothing shared: leaf.c's too. */
int lg_edge_add_occ(lg_edge_t *e, const lg_occ_t *o);
/* Frees e's array of occurrences, if it has one (not the stacks in it); any thread. */
void lg_edge_occ_array_free(lg_edge_t *e);
/* The interned stack of pc[0..n-1], with a reference taken; NULL without memory. */
lg_stack_t *lg_stack_intern(const uintptr_t *pc, uint32_t n);
/* Stack references: take one on a stack the caller already holds one on (any thread, no
 * lock); drop one under lg_rt.mu. */
void lg_stack_ref(lg_stack_t *s);
void lg_stack_unref(lg_stack_t *s);

/* Drops the stacks an occurrence holds. */
static inline void lg_occ_release(lg_occ_t *o) {
  if (o->hstack != NULL)
    lg_stack_unref(o->hstack);
  if (o->astack != NULL)
    lg_stack_unref(o->astack);
}

/* Occurrence i of e (i < e->nocc): in place, or written out into *buf when it is kept
 * compact (the pointer returned is then buf). */
static inline const lg_occ_t *lg_edge_occ(const lg_edge_t *e, uint32_t i, lg_occ_t *buf) {
  if (e->spilled)
    return &e->occ.many.v[i];
  buf->seg = e->occ.one.seg;
  buf->tid = e->occ.one.tid;
  buf->from_mode = e->occ.one.from_mode;
  buf->to_mode = e->occ.one.to_mode;
  buf->nheld = 0;
  buf->hstack = buf->astack = NULL;
  return buf;
}

/* The occurrences that may hold stacks of their own: e's array (*n entries), or NULL when it
 * has none (a compact occurrence holds none). */
static inline lg_occ_t *lg_edge_occ_array(const lg_edge_t *e, uint32_t *n) {
  *n = e->spilled ? e->nocc : 0;
  return e->spilled ? e->occ.many.v : NULL;
}

/* ---- locks.c, for edges.c, cycles.c and leaf.c ---- */

/* A lock's cold record (edges, leaf state), by id: inline, as every edge operation asks it. */
extern lg_lock_aux_t *lg_aux_chunks[1u << (32 - LG_NODE_CHUNK_SHIFT)];
static inline lg_lock_aux_t *lg_aux_at(uint32_t id) {
  return lg_aux_chunks[id >> LG_NODE_CHUNK_SHIFT] + (id & ((1u << LG_NODE_CHUNK_SHIFT) - 1));
}
/* Nonzero once some lock lives in the overflow map (two locks in one granule): a slot then
 * no longer says alone which lock an address holds, and leaf.c leaves every lock alone. */
int lg_locks_overflow_any(void);
/* The slot of addr through the thread's region cache, its block made when missing; no region is
 * created (NULL then, and without memory). */
_Atomic uint64_t *lg_slot_lookup(lg_thread_t *t, uintptr_t addr);
/* Makes addr's region the thread's cached one (when it exists and is not already). */
static inline void lg_region_remember(lg_thread_t *t, uintptr_t addr) {
  if ((addr >> LG_REGION_SHIFT) != t->region_key)
    (void)lg_region_find(t, addr);
}
/* A chain key processed into lock id: its hot word and key set, and the thread's set unless
 * t is NULL (a leaf's few ways in fit its own set). */
void lg_chain_remember(lg_thread_t *t, uint32_t id, lg_lock_t *n, uint64_t key);
/* Lock ids: one from the shared free list (0 when the table is full), and one back to it.
 * Under lg_rt.mu. */
uint32_t lg_lock_id_alloc(void);
/* A lock instance's birth in record id (its next version, returned; the version is stored
 * last, with release) and its death (keys forgotten, version bumped, address cleared; the
 * caller has emptied its edges and gives the id back). Both sides, leaf or not. */
uint32_t lg_lock_record_begin(uint32_t id, uint8_t kind, uintptr_t addr, uintptr_t first_pc,
                              uint8_t leaf);
void lg_lock_record_end(uint32_t id);
void lg_lock_id_free_locked(uint32_t id);
/* Moves a leaf's edges into the table and its holders' vectors and marks it published.
 * Under lg_rt.mu. */
void lg_lock_publish_locked(uint32_t id);

#endif
