/* waitcycle.h - one cycle in a small wait-for graph, found by an iterative depth-first search.
 *
 * Used by the watchdog (threads waiting for locks) and by the hang scan (threads waiting for
 * locks and joins): the nodes are candidate threads 0..n-1, the caller says what each waits
 * for. Iterative, so it never recurses on a program's stack; O(nodes + edges); the three work
 * arrays (n entries each) come from lg_mem and are freed before it returns. When they cannot be
 * allocated, no cycle is found.
 */
#ifndef LG_WAITCYCLE_H
#define LG_WAITCYCLE_H

#include <stdint.h>

typedef struct lg_waitcycle_graph {
  void *ctx;
  uint32_t n;
  /* Whether node v takes part at all (a search starts only there; edges to others are cut). */
  int (*node_ok)(void *ctx, uint32_t v);
  /* How many nodes v waits for, and the k-th of them. */
  uint32_t (*degree)(void *ctx, uint32_t v);
  uint32_t (*target)(void *ctx, uint32_t v, uint32_t k);
  /* A cycle was met (nodes in wait order); nonzero keeps it and ends the search, zero goes
   * on looking for another. */
  int (*accept)(void *ctx, const uint32_t *cycle, uint32_t len);
} lg_waitcycle_graph_t;

/* The first accepted cycle, copied into cyc (room for g->n entries); returns its length, 0
 * when there is none. */
uint32_t lg_waitcycle_find(const lg_waitcycle_graph_t *g, uint32_t *cyc);

#endif
