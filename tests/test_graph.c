/* test_graph.c - the lock-order graph against a brute-force model, plus named cases.
 *
 * The model keeps adjacency matrices of accepted and refused edges and answers every
 * question by BFS over the accepted ones; the graph under test must agree step by step and
 * keep its invariants after every step.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "graph.h"

#define MODEL_N 200

typedef struct model {
  int n;
  unsigned char live[MODEL_N];
  unsigned char acc[MODEL_N][MODEL_N];
  unsigned char ref[MODEL_N][MODEL_N];
} model_t;

static uint64_t rng_state;

static uint32_t rng_next(void) {
  /* xorshift64*: reproducible from the seed, which the failure messages print. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Shortest distance in edges from a to b over accepted edges, or -1. */
static int model_distance(const model_t *m, int a, int b) {
  int dist[MODEL_N], queue[MODEL_N], head = 0, tail = 0;
  for (int i = 0; i < m->n; i++)
    dist[i] = -1;
  dist[a] = 0;
  queue[tail++] = a;
  while (head < tail) {
    int u = queue[head++];
    if (u == b)
      return dist[u];
    for (int v = 0; v < m->n; v++)
      if (m->acc[u][v] && dist[v] < 0) {
        dist[v] = dist[u] + 1;
        queue[tail++] = v;
      }
  }
  return -1;
}

static size_t model_live_count(const model_t *m) {
  size_t c = 0;
  for (int i = 0; i < m->n; i++)
    c += m->live[i];
  return c;
}

static size_t model_edge_count(const model_t *m) {
  size_t c = 0;
  for (int i = 0; i < m->n; i++)
    for (int j = 0; j < m->n; j++)
      c += m->acc[i][j] + m->ref[i][j];
  return c;
}

static void model_remove(model_t *m, int x) {
  m->live[x] = 0;
  for (int i = 0; i < m->n; i++) {
    m->acc[x][i] = m->acc[i][x] = 0;
    m->ref[x][i] = m->ref[i][x] = 0;
  }
}

/* A path reported by the graph must be a real accepted path of the model's shortest length. */
static void expect_model_path(const model_t *m, const lg_node_t *path, size_t len, int a, int b,
                              uint64_t seed, int step) {
  int d = model_distance(m, a, b);
  cr_assert_eq(len, (size_t)(d + 1), "seed %llu step %d: path %d->%d has %zu nodes, model says %d",
               (unsigned long long)seed, step, a, b, len, d + 1);
  cr_assert_eq(path[0], (lg_node_t)a, "seed %llu step %d: path starts wrong",
               (unsigned long long)seed, step);
  cr_assert_eq(path[len - 1], (lg_node_t)b, "seed %llu step %d: path ends wrong",
               (unsigned long long)seed, step);
  for (size_t k = 0; k + 1 < len; k++)
    cr_assert(m->acc[path[k]][path[k + 1]], "seed %llu step %d: %u->%u is not an accepted edge",
              (unsigned long long)seed, step, path[k], path[k + 1]);
}

/* One randomized run: `steps` operations over `n` nodes, mostly edges, some removals. With
 * `use_new`, an edge the model says is new goes through lg_graph_add_new_edge, as the lock
 * table's calls do, and only repeated edges through lg_graph_add_edge. */
