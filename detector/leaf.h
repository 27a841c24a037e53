/* leaf.h - leaf locks: the life of a lock taken only innermost, without the detector lock.
 *
 * The common shape of new locks (a lock per request or per object, created, taken under a
 * long-lived lock, destroyed) gives the detector a new lock, a new edge and a destroy each
 * time. Under one detector lock, threads doing this queue behind each other. A lock that has
 * never had an edge out cannot be on a cycle, so its edges in need nothing of the graph: such
 * a lock is a leaf, and leaf.c handles it on the thread's own, under a flag of the lock:
 *   - created by its first acquisition (a lock id from the thread's pool, the shadow slot set
 *     by compare-and-swap);
 *   - taken while published locks are held: the edges in go into its `in` vector, with the
 *     stacks of the last edges made from the same call sites (the thread's memo); the chain
 *     key is remembered as on the slow path, so the next time costs the fast path;
 *   - destroyed or re-initialized: its edges are freed, its id goes back to the pool.
 * Anything else goes to the detector lock's path, which first publishes the leaf (edges.h):
 * the lock taken while a leaf is held (its first edge out), a relock, a call site with no
 * stacks in the memo, a second occurrence of an edge, more than LG_LEAF_IN_MAX edges in, an
 * orphaned or handed-off lock, a lock sharing its granule, pending foreign releases.
 * Reports are exactly those of the detector lock's path: a leaf's edges join the graph, with
 * their stacks and occurrences, before any cycle could run through them.
 *
 * Every function here runs on a tracked thread inside the detector (passthrough set), keeps
 * errno, and never waits for lg_rt.mu while holding a lock's flag (lock order: lg_rt.mu, then
 * a flag).
 */
#ifndef LG_LEAF_H
#define LG_LEAF_H

#include "lockgraph.h"

/* An acquisition the fast path did not know: returns 1 when handled here (*a filled, the
 * acquisition may proceed and be pushed), 0 when the detector lock's path must run. */
int lg_leaf_acquire(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode, int acq,
                    uintptr_t pc, uintptr_t cfa, lg_acq_t *a);
/* A lock's memory is destroyed or initialized again and slot value s (no special bits) lives
 * in `slot`: returns 1 when s was a leaf and is dead now, 0 when the detector lock's path
 * must end it. */
int lg_leaf_retire(lg_thread_t *t, uintptr_t addr, _Atomic uint64_t *slot, uint64_t s);

/* For locks.c, under lg_rt.mu: drops the edges of leaf instance id (it is being destroyed). */
void lg_leaf_drop_edges_locked(uint32_t id);
/* For capture.c, under lg_rt.mu: remembers in t's memo the stacks of an edge from held entry h
 * made at the capture of generation gen (a reference on each). */
void lg_leaf_memo_store_locked(lg_thread_t *t, const lg_held_t *h, uint32_t gen,
                               lg_stack_t *held, lg_stack_t *acq);
/* Under lg_rt.mu: drops the stack references t put off. */
void lg_leaf_flush_locked(lg_thread_t *t);
/* A leaf's flag: guards its `in` vector and its death. */
void lg_leaf_spin_lock(lg_lock_aux_t *x);
void lg_leaf_spin_unlock(lg_lock_aux_t *x);
/* Thread exit, under lg_rt.mu: the pools go back (ids to the free list), the memo's stacks
 * are dropped. */
void lg_leaf_thread_exit_locked(lg_thread_t *t);
/* Leaf locks (edges: 0) or leaf edges (1) ever made: by ended threads, and with `live`
 * (under lg_rt.mu) by the running ones too. */
size_t lg_leaf_made(int live, int edges);
/* Fork child: a flag another thread held at the fork is free again (ids 1..last). */
void lg_leaf_after_fork_child(uint32_t last);

#endif
