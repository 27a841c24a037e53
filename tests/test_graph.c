/* test_graph.c - the lock-order graph's order (graph.h) against a brute-force model, plus
 * named cases.
 *
 * The graph keeps no edges, so the tests own them, as edges.c does for the detector: an edge
 * store of their own (one record per edge, listed in its tail's out list and its head's in
 * list) lent to the graph through lg_graph_adj_t. The model keeps an adjacency matrix of the
 * listed edges with their skip flags and which nodes are placed, and answers "does this edge
 * close a cycle of edges in the order?" by BFS over the edges in the order. Random runs drive
 * the graph exactly as the detector does (a lock is placed when it takes its first edge out,
 * an edge into a lock not placed is set aside, a refused edge is skipped, a removed lock's
 * edges leave the lists before the lock leaves the graph) and check after every step that the
 * graph agrees with the model, that every edge in the order climbs it, and that an edge moves
 * no node outside its affected region. Named cases cover inversions, reorders, reused ids, a
 * million-lock chain, a hub, argument errors, skipped edges, the invariant checker itself, and
 * a place and searches that run out of memory (the address space capped around one call).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "graph.h"

/* ---- the edge store: the caller's side of lg_graph_adj_t ---- */

/* One edge. The fields the graph reads are spread over the record, none at offset 0, so a
 * graph that ignored the offsets in the view would read the wrong bytes. out_pos and in_pos
 * are where the record sits in out[from] and in[to], so removing it is O(1). */
typedef struct edge {
  uint32_t out_pos;
  uint8_t skip;
  uint32_t from;
  uint32_t in_pos;
  uint32_t to;
} edge_t;

/* One node's edges of one direction, as the graph reads them: pointers to records. */
typedef struct edge_list {
  void **items;
  uint32_t n, cap;
} edge_list_t;

/* Node ids below `nodes` may have edges; each has an out list and an in list. */
typedef struct store {
  uint32_t nodes;
  edge_list_t *out, *in;
} store_t;

/* The view's callback: node n's records out or in, none for an id past the store. */
static uint32_t store_list(void *ctx, lg_node_t n, int dir, void *const **items) {
  store_t *s = ctx;
  cr_assert(dir == LG_GRAPH_OUT || dir == LG_GRAPH_IN, "list called with direction %d", dir);
  if (n >= s->nodes) {
    *items = NULL;
    return 0;
  }
  edge_list_t *l = dir == LG_GRAPH_OUT ? &s->out[n] : &s->in[n];
  *items = l->items;
  return l->n;
}

static store_t *store_new(uint32_t nodes) {
  store_t *s = calloc(1, sizeof *s);
  cr_assert_not_null(s);
  s->nodes = nodes;
  s->out = calloc(nodes, sizeof *s->out);
  s->in = calloc(nodes, sizeof *s->in);
  cr_assert(s->out && s->in, "no memory for a store of %u nodes", nodes);
  return s;
}

/* The view the graph reads the store through. */
static lg_graph_adj_t store_adj(store_t *s) {
  return (lg_graph_adj_t){.list = store_list,
                          .ctx = s,
                          .from_off = offsetof(edge_t, from),
                          .to_off = offsetof(edge_t, to),
                          .skip_off = offsetof(edge_t, skip)};
}

/* Appends e to l and returns its index there. */
static uint32_t list_push(edge_list_t *l, edge_t *e) {
  if (l->n == l->cap) {
    uint32_t cap = l->cap ? 2 * l->cap : 2;
    void **items = realloc(l->items, (size_t)cap * sizeof *items);
    cr_assert_not_null(items, "no memory for a list of %u edges", cap);
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n] = e;
  return l->n++;
}

/* Lists a new edge from -> to, not skipped. */
static edge_t *store_add(store_t *s, uint32_t from, uint32_t to) {
  cr_assert(from < s->nodes && to < s->nodes, "edge %u -> %u outside the store", from, to);
  edge_t *e = calloc(1, sizeof *e);
  cr_assert_not_null(e);
  e->from = from;
  e->to = to;
  e->out_pos = list_push(&s->out[from], e);
  e->in_pos = list_push(&s->in[to], e);
  return e;
}

/* Takes e off both its lists (the last record of each takes its place) and frees it. */
static void store_remove(store_t *s, edge_t *e) {
  edge_list_t *out = &s->out[e->from], *in = &s->in[e->to];
  cr_assert(e->out_pos < out->n && out->items[e->out_pos] == e, "edge %u -> %u lost", e->from,
            e->to);
  cr_assert(e->in_pos < in->n && in->items[e->in_pos] == e, "edge %u -> %u lost", e->from,
            e->to);
  edge_t *last = out->items[--out->n];
  out->items[e->out_pos] = last;
  last->out_pos = e->out_pos;
  last = in->items[--in->n];
  in->items[e->in_pos] = last;
  last->in_pos = e->in_pos;
  free(e);
}

/* Takes every edge of node x off the lists, as the lock table does before a lock leaves. */
static void store_remove_node(store_t *s, uint32_t x) {
  while (s->out[x].n > 0)
    store_remove(s, s->out[x].items[s->out[x].n - 1]);
  while (s->in[x].n > 0)
    store_remove(s, s->in[x].items[s->in[x].n - 1]);
}

