/* graph.c - the lock-order graph: Pearce-Kelly dynamic topological order.
 *
 * Every live node has a distinct 64-bit ord; every accepted edge goes from a smaller ord to a
 * larger one. A new node takes the next ord at the top, so locks first taken in program order
 * give edges that already agree with the order (the common case: O(1)). A node with no
 * accepted edges can be moved freely, so an edge that disagrees with the order but touches
 * such a node just moves it (to the top or the bottom). Otherwise Pearce-Kelly: a forward
 * BFS from `to` bounded by ord(from) either reaches `from` (a cycle; BFS gives the shortest
 * path) or yields the set F, a backward search from `from` bounded by ord(to) yields B, and
 * the ords of B and F are reassigned, B first, each keeping its internal order.
 *
 * Storage: nodes live in chunks indexed by id, 24 bytes each: the ord and one 64-bit word per
 * direction for the accepted out- and in-edges. A word is 0 when the direction is empty, holds its
 * entry inline when there is one (a lock in a chain or under one outer lock has one edge each way
 * and costs no allocation at all), and otherwise points at a block from lg_mem: an 8-byte header
 * {n, cap} and the entries, cap = 2^k - 1 so the block fills a power-of-two lg_mem class exactly.
 * The inline form is tagged by the word's low bit, which a block pointer never has because lg_mem
 * aligns every block to 16 bytes: a property of our own allocator, where the top bit would rely on
 * the platform's address layout (pointer tagging uses it). A removal that leaves one entry or none
 * returns to the inline or empty word, so a node whose edges died costs its 24 bytes again.
 * Refused edges live in a separate pair of words, only for nodes that have one, found through a
 * side table keyed by node id (a pointer in every node would cost 8 bytes per lock for the few
 * that are ends of a refused edge). An entry names the other end and the position of the same edge
 * in the other end's vector (out entries: the head and its in-position; in entries: the tail and
 * its out-position), so the two entries of an edge point at each other and there is no edge index:
 * removing an edge is a swap with the last element at both ends, the moved entries' partners
 * learning their new positions, O(1) even for a lock with 100,000 edges. The caller (the lock
 * table) already knows which edges are new, so the graph answers "is this edge here?" only by
 * scanning the shorter of the two vectors that could hold it (lg_graph_add_edge,
 * lg_graph_has_edge); the detector's path, lg_graph_add_new_edge, never asks. 16 bytes per edge (8
 * at each end, inside the node's word when it is that end's only edge of its direction), plus a
 * block's header and slack.
 *
 * No recursion: searches use one queue, sorting is heapsort. What a search has visited (and
 * the forward search's parents) lives in a visited set (visit.h) rather than in the nodes:
 * both grow to the largest search made, so a node costs no search scratch of its own.
 */
#include "graph.h"

#include <errno.h>

#include "mem.h"
#include "visit.h"

#define GRAPH_NONE UINT32_MAX
/* Capacities are 2^k - 1 entries, so a block (an 8-byte header and the entries) fills its
 * power-of-two lg_mem class exactly; the largest fits pos in the 31 bits an inline entry has. */
#define GRAPH_VEC_FIRST_CAP 3u
#define GRAPH_VEC_MAX 0x7fffffffu
#define GRAPH_VEC_ONE 1u /* the tag of a word holding one inline entry */

/* One end's record of an edge. Both entries of an edge are of the same kind (accepted or
 * refused): an out entry's pos indexes the head's in vector of that kind, and back. */
typedef struct graph_adj {
  uint32_t node; /* the other end */
  uint32_t pos;  /* index of this edge's entry in the other end's vector */
} graph_adj_t;

/* One direction's entries in one word: 0 when there are none; one entry inline,
 * node << 32 | pos << 1 | GRAPH_VEC_ONE; two or more in a graph_block_t, the word its pointer,
 * whose low bit is clear because lg_mem aligns every block to at least 16 bytes. The form
 * follows from the length alone (a removal that leaves one entry or none goes back to the
 * inline or empty word; a failed edge gives back the block it made), so the word is 0 exactly
 * when the direction is empty. Code not about the forms goes through the accessors below or
 * compares a word with 0. */
typedef uint64_t graph_vec_t;

typedef struct graph_block {
  uint32_t n, cap; /* cap: 2^k - 1, at least GRAPH_VEC_FIRST_CAP */
  graph_adj_t items[];
} graph_block_t;

typedef struct graph_refused {
  graph_vec_t out, in;
} graph_refused_t;

/* 24 bytes: what every node keeps. A search's marks live in the search's visited set, and
 * the rare refused vectors in a side table (graph_refused_of). */
typedef struct graph_node {
  int64_t ord; /* 0: no node with this id */
  graph_vec_t out, in;
} graph_node_t;
_Static_assert(sizeof(graph_node_t) == 24, "a node is its ord and one word per direction");
_Static_assert(sizeof(graph_block_t) == 8, "with an 8-byte header, 2^k - 1 entries fill a class");

/* Mutable even through a const graph: the read-only queries still need search space. The
 * visited set holds, per node a search reached, its parent (forward search). */
typedef struct graph_scratch {
  lg_visit_t seen;
  uint32_t *queue;
  size_t queue_cap;
  int64_t *pool;
  size_t pool_cap;
} graph_scratch_t;

/* The side table of refused vectors: open addressing by node id, at most half full; rec is
 * NULL in a free slot. */
typedef struct graph_refused_slot {
  uint32_t node;
  graph_refused_t *rec;
} graph_refused_slot_t;

/* Nodes come in chunks of GRAPH_CHUNK_NODES, allocated as ids reach them and never moved:
 * growing costs no copy and leaves at most one chunk unused (a doubling array would leave up
 * to half of itself). */
#define GRAPH_CHUNK_SHIFT 12
#define GRAPH_CHUNK_NODES (1u << GRAPH_CHUNK_SHIFT)