static void run_random_with(uint64_t seed, int n, int steps, int remove_per_mille, int use_new) {
  static model_t m;
  memset(&m, 0, sizeof m);
  m.n = n;
  rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
  lg_graph_t *g = lg_graph_new();
  cr_assert_not_null(g);
  lg_node_t path[MODEL_N];
  int cycles = 0, added = 0, known = 0;
  int last_a = 0, last_b = 1;

  for (int step = 0; step < steps; step++) {
    if ((int)(rng_next() % 1000) < remove_per_mille) {
      int x = (int)(rng_next() % (uint32_t)n);
      lg_graph_remove_node(g, (lg_node_t)x);
      model_remove(&m, x);
    } else {
      int a = (int)(rng_next() % (uint32_t)n), b = (int)(rng_next() % (uint32_t)n);
      if (rng_next() % 100 < 3) /* the same edge again: a program's second pass */
        a = last_a, b = last_b;
      if (a == b)
        continue;
      last_a = a, last_b = b;
      int want;
      int d = -1;
      if (m.acc[a][b] || m.ref[a][b]) {
        want = LG_GRAPH_KNOWN;
      } else {
        d = model_distance(&m, b, a);
        want = d >= 0 ? LG_GRAPH_CYCLE : LG_GRAPH_ADDED;
      }
      size_t len = 0;
      int rc = use_new && want != LG_GRAPH_KNOWN
                   ? lg_graph_add_new_edge(g, (lg_node_t)a, (lg_node_t)b, path, MODEL_N, &len)
                   : lg_graph_add_edge(g, (lg_node_t)a, (lg_node_t)b, path, MODEL_N, &len);
      cr_assert_eq(rc, want, "seed %llu step %d: add %d->%d returned %d, model says %d",
                   (unsigned long long)seed, step, a, b, rc, want);
      if (rc == LG_GRAPH_CYCLE)
        expect_model_path(&m, path, len, b, a, seed, step);
      m.live[a] = m.live[b] = 1;
      if (rc == LG_GRAPH_ADDED)
        m.acc[a][b] = 1, added++;
      else if (rc == LG_GRAPH_CYCLE)
        m.ref[a][b] = 1, cycles++;
      else
        known++;
    }
    int inv = lg_graph_check_invariants(g);
    cr_assert_eq(inv, 0, "seed %llu step %d: invariants broken (%d)", (unsigned long long)seed,
                 step, inv);
    cr_assert_eq(lg_graph_node_count(g), model_live_count(&m), "seed %llu step %d: node count",
                 (unsigned long long)seed, step);
    cr_assert_eq(lg_graph_edge_count(g), model_edge_count(&m), "seed %llu step %d: edge count",
                 (unsigned long long)seed, step);

    /* Spot checks of the read-only queries. */
    int u = (int)(rng_next() % (uint32_t)n), v = (int)(rng_next() % (uint32_t)n);
    cr_assert_eq(lg_graph_has_edge(g, u, v) != 0, m.acc[u][v] || m.ref[u][v],
                 "seed %llu step %d: has_edge %d->%d", (unsigned long long)seed, step, u, v);
    if (u != v) {
      size_t len = lg_graph_find_path(g, u, v, path, MODEL_N);
      int d = m.live[u] && m.live[v] ? model_distance(&m, u, v) : -1;
      cr_assert_eq(len, (size_t)(d + 1), "seed %llu step %d: find_path %d->%d gave %zu nodes",
                   (unsigned long long)seed, step, u, v, len);
      if (len > 0)
        expect_model_path(&m, path, len, u, v, seed, step);
    }
  }
  /* A run that never hit all three outcomes would test less than it claims. */
  cr_expect_gt(added, 0, "seed %llu: no edge added", (unsigned long long)seed);
  cr_expect_gt(cycles, 0, "seed %llu: no cycle found", (unsigned long long)seed);
  cr_expect_gt(known, 0, "seed %llu: no edge known", (unsigned long long)seed);
  lg_graph_free(g);
}

