/* hb.h - happens-before from thread create and join, for separating lock orders in time.
 *
 * A lock-order cycle is a real risk only when its edges can be taken at the same time. When
 * the program takes A then B, then (after a pthread_join, or before a pthread_create) takes B
 * then A, no interleaving can deadlock. lockgraph tracks only create and join (plus the
 * program's start) as ordering events: each thread's life is cut into segments at those
 * events, and segments carry vector clocks.
 *
 *  - lg_hb_thread_start:  a new thread's first segment knows everything its creator knew at
 *                         pthread_create; the creator moves to a new segment.
 *  - lg_hb_thread_join:   the joiner moves to a new segment that knows everything the joined
 *                         thread knew when it exited.
 *  - lg_hb_before(a, b):  every event of segment a happens before every event of segment b.
 *
 * Segments are immutable once created (what a segment knows never changes) and live as
 * long as the detector (edges keep pointers to them). Thread safety: the caller serializes
 * every call, lg_hb_before included (the runtime's slow-path lock); the current segment of
 * a thread is read only by that thread.
 *
 * Memory: a create costs a constant (about 100 bytes); a join costs a constant plus one
 * 16-byte log entry (with its index, under 48 bytes amortized) per clock entry it raises.
 * Joining a thread that the joiner created, directly or through its descendants, raises
 * only the entries that thread learned after its creation, plus its own: a thread per
 * request, fork-join trees and pools joined by their creator stay linear in the number of
 * threads. What is not linear in every program: joins that bring in many entries gathered
 * elsewhere (a chain of threads each joining the previous one after it joined many) pay
 * once per entry raised, and a chain of creation more than 16 deep copies the creator's
 * clock into every 17th thread.
 */
#ifndef LG_HB_H
#define LG_HB_H

#include <stdint.h>

typedef struct lg_segment lg_segment_t;
typedef uint32_t lg_tid_t; /* lockgraph's own thread number: 1 for the main thread, then 2, 3, ... */

/* The main thread's first segment (thread 1). NULL on allocation failure. */
lg_segment_t *lg_hb_main_segment(void);

/* The first segment of a thread whose creation was not seen (created before the detector
 * started, or by a raw clone): it knows only itself, so nothing is ordered before it. NULL
 * on allocation failure. (Starting such a thread from a fresh lg_hb_main_segment() would
 * claim the real main thread's first segment happened before it.) */
lg_segment_t *lg_hb_orphan_segment(lg_tid_t tid);

/* At pthread_create: *creator is replaced by its next segment; returns the child's first
 * segment, or NULL on allocation failure (then *creator is unchanged). */
lg_segment_t *lg_hb_thread_start(lg_segment_t **creator, lg_tid_t child);

/* At a successful pthread_join: *joiner is replaced by a segment that also knows `joined`
 * (the joined thread's last segment). On allocation failure *joiner is unchanged: the join's
 * ordering is lost, which can only add reports, never hide one. */
void lg_hb_thread_join(lg_segment_t **joiner, const lg_segment_t *joined);

/* Nonzero when all of segment a happens before all of segment b; 0 when a == b or either
 * is NULL. Reads at most 17 hash indexes (b's thread and its creators, up to a bounded
 * depth); in each, walks back past the changes made after b's segment. Reads the thread
 * logs that create and join extend, so it is serialized with them like every call here. */
int lg_hb_before(const lg_segment_t *a, const lg_segment_t *b);

lg_tid_t lg_hb_segment_tid(const lg_segment_t *s);

#endif