struct lg_graph {
  graph_node_t **chunks;
  size_t chunks_n, chunks_cap;
  size_t nodes_cap; /* chunks_n * GRAPH_CHUNK_NODES: ids below it have a node */
  size_t node_count;
  int64_t ord_hi, ord_lo; /* ords in use lie in [ord_lo, ord_hi]; 0 is never one */
  size_t edge_count;
  graph_scratch_t *scratch;
  graph_refused_slot_t *refused;
  uint32_t refused_cap, refused_count; /* cap: a power of two, or 0 */
};

/* ---- small vectors ---- */

static inline graph_block_t *graph_vec_block(graph_vec_t v) {
  return (graph_block_t *)(uintptr_t)v;
}

static inline size_t graph_block_size(uint32_t cap) {
  return sizeof(graph_block_t) + (size_t)cap * sizeof(graph_adj_t);
}

static inline graph_vec_t graph_vec_pack(graph_adj_t e) {
  return (uint64_t)e.node << 32 | (uint64_t)e.pos << 1 | GRAPH_VEC_ONE;
}

static inline graph_adj_t graph_vec_unpack(graph_vec_t v) {
  return (graph_adj_t){(uint32_t)(v >> 32), (uint32_t)v >> 1};
}

static inline uint32_t graph_vec_len(graph_vec_t v) {
  if (v & GRAPH_VEC_ONE)
    return 1;
  return v ? graph_vec_block(v)->n : 0;
}

/* Entry k (< length). */
static inline graph_adj_t graph_vec_get(graph_vec_t v, uint32_t k) {
  return v & GRAPH_VEC_ONE ? graph_vec_unpack(v) : graph_vec_block(v)->items[k];
}

/* The last entry (v not empty). */
static inline graph_adj_t graph_vec_last(graph_vec_t v) {
  return v & GRAPH_VEC_ONE ? graph_vec_unpack(v)
                           : graph_vec_block(v)->items[graph_vec_block(v)->n - 1];
}

/* Sets entry k's pos (< GRAPH_VEC_MAX, so it fits an inline entry). */
static inline void graph_vec_set_pos(graph_vec_t *v, uint32_t k, uint32_t pos) {
  if (*v & GRAPH_VEC_ONE)
    *v = (*v & ~(uint64_t)UINT32_MAX) | (uint64_t)pos << 1 | GRAPH_VEC_ONE;
  else
    graph_vec_block(*v)->items[k].pos = pos;
}

/* The entries for reading in a loop, as an array: the block's, or *one holding the inline
 * entry. Returns the length. */
static inline uint32_t graph_vec_view(graph_vec_t v, graph_adj_t *one, const graph_adj_t **items) {
  if (v & GRAPH_VEC_ONE) {
    *one = graph_vec_unpack(v);
    *items = one;
    return 1;
  }
  if (v == 0) {
    *items = NULL;
    return 0;
  }
  *items = graph_vec_block(v)->items;
  return graph_vec_block(v)->n;
}

/* graph_vec_reserve's slow path: the inline entry moves into a first block, or a full block
 * doubles. */
static int graph_vec_grow(graph_vec_t *v) {
  if (*v & GRAPH_VEC_ONE) {
    graph_block_t *b = lg_mem_alloc(graph_block_size(GRAPH_VEC_FIRST_CAP));
    if (b == NULL)
      return -ENOMEM;
    b->n = 1;
    b->cap = GRAPH_VEC_FIRST_CAP;
    b->items[0] = graph_vec_unpack(*v);
    *v = (graph_vec_t)(uintptr_t)b;
    return 1;
  }
  graph_block_t *b = graph_vec_block(*v);
  if (b->cap >= GRAPH_VEC_MAX)
    return -ENOMEM;
  uint32_t ncap = 2 * b->cap + 1; /* still 2^k - 1, at most GRAPH_VEC_MAX */
  b = lg_mem_realloc(b, graph_block_size(b->cap), graph_block_size(ncap));
  if (b == NULL)
    return -ENOMEM;
  b->cap = ncap;
  *v = (graph_vec_t)(uintptr_t)b;
  return (int)b->n;
}

/* Room for one more entry: an empty word takes it inline; an inline entry moves into a block
 * first. Returns the new entry's position (the length), or -ENOMEM with the word as it was. */
static inline int graph_vec_reserve(graph_vec_t *v) {
  if (*v == 0)
    return 0;
  if (!(*v & GRAPH_VEC_ONE) && graph_vec_block(*v)->n < graph_vec_block(*v)->cap)
    return (int)graph_vec_block(*v)->n;
  return graph_vec_grow(v);
}

/* Appends e at pos, the position graph_vec_reserve returned. */
static inline void graph_vec_put(graph_vec_t *v, uint32_t pos, graph_adj_t e) {
  if (pos == 0) {
    *v = graph_vec_pack(e);
  } else {
    graph_block_t *b = graph_vec_block(*v);
    b->items[pos] = e;
    b->n = pos + 1;
  }
}

/* Whether a block that has just lost an entry should shrink: to the inline or empty word when
 * one entry or none is left (most locks keep one edge each way, and a node then costs its 24
 * bytes and nothing beside), by half when a big block has emptied out (a hub lock whose
 * objects died). */
static inline int graph_block_oversized(const graph_block_t *b) {
  return b->n <= 1 || (b->cap >= 63 && b->n <= b->cap / 4);
}

/* Shrinks an oversized block as above. Failing to halve is harmless. */
static void graph_vec_shrink(graph_vec_t *v) {
  graph_block_t *b = graph_vec_block(*v);
  if (b->n <= 1) {
    *v = b->n ? graph_vec_pack(b->items[0]) : 0;
    lg_mem_free(b, graph_block_size(b->cap));
    return;
  }
  uint32_t ncap = b->cap / 2;
  b = lg_mem_realloc(b, graph_block_size(b->cap), graph_block_size(ncap));
  if (b != NULL) {
    b->cap = ncap;
    *v = (graph_vec_t)(uintptr_t)b;
  }
}