static void run_random(uint64_t seed, int n, int steps, int remove_per_mille) {
  run_random_with(seed, n, steps, remove_per_mille, 0);
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

Test(graph, two_node_inversion) {
  lg_graph_t *g = lg_graph_new();
  lg_node_t path[4];
  size_t len = 0;
  cr_assert_eq(lg_graph_add_edge(g, 1, 2, path, 4, &len), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_edge(g, 2, 1, path, 4, &len), LG_GRAPH_CYCLE);
  cr_assert_eq(len, 2);
  cr_expect_eq(path[0], 1);
  cr_expect_eq(path[1], 2);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_free(g);
}

Test(graph, three_node_cycle_gives_the_three_path) {
  lg_graph_t *g = lg_graph_new();
  lg_node_t path[8];
  size_t len = 0;
  cr_assert_eq(lg_graph_add_edge(g, 10, 20, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_edge(g, 20, 30, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_edge(g, 30, 10, path, 8, &len), LG_GRAPH_CYCLE);
  cr_assert_eq(len, 3);
  cr_expect_eq(path[0], 10);
  cr_expect_eq(path[1], 20);
  cr_expect_eq(path[2], 30);
  cr_expect_eq(lg_graph_find_path(g, 10, 30, path, 8), 3);
  cr_expect_eq(lg_graph_find_path(g, 30, 10, path, 8), 0, "the refused edge is not a path");
  lg_graph_free(g);
}

Test(graph, shortest_of_two_cycles_is_reported) {
  lg_graph_t *g = lg_graph_new();
  lg_node_t path[8];
  size_t len = 0;
  /* 1 -> 2 -> 3 -> 4 -> 5 and a shortcut 1 -> 6 -> 5; closing 5 -> 1 must give 1, 6, 5. */
  lg_node_t e[][2] = {{1, 2}, {2, 3}, {3, 4}, {4, 5}, {1, 6}, {6, 5}};
  for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
    cr_assert_eq(lg_graph_add_edge(g, e[i][0], e[i][1], NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_edge(g, 5, 1, path, 8, &len), LG_GRAPH_CYCLE);
  cr_assert_eq(len, 3);
  cr_expect_eq(path[1], 6);
  lg_graph_free(g);
}

Test(graph, self_edge_rejected) {
  lg_graph_t *g = lg_graph_new();
  cr_expect_eq(lg_graph_add_edge(g, 7, 7, NULL, 0, NULL), -EINVAL);
  cr_expect_eq(lg_graph_add_edge(g, UINT32_MAX, 1, NULL, 0, NULL), -EINVAL);
  cr_expect_eq(lg_graph_node_count(g), 0);
  cr_expect_eq(lg_graph_edge_count(g), 0);
  lg_graph_free(g);
}

Test(graph, refused_edge_is_known_next_time) {
  lg_graph_t *g = lg_graph_new();
  lg_node_t path[4];
  size_t len = 0;
  cr_assert_eq(lg_graph_add_edge(g, 1, 2, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_edge(g, 2, 1, path, 4, &len), LG_GRAPH_CYCLE);
  len = 99;
  cr_expect_eq(lg_graph_add_edge(g, 2, 1, path, 4, &len), LG_GRAPH_KNOWN);
  cr_expect_eq(len, 99, "a KNOWN edge writes no path");
  cr_expect(lg_graph_has_edge(g, 2, 1));
  cr_expect_eq(lg_graph_edge_count(g), 2);
  /* A cycle through the refused edge is not found again: 2 -> 3 -> 1 only uses accepted edges
   * on one side, and the inversion 1/2 was already reported. */
  cr_expect_eq(lg_graph_add_edge(g, 3, 2, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_expect_eq(lg_graph_add_edge(g, 1, 3, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_free(g);
}

Test(graph, removed_node_id_reused_without_stale_edges) {
  lg_graph_t *g = lg_graph_new();
  cr_assert_eq(lg_graph_add_edge(g, 1, 2, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_edge(g, 2, 3, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_edge(g, 3, 1, NULL, 0, NULL), LG_GRAPH_CYCLE);
  lg_graph_remove_node(g, 2);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  cr_expect_eq(lg_graph_node_count(g), 2);
  cr_expect_eq(lg_graph_edge_count(g), 1, "only the refused 3 -> 1 is left");
  cr_expect_not(lg_graph_has_edge(g, 1, 2));
  cr_expect_not(lg_graph_has_edge(g, 2, 3));
  /* Id 2 is a new lock now: the opposite orders are new edges, not cycles. */
  cr_expect_eq(lg_graph_add_edge(g, 2, 1, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_expect_eq(lg_graph_add_edge(g, 3, 2, NULL, 0, NULL), LG_GRAPH_ADDED);
  /* Removing an end of a refused edge drops it too. */
  lg_graph_remove_node(g, 1);
  cr_expect_not(lg_graph_has_edge(g, 3, 1));
  cr_expect_eq(lg_graph_add_edge(g, 1, 3, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_remove_node(g, 12345); /* never seen: nothing happens */
  cr_expect_eq(lg_graph_node_count(g), 3);
  lg_graph_free(g);
}

Test(graph, million_node_chain_completes, .timeout = 60) {
  lg_graph_t *g = lg_graph_new();
  const lg_node_t n = 1000000;
  for (lg_node_t i = 0; i + 1 < n; i++) {
    int rc = lg_graph_add_edge(g, i, i + 1, NULL, 0, NULL);
    if (rc != LG_GRAPH_ADDED)
      cr_assert_fail("edge %u -> %u returned %d", i, i + 1, rc);
  }
  cr_expect_eq(lg_graph_node_count(g), n);
  cr_expect_eq(lg_graph_edge_count(g), n - 1);
  lg_node_t path[8];
  size_t len = 0;
  cr_assert_eq(lg_graph_add_edge(g, n - 1, 0, path, 8, &len), LG_GRAPH_CYCLE);
  cr_expect_eq(len, n, "the whole chain is the cycle");
  for (lg_node_t i = 0; i < 8; i++)
    cr_expect_eq(path[i], i, "only the first path_cap nodes are written");
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_free(g);
}

Test(graph, hub_lock_with_many_edges_stays_fast, .timeout = 60) {
  /* A global lock held while taking 100,000 per-object locks that then die one by one: each
   * removal must cost O(1) at the hub, and lookups at the hub must not scan its list. */
  lg_graph_t *g = lg_graph_new();
  const lg_node_t n = 100000;
  for (lg_node_t i = 1; i <= n; i++)
    cr_assert_eq(lg_graph_add_edge(g, 0, i, NULL, 0, NULL), LG_GRAPH_ADDED);
  for (lg_node_t i = 1; i <= n; i++)
    cr_assert_eq(lg_graph_add_edge(g, 0, i, NULL, 0, NULL), LG_GRAPH_KNOWN);
  for (lg_node_t i = 1; i <= n; i += 2)
    lg_graph_remove_node(g, i);
  cr_expect_eq(lg_graph_edge_count(g), n / 2);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  for (lg_node_t i = 2; i <= n; i += 2)
    cr_assert(lg_graph_has_edge(g, 0, i));
  cr_expect_eq(lg_graph_add_edge(g, n, 0, NULL, 0, NULL), LG_GRAPH_CYCLE);
  lg_graph_free(g);
}

Test(graph, reverse_order_acquisitions_stay_acyclic, .timeout = 60) {
  /* Locks taken against the order they were first seen in: every edge disagrees with the
   * initial order, none closes a cycle. */
  lg_graph_t *g = lg_graph_new();
  const lg_node_t n = 2000;
  for (lg_node_t i = 0; i < n; i++)
    cr_assert_eq(lg_graph_add_edge(g, i, n + i, NULL, 0, NULL), LG_GRAPH_ADDED);
  for (lg_node_t i = 1; i < n; i++)
    cr_assert_eq(lg_graph_add_edge(g, n + i, i - 1, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  cr_expect_eq(lg_graph_find_path(g, n - 1, 0, NULL, 0), 2 * n - 1);
  cr_expect_eq(lg_graph_add_edge(g, 0, n - 1, NULL, 0, NULL), LG_GRAPH_CYCLE);
  lg_graph_free(g);
}

Test(graph, new_edges_without_lookup_match_brute_force_model, .timeout = 120) {
  /* The lock table's way in: it asks for an edge only when its own table says it is new. */
  for (uint64_t seed = 300; seed < 303; seed++)
    run_random_with(seed, 200, 2000, 20, 1);
  for (uint64_t seed = 310; seed < 313; seed++)
    run_random_with(seed, 24, 2000, 80, 1);
}

Test(graph, add_new_edge_outcomes_and_errors) {
  lg_graph_t *g = lg_graph_new();
  lg_node_t path[4];
  size_t len = 0;
  cr_assert_eq(lg_graph_add_new_edge(g, 1, 2, path, 4, &len), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_new_edge(g, 2, 3, path, 4, &len), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_new_edge(g, 3, 1, path, 4, &len), LG_GRAPH_CYCLE);
  cr_expect_eq(len, 3);
  cr_expect_eq(path[0], 1);
  cr_expect_eq(path[1], 2);
  cr_expect_eq(path[2], 3);
  cr_expect(lg_graph_has_edge(g, 3, 1), "the refused edge is remembered");
  cr_expect_eq(lg_graph_add_edge(g, 3, 1, NULL, 0, NULL), LG_GRAPH_KNOWN);
  cr_expect_eq(lg_graph_add_new_edge(g, 4, 4, NULL, 0, NULL), -EINVAL);
  cr_expect_eq(lg_graph_add_new_edge(g, UINT32_MAX, 4, NULL, 0, NULL), -EINVAL);
  cr_expect_eq(lg_graph_edge_count(g), 3);
  cr_expect_eq(lg_graph_node_count(g), 3);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_free(g);
}

Test(graph, invariant_check_catches_an_edge_added_twice) {
  /* lg_graph_add_new_edge trusts its caller; breaking that promise must not go unnoticed. */
  lg_graph_t *g = lg_graph_new();
  cr_assert_eq(lg_graph_add_new_edge(g, 1, 2, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_new_edge(g, 2, 3, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_check_invariants(g), 0);
  cr_assert_eq(lg_graph_add_new_edge(g, 1, 2, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_expect_eq(lg_graph_check_invariants(g), LG_GRAPH_BAD_DUPLICATE);
  lg_graph_free(g);

  g = lg_graph_new();
  cr_assert_eq(lg_graph_add_new_edge(g, 1, 2, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_new_edge(g, 2, 1, NULL, 0, NULL), LG_GRAPH_CYCLE);
  cr_assert_eq(lg_graph_add_new_edge(g, 2, 1, NULL, 0, NULL), LG_GRAPH_CYCLE);
  cr_expect_eq(lg_graph_check_invariants(g), LG_GRAPH_BAD_DUPLICATE);
  lg_graph_free(g);
}

/* An edge of the hub test: its ends. */
typedef struct hub_edge {
  lg_node_t from, to;
} hub_edge_t;

Test(graph, hub_edges_removed_in_random_order_keep_positions, .timeout = 60) {
  /* A hub lock with 10,000 leaves: out-edges to odd leaves, in-edges from even ones, and
   * refused edges of both directions at the hub and between leaves, so every vector kind at
   * the hub loses entries from random positions and the swap-with-last runs everywhere. */
  enum { LEAVES = 10000 };
  static hub_edge_t edges[3 * LEAVES];
  static unsigned char dead[LEAVES + 1];
  static lg_node_t order[LEAVES];
  memset(dead, 0, sizeof dead);
  size_t ne = 0;
  lg_graph_t *g = lg_graph_new();
  cr_assert_not_null(g);
  for (lg_node_t i = 1; i <= LEAVES; i++) {
    lg_node_t from = i % 2 ? 0 : i, to = i % 2 ? i : 0;
    cr_assert_eq(lg_graph_add_new_edge(g, from, to, NULL, 0, NULL), LG_GRAPH_ADDED);
    edges[ne++] = (hub_edge_t){from, to};
  }
  for (lg_node_t i = 1; i <= LEAVES; i++) {
    if (i % 4 == 0 || i % 4 == 1) { /* the opposite of its hub edge: a two-lock inversion */
      lg_node_t from = i % 2 ? i : 0, to = i % 2 ? 0 : i;
      cr_assert_eq(lg_graph_add_new_edge(g, from, to, NULL, 0, NULL), LG_GRAPH_CYCLE);
      edges[ne++] = (hub_edge_t){from, to};
    }
    if (i % 2 == 1 && i < LEAVES) { /* 0 -> i -> i+1 -> 0 */
      cr_assert_eq(lg_graph_add_new_edge(g, i, i + 1, NULL, 0, NULL), LG_GRAPH_CYCLE);
      edges[ne++] = (hub_edge_t){i, i + 1};
    }
  }
  cr_assert_eq(lg_graph_edge_count(g), ne);
  cr_assert_eq(lg_graph_check_invariants(g), 0);

  rng_state = 0x5eed;
  for (lg_node_t i = 0; i < LEAVES; i++)
    order[i] = i + 1;
  for (size_t i = LEAVES - 1; i > 0; i--) {
    size_t j = rng_next() % (i + 1);
    lg_node_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const size_t keep = 1000;
  for (size_t r = 0; r < LEAVES - keep; r++) {
    lg_graph_remove_node(g, order[r]);
    dead[order[r]] = 1;
    if (r % 500 != 499)
      continue;
    int inv = lg_graph_check_invariants(g);
    cr_assert_eq(inv, 0, "after %zu removals: invariants broken (%d)", r + 1, inv);
    size_t live = 0;
    for (size_t k = 0; k < ne; k++) {
      int want = !dead[edges[k].from] && !dead[edges[k].to];
      live += want;
      if ((lg_graph_has_edge(g, edges[k].from, edges[k].to) != 0) != want)
        cr_assert_fail("after %zu removals: has_edge %u -> %u should be %d", r + 1,
                       edges[k].from, edges[k].to, want);
    }
    cr_assert_eq(lg_graph_edge_count(g), live, "after %zu removals", r + 1);
    cr_assert_eq(lg_graph_node_count(g), LEAVES - r, "after %zu removals", r + 1);
  }

  /* The hub goes last but one: it walks its own (now scattered) vectors. */
  lg_graph_remove_node(g, 0);
  dead[0] = 1;
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  size_t live = 0;
  for (size_t k = 0; k < ne; k++)
    live += !dead[edges[k].from] && !dead[edges[k].to];
  cr_expect_eq(lg_graph_edge_count(g), live, "only refused leaf-to-leaf edges are left");
  cr_expect_eq(lg_graph_node_count(g), keep);
  for (size_t r = LEAVES - keep; r < LEAVES; r++)
    lg_graph_remove_node(g, order[r]);
  cr_expect_eq(lg_graph_edge_count(g), 0);
  cr_expect_eq(lg_graph_node_count(g), 0);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_free(g);
}

/* One edge of the word-transition tests: its ends and whether it closes a cycle. */
typedef struct word_edge {
  lg_node_t from, to;
  int want; /* LG_GRAPH_ADDED or LG_GRAPH_CYCLE */
} word_edge_t;

/* Every edge whose ends are both live is there and no other; counts and invariants hold. */
static void expect_word_edges(const lg_graph_t *g, const word_edge_t *e, size_t ne,
                              const lg_node_t *dead, size_t ndead, const char *step) {
  int inv = lg_graph_check_invariants(g);
  cr_assert_eq(inv, 0, "%s: invariants broken (%d)", step, inv);
  size_t live = 0;
  for (size_t k = 0; k < ne; k++) {
    int want = 1;
    for (size_t d = 0; d < ndead; d++)
      if (e[k].from == dead[d] || e[k].to == dead[d])
        want = 0;
    live += want;
    cr_assert_eq(lg_graph_has_edge(g, e[k].from, e[k].to) != 0, want,
                 "%s: has_edge %#x -> %#x should be %d", step, e[k].from, e[k].to, want);
  }
  cr_assert_eq(lg_graph_edge_count(g), live, "%s: edge count", step);
}

/* One direction of the hub's edges goes through every form of its word: empty, one entry
 * inline, a block (first capacity, then grown), back down to one entry after removals from
 * the middle and the front, empty, and inline again. `kind` picks the direction: 0 the hub's
 * accepted out-edges, 1 its accepted in-edges, 2 its refused out-edges (each the reverse of
 * an accepted in-edge, which then takes the in word through the same forms). Leaves 1 and 3
 * have a second edge at their own end, so the entry that names the hub edge sits in a block
 * there at position 1, while leaves 0 and 2 keep theirs inline: a moved entry's partner
 * learns its new position in both forms. Ids are high (near 2^20, what the dense node table
 * holds in about 24 MB) so the packed node field is mostly ones. */
static void run_word_transitions(int kind) {
  const lg_node_t hub = 0xffffe, other = 0xffff0;
  const lg_node_t leaf[5] = {0xfffff, 0xffffd, 0xfff01, 0x80001, 0x7ffff};
  word_edge_t e[16];
  size_t ne = 0;
  lg_node_t dead[5];
  size_t ndead = 0;
  lg_graph_t *g = lg_graph_new();
  cr_assert_not_null(g);
  for (int i = 0; i < 5; i++) {
    lg_node_t l = leaf[i];
    word_edge_t add[4];
    int na = 0;
    if (i == 1 || i == 3) { /* the leaf's second edge comes first: the hub's entry is at 1 */
      if (kind == 0)
        add[na++] = (word_edge_t){other, l, LG_GRAPH_ADDED};
      else if (kind == 1)
        add[na++] = (word_edge_t){l, other, LG_GRAPH_ADDED};
      else {
        add[na++] = (word_edge_t){l, other, LG_GRAPH_ADDED};
        add[na++] = (word_edge_t){other, l, LG_GRAPH_CYCLE};
      }
    }
    if (kind == 0)
      add[na++] = (word_edge_t){hub, l, LG_GRAPH_ADDED};
    else if (kind == 1)
      add[na++] = (word_edge_t){l, hub, LG_GRAPH_ADDED};
    else {
      add[na++] = (word_edge_t){l, hub, LG_GRAPH_ADDED};
      add[na++] = (word_edge_t){hub, l, LG_GRAPH_CYCLE};
    }
    for (int a = 0; a < na; a++) {
      cr_assert_eq(lg_graph_add_new_edge(g, add[a].from, add[a].to, NULL, 0, NULL), add[a].want,
                   "kind %d: edge %#x -> %#x", kind, add[a].from, add[a].to);
      e[ne++] = add[a];
    }
    char step[64];
    snprintf(step, sizeof step, "kind %d, %d hub edges", kind, i + 1);
    expect_word_edges(g, e, ne, dead, ndead, step);
    if (i != 3)
      continue;
    /* Four hub edges, in the order 0 1 2 3. Remove 1 (3 moves into its place), then 0 (2
     * moves), then 2 (3 moves again and is the only one left), then 3: the word is empty.
     * Leaf 4's edge then goes into the emptied word. */
    const int order[4] = {1, 0, 2, 3};
    for (int r = 0; r < 4; r++) {
      lg_graph_remove_node(g, leaf[order[r]]);
      dead[ndead++] = leaf[order[r]];
      snprintf(step, sizeof step, "kind %d, leaf %d removed", kind, order[r]);
      expect_word_edges(g, e, ne, dead, ndead, step);
    }
  }
  cr_expect_eq(lg_graph_node_count(g), 3, "the hub, leaf 4 and the leaves' other end");
  lg_graph_remove_node(g, hub);
  dead[ndead++] = hub;
  expect_word_edges(g, e, ne, dead, ndead, "hub removed");
  cr_expect_eq(lg_graph_node_count(g), 2);
  lg_graph_free(g);
}

Test(graph, out_word_goes_inline_to_block_and_back, .timeout = 60) {
  run_word_transitions(0);
}

Test(graph, in_word_goes_inline_to_block_and_back, .timeout = 60) {
  run_word_transitions(1);
}

Test(graph, refused_word_goes_inline_to_block_and_back, .timeout = 60) {
  run_word_transitions(2);
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

Test(graph, edge_without_memory_leaves_both_words_as_they_were, .timeout = 60) {
  /* from has one out-edge (inline); to's in-edges fill a block of the largest small class, so
   * from -> to moves from's entry into a new block, then finds no memory to grow to's: the
   * address space is capped for that one call. The edge must fail with -ENOMEM and leave the
   * graph as it was, from's entry inline again, and succeed once memory is back. */
  const lg_node_t to = 0, from = 20000, first = 20001;
  lg_graph_t *g = lg_graph_new();
  cr_assert_not_null(g);
  for (lg_node_t s = 1; s <= 8191; s++) /* 8191 entries: a block of exactly 64 KiB */
    cr_assert_eq(lg_graph_add_new_edge(g, s, to, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_add_new_edge(g, from, first, NULL, 0, NULL), LG_GRAPH_ADDED);
  /* A block of from's future size exists already, so its class has memory at hand. */
  cr_assert_eq(lg_graph_add_new_edge(g, 1, 2, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_assert_eq(lg_graph_check_invariants(g), 0);

  struct rlimit old;
  cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
  struct rlimit capped = old;
  capped.rlim_cur = mapped_bytes_now() + 64 * 1024; /* less than the 128 KiB block to needs */
  cr_assert_eq(setrlimit(RLIMIT_AS, &capped), 0);
  int rc = lg_graph_add_new_edge(g, from, to, NULL, 0, NULL);
  cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);

  cr_assert_eq(rc, -ENOMEM, "from -> to returned %d without memory", rc);
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  cr_expect_not(lg_graph_has_edge(g, from, to));
  cr_expect(lg_graph_has_edge(g, from, first));
  cr_expect_eq(lg_graph_edge_count(g), 8193);
  cr_expect_eq(lg_graph_add_new_edge(g, from, to, NULL, 0, NULL), LG_GRAPH_ADDED);
  cr_expect(lg_graph_has_edge(g, from, to));
  cr_expect_eq(lg_graph_check_invariants(g), 0);
  lg_graph_free(g);
}
