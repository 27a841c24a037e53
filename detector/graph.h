/* graph.h - the lock-order graph, with incremental cycle detection.
 *
 * What it detects: nodes are locks, an edge A -> B means "B was acquired while A was held".
 * A cycle means the program has taken its locks in orders that can deadlock. The graph keeps
 * its edges acyclic in a dynamic topological order (Pearce-Kelly): an edge that agrees with the
 * current order costs O(1); one that disagrees searches only the affected region
 * [ord(B), ord(A)] and reorders it. An edge that would close a cycle is NOT added to the order:
 * lg_graph_add_edge returns LG_GRAPH_CYCLE and writes the shortest path B -> ... -> A (by BFS
 * over the graph's edges), which together with the new edge A -> B is the cycle. Such an edge is
 * remembered as refused, so adding it again returns LG_GRAPH_KNOWN and the cycle is reported
 * once. A cycle that would run through an already refused edge is not found again (the
 * inversion it contains was reported).
 *
 * Node ids: dense small integers chosen by the caller (the lock table), 0 .. UINT32_MAX-1.
 * lg_graph_remove_node drops a node and all its edges so the id can be reused for a new lock
 * (a destroyed mutex whose memory is reused is a new lock: no stale edges).
 *
 * Who must serialize: not thread-safe. The caller holds one lock around every call; the
 * runtime only calls in here for edges it has not seen before (its fast path never reaches
 * the graph), and only for edges that can be on a cycle: an edge into a lock that has never
 * had an edge out joins the graph when that lock takes its first one (locks.c).
 *
 * Edge lookup: the graph keeps no index of its edges (the lock table has one; a second one
 * cost a cache miss per new and per removed edge). Whether from -> to is already there is
 * answered by scanning the shorter of from's out-edges and to's in-edges, refused ones
 * included: lg_graph_has_edge and lg_graph_add_edge's KNOWN check cost
 * O(min(out-degree(from), in-degree(to))). A caller that knows the edge is new calls
 * lg_graph_add_new_edge, which skips that scan.
 *
 * Complexity: memory O(nodes + edges), about 16 bytes per edge and 24 per node id up to the
 * highest in use (a lock's only edge of each direction is kept inside those 24), plus search
 * space in proportion to the largest search, no cap;
 * add_new_edge O(1) amortized when consistent with the order, otherwise O(size of the
 * affected region);
 * add_edge adds the lookup above; remove_node O(its degree) (each edge O(1) at both ends);
 * no recursion (explicit stacks from lg_mem). Allocation failure returns -ENOMEM and leaves
 * the graph as it was.
 */
#ifndef LG_GRAPH_H
#define LG_GRAPH_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t lg_node_t;
typedef struct lg_graph lg_graph_t;

enum {
  LG_GRAPH_ADDED = 0, /* new edge, no cycle */
  LG_GRAPH_KNOWN = 1, /* the edge (or the refused edge) was already there: nothing changed */
  LG_GRAPH_CYCLE = 2, /* refused: it would close a cycle; path written */
};

/* A new empty graph, or NULL on allocation failure. */
lg_graph_t *lg_graph_new(void);
void lg_graph_free(lg_graph_t *g);

/* Adds from -> to (from != to). Returns LG_GRAPH_ADDED, LG_GRAPH_KNOWN, LG_GRAPH_CYCLE,
 * -EINVAL (a self-edge or the id UINT32_MAX) or -ENOMEM. On LG_GRAPH_CYCLE, when path != NULL,
 * writes up to path_cap nodes of the shortest path to -> ... -> from (both ends included)
 * and stores its full length in *path_len. The KNOWN check scans the shorter of
 * out(from) and in(to) (see "Edge lookup" above). */
int lg_graph_add_edge(lg_graph_t *g, lg_node_t from, lg_node_t to,
                      lg_node_t *path, size_t path_cap, size_t *path_len);

/* As lg_graph_add_edge, for a caller that guarantees from -> to is not in the graph (neither
 * accepted nor refused): no KNOWN check, so it never returns LG_GRAPH_KNOWN. Adding an edge
 * that is already there breaks the graph (lg_graph_check_invariants reports it as
 * LG_GRAPH_BAD_DUPLICATE or LG_GRAPH_BAD_KIND). */
int lg_graph_add_new_edge(lg_graph_t *g, lg_node_t from, lg_node_t to,
                          lg_node_t *path, size_t path_cap, size_t *path_len);

/* Nonzero when from -> to is in the graph (refused edges included).
 * O(min(out-degree(from), in-degree(to))). */
int lg_graph_has_edge(const lg_graph_t *g, lg_node_t from, lg_node_t to);

/* Removes a node and every edge into or out of it (refused ones included). */
void lg_graph_remove_node(lg_graph_t *g, lg_node_t n);

/* Shortest path from -> ... -> to over the graph's edges, as in add_edge. Returns its length
 * in nodes (0 when there is none, when from == to, and when it has no memory to search).
 * Used to re-check a cycle; not on any fast path. Const, but uses the graph's search space:
 * serialize it like the other calls. */
size_t lg_graph_find_path(const lg_graph_t *g, lg_node_t from, lg_node_t to,
                          lg_node_t *path, size_t path_cap);

/* The node's place in the current topological order of the accepted edges (every accepted
 * edge goes from a smaller value to a larger one), 0 when it is not a node. Valid until the
 * next add_edge or remove_node. Lets a caller bound a search: from a node placed above every
 * tail of a refused edge, only accepted edges lead on, always upwards. */
int64_t lg_graph_order(const lg_graph_t *g, lg_node_t n);

/* Nodes that appeared in an add_edge and were not removed since. */
size_t lg_graph_node_count(const lg_graph_t *g);
/* Edges as lg_graph_has_edge sees them: accepted plus refused. */
size_t lg_graph_edge_count(const lg_graph_t *g);

/* What lg_graph_check_invariants found wrong. */
enum {
  LG_GRAPH_BAD_ORDER = -1,       /* an accepted edge goes down the order, or an ord out of range */
  LG_GRAPH_BAD_PERMUTATION = -2, /* two live nodes share an ord */
  LG_GRAPH_BAD_MIRROR = -3,      /* an entry's partner position is out of range or names another node */
  LG_GRAPH_BAD_COUNT = -4,       /* counts disagree with the lists, or a form with its length */
  LG_GRAPH_BAD_DUPLICATE = -5,   /* the same edge is listed twice */
  LG_GRAPH_BAD_POSITION = -6,    /* an entry's partner does not record the entry's own position */
  LG_GRAPH_BAD_KIND = -7,        /* the same edge is listed both accepted and refused */
  LG_GRAPH_BAD_ENDPOINT = -8,    /* a self-edge, an edge to a removed node, a removed node with edges */
};

/* For tests: 0 when every internal invariant holds (the order is a topological order of the
 * accepted edges, the two entries of every edge point at each other, no edge is listed twice,
 * counts agree), else one of the codes above, or -ENOMEM when it could not get memory to
 * check. O(nodes log nodes + edges log(max out-degree)). */
int lg_graph_check_invariants(const lg_graph_t *g);

#endif