/* Undoes a graph_vec_reserve whose entry will not come (the edge's other end had no room):
 * an inline entry it moved into a new block goes back inline. */
static void graph_vec_unreserve(graph_vec_t *v) {
  if (*v != 0 && !(*v & GRAPH_VEC_ONE) && graph_vec_block(*v)->n == 1)
    graph_vec_shrink(v);
}

static void graph_vec_free(graph_vec_t *v) {
  if (*v != 0 && !(*v & GRAPH_VEC_ONE))
    lg_mem_free(graph_vec_block(*v), graph_block_size(graph_vec_block(*v)->cap));
  *v = 0;
}

/* ---- nodes ---- */

static graph_node_t *graph_node(const lg_graph_t *g, uint32_t n) {
  return &g->chunks[n >> GRAPH_CHUNK_SHIFT][n & (GRAPH_CHUNK_NODES - 1)];
}

static int graph_node_live(const lg_graph_t *g, uint32_t n) {
  return n < g->nodes_cap && graph_node(g, n)->ord != 0;
}

int64_t lg_graph_order(const lg_graph_t *g, lg_node_t n) {
  return graph_node_live(g, n) ? graph_node(g, n)->ord : 0;
}

/* ---- refused vectors, by node id ---- */

/* Where node n's slot starts its probe in a side table of cap slots (a power of two). */
static uint32_t graph_refused_home(uint32_t n, uint32_t cap) {
  return (uint32_t)(n * 2654435769u) & (cap - 1);
}

/* Node n's refused vectors, or NULL when it has none (O(1): no probe at all while the graph
 * has refused nothing). */
static graph_refused_t *graph_refused_of(const lg_graph_t *g, uint32_t n) {
  if (g->refused_count == 0)
    return NULL;
  for (uint32_t i = graph_refused_home(n, g->refused_cap);; i = (i + 1) & (g->refused_cap - 1)) {
    const graph_refused_slot_t *s = &g->refused[i];
    if (s->rec == NULL)
      return NULL;
    if (s->node == n)
      return s->rec;
  }
}

static void graph_refused_place(graph_refused_slot_t *slots, uint32_t cap, uint32_t n,
                                graph_refused_t *rec) {
  uint32_t i = graph_refused_home(n, cap);
  while (slots[i].rec != NULL)
    i = (i + 1) & (cap - 1);
  slots[i] = (graph_refused_slot_t){n, rec};
}

/* Node n's refused vectors, created empty when it has none; NULL without memory. */
static graph_refused_t *graph_refused_make(lg_graph_t *g, uint32_t n) {
  graph_refused_t *rec = graph_refused_of(g, n);
  if (rec != NULL)
    return rec;
  if ((g->refused_count + 1) * 2 > g->refused_cap) {
    uint32_t ncap = g->refused_cap ? g->refused_cap * 2 : 16;
    if (ncap == 0)
      return NULL;
    graph_refused_slot_t *slots = lg_mem_alloc((size_t)ncap * sizeof *slots);
    if (slots == NULL)
      return NULL;
    for (uint32_t k = 0; k < g->refused_cap; k++)
      if (g->refused[k].rec != NULL)
        graph_refused_place(slots, ncap, g->refused[k].node, g->refused[k].rec);
    lg_mem_free(g->refused, (size_t)g->refused_cap * sizeof *g->refused);
    g->refused = slots;
    g->refused_cap = ncap;
  }
  rec = lg_mem_alloc(sizeof *rec);
  if (rec == NULL)
    return NULL;
  graph_refused_place(g->refused, g->refused_cap, n, rec);
  g->refused_count++;
  return rec;
}

/* Frees node n's refused vectors (already emptied of edges) and its slot; the entries after
 * it in its probe run move back so no lookup stops short. */
static void graph_refused_drop(lg_graph_t *g, uint32_t n) {
  if (g->refused_count == 0)
    return;
  uint32_t mask = g->refused_cap - 1, i = graph_refused_home(n, g->refused_cap);
  while (g->refused[i].rec != NULL && g->refused[i].node != n)
    i = (i + 1) & mask;
  graph_refused_t *rec = g->refused[i].rec;
  if (rec == NULL)
    return;
  graph_vec_free(&rec->out);
  graph_vec_free(&rec->in);
  lg_mem_free(rec, sizeof *rec);
  for (uint32_t j = (i + 1) & mask; g->refused[j].rec != NULL; j = (j + 1) & mask) {
    uint32_t h = graph_refused_home(g->refused[j].node, g->refused_cap);
    /* The entry at j may fill the hole at i unless its home lies cyclically in (i, j]. */
    if (((j - h) & mask) >= ((j - i) & mask)) {
      g->refused[i] = g->refused[j];
      i = j;
    }
  }
  g->refused[i] = (graph_refused_slot_t){0, NULL};
  g->refused_count--;
}

static graph_vec_t *graph_out_vec(lg_graph_t *g, uint32_t n, int refused) {
  return refused ? &graph_refused_of(g, n)->out : &graph_node(g, n)->out;
}

static graph_vec_t *graph_in_vec(lg_graph_t *g, uint32_t n, int refused) {
  return refused ? &graph_refused_of(g, n)->in : &graph_node(g, n)->in;
}