/* The listed edge from -> to, or NULL: a scan of the shorter of the two lists it would be in,
 * so a hub's long list costs nothing to its leaves. */
static edge_t *store_find(const store_t *s, uint32_t from, uint32_t to) {
  const edge_list_t *out = &s->out[from], *in = &s->in[to];
  const edge_list_t *l = out->n <= in->n ? out : in;
  for (uint32_t i = 0; i < l->n; i++) {
    edge_t *e = l->items[i];
    if (e->from == from && e->to == to)
      return e;
  }
  return NULL;
}

static void store_free(store_t *s) {
  for (uint32_t x = 0; x < s->nodes; x++) {
    for (uint32_t i = 0; i < s->out[x].n; i++)
      free(s->out[x].items[i]);
    free(s->out[x].items);
    free(s->in[x].items);
  }
  free(s->out);
  free(s->in);
  free(s);
}

/* ---- the detector's protocol ---- */

/* What offer() returns for an edge into a node that is not placed: outside the order. */
enum { SET_ASIDE = 1 };

/* Lists a -> b (new) and offers it to the graph as the detector does: a is placed if this is
 * its first edge out (a node not placed has none); an edge into a node not placed is set aside;
 * an edge the graph refuses (or cannot search for) is skipped. Returns the graph's answer or
 * SET_ASIDE, and the record in *rec when rec is not NULL. */
static int offer(lg_graph_t *g, store_t *s, lg_node_t a, lg_node_t b, edge_t **rec) {
  cr_assert_null(store_find(s, a, b), "edge %u -> %u offered twice", a, b);
  edge_t *e = store_add(s, a, b);
  if (rec)
    *rec = e;
  if (lg_graph_order(g, a) == 0) {
    cr_assert_eq(s->out[a].n, 1, "node %u has edges out but is not placed", a);
    int rc = lg_graph_place(g, a);
    cr_assert_eq(rc, 0, "place(%u) returned %d", a, rc);
  }
  if (lg_graph_order(g, b) == 0)
    return SET_ASIDE;
  int rc = lg_graph_order_edge(g, a, b);
  if (rc == LG_GRAPH_CYCLE || rc == -ENOMEM)
    e->skip = 1;
  return rc;
}

/* Places first..last in that order, each through an edge to `sink`, which is never placed (its
 * edges in stay outside the order). */
static void place_in_order(lg_graph_t *g, store_t *s, lg_node_t first, lg_node_t last,
                           lg_node_t sink) {
  for (lg_node_t i = first; i <= last; i++)
    cr_assert_eq(offer(g, s, i, sink, NULL), SET_ASIDE, "%u -> %u", i, sink);
}

/* Removes node x as the lock table does: its edges first, then its place. */
static void drop_node(lg_graph_t *g, store_t *s, lg_node_t x) {
  store_remove_node(s, x);
  lg_graph_remove_node(g, x);
}

/* Every listed edge that is in the order (both ends placed, not skipped) climbs it; checked
 * here directly, not only through lg_graph_check_invariants. */
static void expect_store_climbs(const lg_graph_t *g, const store_t *s, const char *what) {
  for (uint32_t x = 0; x < s->nodes; x++) {
    const edge_list_t *l = &s->out[x];
    for (uint32_t i = 0; i < l->n; i++) {
      const edge_t *e = l->items[i];
      int64_t of = lg_graph_order(g, e->from), ot = lg_graph_order(g, e->to);
      if (e->skip || of == 0 || ot == 0)
        continue;
      if (of >= ot)
        cr_assert_fail("%s: edge %u -> %u in the order goes from %lld to %lld", what, e->from,
                       e->to, (long long)of, (long long)ot);
    }
  }
  int inv = lg_graph_check_invariants(g);
  cr_assert_eq(inv, 0, "%s: invariants broken (%d)", what, inv);
}

/* ---- the brute-force model ---- */

#define MODEL_N 200

/* Nodes 0 .. n-1: which are placed, which edges are listed and which of those skipped. */
typedef struct model {
  int n;
  unsigned char placed[MODEL_N];
  unsigned char listed[MODEL_N][MODEL_N];
  unsigned char skip[MODEL_N][MODEL_N];
} model_t;

static uint64_t rng_state;

