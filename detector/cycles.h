/* cycles.h - the lock-order graph's cycles: which new edges close one, and which cycles are
 * potential deadlocks (cycles.c; internal).
 *
 * Owns: the sets of cycles already judged reportable (by lock instances) and already reported
 * (by lock addresses), the duplicate count, and the search's scratch stack and visited set
 * (sized to the largest search, not to the number of locks). It reads the edges (edges.h)
 * and the graph's order (graph.h) and changes neither, but for putting a new edge into the
 * order, or into the refused list when it closes a cycle (lg_graph_learn).
 * Everything here is under lg_rt.mu.
 * Cost: lg_cycle_possible is O(refused edges); a search visits at most LG_SEARCH_BUDGET edges
 * and judges at most LG_SEARCH_BUDGET occurrence choices per cycle, then warns once and
 * stops; before any edge is refused the graph is acyclic and nothing is searched.
 * A cycle is a potential deadlock when one occurrence of each edge can be chosen so that all
 * can be in progress at once (cycles.c's "judging a cycle" says when).
 */
#ifndef LG_CYCLES_H
#define LG_CYCLES_H

#include "edges.h"
#include "lockgraph.h"

/* A report list built under the lock, emitted after it is dropped. */
#define LG_REPORT_LIST_MAX 32

typedef struct lg_report_list {
  lg_report_t *r[LG_REPORT_LIST_MAX];
  uint32_t n;
} lg_report_list_t;

/* Whether a path to ~> from can exist, from the graph's order alone; *bound gets the highest
 * place a lock on such a path can have (INT64_MAX when some lock has no place). */
int lg_cycle_possible(uint32_t from, uint32_t to, int64_t *bound);
/* Puts the new edge e into the graph's order, or leaves it outside while its head has no edge
 * out. 1 when the graph refuses it (it closes a cycle), else 0. A refused edge, and one the
 * graph could not order for want of memory, is in the refused list (lg_refused_add) on
 * return: outside the order, and the cycle searches run through it. */
int lg_graph_learn(lg_edge_t *e);
/* Adds to out the report of every reportable cycle through the edge `closing` taken as
 * occurrence x, each set of locks once. */
void lg_cycles_through(lg_edge_t *closing, const lg_occ_t *x, lg_report_list_t *out);

#endif