/* Chunks cover id n (ids are dense: the lock table hands out the lowest free ones). */
static int graph_nodes_reserve(lg_graph_t *g, uint32_t n) {
  while (n >= g->nodes_cap) {
    if (g->chunks_n == g->chunks_cap) {
      size_t ncap = g->chunks_cap ? g->chunks_cap * 2 : 16;
      graph_node_t **chunks = lg_mem_realloc(g->chunks, g->chunks_cap * sizeof *chunks,
                                             ncap * sizeof *chunks);
      if (chunks == NULL)
        return -ENOMEM;
      g->chunks = chunks;
      g->chunks_cap = ncap;
    }
    graph_node_t *chunk = lg_mem_alloc(GRAPH_CHUNK_NODES * sizeof *chunk);
    if (chunk == NULL)
      return -ENOMEM;
    g->chunks[g->chunks_n++] = chunk;
    g->nodes_cap += GRAPH_CHUNK_NODES;
  }
  return 0;
}

/* Appends v at queue[at], growing the queue: it holds what one search visits, never more
 * than the live nodes. */
static int graph_queue_put(const lg_graph_t *g, size_t at, uint32_t v) {
  graph_scratch_t *s = g->scratch;
  if (at == s->queue_cap) {
    size_t ncap = s->queue_cap ? s->queue_cap * 2 : 64;
    uint32_t *queue = lg_mem_realloc(s->queue, s->queue_cap * 4, ncap * 4);
    if (queue == NULL)
      return -ENOMEM;
    s->queue = queue;
    s->queue_cap = ncap;
  }
  s->queue[at] = v;
  return 0;
}

/* ---- the graph ---- */

lg_graph_t *lg_graph_new(void) {
  lg_graph_t *g = lg_mem_alloc(sizeof *g);
  if (g == NULL)
    return NULL;
  g->scratch = lg_mem_alloc(sizeof *g->scratch);
  if (g->scratch == NULL) {
    lg_mem_free(g, sizeof *g);
    return NULL;
  }
  return g;
}

void lg_graph_free(lg_graph_t *g) {
  if (g == NULL)
    return;
  for (size_t i = 0; i < g->nodes_cap; i++) {
    graph_node_t *nd = graph_node(g, i);
    graph_vec_free(&nd->out);
    graph_vec_free(&nd->in);
  }
  for (uint32_t k = 0; k < g->refused_cap; k++) {
    graph_refused_t *rec = g->refused[k].rec;
    if (rec != NULL) {
      graph_vec_free(&rec->out);
      graph_vec_free(&rec->in);
      lg_mem_free(rec, sizeof *rec);
    }
  }
  lg_mem_free(g->refused, (size_t)g->refused_cap * sizeof *g->refused);
  for (size_t c = 0; c < g->chunks_n; c++)
    lg_mem_free(g->chunks[c], GRAPH_CHUNK_NODES * sizeof *g->chunks[c]);
  lg_mem_free(g->chunks, g->chunks_cap * sizeof *g->chunks);
  lg_visit_free(&g->scratch->seen);
  lg_mem_free(g->scratch->queue, g->scratch->queue_cap * 4);
  lg_mem_free(g->scratch->pool, g->scratch->pool_cap * sizeof *g->scratch->pool);
  lg_mem_free(g->scratch, sizeof *g->scratch);
  lg_mem_free(g, sizeof *g);
}

/* Drops entry k of v (an out vector when `outgoing`) by moving the last entry into its place;
 * the moved edge's entry at its other end learns the new position. Then shrinks the block if
 * it has become oversized. */
static void graph_vec_take(lg_graph_t *g, graph_vec_t *v, uint32_t k, int outgoing, int refused) {
  if (*v & GRAPH_VEC_ONE) { /* its only entry */
    *v = 0;
    return;
  }
  graph_block_t *b = graph_vec_block(*v);
  uint32_t last = b->n - 1;
  if (k != last) {
    graph_adj_t moved = b->items[last];
    b->items[k] = moved;
    graph_vec_t *partner = outgoing ? graph_in_vec(g, moved.node, refused)
                                    : graph_out_vec(g, moved.node, refused);
    graph_vec_set_pos(partner, moved.pos, k);
  }
  b->n = last;
  if (graph_block_oversized(b))
    graph_vec_shrink(v);
}

/* Removes the edge at position k of from's out vector (of the given kind) from both ends.
 * The in side goes first: a moved entry there may point into from's out vector, which is
 * still intact; then the out side's move finds every in vector already settled. */
static void graph_edge_unlink(lg_graph_t *g, uint32_t from, uint32_t k, int refused) {
  graph_vec_t *out = graph_out_vec(g, from, refused);
  graph_adj_t e = graph_vec_get(*out, k);
  graph_vec_t *in = graph_in_vec(g, e.node, refused);
  graph_vec_take(g, in, e.pos, 0, refused);
  graph_vec_take(g, out, k, 1, refused);
  g->edge_count--;

  /* Refused edges are rare: drop a node's refused vectors once they are empty. */
  if (refused) {
    uint32_t ends[2] = {from, e.node};
    for (int i = 0; i < 2; i++) {
      graph_refused_t *r = graph_refused_of(g, ends[i]);
      if (r != NULL && r->out == 0 && r->in == 0)
        graph_refused_drop(g, ends[i]);
    }
  }
}

/* Removing a node's edges in a big graph touches, per edge, memory nothing else touched
 * lately: the edge's entry at its other end, that vector's last entry (moved into its place)
 * and the entry of the moved edge at its own other end. Those of the entry GRAPH_AHEAD places
 * further down this node's vector are fetched ahead (and the moved edge's far entry of the
 * one half as far, once its place is known), so the misses overlap instead of following one
 * another. e is that entry of this node's vector; out: it is an out vector. */
#define GRAPH_AHEAD 4
static void graph_fetch_far(lg_graph_t *g, graph_adj_t e, int out) {
  graph_vec_t far = out ? *graph_in_vec(g, e.node, 0) : *graph_out_vec(g, e.node, 0);
  if (far & GRAPH_VEC_ONE || far == 0)
    return;
  graph_block_t *b = graph_vec_block(far);
  __builtin_prefetch(&b->items[e.pos], 1);
  __builtin_prefetch(&b->items[b->n - 1]);
}

