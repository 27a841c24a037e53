/* hb.c - vector clocks over thread segments, from create and join only, in linear memory.
 *
 * Each thread's life is numbered in segments: 1, 2, 3, ... A segment's clock says, for every
 * thread it has heard of, the newest segment of that thread it knows has ENDED (or, for its
 * own thread, its own number). Knowledge of a segment only travels when that segment ends:
 * pthread_create ends the creator's segment and hands it to the child; a join hands over the
 * joined thread's last segment, which ended when the thread did. So "b knows a" is exactly
 * "all of a happens before all of b".
 *
 * Why not one clock per segment: a main thread that creates and joins N threads knows N
 * threads, and copying that clock into each new segment costs O(N) per create and per join,
 * O(N^2) in all (1.3 GB at 10,000 threads). Instead, two facts are used:
 *
 *  - A thread's clock only grows over its life. So a thread keeps ONE log of the changes to
 *    its clock, each stamped with the segment it took effect in, and a segment is just
 *    (thread, number): its clock is the log read up to that number (partial persistence by
 *    "fat nodes"). The thread's own entry is never logged: it is the segment number.
 *  - A new thread starts knowing exactly what its creator's segment knew. So the child's log
 *    starts empty and points at that segment (its base); a lookup that the child's log cannot
 *    answer is answered by the base, then by the base's base, up the creation tree.
 *
 * A create therefore costs O(1) memory (the creator's next segment and the child's record);
 * a join costs O(1) plus one log entry per clock entry it actually raises. Joining a thread
 * you created (directly or through your descendants) only needs what that thread learned
 * after it was created: the walk up its bases stops at the joiner, whose clock has only grown
 * since (more generally, at the first base the joiner's own chain of bases covers). Chains
 * of creation deeper than HB_DEPTH_MAX are cut by giving the child a full copy of its
 * creator's clock, so a lookup visits at most HB_DEPTH_MAX + 1 logs.
 *
 * Lookup in a log: an open-addressing index maps a tid to its newest change; changes to the
 * same tid are linked newest first, so reading an older segment walks back past the changes
 * made after it.
 *
 * Records and segments are immortal (edges point at them), so they come from a bump arena.
 * Logs and indexes grow by doubling; up to HB_ARENA_MAX bytes they too come from the arena
 * (the outgrown copy is abandoned: at most as much as the live one), beyond that from
 * lg_mem's own mappings, so no size-class chunk of lg_mem is pinned by this module.
 */
#include "hb.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "mem.h"

/* A change to a thread's clock: from segment `at` on, it knows `tid` up to `clock`. */
typedef struct hb_change {
  lg_tid_t tid;
  uint32_t clock;
  uint32_t at;
  uint32_t prev; /* 1 + index of the previous change to the same tid, 0 if none */
} hb_change_t;

typedef struct hb_thread hb_thread_t;

struct lg_segment {
  hb_thread_t *th;
  uint32_t k; /* the segment's number in its thread, from 1 */
};

struct hb_thread {
  lg_segment_t first;
  lg_tid_t tid;
  uint32_t depth;            /* number of bases above this one */
  const lg_segment_t *base;  /* the creator's segment at create, or NULL */
  hb_change_t *log;          /* sorted by `at` (appended in segment order) */
  uint32_t n, cap;
  uint32_t *index;           /* 1 + index of newest change per tid, 0 = empty slot */
  uint32_t index_cap;        /* 0 or a power of two, at least twice ntids */
  uint32_t ntids;
};

#define HB_DEPTH_MAX 16
#define HB_CHUNK ((size_t)256 << 10) /* above lg_mem's size classes: its own mapping */
#define HB_ARENA_MAX ((size_t)64 << 10)

/* The arena: chunks linked through their first word, so they stay reachable. Callers
 * serialize (see hb.h); the flag only guards the arena against a first segment made during
 * start-up outside the runtime's lock. */
typedef struct hb_chunk {
  struct hb_chunk *prev;
} hb_chunk_t;

static struct {
  atomic_flag busy;
  hb_chunk_t *last;
  char *cur, *end;
} hb_arena = {ATOMIC_FLAG_INIT, NULL, NULL, NULL};

/* Room for `bytes` (8-byte aligned), reserved as one piece so a caller building two
 * objects either gets both or nothing. A large request gets a chunk of its own and leaves
 * the current chunk's tail in use for later small ones. */
static void *hb_arena_take(size_t bytes) {
  void *p = NULL;
  bytes = (bytes + 7) & ~(size_t)7;
  while (atomic_flag_test_and_set_explicit(&hb_arena.busy, memory_order_acquire))
    ;
  if (bytes > HB_CHUNK / 4) {
    hb_chunk_t *c = lg_mem_alloc(sizeof(hb_chunk_t) + bytes);
    if (c != NULL) {
      /* Linked behind the current chunk, so the bump pointer stays where it is. */
      if (hb_arena.last != NULL) {
        c->prev = hb_arena.last->prev;
        hb_arena.last->prev = c;
      } else {
        hb_arena.last = c;
      }
      p = c + 1;
    }
    goto out;
  }
  if (hb_arena.cur == NULL || (size_t)(hb_arena.end - hb_arena.cur) < bytes) {
    hb_chunk_t *c = lg_mem_alloc_arena(HB_CHUNK);
    if (c == NULL)
      goto out;
    c->prev = hb_arena.last;
    hb_arena.last = c;
    hb_arena.cur = (char *)(c + 1);
    hb_arena.end = (char *)c + HB_CHUNK;
  }
  p = hb_arena.cur;
  hb_arena.cur += bytes;
out:
  atomic_flag_clear_explicit(&hb_arena.busy, memory_order_release);
  return p;
}

