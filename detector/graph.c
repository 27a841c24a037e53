/* graph.c - the lock-order graph's order: Pearce-Kelly dynamic topological order over the
 * caller's edges (graph.h states the contract).
 *
 * Every placed node has a distinct 64-bit place (ord), never 0; every edge in the order goes
 * from a smaller place to a larger one. A node is placed at the top, so locks first taken in
 * program order give edges that already agree with the order (the common case: O(1), two
 * loads). A node with no other edge in the order can be moved freely, so an edge that disagrees
 * with the order but touches such a node just moves it (to the top or the bottom). Otherwise
 * Pearce-Kelly: a forward search from `to` bounded by place(from) either reaches `from` (a
 * cycle) or yields the set F, a backward search from `from` bounded by place(to) yields B,
 * and the places of B and F are reassigned, B first, each keeping its internal order: no
 * other node moves.
 *
 * Storage: the places, in chunks indexed by id, 8 bytes each, allocated as ids reach them
 * and never moved (growing costs no copy and leaves at most one chunk unused). The edges are
 * the caller's: a search reads a node's lists through the view and each record's far end and
 * skip byte at the view's offsets (memcpy of the id: the records are the caller's type).
 *
 * No recursion: searches use one queue, sorting is heapsort. What a search has visited lives
 * in a visited set (visit.h) rather than beside the places: it grows to the largest search
 * made, so a node costs no search scratch of its own.
 */
#include "graph.h"

#include <errno.h>
#include <string.h>

#include "mem.h"
#include "visit.h"

#define GRAPH_NONE UINT32_MAX
/* A node with more listed edges than this in a direction is not looked at for the shortcut
 * of moving a node with no other edge in the order: the search decides instead. */
#define GRAPH_ALONE_SCAN 8

/* Mutable even through a const graph: the checks still need space. The visited set holds, per
 * node a search reached, nothing of interest (its presence is the mark). */
typedef struct graph_scratch {
  lg_visit_t seen;
  uint32_t *queue;
  size_t queue_cap;
  int64_t *pool;
  size_t pool_cap;
} graph_scratch_t;

#define GRAPH_CHUNK_SHIFT 12
#define GRAPH_CHUNK_NODES (1u << GRAPH_CHUNK_SHIFT)

struct lg_graph {
  lg_graph_adj_t adj;
  int64_t **chunks; /* places; 0: not placed */
  size_t chunks_n, chunks_cap;
  size_t nodes_cap; /* chunks_n * GRAPH_CHUNK_NODES: ids below it have a place */
  size_t node_count;
  int64_t ord_hi, ord_lo; /* places in use lie in [ord_lo, ord_hi]; 0 is never one */
  graph_scratch_t *scratch;
};

/* ---- places ---- */

static inline int64_t *graph_place(const lg_graph_t *g, uint32_t n) {
  return &g->chunks[n >> GRAPH_CHUNK_SHIFT][n & (GRAPH_CHUNK_NODES - 1)];
}

static inline int64_t graph_ord(const lg_graph_t *g, uint32_t n) {
  return n < g->nodes_cap ? *graph_place(g, n) : 0;
}

int64_t lg_graph_order(const lg_graph_t *g, lg_node_t n) {
  return graph_ord(g, n);
}

size_t lg_graph_node_count(const lg_graph_t *g) {
  return g->node_count;
}

/* Chunks cover id n (ids are dense: the lock table hands out the lowest free ones). */
static int graph_nodes_reserve(lg_graph_t *g, uint32_t n) {
  while (n >= g->nodes_cap) {
    if (g->chunks_n == g->chunks_cap) {
      size_t ncap = g->chunks_cap ? g->chunks_cap * 2 : 16;
      int64_t **chunks = lg_mem_realloc(g->chunks, g->chunks_cap * sizeof *chunks,
                                        ncap * sizeof *chunks);
      if (chunks == NULL)
        return -ENOMEM;
      g->chunks = chunks;
      g->chunks_cap = ncap;
    }
    int64_t *chunk = lg_mem_alloc(GRAPH_CHUNK_NODES * sizeof *chunk);
    if (chunk == NULL)
      return -ENOMEM;
    g->chunks[g->chunks_n++] = chunk;
    g->nodes_cap += GRAPH_CHUNK_NODES;
  }
  return 0;
}

/* ---- the caller's edges ---- */

/* Node n's listed edges in direction dir; *items their records. */
static inline uint32_t graph_list(const lg_graph_t *g, uint32_t n, int dir, void *const **items) {
  return g->adj.list(g->adj.ctx, n, dir, items);
}