static void graph_fetch_moved(lg_graph_t *g, graph_adj_t e, int out) {
  graph_vec_t far = out ? *graph_in_vec(g, e.node, 0) : *graph_out_vec(g, e.node, 0);
  if (far & GRAPH_VEC_ONE || far == 0)
    return;
  graph_adj_t moved = graph_vec_last(far);
  graph_vec_t near = out ? *graph_out_vec(g, moved.node, 0) : *graph_in_vec(g, moved.node, 0);
  if (!(near & GRAPH_VEC_ONE) && near != 0)
    __builtin_prefetch(&graph_vec_block(near)->items[moved.pos], 1);
}

static void graph_fetch_ahead(lg_graph_t *g, graph_vec_t v, int out) {
  if (v & GRAPH_VEC_ONE || v == 0)
    return;
  const graph_block_t *b = graph_vec_block(v);
  if (b->n > GRAPH_AHEAD)
    graph_fetch_far(g, b->items[b->n - 1 - GRAPH_AHEAD], out);
  if (b->n > GRAPH_AHEAD / 2)
    graph_fetch_moved(g, b->items[b->n - 1 - GRAPH_AHEAD / 2], out);
}

void lg_graph_remove_node(lg_graph_t *g, lg_node_t n) {
  if (!graph_node_live(g, n))
    return;
  graph_node_t *nd = graph_node(g, n);
  /* Always take the last entry, so the hole is filled trivially on this node's side; an in
   * entry names the tail and the edge's place in the tail's out vector. A word is 0 exactly
   * when its direction is empty. */
  while (nd->out != 0) {
    graph_fetch_ahead(g, nd->out, 1);
    graph_edge_unlink(g, n, graph_vec_len(nd->out) - 1, 0);
  }
  while (nd->in != 0) {
    graph_fetch_ahead(g, nd->in, 0);
    graph_adj_t e = graph_vec_last(nd->in);
    graph_edge_unlink(g, e.node, e.pos, 0);
  }
  graph_refused_t *r;
  while ((r = graph_refused_of(g, n)) != NULL && r->out != 0)
    graph_edge_unlink(g, n, graph_vec_len(r->out) - 1, 1);
  while ((r = graph_refused_of(g, n)) != NULL && r->in != 0) {
    graph_adj_t e = graph_vec_last(r->in);
    graph_edge_unlink(g, e.node, e.pos, 1);
  }
  graph_vec_free(&nd->out);
  graph_vec_free(&nd->in);
  /* Emptied above, but may be a record left empty by an allocation failure. */
  graph_refused_drop(g, n);
  nd->ord = 0;
  g->node_count--;
}

/* BFS from src over accepted out-edges, entering only nodes with ord <= limit (no path to a
 * node of ord <= limit leaves that range, so nothing on such a path is cut off). Stops as
 * soon as dst is reached. Visited nodes end up in queue[0 .. *count). Returns 1 if dst was
 * reached (the visited set's values, parents, then lead back from dst to src along a shortest
 * path), 0 if not, -ENOMEM when the search space cannot grow. */
static int graph_search_forward(const lg_graph_t *g, uint32_t src, uint32_t dst, int64_t limit,
                                size_t *count) {
  graph_scratch_t *s = g->scratch;
  size_t head = 0, tail = 0;
  int added;
  lg_visit_begin(&s->seen);
  uint32_t *parent = lg_visit_put(&s->seen, src, &added);
  if (parent == NULL || graph_queue_put(g, tail++, src) != 0)
    return -ENOMEM;
  *parent = src;
  while (head < tail) {
    uint32_t u = s->queue[head++];
    graph_adj_t one;
    const graph_adj_t *items;
    uint32_t n = graph_vec_view(graph_node(g, u)->out, &one, &items);
    for (uint32_t k = 0; k < n; k++) {
      uint32_t v = items[k].node;
      if (graph_node(g, v)->ord > limit)
        continue;
      parent = lg_visit_put(&s->seen, v, &added);
      if (parent == NULL)
        return -ENOMEM;
      if (!added)
        continue;
      *parent = u;
      if (graph_queue_put(g, tail++, v) != 0)
        return -ENOMEM;
      if (v == dst) {
        *count = tail;
        return 1;
      }
    }
  }
  *count = tail;
  return 0;
}

/* Search backward from src over accepted in-edges, entering only nodes with ord > limit.
 * Appends the visited nodes to queue from `start` and stores how many in *count; 0, or
 * -ENOMEM when the search space cannot grow. */
static int graph_search_backward(const lg_graph_t *g, uint32_t src, int64_t limit, size_t start,
                                 size_t *count) {
  graph_scratch_t *s = g->scratch;
  size_t head = start, tail = start;
  int added;
  lg_visit_begin(&s->seen);
  if (lg_visit_put(&s->seen, src, &added) == NULL || graph_queue_put(g, tail++, src) != 0)
    return -ENOMEM;
  while (head < tail) {
    uint32_t u = s->queue[head++];
    graph_adj_t one;
    const graph_adj_t *items;
    uint32_t n = graph_vec_view(graph_node(g, u)->in, &one, &items);
    for (uint32_t k = 0; k < n; k++) {
      uint32_t v = items[k].node;
      if (graph_node(g, v)->ord <= limit)
        continue;
      if (lg_visit_put(&s->seen, v, &added) == NULL)
        return -ENOMEM;
      if (added && graph_queue_put(g, tail++, v) != 0)
        return -ENOMEM;
    }
  }
  *count = tail - start;
  return 0;
}

/* Writes the path src -> ... -> dst found by graph_search_forward (its first path_cap nodes)
 * and returns its length in nodes. */