/* A block of new_bytes holding the first old_bytes of `old`; NULL on failure (old intact).
 * Small blocks live in the arena, where the outgrown one is simply abandoned. */
static void *hb_block_grow(void *old, size_t old_bytes, size_t new_bytes) {
  if (new_bytes <= HB_ARENA_MAX) {
    void *p = hb_arena_take(new_bytes);
    if (p != NULL && old_bytes > 0)
      memcpy(p, old, old_bytes);
    return p;
  }
  if (old_bytes > HB_ARENA_MAX)
    return lg_mem_realloc(old, old_bytes, new_bytes);
  void *p = lg_mem_alloc(new_bytes);
  if (p != NULL && old_bytes > 0)
    memcpy(p, old, old_bytes);
  return p;
}

static uint32_t hb_hash(lg_tid_t tid, uint32_t cap) {
  return (tid * 0x9E3779B1u) & (cap - 1);
}

/* The index slot for tid in t: the one naming its newest change, or the empty slot where
 * it would go. t->index_cap must be nonzero. */
static uint32_t *hb_index_slot(const hb_thread_t *t, lg_tid_t tid) {
  uint32_t i = hb_hash(tid, t->index_cap);
  while (t->index[i] != 0 && t->log[t->index[i] - 1].tid != tid)
    i = (i + 1) & (t->index_cap - 1);
  return &t->index[i];
}

/* Room in t for `more` changes to as many new tids, so that appending them cannot fail.
 * 0 or -ENOMEM (t unchanged). */
static int hb_thread_reserve(hb_thread_t *t, uint32_t more) {
  if (more > UINT32_MAX / 4 - t->n)
    return -ENOMEM;
  if (t->n + more > t->cap) {
    uint32_t cap = t->cap ? t->cap : 4;
    while (cap < t->n + more)
      cap *= 2;
    hb_change_t *log = hb_block_grow(t->log, (size_t)t->cap * sizeof(hb_change_t),
                                     (size_t)cap * sizeof(hb_change_t));
    if (log == NULL)
      return -ENOMEM;
    t->log = log;
    t->cap = cap;
  }
  if ((t->ntids + more) * 2 > t->index_cap) {
    uint32_t cap = t->index_cap ? t->index_cap : 8;
    while (cap < (t->ntids + more) * 2)
      cap *= 2;
    uint32_t *index = hb_block_grow(NULL, 0, (size_t)cap * sizeof(uint32_t));
    if (index == NULL)
      return -ENOMEM;
    memset(index, 0, (size_t)cap * sizeof(uint32_t));
    uint32_t *old = t->index, old_cap = t->index_cap;
    t->index = index;
    t->index_cap = cap;
    for (uint32_t i = 0; i < old_cap; i++)
      if (old[i] != 0)
        *hb_index_slot(t, t->log[old[i] - 1].tid) = old[i];
    if ((size_t)old_cap * sizeof(uint32_t) > HB_ARENA_MAX)
      lg_mem_free(old, (size_t)old_cap * sizeof(uint32_t));
  }
  return 0;
}

/* Records that t knows `tid` up to `clock` from segment `at` on. Room was reserved. */
static void hb_thread_log(hb_thread_t *t, lg_tid_t tid, uint32_t clock, uint32_t at) {
  uint32_t *slot = hb_index_slot(t, tid);
  if (*slot == 0)
    t->ntids++;
  t->log[t->n] = (hb_change_t){tid, clock, at, *slot};
  *slot = ++t->n;
}

/* Clock of thread `tid` in s, 0 when s has not heard of it. */
static uint32_t hb_clock_of(const lg_segment_t *s, lg_tid_t tid) {
  for (; s != NULL; s = s->th->base) {
    const hb_thread_t *t = s->th;
    if (t->tid == tid)
      return s->k;
    if (t->index_cap == 0)
      continue;
    for (uint32_t c = *hb_index_slot(t, tid); c != 0; c = t->log[c - 1].prev)
      if (t->log[c - 1].at <= s->k)
        return t->log[c - 1].clock;
  }
  return 0;
}

/* Nonzero when segment `to` knows all that s knows because s's thread is in to's chain
 * of bases at s or later: clocks only grow, and a clock includes its bases'. */
static int hb_chain_covers(const lg_segment_t *to, const lg_segment_t *s) {
  for (; to != NULL; to = to->th->base)
    if (to->th == s->th && to->k >= s->k)
      return 1;
  return 0;
}