static inline uint32_t graph_end(const void *rec, size_t off) {
  uint32_t v;
  memcpy(&v, (const char *)rec + off, sizeof v);
  return v;
}

/* The far end of a record listed in direction dir (its head for an edge out). */
static inline uint32_t graph_far(const lg_graph_t *g, const void *rec, int dir) {
  return graph_end(rec, dir == LG_GRAPH_OUT ? g->adj.to_off : g->adj.from_off);
}

static inline int graph_skipped(const lg_graph_t *g, const void *rec) {
  return ((const unsigned char *)rec)[g->adj.skip_off] != 0;
}

/* The place of the far end of a record listed in direction dir when the edge is in the order
 * (not skipped, far end placed), else 0. */
static inline int64_t graph_far_ord(const lg_graph_t *g, const void *rec, int dir) {
  return graph_skipped(g, rec) ? 0 : graph_ord(g, graph_far(g, rec, dir));
}

/* Whether node n has no edge in the order but from -> to; a node with many listed edges is
 * said not to (see GRAPH_ALONE_SCAN). */
static int graph_alone(const lg_graph_t *g, uint32_t n, uint32_t from, uint32_t to) {
  for (int dir = 0; dir < 2; dir++) {
    void *const *items;
    uint32_t k = graph_list(g, n, dir, &items);
    if (k > GRAPH_ALONE_SCAN)
      return 0;
    for (uint32_t i = 0; i < k; i++) {
      if (graph_far_ord(g, items[i], dir) == 0)
        continue;
      if (graph_end(items[i], g->adj.from_off) == from && graph_end(items[i], g->adj.to_off) == to)
        continue;
      return 0;
    }
  }
  return 1;
}

/* ---- search space ---- */

/* Appends v at queue[at], growing the queue: it holds what one search visits, never more
 * than the placed nodes. */
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

lg_graph_t *lg_graph_new(const lg_graph_adj_t *adj) {
  lg_graph_t *g = lg_mem_alloc(sizeof *g);
  if (g == NULL)
    return NULL;
  g->adj = *adj;
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
  for (size_t c = 0; c < g->chunks_n; c++)
    lg_mem_free(g->chunks[c], GRAPH_CHUNK_NODES * sizeof *g->chunks[c]);
  lg_mem_free(g->chunks, g->chunks_cap * sizeof *g->chunks);
  lg_visit_free(&g->scratch->seen);
  lg_mem_free(g->scratch->queue, g->scratch->queue_cap * 4);
  lg_mem_free(g->scratch->pool, g->scratch->pool_cap * sizeof *g->scratch->pool);
  lg_mem_free(g->scratch, sizeof *g->scratch);
  lg_mem_free(g, sizeof *g);
}

int lg_graph_place(lg_graph_t *g, lg_node_t n) {
  if (n == GRAPH_NONE)
    return -EINVAL;
  int rc = graph_nodes_reserve(g, n);
  if (rc != 0)
    return rc;
  int64_t *p = graph_place(g, n);
  if (*p == 0) {
    *p = ++g->ord_hi;
    g->node_count++;
  }
  return 0;
}

void lg_graph_remove_node(lg_graph_t *g, lg_node_t n) {
  if (graph_ord(g, n) == 0)
    return;
  *graph_place(g, n) = 0;
  g->node_count--;
}

/* Search from src over edges in the order in direction dir (out: forward, in: backward),
 * entering only nodes placed within the bound: at most `limit` forward, above it backward
 * (no path between the new edge's ends leaves that range, so nothing on one is cut off).
 * Visited nodes are appended to the queue from `start`, *count of them. Forward, stops as
 * soon as dst is reached and returns 1; else 0, or -ENOMEM when the search space cannot grow. */
static int graph_search(const lg_graph_t *g, uint32_t src, uint32_t dst, int dir, int64_t limit,
                        size_t start, size_t *count) {
  graph_scratch_t *s = g->scratch;
  size_t head = start, tail = start;
  int added;
  lg_visit_begin(&s->seen);
  if (lg_visit_put(&s->seen, src, &added) == NULL || graph_queue_put(g, tail++, src) != 0)
    return -ENOMEM;
  while (head < tail) {
    uint32_t u = s->queue[head++];
    void *const *items;
    uint32_t k = graph_list(g, u, dir, &items);
    for (uint32_t i = 0; i < k; i++) {
      int64_t o = graph_far_ord(g, items[i], dir);
      if (o == 0 || (dir == LG_GRAPH_OUT ? o > limit : o <= limit))
        continue;
      uint32_t v = graph_far(g, items[i], dir);
      if (lg_visit_put(&s->seen, v, &added) == NULL)
        return -ENOMEM;
      if (!added)
        continue;
      if (graph_queue_put(g, tail++, v) != 0)
        return -ENOMEM;
      if (dir == LG_GRAPH_OUT && v == dst) {
        *count = tail - start;
        return 1;
      }
    }
  }
  *count = tail - start;
  return 0;
}