static size_t graph_path_write(const lg_graph_t *g, uint32_t src, uint32_t dst, lg_node_t *path,
                               size_t path_cap) {
  const lg_visit_t *seen = &g->scratch->seen;
  size_t len = 1;
  for (uint32_t v = dst; v != src; v = *lg_visit_find(seen, v))
    len++;
  size_t i = len;
  for (uint32_t v = dst;; v = *lg_visit_find(seen, v)) {
    i--;
    if (path != NULL && i < path_cap)
      path[i] = v;
    if (v == src)
      break;
  }
  return len;
}

static void graph_sift_ids(const lg_graph_t *g, uint32_t *a, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n)
      return;
    if (child + 1 < n && graph_node(g, a[child + 1])->ord > graph_node(g, a[child])->ord)
      child++;
    if (graph_node(g, a[root])->ord >= graph_node(g, a[child])->ord)
      return;
    uint32_t t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

/* Heapsort of node ids by ord: no recursion and no allocation. */
static void graph_sort_ids(const lg_graph_t *g, uint32_t *a, size_t n) {
  for (size_t i = n / 2; i-- > 0;)
    graph_sift_ids(g, a, i, n);
  for (size_t end = n; end-- > 1;) {
    uint32_t t = a[0];
    a[0] = a[end];
    a[end] = t;
    graph_sift_ids(g, a, 0, end);
  }
}

static void graph_sift_ords(int64_t *a, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n)
      return;
    if (child + 1 < n && a[child + 1] > a[child])
      child++;
    if (a[root] >= a[child])
      return;
    int64_t t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

static void graph_sort_ords(int64_t *a, size_t n) {
  for (size_t i = n / 2; i-- > 0;)
    graph_sift_ords(a, i, n);
  for (size_t end = n; end-- > 1;) {
    int64_t t = a[0];
    a[0] = a[end];
    a[end] = t;
    graph_sift_ords(a, 0, end);
  }
}

static int graph_pool_reserve(lg_graph_t *g, size_t n) {
  graph_scratch_t *s = g->scratch;
  if (n <= s->pool_cap)
    return 0;
  size_t ncap = s->pool_cap ? s->pool_cap : 64;
  while (ncap < n)
    ncap *= 2;
  int64_t *pool = lg_mem_realloc(s->pool, s->pool_cap * sizeof *pool, ncap * sizeof *pool);
  if (pool == NULL)
    return -ENOMEM;
  s->pool = pool;
  s->pool_cap = ncap;
  return 0;
}

/* Pearce-Kelly's reorder: F = queue[0 .. nf) (reachable from the new edge's head) must come
 * after B = queue[nf .. nf+nb) (reaching its tail). Both keep their relative order and
 * together reuse exactly the ords they held, so no other node is disturbed. */
static void graph_reorder(lg_graph_t *g, size_t nf, size_t nb) {
  uint32_t *f = g->scratch->queue, *b = f + nf;
  int64_t *pool = g->scratch->pool;
  graph_sort_ids(g, f, nf);
  graph_sort_ids(g, b, nb);
  /* Merge the two sorted ord sequences into the pool. */
  size_t i = 0, j = 0, k = 0;
  while (i < nb || j < nf) {
    if (j == nf || (i < nb && graph_node(g, b[i])->ord < graph_node(g, f[j])->ord))
      pool[k++] = graph_node(g, b[i++])->ord;
    else
      pool[k++] = graph_node(g, f[j++])->ord;
  }
  for (i = 0; i < nb; i++)
    graph_node(g, b[i])->ord = pool[i];
  for (j = 0; j < nf; j++)
    graph_node(g, f[j])->ord = pool[nb + j];
}

/* Appends from -> to to both vectors at the positions their graph_vec_reserve returned, each
 * entry naming the other's place. */
static void graph_edge_link(lg_graph_t *g, uint32_t from, uint32_t to, int refused,
                            uint32_t out_pos, uint32_t in_pos) {
  graph_vec_put(graph_out_vec(g, from, refused), out_pos, (graph_adj_t){to, in_pos});
  graph_vec_put(graph_in_vec(g, to, refused), in_pos, (graph_adj_t){from, out_pos});
  g->edge_count++;
}

/* Room for from -> to in the refused vectors; 0 with the positions, or -ENOMEM. */
static int graph_refused_reserve(lg_graph_t *g, uint32_t from, uint32_t to, uint32_t *out_pos,
                                 uint32_t *in_pos) {
  /* An empty refused record left behind by a failure here is harmless and reused later.
   * Both are made before either is used: making one may move the side table, never a record. */
  if (graph_refused_make(g, from) == NULL || graph_refused_make(g, to) == NULL)
    return -ENOMEM;
  int o = graph_vec_reserve(&graph_refused_of(g, from)->out);
  int i = o < 0 ? o : graph_vec_reserve(&graph_refused_of(g, to)->in);
  if (i < 0) {
    graph_vec_unreserve(&graph_refused_of(g, from)->out);
    return -ENOMEM;
  }
  *out_pos = (uint32_t)o;
  *in_pos = (uint32_t)i;
  return 0;
}

static int graph_node_isolated(const lg_graph_t *g, uint32_t n) {
  return graph_node(g, n)->out == 0 && graph_node(g, n)->in == 0;
}

static int graph_vec_lists(graph_vec_t v, uint32_t m) {
  graph_adj_t one;
  const graph_adj_t *items;
  uint32_t n = graph_vec_view(v, &one, &items);
  for (uint32_t k = 0; k < n; k++)
    if (items[k].node == m)
      return 1;
  return 0;
}

/* Whether from -> to (accepted or refused) is in the graph, both ends live. An accepted edge
 * climbs the order, so only refused vectors can hold one that goes down it; otherwise the
 * shorter side is scanned: O(min(out-degree(from), in-degree(to))). */
