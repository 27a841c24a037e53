/* visit.c - a search's visited set (visit.h states the contract).
 *
 * Linear probing over a power-of-two table, Fibonacci hashing of the id (consecutive ids, the
 * common case for locks created together, spread evenly). A slot belongs to the current
 * search when its epoch is the set's; any other slot is free, which is what makes starting a
 * search O(1). When the epoch counter wraps, every slot is cleared once.
 */
#include "visit.h"

#include <string.h>

#include "mem.h"

struct lg_visit_slot {
  uint32_t key, epoch, value;
};

#define VISIT_MIN_CAP 64u

static uint32_t visit_home(uint32_t key, uint32_t cap) {
  return (uint32_t)(key * 2654435769u) & (cap - 1);
}

void lg_visit_begin(lg_visit_t *v) {
  v->count = 0;
  if (++v->epoch == 0) {
    if (v->slots != NULL)
      memset(v->slots, 0, (size_t)v->cap * sizeof *v->slots);
    v->epoch = 1;
  }
}

uint32_t *lg_visit_find(const lg_visit_t *v, uint32_t key) {
  if (v->count == 0)
    return NULL;
  for (uint32_t i = visit_home(key, v->cap);; i = (i + 1) & (v->cap - 1)) {
    lg_visit_slot_t *s = &v->slots[i];
    if (s->epoch != v->epoch)
      return NULL;
    if (s->key == key)
      return &s->value;
  }
}

/* Doubles the table, carrying over the current search's nodes. */
static int visit_grow(lg_visit_t *v) {
  uint32_t ncap = v->cap ? v->cap * 2 : VISIT_MIN_CAP;
  if (ncap == 0)
    return -1;
  lg_visit_slot_t *slots = lg_mem_alloc((size_t)ncap * sizeof *slots);
  if (slots == NULL)
    return -1;
  for (uint32_t k = 0; k < v->cap; k++) {
    const lg_visit_slot_t *s = &v->slots[k];
    if (s->epoch != v->epoch)
      continue;
    uint32_t i = visit_home(s->key, ncap);
    while (slots[i].epoch == v->epoch)
      i = (i + 1) & (ncap - 1);
    slots[i] = *s;
  }
  lg_mem_free(v->slots, (size_t)v->cap * sizeof *v->slots);
  v->slots = slots;
  v->cap = ncap;
  return 0;
}

uint32_t *lg_visit_put(lg_visit_t *v, uint32_t key, int *added) {
  if (v->epoch == 0)
    lg_visit_begin(v);
  if ((v->count + 1) * 2 > v->cap && visit_grow(v) != 0)
    return NULL;
  for (uint32_t i = visit_home(key, v->cap);; i = (i + 1) & (v->cap - 1)) {
    lg_visit_slot_t *s = &v->slots[i];
    if (s->epoch != v->epoch) {
      *s = (lg_visit_slot_t){key, v->epoch, 0};
      v->count++;
      *added = 1;
      return &s->value;
    }
    if (s->key == key) {
      *added = 0;
      return &s->value;
    }
  }
}

void lg_visit_free(lg_visit_t *v) {
  lg_mem_free(v->slots, (size_t)v->cap * sizeof *v->slots);
  memset(v, 0, sizeof *v);
}