static void graph_sift_ids(const lg_graph_t *g, uint32_t *a, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n)
      return;
    if (child + 1 < n && *graph_place(g, a[child + 1]) > *graph_place(g, a[child]))
      child++;
    if (*graph_place(g, a[root]) >= *graph_place(g, a[child]))
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
    if (j == nf || (i < nb && *graph_place(g, b[i]) < *graph_place(g, f[j])))
      pool[k++] = *graph_place(g, b[i++]);
    else
      pool[k++] = *graph_place(g, f[j++]);
  }
  for (i = 0; i < nb; i++)
    *graph_place(g, b[i]) = pool[i];
  for (j = 0; j < nf; j++)
    *graph_place(g, f[j]) = pool[nb + j];
}

int lg_graph_order_edge(lg_graph_t *g, lg_node_t from, lg_node_t to) {
  int64_t of = graph_ord(g, from), ot = graph_ord(g, to);
  if (from == to || of == 0 || ot == 0)
    return -EINVAL;
  if (of < ot)
    return LG_GRAPH_ADDED;
  if (graph_alone(g, to, from, to)) {
    *graph_place(g, to) = ++g->ord_hi;
    return LG_GRAPH_ADDED;
  }
  if (graph_alone(g, from, from, to)) {
    *graph_place(g, from) = --g->ord_lo;
    return LG_GRAPH_ADDED;
  }
  size_t nf = 0, nb = 0;
  int rc = graph_search(g, to, from, LG_GRAPH_OUT, of, 0, &nf);
  if (rc < 0)
    return rc;
  if (rc == 1)
    return LG_GRAPH_CYCLE;
  rc = graph_search(g, from, GRAPH_NONE, LG_GRAPH_IN, ot, nf, &nb);
  if (rc == 0)
    rc = graph_pool_reserve(g, nf + nb);
  if (rc != 0)
    return rc;
  graph_reorder(g, nf, nb);
  return LG_GRAPH_ADDED;
}

/* Checks node n's listed edges in direction dir: each names n at its near end, and each in
 * the order climbs it. */
static int graph_check_list(const lg_graph_t *g, uint32_t n, int dir) {
  void *const *items;
  uint32_t k = graph_list(g, n, dir, &items);
  size_t near = dir == LG_GRAPH_OUT ? g->adj.from_off : g->adj.to_off;
  for (uint32_t i = 0; i < k; i++) {
    if (graph_end(items[i], near) != n)
      return LG_GRAPH_BAD_ENDPOINT;
    int64_t o = graph_far_ord(g, items[i], dir);
    if (o != 0 && (dir == LG_GRAPH_OUT ? o <= graph_ord(g, n) : o >= graph_ord(g, n)))
      return LG_GRAPH_BAD_ORDER;
  }
  return 0;
}

int lg_graph_check_invariants(const lg_graph_t *g) {
  size_t live = 0;
  int rc = 0;
  for (size_t n = 0; n < g->nodes_cap && rc == 0; n++) {
    int64_t o = graph_ord(g, n);
    if (o == 0)
      continue;
    live++;
    if (o < g->ord_lo || o > g->ord_hi)
      rc = LG_GRAPH_BAD_ORDER;
    if (rc == 0)
      rc = graph_check_list(g, n, LG_GRAPH_OUT);
    if (rc == 0)
      rc = graph_check_list(g, n, LG_GRAPH_IN);
  }
  if (rc != 0)
    return rc;
  if (live != g->node_count)
    return LG_GRAPH_BAD_COUNT;
  /* The places are distinct: together they are a permutation of the nodes. */
  if (live > 1) {
    int64_t *ords = lg_mem_alloc(live * sizeof *ords);
    if (ords == NULL)
      return -ENOMEM;
    size_t k = 0;
    for (size_t n = 0; n < g->nodes_cap; n++)
      if (graph_ord(g, n) != 0)
        ords[k++] = graph_ord(g, n);
    graph_sort_ords(ords, live);
    for (k = 1; k < live && rc == 0; k++)
      if (ords[k - 1] == ords[k])
        rc = LG_GRAPH_BAD_PERMUTATION;
    lg_mem_free(ords, live * sizeof *ords);
  }
  return rc;
}