static int graph_edge_exists(const lg_graph_t *g, uint32_t from, uint32_t to) {
  const graph_node_t *nf = graph_node(g, from), *nt = graph_node(g, to);
  const graph_refused_t *rf = graph_refused_of(g, from), *rt = graph_refused_of(g, to);
  int accepted = nf->ord < nt->ord;
  size_t out_n = (accepted ? graph_vec_len(nf->out) : 0) + (rf ? graph_vec_len(rf->out) : 0);
  size_t in_n = (accepted ? graph_vec_len(nt->in) : 0) + (rt ? graph_vec_len(rt->in) : 0);
  if (out_n <= in_n)
    return (accepted && graph_vec_lists(nf->out, to)) ||
           (rf != NULL && graph_vec_lists(rf->out, to));
  return (accepted && graph_vec_lists(nt->in, from)) ||
         (rt != NULL && graph_vec_lists(rt->in, from));
}

/* add_edge with the KNOWN check left to the caller when `check_known` is 0. */
static int graph_add(lg_graph_t *g, lg_node_t from, lg_node_t to, lg_node_t *path,
                     size_t path_cap, size_t *path_len, int check_known) {
  if (from == to || from == GRAPH_NONE || to == GRAPH_NONE)
    return -EINVAL;
  if (check_known && graph_node_live(g, from) && graph_node_live(g, to) &&
      graph_edge_exists(g, from, to))
    return LG_GRAPH_KNOWN;

  int rc = graph_nodes_reserve(g, from > to ? from : to);
  if (rc != 0)
    return rc;

  /* New nodes go to the top of the order; undone if anything below fails. */
  int new_from = 0, new_to = 0;
  if (graph_node(g, from)->ord == 0) {
    graph_node(g, from)->ord = ++g->ord_hi;
    g->node_count++;
    new_from = 1;
  }
  if (graph_node(g, to)->ord == 0) {
    graph_node(g, to)->ord = ++g->ord_hi;
    g->node_count++;
    new_to = 1;
  }

  graph_node_t *nf = graph_node(g, from), *nt = graph_node(g, to);
  int64_t *move_ord = NULL, move_to = 0;
  size_t f_count = 0, b_count = 0;
  if (nf->ord > nt->ord) {
    if (graph_node_isolated(g, to)) {
      move_ord = &nt->ord;
      move_to = g->ord_hi + 1;
    } else if (graph_node_isolated(g, from)) {
      move_ord = &nf->ord;
      move_to = g->ord_lo - 1;
    } else {
      rc = graph_search_forward(g, to, from, nf->ord, &f_count);
      if (rc < 0)
        goto fail;
      if (rc == 1) {
        uint32_t out_pos, in_pos;
        rc = graph_refused_reserve(g, from, to, &out_pos, &in_pos);
        if (rc != 0)
          goto fail;
        size_t len = graph_path_write(g, to, from, path, path_cap);
        if (path_len != NULL)
          *path_len = len;
        graph_edge_link(g, from, to, 1, out_pos, in_pos);
        return LG_GRAPH_CYCLE;
      }
      rc = graph_search_backward(g, from, nt->ord, f_count, &b_count);
      if (rc == 0)
        rc = graph_pool_reserve(g, f_count + b_count);
      if (rc != 0)
        goto fail;
    }
  }
  int out_pos = graph_vec_reserve(&nf->out);
  int in_pos = out_pos < 0 ? out_pos : graph_vec_reserve(&nt->in);
  if (in_pos < 0) {
    graph_vec_unreserve(&nf->out);
    rc = -ENOMEM;
    goto fail;
  }
  if (move_ord != NULL) {
    *move_ord = move_to;
    if (move_to > g->ord_hi)
      g->ord_hi = move_to;
    else
      g->ord_lo = move_to;
  } else if (f_count > 0) {
    graph_reorder(g, f_count, b_count);
  }
  graph_edge_link(g, from, to, 0, (uint32_t)out_pos, (uint32_t)in_pos);
  return LG_GRAPH_ADDED;

fail:
  /* A node created above has no edges yet, so dropping it leaves nothing behind. */
  if (new_from) {
    graph_node(g, from)->ord = 0;
    g->node_count--;
  }
  if (new_to) {
    graph_node(g, to)->ord = 0;
    g->node_count--;
  }
  return rc;
}

int lg_graph_add_edge(lg_graph_t *g, lg_node_t from, lg_node_t to, lg_node_t *path,
                      size_t path_cap, size_t *path_len) {
  return graph_add(g, from, to, path, path_cap, path_len, 1);
}

int lg_graph_add_new_edge(lg_graph_t *g, lg_node_t from, lg_node_t to, lg_node_t *path,
                          size_t path_cap, size_t *path_len) {
  return graph_add(g, from, to, path, path_cap, path_len, 0);
}

int lg_graph_has_edge(const lg_graph_t *g, lg_node_t from, lg_node_t to) {
  if (from == to || !graph_node_live(g, from) || !graph_node_live(g, to))
    return 0;
  return graph_edge_exists(g, from, to);
}

size_t lg_graph_find_path(const lg_graph_t *g, lg_node_t from, lg_node_t to, lg_node_t *path,
                          size_t path_cap) {
  if (from == to || !graph_node_live(g, from) || !graph_node_live(g, to))
    return 0;
  /* Accepted edges only climb the order. */
  if (graph_node(g, from)->ord > graph_node(g, to)->ord)
    return 0;
  size_t count;
  if (graph_search_forward(g, from, to, graph_node(g, to)->ord, &count) != 1)
    return 0; /* no path, or no memory to search */
  return graph_path_write(g, from, to, path, path_cap);
}

size_t lg_graph_node_count(const lg_graph_t *g) {
  return g->node_count;
}

size_t lg_graph_edge_count(const lg_graph_t *g) {
  return g->edge_count;
}

/* Checks one vector of node n: a block holds at least two entries and no more than its
 * capacity; every entry names a live other end whose vector of the same kind, at the recorded
 * position, names n and this entry's position back; accepted edges climb the order. */
