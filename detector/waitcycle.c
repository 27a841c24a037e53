/* waitcycle.c - see waitcycle.h. */
#include "waitcycle.h"

#include <string.h>

#include "mem.h"

uint32_t lg_waitcycle_find(const lg_waitcycle_graph_t *g, uint32_t *cyc) {
  uint32_t n = g->n, len = 0;
  uint8_t *color = lg_mem_alloc(n ? n : 1); /* 0 unseen, 1 on the stack, 2 done */
  uint32_t *stack = lg_mem_alloc((n ? n : 1) * sizeof(uint32_t));
  uint32_t *next = lg_mem_alloc((n ? n : 1) * sizeof(uint32_t));
  if (color == NULL || stack == NULL || next == NULL)
    goto out;
  for (uint32_t s = 0; s < n && len == 0; s++) {
    if (color[s] || !g->node_ok(g->ctx, s))
      continue;
    uint32_t sp = 0;
    stack[sp++] = s;
    color[s] = 1;
    next[s] = 0;
    while (sp > 0 && len == 0) {
      uint32_t v = stack[sp - 1];
      if (next[v] >= g->degree(g->ctx, v)) {
        color[v] = 2;
        sp--;
        continue;
      }
      uint32_t w = g->target(g->ctx, v, next[v]++);
      if (w >= n || !g->node_ok(g->ctx, w))
        continue;
      if (color[w] == 1) {
        /* w is on the stack: the cycle is w ... v. */
        uint32_t from = sp;
        while (from > 0 && stack[from - 1] != w)
          from--;
        if (g->accept(g->ctx, &stack[from - 1], sp - from + 1)) {
          len = sp - from + 1;
          memcpy(cyc, &stack[from - 1], len * sizeof(uint32_t));
        }
      } else if (color[w] == 0) {
        color[w] = 1;
        next[w] = 0;
        stack[sp++] = w;
      }
    }
  }
out:
  lg_mem_free(color, n ? n : 1);
  lg_mem_free(stack, (n ? n : 1) * sizeof(uint32_t));
  lg_mem_free(next, (n ? n : 1) * sizeof(uint32_t));
  return len;
}
