/* graph.h - the lock-order graph's order: a dynamic topological order (Pearce-Kelly) over
 * edges another module owns, with incremental cycle detection.
 *
 * What it answers: whether a new edge A -> B ("B was acquired while A was held") closes a
 * cycle of the edges already in the order, and each node's place in that order (every edge in
 * the order goes from a smaller place to a larger one), which the cycle search (cycles.c) uses
 * to bound itself. An edge that agrees with the order costs O(1); one that disagrees searches
 * only the affected region [place(B), place(A)] and reorders it; one that would close a cycle
 * is refused (LG_GRAPH_CYCLE) and the caller keeps it out of the order from then on.
 *
 * It keeps no edges. The caller owns them (edges.c: one record per edge, listed in its tail's
 * out vector and its head's in vector) and lends the graph a view of them (lg_graph_adj_t):
 * for a node, its lists of edges out and in, as arrays of pointers to records that hold the
 * two ends' ids and a skip byte at fixed offsets. One list per direction, one owner: nothing
 * is copied, and an edge the caller removes from its lists has left the order too. The graph
 * keeps one 8-byte place per node id (in chunks, up to the highest id placed) and the space of
 * its largest search.
 *
 * Which edges are in the order: those the view lists whose two ends are placed and whose skip
 * byte is 0. The caller's side of the contract, which keeps every edge in the order agreeing
 * with it:
 *  - lg_graph_place puts a node above every other, so the edges into it from placed nodes
 *    agree; its edges out to placed nodes must then each go through lg_graph_order_edge before
 *    any other call (the detector places a lock when it takes its first edge out, with that
 *    edge listed and nothing else out of it);
 *  - an edge newly listed between placed nodes goes through lg_graph_order_edge before any
 *    other call; when that returns LG_GRAPH_CYCLE or -ENOMEM the caller sets the edge's skip
 *    byte before the next call (a refused edge goes down the order);
 *  - lg_graph_remove_node comes once the node's edges are gone from the lists or skipped.
 * An edge into a node that is not placed (a lock that has never had an edge out) is outside
 * the order and costs it nothing; it cannot be on a cycle until that node takes an edge out.
 *
 * Node ids: dense small integers chosen by the caller (the lock table), 0 .. UINT32_MAX-1; a
 * removed node's id may be placed again (a new lock).
 *
 * Who must serialize: not thread-safe. The caller holds one lock around every call and keeps
 * the lists still meanwhile.
 *
 * Complexity: memory 8 bytes per node id up to the highest placed, plus search space in
 * proportion to the largest search, no cap. place and remove_node O(1) (place may add a chunk);
 * order_edge O(1) when the edge agrees with the order, otherwise O(edges of the affected
 * region) plus sorting it. No recursion. Allocation failure returns -ENOMEM and leaves the
 * order as it was.
 */
#ifndef LG_GRAPH_H
#define LG_GRAPH_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t lg_node_t;
typedef struct lg_graph lg_graph_t;

enum {
  LG_GRAPH_ADDED = 0, /* the edge is in the order (reordered if it had to be) */
  LG_GRAPH_CYCLE = 2, /* refused: it closes a cycle of edges in the order */
};

enum { LG_GRAPH_OUT = 1, LG_GRAPH_IN = 0 };

/* The caller's edges, as the graph reads them. `list` returns how many edges node n has out
 * (dir LG_GRAPH_OUT) or in (LG_GRAPH_IN) and points *items at an array of that many pointers
 * to edge records (anything, for a node with none). In a record, the tail's and the head's ids
 * are uint32_t at from_off and to_off, and the byte at skip_off is nonzero when the edge is
 * kept out of the order. */
typedef struct lg_graph_adj {
  uint32_t (*list)(void *ctx, lg_node_t n, int dir, void *const **items);
  void *ctx;
  size_t from_off, to_off, skip_off;
} lg_graph_adj_t;

/* A new empty graph reading edges through *adj (copied), or NULL on allocation failure. */
lg_graph_t *lg_graph_new(const lg_graph_adj_t *adj);
void lg_graph_free(lg_graph_t *g);

/* Places node n above every other node, unless it is placed already. 0, -EINVAL for the id
 * UINT32_MAX, or -ENOMEM (n stays unplaced). */
int lg_graph_place(lg_graph_t *g, lg_node_t n);

/* Orders the edge from -> to, which the caller has just listed between two placed nodes (and
 * not skipped). Returns LG_GRAPH_ADDED, LG_GRAPH_CYCLE (the edge closes a cycle: a path
 * to ~> from runs over edges in the order), -EINVAL (from == to, or an end not placed) or
 * -ENOMEM (no space to search: the order is as it was, and the caller must skip the edge as
 * for a cycle, since whether it closes one is unknown). */
int lg_graph_order_edge(lg_graph_t *g, lg_node_t from, lg_node_t to);

/* Unplaces node n (nothing when it is not placed). Its edges must be gone from the caller's
 * lists, or skipped. */
void lg_graph_remove_node(lg_graph_t *g, lg_node_t n);

/* Node n's place in the order (nonzero), or 0 when it is not placed. Valid until the next
 * order_edge or remove_node. Every edge in the order goes from a smaller place to a larger
 * one, so from a node placed above every tail of a refused edge only edges in the order lead
 * on, always upwards. */
int64_t lg_graph_order(const lg_graph_t *g, lg_node_t n);

/* Placed nodes. */
size_t lg_graph_node_count(const lg_graph_t *g);

/* What lg_graph_check_invariants found wrong. */
enum {
  LG_GRAPH_BAD_ORDER = -1,       /* an edge in the order goes down it, or a place out of range */
  LG_GRAPH_BAD_PERMUTATION = -2, /* two placed nodes share a place */
  LG_GRAPH_BAD_COUNT = -4,       /* the node count disagrees with the places */
  LG_GRAPH_BAD_ENDPOINT = -8,    /* a listed edge does not name the node that lists it */
};

/* For tests: 0 when every placed node's place lies in range, no two share one, the count
 * agrees, every edge the view lists names the node that lists it, and every edge in the order
 * climbs it; else one of the codes above, or -ENOMEM when it could not get memory to check.
 * O(nodes log nodes + edges). */
int lg_graph_check_invariants(const lg_graph_t *g);

#endif