static int graph_check_vec(const lg_graph_t *g, uint32_t n, graph_vec_t v, int outgoing,
                           int refused) {
  if (v != 0 && !(v & GRAPH_VEC_ONE) &&
      (graph_vec_block(v)->n < 2 || graph_vec_block(v)->n > graph_vec_block(v)->cap))
    return LG_GRAPH_BAD_COUNT;
  graph_adj_t one;
  const graph_adj_t *items;
  uint32_t len = graph_vec_view(v, &one, &items);
  for (uint32_t k = 0; k < len; k++) {
    uint32_t m = items[k].node, p = items[k].pos;
    if (m == n || !graph_node_live(g, m))
      return LG_GRAPH_BAD_ENDPOINT;
    const graph_node_t *other = graph_node(g, m);
    const graph_refused_t *orf = refused ? graph_refused_of(g, m) : NULL;
    if (refused && orf == NULL)
      return LG_GRAPH_BAD_MIRROR;
    graph_vec_t mirror = outgoing ? (refused ? orf->in : other->in)
                                  : (refused ? orf->out : other->out);
    if (p >= graph_vec_len(mirror) || graph_vec_get(mirror, p).node != n)
      return LG_GRAPH_BAD_MIRROR;
    if (graph_vec_get(mirror, p).pos != k)
      return LG_GRAPH_BAD_POSITION;
    uint32_t from = outgoing ? n : m, to = outgoing ? m : n;
    if (!refused && graph_node(g, from)->ord >= graph_node(g, to)->ord)
      return LG_GRAPH_BAD_ORDER;
  }
  return 0;
}

/* No pair is listed twice among n's out entries, accepted and refused together (the entries
 * pair up one to one with in entries, so the in side needs no check of its own). Sorts
 * (head, kind) keys in `keys`, which has room for n's out-degree. */
static int graph_check_unique(const lg_graph_t *g, uint32_t n, int64_t *keys) {
  const graph_node_t *nd = graph_node(g, n);
  const graph_refused_t *rf = graph_refused_of(g, n);
  graph_vec_t vs[2] = {nd->out, rf != NULL ? rf->out : 0};
  size_t c = 0;
  for (int kind = 0; kind < 2; kind++) {
    graph_adj_t one;
    const graph_adj_t *items;
    uint32_t len = graph_vec_view(vs[kind], &one, &items);
    for (uint32_t k = 0; k < len; k++)
      keys[c++] = (int64_t)items[k].node << 1 | kind;
  }
  graph_sort_ords(keys, c);
  for (size_t k = 1; k < c; k++)
    if (keys[k - 1] >> 1 == keys[k] >> 1)
      return ((keys[k - 1] ^ keys[k]) & 1) ? LG_GRAPH_BAD_KIND : LG_GRAPH_BAD_DUPLICATE;
  return 0;
}

int lg_graph_check_invariants(const lg_graph_t *g) {
  size_t live = 0, out_total = 0, in_total = 0, out_max = 0;
  int rc = 0;
  for (uint32_t n = 0; n < g->nodes_cap && rc == 0; n++) {
    const graph_node_t *nd = graph_node(g, n);
    const graph_refused_t *rf = graph_refused_of(g, n);
    if (nd->ord == 0) {
      if (nd->out != 0 || nd->in != 0 || rf != NULL)
        rc = LG_GRAPH_BAD_ENDPOINT;
      continue;
    }
    live++;
    if (nd->ord < g->ord_lo || nd->ord > g->ord_hi)
      rc = LG_GRAPH_BAD_ORDER;
    if (rc == 0)
      rc = graph_check_vec(g, n, nd->out, 1, 0);
    if (rc == 0)
      rc = graph_check_vec(g, n, nd->in, 0, 0);
    size_t out_n = graph_vec_len(nd->out);
    in_total += graph_vec_len(nd->in);
    if (rc == 0 && rf != NULL) {
      rc = graph_check_vec(g, n, rf->out, 1, 1);
      if (rc == 0)
        rc = graph_check_vec(g, n, rf->in, 0, 1);
      out_n += graph_vec_len(rf->out);
      in_total += graph_vec_len(rf->in);
    }
    out_total += out_n;
    if (out_n > out_max)
      out_max = out_n;
  }
  if (rc != 0)
    return rc;
  if (live != g->node_count || out_total != g->edge_count || in_total != g->edge_count)
    return LG_GRAPH_BAD_COUNT;
  /* The side table holds refused vectors of live nodes only. */
  for (uint32_t k = 0; k < g->refused_cap; k++)
    if (g->refused[k].rec != NULL && !graph_node_live(g, g->refused[k].node))
      return LG_GRAPH_BAD_ENDPOINT;

  if (out_max > 1) {
    int64_t *keys = lg_mem_alloc(out_max * sizeof *keys);
    if (keys == NULL)
      return -ENOMEM;
    for (uint32_t n = 0; n < g->nodes_cap && rc == 0; n++)
      if (graph_node(g, n)->ord != 0)
        rc = graph_check_unique(g, n, keys);
    lg_mem_free(keys, out_max * sizeof *keys);
    if (rc != 0)
      return rc;
  }

  /* The ords of live nodes are distinct: together they are a permutation of the nodes. */
  if (live > 1) {
    int64_t *ords = lg_mem_alloc(live * sizeof *ords);
    if (ords == NULL)
      return -ENOMEM;
    size_t k = 0;
    for (size_t n = 0; n < g->nodes_cap; n++)
      if (graph_node(g, n)->ord != 0)
        ords[k++] = graph_node(g, n)->ord;
    graph_sort_ords(ords, live);
    for (k = 1; k < live && rc == 0; k++)
      if (ords[k - 1] == ords[k])
        rc = LG_GRAPH_BAD_PERMUTATION;
    lg_mem_free(ords, live * sizeof *ords);
  }
  return rc;
}
