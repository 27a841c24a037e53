/* test_visit.c - a search's visited set against a plain array model.
 *
 * The model is one value per key plus a "visited in this search" flag; the set under test
 * must agree on every key after every step, across growth, many searches, and the wrap of
 * its search counter.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "visit.h"

#define MODEL_KEYS 5000

/* Reproducible from the seed, which the failure messages print. */
static unsigned rng_state;

static uint32_t rng_next(void) {
  return (uint32_t)rand_r(&rng_state) << 16 ^ (uint32_t)rand_r(&rng_state);
}

typedef struct model {
  unsigned char seen[MODEL_KEYS];
  uint32_t value[MODEL_KEYS];
  uint32_t count;
} model_t;

/* Keys spread over the whole 32-bit range as well as dense runs, as lock ids are. */
static uint32_t key_of(uint32_t i) {
  return i % 2 ? i * 2654435761u : i;
}

static void expect_agrees(const lg_visit_t *v, const model_t *m, uint64_t seed, int step) {
  cr_assert_eq(v->count, m->count, "seed %llu step %d: count %u, model %u",
               (unsigned long long)seed, step, v->count, m->count);
  for (uint32_t i = 0; i < MODEL_KEYS; i++) {
    const uint32_t *p = lg_visit_find(v, key_of(i));
    if (!m->seen[i]) {
      cr_assert_null(p, "seed %llu step %d: key %u found, never visited in this search",
                     (unsigned long long)seed, step, i);
    } else {
      cr_assert_not_null(p, "seed %llu step %d: key %u lost", (unsigned long long)seed, step, i);
      cr_assert_eq(*p, m->value[i], "seed %llu step %d: key %u holds %u, model %u",
                   (unsigned long long)seed, step, i, *p, m->value[i]);
    }
  }
}

Test(visit, agrees_with_model_across_searches) {
  for (uint64_t seed = 1; seed <= 20; seed++) {
    rng_state = (unsigned)seed;
    lg_visit_t v = {0};
    model_t m;
    memset(&m, 0, sizeof m);
    for (int step = 0; step < 400; step++) {
      uint32_t op = rng_next() % 100;
      if (op < 3) {
        lg_visit_begin(&v);
        memset(&m, 0, sizeof m);
      } else {
        /* Searches of very different sizes, so the set grows and is reused. */
        uint32_t range = seed % 4 == 0 ? MODEL_KEYS : 64 + seed * 10;
        uint32_t i = rng_next() % range;
        int added = -1;
        uint32_t *p = lg_visit_put(&v, key_of(i), &added);
        cr_assert_not_null(p, "seed %llu step %d: no memory", (unsigned long long)seed, step);
        cr_assert_eq(added, !m.seen[i], "seed %llu step %d: added %d for key %u",
                     (unsigned long long)seed, step, added, i);
        if (added) {
          cr_assert_eq(*p, 0, "a new entry starts at 0");
          m.seen[i] = 1;
          m.count++;
        }
        *p = rng_next();
        m.value[i] = *p;
      }
      if (step % 50 == 0 || step == 399)
        expect_agrees(&v, &m, seed, step);
    }
    cr_expect_leq((uint64_t)v.count * 2, v.cap, "at most half full");
    lg_visit_free(&v);
    cr_expect_null(v.slots, "freed");
  }
}

Test(visit, begin_forgets_everything_even_when_the_counter_wraps) {
  lg_visit_t v = {0};
  int added;
  for (uint32_t k = 0; k < 1000; k++)
    *lg_visit_put(&v, k, &added) = k + 1;
  /* Jump to the last search before the counter wraps; after the wrap the first search's
   * stamps (1) would count again unless they are cleared. */
  cr_assert_eq(v.epoch, 1);
  v.epoch = UINT32_MAX - 1;
  lg_visit_begin(&v);
  for (uint32_t k = 0; k < 10; k++)
    *lg_visit_put(&v, k, &added) = 7;
  lg_visit_begin(&v);
  cr_assert_eq(v.epoch, 1, "the counter starts over at 1");
  for (uint32_t k = 0; k < 1000; k++)
    cr_expect_null(lg_visit_find(&v, k), "key %u forgotten", k);
  cr_expect_eq(v.count, 0);
  for (uint32_t k = 0; k < 1000; k++) {
    uint32_t *p = lg_visit_put(&v, k, &added);
    cr_assert_not_null(p);
    cr_expect_eq(added, 1, "key %u is new in the new search", k);
    cr_expect_eq(*p, 0);
  }
  lg_visit_free(&v);
}

Test(visit, empty_set_finds_nothing) {
  lg_visit_t v = {0};
  cr_expect_null(lg_visit_find(&v, 0));
  lg_visit_begin(&v);
  cr_expect_null(lg_visit_find(&v, 12345));
  lg_visit_free(&v);
}
