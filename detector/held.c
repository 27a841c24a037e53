/* held.c - the held stack: the locks a thread holds, in the order it took them.
 *
 * Each tracked thread keeps an array of entries (lg_held_t: the lock's id and version, the
 * chain key of the stack up to it, where it was taken and four callers). The owner pushes and
 * pops on the fast path (lockgraph.h: lg_held_fill/commit/pop); what is here is the rest:
 *   - growth: the array doubles, without a cap; the old one is retired, not freed, because the
 *     watchdog may be reading it at that moment (freed when the thread's record is);
 *   - a release out of order: the entry goes and the entries above it get new chain keys (a
 *     key hashes the stack below it);
 *   - a new happens-before segment (create, join): a new seed, every key recomputed.
 * Only the owner writes the stack; other threads read it under lg_rt.mu or, for the watchdog,
 * through depth and the array published with a signal fence. No detector lock is taken here.
 */
#include <errno.h>
#include <string.h>

#include "lockgraph.h"
#include "mem.h"

static int lg_warned_held;

uint64_t lg_seed_of(const lg_segment_t *seg) {
  return lg_chain_mix((uint64_t)(uintptr_t)seg, 0x5eed, 0, 0);
}

void lg_thread_rekey(lg_thread_t *t) {
  t->seed = lg_seed_of(t->seg);
  for (uint32_t i = 0; i < t->depth; i++) {
    lg_held_t *h = &t->held[i];
    h->key = lg_chain_mix(i ? t->held[i - 1].key : t->seed, h->id, h->ver, h->mode);
  }
}

int lg_thread_held_grow(lg_thread_t *t) {
  uint32_t ncap = t->cap * 2;
  lg_held_t *n = lg_mem_alloc(ncap * sizeof(lg_held_t));
  if (n == NULL) {
    lg_warn_once(&lg_warned_held, "out of memory for held locks (%u held by one thread); "
                 "further ones are not tracked", t->cap);
    return -ENOMEM;
  }
  memcpy(n, t->held, t->depth * sizeof(lg_held_t));
  /* The old array is retired, not freed: the watchdog may be reading it right now. */
  if (t->nretired == t->capretired) {
    uint32_t rc = t->capretired ? t->capretired * 2 : 8;
    lg_held_t **r = lg_mem_realloc(t->retired, t->capretired * sizeof(*r), rc * sizeof(*r));
    uint32_t *c = r ? lg_mem_realloc(t->retired_caps, t->capretired * sizeof(*c), rc * sizeof(*c))
                    : NULL;
    if (r != NULL)
      t->retired = r;
    if (c == NULL) {
      lg_mem_free(n, ncap * sizeof(lg_held_t));
      return -ENOMEM;
    }
    t->retired_caps = c;
    t->capretired = rc;
  }
  t->retired[t->nretired] = t->held;
  t->retired_caps[t->nretired++] = t->cap;
  t->held = n;
  atomic_signal_fence(memory_order_release); /* a reader that sees the new cap sees the new array */
  t->cap = ncap;
  return 0;
}

void lg_held_remove_at(lg_thread_t *t, uint32_t i) {
  uint32_t d = t->depth;
  /* Out-of-order release: close the gap and recompute the chain keys above it. */
  for (uint32_t j = i; j + 1 < d; j++)
    t->held[j] = t->held[j + 1];
  for (uint32_t j = i; j + 1 < d; j++) {
    lg_held_t *h = &t->held[j];
    h->key = lg_chain_mix(j ? t->held[j - 1].key : t->seed, h->id, h->ver, h->mode);
  }
  t->depth = d - 1;
}

int lg_held_pop_slow(lg_thread_t *t, uintptr_t addr) {
  for (uint32_t i = t->depth; i-- > 0;) {
    if (t->held[i].addr == addr) {
      lg_held_remove_at(t, i);
      return 1;
    }
  }
  return 0;
}
