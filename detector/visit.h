/* visit.h - a search's visited set: which nodes one graph search has reached, with a 32-bit
 * value for each (a parent, a distance, flags).
 *
 * Why: a bounded search touches few of the program's locks, so keeping its marks in every
 * lock's record costs bytes per live lock for state that only lives during one search. A
 * visited set costs memory in proportion to the largest search made, not to the locks.
 *
 * Shape: open addressing keyed by node id, at most half full, each entry stamped with the
 * search it belongs to, so lg_visit_begin forgets everything in O(1). A zeroed lg_visit_t is
 * an empty set. Not thread-safe: each set belongs to one searcher (under its caller's lock).
 * Cost: lg_visit_put and lg_visit_find O(1) expected; memory 12 bytes per slot, slots at most
 * four times the largest search's node count (kept for the next search). Failure: lg_visit_put
 * returns NULL when it cannot grow, and the set keeps what it had.
 */
#ifndef LG_VISIT_H
#define LG_VISIT_H

#include <stdint.h>

typedef struct lg_visit_slot lg_visit_slot_t;

typedef struct lg_visit {
  lg_visit_slot_t *slots;
  uint32_t cap;   /* a power of two, or 0 before the first put */
  uint32_t count; /* nodes in the current search */
  uint32_t epoch; /* the current search's stamp; 0 before the first begin */
} lg_visit_t;

/* Starts a new search: every node is unvisited again. */
void lg_visit_begin(lg_visit_t *v);

/* The value of node `key` in the current search, or NULL when it was not visited. Valid until
 * the next lg_visit_put. */
uint32_t *lg_visit_find(const lg_visit_t *v, uint32_t key);

/* Visits node `key`: its value, created as 0 when it was not visited yet (then *added is 1,
 * else 0). NULL without memory. Valid until the next lg_visit_put. */
uint32_t *lg_visit_put(lg_visit_t *v, uint32_t key, int *added);

/* Gives back the set's memory; the set is empty (zeroed) afterwards. */
void lg_visit_free(lg_visit_t *v);

#endif