/* Walks the (tid, clock) pairs of a segment's clock: its own thread's log, then its base's,
 * and so on, stopping at the first base that `to` already covers (for a thread joined by
 * its creator, that is the creator). A tid may come up more than once, with older, smaller
 * clocks among the pairs, so consumers keep the maximum. */
typedef struct hb_walk {
  const lg_segment_t *s;
  const lg_segment_t *to;
  uint32_t i; /* next log entry of s->th; UINT32_MAX before its own entry */
} hb_walk_t;

static hb_walk_t hb_walk_start(const lg_segment_t *s, const lg_segment_t *to) {
  return (hb_walk_t){s, to, UINT32_MAX};
}

static int hb_walk_next(hb_walk_t *w, lg_tid_t *tid, uint32_t *clock) {
  while (w->s != NULL) {
    if (w->i == UINT32_MAX && hb_chain_covers(w->to, w->s))
      return 0;
    const hb_thread_t *t = w->s->th;
    if (w->i == UINT32_MAX) {
      w->i = 0;
      *tid = t->tid;
      *clock = w->s->k;
      return 1;
    }
    if (w->i < t->n && t->log[w->i].at <= w->s->k) {
      *tid = t->log[w->i].tid;
      *clock = t->log[w->i].clock;
      w->i++;
      return 1;
    }
    w->s = t->base;
    w->i = UINT32_MAX;
  }
  return 0;
}

/* Makes segment `to` (its thread's newest, not yet handed out) also know what `from` knows.
 * Two passes (count, reserve, then log) so that a failure leaves the thread's log as it
 * was: 0 or -ENOMEM. */
static int hb_segment_absorb(const lg_segment_t *to, const lg_segment_t *from) {
  hb_thread_t *t = to->th;
  lg_tid_t tid;
  uint32_t clock, more = 0;
  hb_walk_t w = hb_walk_start(from, to);
  while (hb_walk_next(&w, &tid, &clock))
    if (tid != t->tid && clock > hb_clock_of(to, tid) && more < UINT32_MAX)
      more++;
  if (more == 0)
    return 0;
  int rc = hb_thread_reserve(t, more);
  if (rc != 0)
    return rc;
  w = hb_walk_start(from, to);
  while (hb_walk_next(&w, &tid, &clock))
    if (tid != t->tid && clock > hb_clock_of(to, tid))
      hb_thread_log(t, tid, clock, to->k);
  return 0;
}

lg_segment_t *lg_hb_orphan_segment(lg_tid_t tid) {
  hb_thread_t *t = hb_arena_take(sizeof(*t));
  if (t == NULL)
    return NULL;
  memset(t, 0, sizeof(*t));
  t->tid = tid;
  t->first = (lg_segment_t){t, 1};
  return &t->first;
}

lg_segment_t *lg_hb_main_segment(void) {
  return lg_hb_orphan_segment(1);
}

lg_segment_t *lg_hb_thread_start(lg_segment_t **creator, lg_tid_t child) {
  const lg_segment_t *c = *creator;
  /* A wrapped clock (a thread's four billionth create or join) fails like an allocation:
   * ordering is lost, never invented. */
  if (c->k == UINT32_MAX)
    return NULL;
  size_t next_size = (sizeof(lg_segment_t) + 7) & ~(size_t)7;
  char *mem = hb_arena_take(next_size + sizeof(hb_thread_t));
  if (mem == NULL)
    return NULL;
  lg_segment_t *next = (lg_segment_t *)mem;
  *next = (lg_segment_t){c->th, c->k + 1};
  hb_thread_t *t = (hb_thread_t *)(mem + next_size);
  memset(t, 0, sizeof(*t));
  t->tid = child;
  t->first = (lg_segment_t){t, 1};
  t->base = c;
  t->depth = c->th->depth + 1;
  if (t->depth > HB_DEPTH_MAX) {
    /* Cut the chain: the child owns a copy of the creator's clock. */
    t->base = NULL;
    t->depth = 0;
    if (hb_segment_absorb(&t->first, c) != 0)
      return NULL;
  }
  *creator = next;
  return &t->first;
}

void lg_hb_thread_join(lg_segment_t **joiner, const lg_segment_t *joined) {
  const lg_segment_t *a = *joiner;
  if (a->k == UINT32_MAX)
    return;
  lg_segment_t *next = hb_arena_take(sizeof(*next));
  if (next == NULL)
    return; /* the joiner keeps its segment: ordering is lost, so reports err on the safe side */
  *next = (lg_segment_t){a->th, a->k + 1};
  if (hb_segment_absorb(next, joined) != 0)
    return;
  *joiner = next;
}

int lg_hb_before(const lg_segment_t *a, const lg_segment_t *b) {
  if (a == NULL || b == NULL || a == b)
    return 0;
  lg_tid_t tid = a->th->tid;
  if (tid == b->th->tid && a->k == b->k)
    return 0;
  return hb_clock_of(b, tid) >= a->k;
}

lg_tid_t lg_hb_segment_tid(const lg_segment_t *s) {
  return s->th->tid;
}