static uint32_t rng_next(void) {
  /* xorshift64*: reproducible from the seed, which the failure messages print. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Whether the edge u -> v is in the order: listed, both ends placed, not skipped. */
static int model_in_order(const model_t *m, int u, int v) {
  return m->listed[u][v] && !m->skip[u][v] && m->placed[u] && m->placed[v];
}

/* Whether a path a ~> b runs over edges in the order (BFS). */
static int model_reaches(const model_t *m, int a, int b) {
  unsigned char seen[MODEL_N] = {0};
  int queue[MODEL_N], head = 0, tail = 0;
  seen[a] = 1;
  queue[tail++] = a;
  while (head < tail) {
    int u = queue[head++];
    if (u == b)
      return 1;
    for (int v = 0; v < m->n; v++)
      if (!seen[v] && model_in_order(m, u, v)) {
        seen[v] = 1;
        queue[tail++] = v;
      }
  }
  return 0;
}

/* Node x leaves: unplaced, with every edge it was an end of. */
static void model_remove(model_t *m, int x) {
  m->placed[x] = 0;
  for (int i = 0; i < m->n; i++) {
    m->listed[x][i] = m->listed[i][x] = 0;
    m->skip[x][i] = m->skip[i][x] = 0;
  }
}

static int compare_places(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The graph agrees with the model: invariants, the count, which nodes are placed, distinct
 * places, and every edge in the model's order climbing it. */
static void expect_agrees(const lg_graph_t *g, const model_t *m, uint64_t seed, int step) {
  int inv = lg_graph_check_invariants(g);
  cr_assert_eq(inv, 0, "seed %llu step %d: invariants broken (%d)", (unsigned long long)seed,
               step, inv);
  int64_t place[MODEL_N], sorted[MODEL_N];
  size_t placed = 0;
  for (int x = 0; x < m->n; x++) {
    place[x] = lg_graph_order(g, (lg_node_t)x);
    cr_assert_eq(place[x] != 0, m->placed[x] != 0, "seed %llu step %d: node %d has place %lld",
                 (unsigned long long)seed, step, x, (long long)place[x]);
    if (place[x] != 0)
      sorted[placed++] = place[x];
  }
  cr_assert_eq(lg_graph_node_count(g), placed, "seed %llu step %d: node count %zu, model %zu",
               (unsigned long long)seed, step, lg_graph_node_count(g), placed);
  qsort(sorted, placed, sizeof *sorted, compare_places);
  for (size_t k = 1; k < placed; k++)
    cr_assert_lt(sorted[k - 1], sorted[k], "seed %llu step %d: two nodes share place %lld",
                 (unsigned long long)seed, step, (long long)sorted[k]);
  for (int u = 0; u < m->n; u++)
    for (int v = 0; v < m->n; v++)
      if (model_in_order(m, u, v) && place[u] >= place[v])
        cr_assert_fail("seed %llu step %d: edge %d -> %d goes from %lld to %lld",
                       (unsigned long long)seed, step, u, v, (long long)place[u],
                       (long long)place[v]);
}

/* One randomized run: `steps` operations over `n` nodes, mostly new edges, some removals,
 * each done the detector's way and checked against the model. */
static void run_random(uint64_t seed, int n, int steps, int remove_per_mille) {
  static model_t m;
  memset(&m, 0, sizeof m);
  m.n = n;
  rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
  store_t *s = store_new((uint32_t)n);
  lg_graph_adj_t adj = store_adj(s);
  lg_graph_t *g = lg_graph_new(&adj);
  cr_assert_not_null(g);
  int added = 0, cycles = 0, reorders = 0, set_aside = 0;
  int64_t before[MODEL_N];

  for (int step = 0; step < steps; step++) {
    if ((int)(rng_next() % 1000) < remove_per_mille) {
      int x = (int)(rng_next() % (uint32_t)n);
      drop_node(g, s, (lg_node_t)x);
      model_remove(&m, x);
      expect_agrees(g, &m, seed, step);
      continue;
    }
    int a = (int)(rng_next() % (uint32_t)n), b = (int)(rng_next() % (uint32_t)n);
    if (a == b || m.listed[a][b])
      continue; /* the detector offers an edge once: its own table knows it */
    edge_t *e = store_add(s, (uint32_t)a, (uint32_t)b);
    m.listed[a][b] = 1;
    if (!m.placed[a]) {
      /* Its first edge out: placed above every other node, so the set-aside edges into it
       * from placed nodes join the order agreeing with it. */
      int rc = lg_graph_place(g, (lg_node_t)a);
      cr_assert_eq(rc, 0, "seed %llu step %d: place(%d) returned %d", (unsigned long long)seed,
                   step, a, rc);
      m.placed[a] = 1;
      int64_t top = lg_graph_order(g, (lg_node_t)a);
      for (int x = 0; x < n; x++)
        if (x != a && m.placed[x] && lg_graph_order(g, (lg_node_t)x) >= top)
          cr_assert_fail("seed %llu step %d: node %d placed at %lld, not above node %d at %lld",
                         (unsigned long long)seed, step, a, (long long)top, x,
                         (long long)lg_graph_order(g, (lg_node_t)x));
    }
    if (!m.placed[b]) {
      set_aside++;
    } else {
      int want = model_reaches(&m, b, a) ? LG_GRAPH_CYCLE : LG_GRAPH_ADDED;
      for (int x = 0; x < n; x++)
        before[x] = lg_graph_order(g, (lg_node_t)x);
      int rc = lg_graph_order_edge(g, (lg_node_t)a, (lg_node_t)b);
      cr_assert_eq(rc, want, "seed %llu step %d: order_edge %d -> %d returned %d, model says %d",
                   (unsigned long long)seed, step, a, b, rc, want);
      if (rc == LG_GRAPH_CYCLE) {
        e->skip = 1;
        m.skip[a][b] = 1;
        cycles++;
      } else {
        added++;
        reorders += before[a] > before[b];
      }
      /* Only the affected region [place(b), place(a)] moves; an edge that agrees has none. */
      for (int x = 0; x < n; x++) {
        int64_t now = lg_graph_order(g, (lg_node_t)x);
        int inside = before[a] > before[b] && before[x] >= before[b] && before[x] <= before[a];
        if (!inside && now != before[x])
          cr_assert_fail("seed %llu step %d: order_edge %d -> %d (places %lld -> %lld) moved "
                         "node %d from %lld to %lld",
                         (unsigned long long)seed, step, a, b, (long long)before[a],
                         (long long)before[b], x, (long long)before[x], (long long)now);
      }
    }
    expect_agrees(g, &m, seed, step);
  }
  /* A run that never hit these outcomes would test less than it claims. */
  cr_expect_gt(added, 0, "seed %llu: no edge added", (unsigned long long)seed);
  cr_expect_gt(cycles, 0, "seed %llu: no cycle found", (unsigned long long)seed);
  cr_expect_gt(reorders, 0, "seed %llu: no edge reordered", (unsigned long long)seed);
  cr_expect_gt(set_aside, 0, "seed %llu: no edge set aside", (unsigned long long)seed);
  lg_graph_free(g);
  store_free(s);
}

Test(graph, random_edges_match_brute_force_model, .timeout = 120) {
  for (uint64_t seed = 1; seed <= 5; seed++)
    run_random(seed, 200, 2000, 20);
}

Test(graph, dense_random_edges_with_removals_match_model, .timeout = 120) {
  /* Few nodes, many removals: ids are reused constantly and cycles are everywhere. */
  for (uint64_t seed = 100; seed < 104; seed++)
    run_random(seed, 24, 2000, 80);
}

Test(graph, sparse_random_edges_force_reorders, .timeout = 120) {
  /* Few edges per node: most new edges disagree with the order without closing a cycle. */
  for (uint64_t seed = 200; seed < 203; seed++)
    run_random(seed, 200, 400, 5);
}

Test(graph, saturating_random_edges_without_removals_match_model, .timeout = 120) {
  /* No lock ever dies: the order fills up until almost every new edge closes a cycle. */
  for (uint64_t seed = 300; seed < 303; seed++)
    run_random(seed, 60, 1500, 0);
}

/* ---- named cases ---- */

/* A new graph reading its edges from s. */
static lg_graph_t *graph_over(store_t *s) {
  lg_graph_adj_t adj = store_adj(s);
  lg_graph_t *g = lg_graph_new(&adj);
  cr_assert_not_null(g);
  return g;
}

Test(graph, two_node_inversion) {
  store_t *s = store_new(8);
  lg_graph_t *g = graph_over(s);
  edge_t *e;
  /* 1 then 2: 1 takes its first edge out and is placed; 2 has none, so the edge waits. */
  cr_assert_eq(offer(g, s, 1, 2, NULL), SET_ASIDE);
  cr_expect_neq(lg_graph_order(g, 1), 0);
  cr_expect_eq(lg_graph_order(g, 2), 0);
  cr_expect_eq(lg_graph_node_count(g), 1);
  /* 2 then 1: 2 is placed above 1, which brings 1 -> 2 into the order, and 2 -> 1 closes. */
  cr_assert_eq(offer(g, s, 2, 1, &e), LG_GRAPH_CYCLE);
  cr_expect(e->skip);
  cr_expect_lt(lg_graph_order(g, 1), lg_graph_order(g, 2));
  cr_expect_eq(lg_graph_node_count(g), 2);
  expect_store_climbs(g, s, "after 2 -> 1");

  /* The same with both ends placed beforehand (through edges to 7, never placed). */
  cr_assert_eq(offer(g, s, 3, 7, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, 4, 7, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, 4, 3, &e), LG_GRAPH_ADDED, "against the order, no cycle");
  cr_expect_not(e->skip);
  cr_expect_lt(lg_graph_order(g, 4), lg_graph_order(g, 3));
  cr_assert_eq(offer(g, s, 3, 4, &e), LG_GRAPH_CYCLE);
  cr_expect(e->skip);
  expect_store_climbs(g, s, "after 3 -> 4");
  lg_graph_free(g);
  store_free(s);
}

Test(graph, three_node_cycle) {
  store_t *s = store_new(40);
  lg_graph_t *g = graph_over(s);
  cr_assert_eq(offer(g, s, 10, 20, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, 20, 30, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, 30, 10, NULL), LG_GRAPH_CYCLE);
  cr_expect_lt(lg_graph_order(g, 10), lg_graph_order(g, 20));
  cr_expect_lt(lg_graph_order(g, 20), lg_graph_order(g, 30));
  cr_expect_eq(lg_graph_node_count(g), 3);
  expect_store_climbs(g, s, "after 30 -> 10");
  /* The refused edge stays out: 10 -> 30 agrees with the order, 30 -> 20 closes 20 -> 30. */
  cr_expect_eq(offer(g, s, 10, 30, NULL), LG_GRAPH_ADDED);
  cr_expect_eq(offer(g, s, 30, 20, NULL), LG_GRAPH_CYCLE);
  expect_store_climbs(g, s, "after 30 -> 20");
  lg_graph_free(g);
  store_free(s);
}

Test(graph, reorders_that_close_no_cycle) {
  /* Locks 1..5 first seen in that order (each placed by an edge to 100, never placed), then
   * taken against it, plus 6..8 chained in between: every edge is a reorder. */
  store_t *s = store_new(101);
  lg_graph_t *g = graph_over(s);
  place_in_order(g, s, 1, 8, 100);
  cr_assert_eq(offer(g, s, 6, 7, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(offer(g, s, 7, 8, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(offer(g, s, 3, 6, NULL), LG_GRAPH_ADDED);
  cr_assert_gt(lg_graph_order(g, 5), lg_graph_order(g, 4), "5 -> 4 must disagree at first");
  int against = 0;
  for (lg_node_t i = 5; i >= 2; i--) {
    against += lg_graph_order(g, i) > lg_graph_order(g, i - 1);
    cr_assert_eq(offer(g, s, i, i - 1, NULL), LG_GRAPH_ADDED, "edge %u -> %u", i, i - 1);
    cr_expect_lt(lg_graph_order(g, i), lg_graph_order(g, i - 1));
    char what[32];
    snprintf(what, sizeof what, "after %u -> %u", i, i - 1);
    expect_store_climbs(g, s, what);
  }
  cr_expect_gt(against, 1, "the edges were meant to go against the order");
  for (lg_node_t i = 5; i >= 2; i--)
    cr_expect_lt(lg_graph_order(g, i), lg_graph_order(g, i - 1));
  /* 8 is reached from 5 through 3, 6 and 7; an edge 8 -> 5 closes that, 1 -> 5 the chain. */
  cr_expect_eq(offer(g, s, 8, 5, NULL), LG_GRAPH_CYCLE);
  cr_expect_eq(offer(g, s, 1, 5, NULL), LG_GRAPH_CYCLE);
  cr_expect_eq(offer(g, s, 8, 1, NULL), LG_GRAPH_ADDED);
  cr_expect_eq(lg_graph_node_count(g), 8);
  expect_store_climbs(g, s, "at the end");
  lg_graph_free(g);
  store_free(s);
}

Test(graph, removed_id_placed_again_has_no_stale_order) {
  store_t *s = store_new(16);
  lg_graph_t *g = graph_over(s);
  cr_assert_eq(offer(g, s, 1, 2, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, 2, 3, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, 3, 1, NULL), LG_GRAPH_CYCLE);
  drop_node(g, s, 2);
  cr_expect_eq(lg_graph_order(g, 2), 0);
  cr_expect_eq(lg_graph_node_count(g), 2);
  expect_store_climbs(g, s, "after removing 2");
  lg_graph_remove_node(g, 2); /* again: not placed, nothing happens */
  cr_expect_eq(lg_graph_node_count(g), 2);

  /* Id 2 is a new lock: placed above all, and the orders opposite to the old lock's are new
   * edges, not cycles. */
  cr_assert_eq(lg_graph_place(g, 2), 0);
  cr_expect_gt(lg_graph_order(g, 2), lg_graph_order(g, 1));
  cr_expect_gt(lg_graph_order(g, 2), lg_graph_order(g, 3));
  cr_expect_eq(lg_graph_node_count(g), 3);
  cr_assert_eq(offer(g, s, 2, 1, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(offer(g, s, 3, 2, NULL), LG_GRAPH_ADDED);
  cr_expect_lt(lg_graph_order(g, 3), lg_graph_order(g, 2));
  cr_expect_lt(lg_graph_order(g, 2), lg_graph_order(g, 1));
  expect_store_climbs(g, s, "after 2 is back");

  /* Removing an end of the refused 3 -> 1 drops it too; 1 comes back above 3. */
  drop_node(g, s, 1);
  cr_assert_eq(offer(g, s, 1, 3, NULL), LG_GRAPH_ADDED);
  cr_expect_lt(lg_graph_order(g, 1), lg_graph_order(g, 3));
  expect_store_climbs(g, s, "after 1 is back");
  lg_graph_remove_node(g, 12345); /* never seen: nothing happens */
  cr_expect_eq(lg_graph_node_count(g), 3);
  /* The old 2 -> 1 left with the old 1; listed again, it closes the new 1 -> 3 -> 2. */
  cr_expect_eq(offer(g, s, 2, 1, NULL), LG_GRAPH_CYCLE);
  expect_store_climbs(g, s, "at the end");
  lg_graph_free(g);
  store_free(s);
}

Test(graph, million_node_chain_completes, .timeout = 60) {
  /* Locks taken in a chain 0, 1, ..., each placed as it takes its first edge out, then the
   * last one taking the first: the closing edge's search crosses the whole chain. */
  const lg_node_t n = 1000000;
  store_t *s = store_new(n);
  lg_graph_t *g = graph_over(s);
  for (lg_node_t i = 0; i + 1 < n; i++) {
    int rc = offer(g, s, i, i + 1, NULL);
    if (rc != SET_ASIDE)
      cr_assert_fail("edge %u -> %u returned %d, the head is not placed yet", i, i + 1, rc);
  }
  cr_expect_eq(lg_graph_node_count(g), n - 1);
  cr_expect_eq(lg_graph_order(g, n - 1), 0);
  edge_t *e;
  cr_assert_eq(offer(g, s, n - 1, 0, &e), LG_GRAPH_CYCLE);
  cr_expect(e->skip);
  cr_expect_eq(lg_graph_node_count(g), n);
  expect_store_climbs(g, s, "after the closing edge");
  lg_graph_free(g);
  store_free(s);
}

Test(graph, hub_with_many_edges_out_and_half_removed, .timeout = 60) {
  /* 100,000 per-object locks, each placed by an edge to a lock never placed, then a global
   * lock placed above them all taking each of them: one reorder, then edges that agree. Half
   * the objects die. */
  const lg_node_t n = 100000, hub = 0, sink = n + 1;
  store_t *s = store_new(n + 2);
  lg_graph_t *g = graph_over(s);
  place_in_order(g, s, 1, n, sink);
  for (lg_node_t i = 1; i <= n; i++) {
    int rc = offer(g, s, hub, i, NULL);
    if (rc != LG_GRAPH_ADDED)
      cr_assert_fail("hub -> %u returned %d", i, rc);
  }
  cr_expect_eq(s->out[hub].n, n);
  cr_expect_eq(lg_graph_node_count(g), n + 1);
  expect_store_climbs(g, s, "after the hub's edges");
  for (lg_node_t i = 1; i <= n; i += 2)
    drop_node(g, s, i);
  cr_expect_eq(s->out[hub].n, n / 2);
  cr_expect_eq(lg_graph_node_count(g), n / 2 + 1);
  expect_store_climbs(g, s, "after the removals");
  for (lg_node_t i = 1; i <= n; i++)
    if ((lg_graph_order(g, i) != 0) != (i % 2 == 0))
      cr_assert_fail("node %u has place %lld", i, (long long)lg_graph_order(g, i));
  /* An object taking the hub closes a cycle; a new lock on a dead object's id does not. */
  cr_expect_eq(offer(g, s, n, hub, NULL), LG_GRAPH_CYCLE);
  cr_expect_eq(offer(g, s, 1, hub, NULL), LG_GRAPH_ADDED);
  cr_expect_lt(lg_graph_order(g, 1), lg_graph_order(g, hub));
  expect_store_climbs(g, s, "after the closing edges");
  lg_graph_free(g);
  store_free(s);
}

Test(graph, reverse_order_acquisitions_stay_acyclic, .timeout = 60) {
  /* Locks taken against the order they were first seen in: i then n+i, then n+i then i-1.
   * Every edge of the second kind disagrees with the order, none closes a cycle, and each
   * search runs down the chain built so far. */
  const lg_node_t n = 2000;
  store_t *s = store_new(2 * n);
  lg_graph_t *g = graph_over(s);
  for (lg_node_t i = 0; i < n; i++)
    cr_assert_eq(offer(g, s, i, n + i, NULL), SET_ASIDE);
  for (lg_node_t i = 1; i < n; i++) {
    int rc = offer(g, s, n + i, i - 1, NULL);
    if (rc != LG_GRAPH_ADDED)
      cr_assert_fail("edge %u -> %u returned %d", n + i, i - 1, rc);
  }
  /* All but n, which never took an edge out. */
  cr_expect_eq(lg_graph_node_count(g), 2 * n - 1);
  cr_expect_eq(lg_graph_order(g, n), 0);
  expect_store_climbs(g, s, "after the chain");
  for (lg_node_t i = 1; i < n; i++)
    cr_assert_lt(lg_graph_order(g, i), lg_graph_order(g, i - 1));
  /* n-1 ~> 0 runs through the whole chain. */
  cr_expect_eq(offer(g, s, 0, n - 1, NULL), LG_GRAPH_CYCLE);
  expect_store_climbs(g, s, "after the closing edge");
  lg_graph_free(g);
  store_free(s);
}

Test(graph, invalid_arguments) {
  store_t *s = store_new(16);
  lg_graph_t *g = graph_over(s);
  cr_assert_eq(offer(g, s, 1, 3, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, 2, 3, NULL), SET_ASIDE);
  int64_t o1 = lg_graph_order(g, 1), o2 = lg_graph_order(g, 2);
  cr_expect_eq(lg_graph_order_edge(g, 1, 1), -EINVAL, "from == to");
  cr_expect_eq(lg_graph_order_edge(g, 1, 3), -EINVAL, "3 is not placed");
  cr_expect_eq(lg_graph_order_edge(g, 3, 1), -EINVAL, "3 is not placed");
  cr_expect_eq(lg_graph_order_edge(g, 1, 5000000), -EINVAL, "an id past every chunk");
  cr_expect_eq(lg_graph_order_edge(g, UINT32_MAX, 1), -EINVAL);
  cr_expect_eq(lg_graph_place(g, UINT32_MAX), -EINVAL);
  cr_expect_eq(lg_graph_order(g, UINT32_MAX), 0);
  cr_expect_eq(lg_graph_order(g, 5000000), 0);
  cr_expect_eq(lg_graph_node_count(g), 2);
  /* Placing a placed node changes nothing; removing a node never placed does nothing. */
  cr_expect_eq(lg_graph_place(g, 1), 0);
  lg_graph_remove_node(g, 7);
  lg_graph_remove_node(g, 5000000);
  lg_graph_remove_node(g, UINT32_MAX);
  cr_expect_eq(lg_graph_node_count(g), 2);
  cr_expect_eq(lg_graph_order(g, 1), o1);
  cr_expect_eq(lg_graph_order(g, 2), o2);
  expect_store_climbs(g, s, "after the invalid calls");
  lg_graph_free(g);
  store_free(s);
}

Test(graph, skipped_edges_are_outside_the_order) {
  /* 1..4 placed in that order (through edges to 9, never placed). */
  store_t *s = store_new(10);
  lg_graph_t *g = graph_over(s);
  place_in_order(g, s, 1, 4, 9);
  cr_assert_eq(offer(g, s, 1, 2, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(offer(g, s, 2, 3, NULL), LG_GRAPH_ADDED);
  edge_t *back;
  cr_assert_eq(offer(g, s, 3, 1, &back), LG_GRAPH_CYCLE);
  /* The refused 3 -> 1 goes down the order; skipped, it breaks nothing. */
  cr_expect_gt(lg_graph_order(g, 3), lg_graph_order(g, 1));
  expect_store_climbs(g, s, "with 3 -> 1 skipped");
  /* 3 -> 1 -> 4 is a path only through the skipped edge: 4 -> 3 is no cycle, and its reorder
   * must not follow 3 -> 1 either. */
  cr_assert_eq(offer(g, s, 1, 4, NULL), LG_GRAPH_ADDED);
  cr_expect_eq(offer(g, s, 4, 3, NULL), LG_GRAPH_ADDED);
  cr_expect_lt(lg_graph_order(g, 4), lg_graph_order(g, 3));
  expect_store_climbs(g, s, "after 4 -> 3");
  /* The checker would see 3 -> 1 were it not skipped. */
  back->skip = 0;
  cr_expect_eq(lg_graph_check_invariants(g), LG_GRAPH_BAD_ORDER);
  back->skip = 1;
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_free(g);
  store_free(s);
}

Test(graph, invariant_check_catches_a_broken_contract) {
  store_t *s = store_new(10);
  lg_graph_t *g = graph_over(s);
  place_in_order(g, s, 1, 3, 9);
  cr_assert_eq(lg_graph_check_invariants(g), 0);

  /* An edge listed between placed nodes, down the order, never offered nor skipped. */
  edge_t *down = store_add(s, 2, 1);
  cr_expect_eq(lg_graph_check_invariants(g), LG_GRAPH_BAD_ORDER);
  down->skip = 1;
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  store_remove(s, down);
  cr_expect_eq(lg_graph_check_invariants(g), 0);

  /* The same record of 2 -> 1 listed on one side only, out of 2 and then into 1: the view
   * lists it either way, so either list must show it going down. */
  edge_t half = {.from = 2, .to = 1};
  list_push(&s->out[2], &half);
  cr_expect_eq(lg_graph_check_invariants(g), LG_GRAPH_BAD_ORDER, "listed out of 2 only");
  s->out[2].n--;
  list_push(&s->in[1], &half);
  cr_expect_eq(lg_graph_check_invariants(g), LG_GRAPH_BAD_ORDER, "listed into 1 only");
  s->in[1].n--;
  cr_expect_eq(lg_graph_check_invariants(g), 0);

  /* A record of 1 -> 2 (which agrees with the order) listed under 3, out and then in. */
  edge_t stray = {.from = 1, .to = 2};
  list_push(&s->out[3], &stray);
  cr_expect_eq(lg_graph_check_invariants(g), LG_GRAPH_BAD_ENDPOINT, "listed out of 3");
  s->out[3].n--;
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  list_push(&s->in[3], &stray);
  cr_expect_eq(lg_graph_check_invariants(g), LG_GRAPH_BAD_ENDPOINT, "listed into 3");
  s->in[3].n--;
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_free(g);
  store_free(s);
}

/* The address space this process has mapped, from /proc/self/statm. */
static size_t mapped_bytes_now(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  cr_assert_not_null(f, "cannot read /proc/self/statm");
  unsigned long pages = 0;
  cr_assert_eq(fscanf(f, "%lu", &pages), 1);
  fclose(f);
  return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Caps the address space at what is mapped now plus 256 KiB; *old gets the limit to restore. */
static void cap_address_space(struct rlimit *old) {
  cr_assert_eq(getrlimit(RLIMIT_AS, old), 0);
  struct rlimit capped = *old;
  capped.rlim_cur = mapped_bytes_now() + 256 * 1024;
  cr_assert_eq(setrlimit(RLIMIT_AS, &capped), 0);
}

Test(graph, place_without_memory_leaves_the_node_unplaced, .timeout = 60) {
  /* A place costs 8 bytes per id up to the highest placed, so placing id 10,000,000 next to
   * a few small ones needs some 80 MB: far more than the cap leaves. */
  const lg_node_t far = 10000000;
  store_t *s = store_new(8);
  lg_graph_t *g = graph_over(s);
  cr_assert_eq(offer(g, s, 1, 2, NULL), SET_ASIDE);
  int64_t o1 = lg_graph_order(g, 1);
  struct rlimit old;
  cap_address_space(&old);
  int rc = lg_graph_place(g, far);
  cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);

  cr_assert_eq(rc, -ENOMEM, "place(%u) returned %d without memory", far, rc);
  cr_expect_eq(lg_graph_order(g, far), 0);
  cr_expect_eq(lg_graph_node_count(g), 1);
  cr_expect_eq(lg_graph_order(g, 1), o1);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  cr_assert_eq(lg_graph_place(g, far), 0);
  cr_expect_gt(lg_graph_order(g, far), o1);
  cr_expect_eq(lg_graph_node_count(g), 2);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_free(g);
  store_free(s);
}

/* Two chains of locks, A (ka locks) then B (kb), each lock placed as it takes its first edge
 * out (the last of each by an edge to a lock never placed), above a lock z whose edge into A's
 * first lock keeps that lock from being moved alone. A small reorder elsewhere has made the
 * search space just large enough for itself. B's last lock then takes A's first: the search
 * covers the affected region, A forward and B backward, and must grow to hold it. The address
 * space is capped for that one call, at what is mapped plus far less than such a search
 * needs: -ENOMEM, the order as it was, and the edge, skipped, breaks nothing. With memory back,
 * the same edge listed anew goes in, and A's last lock taking B's first closes the ring. */
static void run_out_of_memory(lg_node_t ka, lg_node_t kb) {
  const lg_node_t z = 0, a0 = 1, a_last = ka, b0 = ka + 1, b_last = ka + kb;
  const lg_node_t p = ka + kb + 1, q = p + 1, r = p + 2, t = p + 3, sink = p + 4;
  const lg_node_t nodes = sink + 1;
  store_t *s = store_new(nodes);
  lg_graph_t *g = graph_over(s);
  cr_assert_eq(offer(g, s, z, a0, NULL), SET_ASIDE);
  for (lg_node_t i = a0; i <= b_last; i++) {
    lg_node_t next = i == a_last || i == b_last ? sink : i + 1;
    int rc = offer(g, s, i, next, NULL);
    if (rc != SET_ASIDE)
      cr_assert_fail("edge %u -> %u returned %d", i, next, rc);
  }
  cr_assert_eq(offer(g, s, p, q, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, q, sink, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, r, t, NULL), SET_ASIDE);
  cr_assert_eq(offer(g, s, t, sink, NULL), SET_ASIDE);
  cr_assert_gt(lg_graph_order(g, t), lg_graph_order(g, p));
  cr_assert_eq(offer(g, s, t, p, NULL), LG_GRAPH_ADDED, "the small reorder");

  int64_t *before = malloc((size_t)nodes * sizeof *before);
  cr_assert_not_null(before);
  for (lg_node_t i = 0; i < nodes; i++)
    before[i] = lg_graph_order(g, i);
  cr_assert_gt(before[b_last], before[a0], "the edge must disagree with the order");
  edge_t *e = store_add(s, b_last, a0);

  struct rlimit old;
  cap_address_space(&old);
  int rc = lg_graph_order_edge(g, b_last, a0);
  cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);

  cr_assert_eq(rc, -ENOMEM, "ka %u kb %u: the edge returned %d without memory for its search",
               ka, kb, rc);
  for (lg_node_t i = 0; i < nodes; i++)
    if (lg_graph_order(g, i) != before[i])
      cr_assert_fail("ka %u kb %u: node %u moved from %lld to %lld on -ENOMEM", ka, kb, i,
                     (long long)before[i], (long long)lg_graph_order(g, i));
  e->skip = 1;
  cr_expect_eq(lg_graph_node_count(g), nodes - 1, "all but the sink");
  expect_store_climbs(g, s, "after -ENOMEM");

  store_remove(s, e);
  e = store_add(s, b_last, a0);
  cr_assert_eq(lg_graph_order_edge(g, b_last, a0), LG_GRAPH_ADDED);
  cr_expect_lt(lg_graph_order(g, b_last), lg_graph_order(g, a0));
  expect_store_climbs(g, s, "after the edge went in");
  cr_expect_eq(offer(g, s, a_last, b0, NULL), LG_GRAPH_CYCLE);
  expect_store_climbs(g, s, "after the closing edge");
  free(before);
  lg_graph_free(g);
  store_free(s);
}

Test(graph, search_without_memory_leaves_the_order_as_it_was, .timeout = 60) {
  run_out_of_memory(100000, 100000); /* both searches large: the forward one runs out */
  run_out_of_memory(1, 200000);      /* the forward search fits, the backward one runs out */
}
