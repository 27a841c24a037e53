/* capture.h - the slow path's stacks: capturing an acquisition's frames through the thread's
 * cache of call sites, and building from them the stacks an edge or a report shows
 * (capture.c; internal).
 *
 * What it captures: the program's frames of the call into a wrapper (return address, and the
 * caller's stack pointer when it is needed), without the detector's own frames (stack.c drops
 * them), up to LG_STACK_MAX, into a per-thread buffer. From those, an edge gets two stacks: the
 * held end (the held entry's call site, the callers its frame-pointer walk saw when it was
 * taken, then the current frames that were already there) and the acquiring end (the frames,
 * cut to the stack_depth option); a report gets the same two, not interned.
 *
 * When: only on the slow path (locks.c), for an acquisition that may bring a new edge or a
 * report; the fast path and leaf.c never capture (leaf.c only asks for the generation of the
 * thread's cached capture, lg_scache_gen); misuse.c and abandoned.c capture their one-off
 * stacks through stack.c directly. The capture runs outside the detector lock; building stacks
 * runs under it.
 *
 * Cost: a call site seen before on the same chain of calls is a cache hit: a few loads per
 * cached frame (each return address is checked in the stack slot it was read from) and a copy
 * of the frames, no unwind. Otherwise libunwind: unw_backtrace (about 0.1 us, PCs only) when
 * every held lock was taken in this frame and the site missed for the first time; the slower
 * unw_step walk (stack pointers) when some held lock was taken in another frame, or the site
 * missed before (that walk is then kept in the cache). An edge whose held entry and cached
 * capture were seen together before reuses their stacks (a hash, a compare, two references)
 * instead of building and interning them again. Memory: one frame buffer and one cache of
 * LG_SCACHE_WAYS call sites per thread, allocated on first use and freed at thread exit
 * (threads.c); a fixed memo of 64 edge stacks' pairs (LG_SMEMO, under lg_rt.mu).
 *
 * Thread-safety: lg_thread_frames, lg_capture_for and lg_scache_gen touch only the calling
 * thread's own state (no lock; the generation counter is atomic). lg_stack_of_frames,
 * lg_stack_of_held and lg_edge_stacks use static buffers, the memo and the intern table:
 * under lg_rt.mu.
 *
 * Fork: in the child of a threaded parent every capture is a frame-pointer walk (stack.c,
 * lg_stack_after_fork_child), never libunwind, whose locks another thread may have held at the
 * fork: code built without frame pointers shows fewer frames there. The calling thread's cache
 * is copied into the child and stays valid (each hit is checked against the stack); the memo
 * is consistent, since the fork handlers hold lg_rt.mu across the fork.
 *
 * Signal handlers: nothing here is async-signal-safe, and nothing here needs to be. The
 * detector's own signal handlers never capture through this module (the watchdog's request
 * uses lg_stack_capture_after_self). A program's handler that takes a lock while its thread
 * is inside the detector finds the thread in passthrough and is not tracked, so this state is
 * never re-entered; one that interrupts the program outside the detector is an ordinary slow
 * path, and a capture that crosses a signal frame or runs on another stack is never cached
 * (nothing to check it against later).
 */
#ifndef LG_CAPTURE_H
#define LG_CAPTURE_H

#include "lockgraph.h"
#include "mem.h"

/* The thread's buffer of captured frames (LG_STACK_MAX), allocated on first use; NULL when it
 * cannot be allocated (lg_capture_for then captures nothing: edges are learnt without stacks).
 * Inline: every slow path asks for it, most of them to capture nothing. Owner thread. */
static inline lg_frame_pcsp_t *lg_thread_frames(lg_thread_t *t) {
  if (t->frames == NULL)
    t->frames = lg_mem_alloc(LG_STACK_MAX * sizeof(lg_frame_pcsp_t));
  return t->frames;
}

/* Captures into f (the thread's buffer, or NULL) the stack of the acquisition made from call
 * site pc whose caller's stack pointer is cfa. Returns the number of frames; *gen is the
 * generation of the cached capture the frames came from, or 0 when they were unwound (or f is
 * NULL). Outside lg_rt.mu, on the owner thread. */
int lg_capture_for(lg_thread_t *t, uintptr_t pc, uintptr_t cfa, lg_frame_pcsp_t *f,
                   uint32_t *gen);

/* The generation of the thread's cached capture of call site (pc, cfa), 0 when it has none
 * that still matches the stack. Owner thread, no lock. */
uint32_t lg_scache_gen(const lg_thread_t *t, uintptr_t pc, uintptr_t cfa);

/* The stack of frames f[0..n-1], cut to stack_depth, not interned; NULL without memory.
 * Under lg_rt.mu. */
lg_stack_t *lg_stack_of_frames(const lg_frame_pcsp_t *f, int n);

/* Where held entry h was taken, as seen from the acquisition whose frames are f[0..n-1] and
 * whose caller's stack pointer is cfa: interned (a reference taken) when `intern`, else a
 * plain stack. NULL without memory. Under lg_rt.mu. */
lg_stack_t *lg_stack_of_held(const lg_held_t *h, uintptr_t cfa, const lg_frame_pcsp_t *f, int n,
                             int intern);

/* The interned stacks of an edge from held entry h to the acquisition whose frames are
 * f[0..n-1] (gen: their cached capture's generation, 0 if none), one reference each in *held
 * and *acq (NULL without memory). Also stores them in the thread's leaf memo (leaf.h), so a
 * leaf edge between the same two call sites finds them without the lock. Under lg_rt.mu. */
void lg_edge_stacks(lg_thread_t *t, const lg_held_t *h, uintptr_t cfa, const lg_frame_pcsp_t *f,
                    int n, uint32_t gen, lg_stack_t **held, lg_stack_t **acq);

#endif
