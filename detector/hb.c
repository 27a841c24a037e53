/* hb.c - vector clocks over thread segments, from create and join only.
 *
 * Each thread's life is numbered in segments: 1, 2, 3, ... A segment's clock says, for every
 * thread it has heard of, the newest segment of that thread it knows has ENDED (or, for its
 * own thread, its own number). Knowledge of a segment only travels when that segment ends:
 * pthread_create ends the creator's segment and hands it to the child; a join hands over the
 * joined thread's last segment, which ended when the thread did. So "b knows a" is exactly
 * "all of a happens before all of b".
 *
 * Clocks are sparse: sorted (tid, clock) pairs, so a thread that heard of few others (most
 * of them) stays small however many threads the program has. Segments are immutable and
 * never freed, so they come from a bump arena: no size-class rounding, no per-block waste.
 */
#include "hb.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "mem.h"

typedef struct hb_entry {
  lg_tid_t tid;
  uint32_t clock;
} hb_entry_t;

struct lg_segment {
  lg_tid_t tid;
  uint32_t n;
  hb_entry_t e[]; /* sorted by tid, tids distinct, one of them is `tid` */
};

#define HB_CHUNK ((size_t)64 << 10)

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

static size_t hb_segment_size(uint32_t n) {
  return sizeof(lg_segment_t) + (size_t)n * sizeof(hb_entry_t);
}

/* Room for `bytes` (8-byte aligned), reserved as one piece so a caller building two
 * segments either gets both or nothing. */
static void *hb_arena_take(size_t bytes) {
  void *p = NULL;
  bytes = (bytes + 7) & ~(size_t)7;
  while (atomic_flag_test_and_set_explicit(&hb_arena.busy, memory_order_acquire))
    ;
  if (hb_arena.cur == NULL || (size_t)(hb_arena.end - hb_arena.cur) < bytes) {
    size_t len = sizeof(hb_chunk_t) + bytes > HB_CHUNK ? sizeof(hb_chunk_t) + bytes : HB_CHUNK;
    hb_chunk_t *c = lg_mem_alloc(len);
    if (c == NULL)
      goto out;
    c->prev = hb_arena.last;
    hb_arena.last = c;
    hb_arena.cur = (char *)(c + 1);
    hb_arena.end = (char *)c + len;
  }
  p = hb_arena.cur;
  hb_arena.cur += bytes;
out:
  atomic_flag_clear_explicit(&hb_arena.busy, memory_order_release);
  return p;
}

static lg_segment_t *hb_segment_init(void *mem, lg_tid_t tid, uint32_t n) {
  lg_segment_t *s = mem;
  s->tid = tid;
  s->n = n;
  return s;
}

static lg_segment_t *hb_segment_new(lg_tid_t tid, uint32_t n) {
  void *mem = hb_arena_take(hb_segment_size(n));
  return mem ? hb_segment_init(mem, tid, n) : NULL;
}

/* Clock of thread `tid` in s, 0 when s has not heard of it. */
static uint32_t hb_clock_of(const lg_segment_t *s, lg_tid_t tid) {
  uint32_t lo = 0, hi = s->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (s->e[mid].tid < tid)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->n && s->e[lo].tid == tid ? s->e[lo].clock : 0;
}

/* Fills t (room for s->n entries) with s, its own thread's clock moved one segment on. */
static void hb_segment_next(lg_segment_t *t, const lg_segment_t *s) {
  hb_segment_init(t, s->tid, s->n);
  memcpy(t->e, s->e, (size_t)s->n * sizeof(hb_entry_t));
  for (uint32_t i = 0; i < t->n; i++)
    if (t->e[i].tid == t->tid)
      t->e[i].clock++;
}

lg_segment_t *lg_hb_orphan_segment(lg_tid_t tid) {
  lg_segment_t *s = hb_segment_new(tid, 1);
  if (s != NULL)
    s->e[0] = (hb_entry_t){tid, 1};
  return s;
}

lg_segment_t *lg_hb_main_segment(void) {
  return lg_hb_orphan_segment(1);
}

lg_segment_t *lg_hb_thread_start(lg_segment_t **creator, lg_tid_t child) {
  const lg_segment_t *c = *creator;
  /* A wrapped clock (a thread's four billionth create or join) fails like an allocation:
   * ordering is lost, never invented. */
  if (hb_clock_of(c, c->tid) == UINT32_MAX)
    return NULL;
  /* The child knows what the creator knew, plus itself at segment 1. A tid it already
   * knows (not expected: tids are not reused) is restarted rather than duplicated. */
  int known = hb_clock_of(c, child) != 0;
  uint32_t child_n = c->n + (known ? 0 : 1);
  size_t next_size = (hb_segment_size(c->n) + 7) & ~(size_t)7;
  char *mem = hb_arena_take(next_size + hb_segment_size(child_n));
  if (mem == NULL)
    return NULL;
  lg_segment_t *next = (lg_segment_t *)mem;
  hb_segment_next(next, c);
  lg_segment_t *s = hb_segment_init(mem + next_size, child, child_n);
  uint32_t k = 0;
  int placed = 0;
  for (uint32_t i = 0; i < c->n; i++) {
    if (!placed && c->e[i].tid >= child) {
      s->e[k++] = (hb_entry_t){child, 1};
      placed = 1;
      if (c->e[i].tid == child)
        continue;
    }
    s->e[k++] = c->e[i];
  }
  if (!placed)
    s->e[k++] = (hb_entry_t){child, 1};
  *creator = next;
  return s;
}

void lg_hb_thread_join(lg_segment_t **joiner, const lg_segment_t *joined) {
  const lg_segment_t *a = *joiner, *b = joined;
  if (hb_clock_of(a, a->tid) == UINT32_MAX)
    return;
  /* The size of the union of two sorted tid lists, then the union itself. */
  uint32_t n = 0, i = 0, j = 0;
  while (i < a->n || j < b->n) {
    if (j == b->n || (i < a->n && a->e[i].tid < b->e[j].tid))
      i++;
    else if (i == a->n || b->e[j].tid < a->e[i].tid)
      j++;
    else
      i++, j++;
    n++;
  }
  lg_segment_t *s = hb_segment_new(a->tid, n);
  if (s == NULL)
    return; /* the joiner keeps its segment: ordering is lost, so reports err on the safe side */
  uint32_t k = 0;
  i = j = 0;
  while (i < a->n || j < b->n) {
    if (j == b->n || (i < a->n && a->e[i].tid < b->e[j].tid)) {
      s->e[k++] = a->e[i++];
    } else if (i == a->n || b->e[j].tid < a->e[i].tid) {
      s->e[k++] = b->e[j++];
    } else {
      hb_entry_t e = a->e[i++];
      uint32_t other = b->e[j++].clock;
      if (other > e.clock)
        e.clock = other;
      s->e[k++] = e;
    }
  }
  for (k = 0; k < s->n; k++)
    if (s->e[k].tid == s->tid)
      s->e[k].clock = hb_clock_of(a, a->tid) + 1;
  *joiner = s;
}

int lg_hb_before(const lg_segment_t *a, const lg_segment_t *b) {
  if (a == NULL || b == NULL || a == b)
    return 0;
  uint32_t own = hb_clock_of(a, a->tid);
  return hb_clock_of(b, a->tid) >= own && !(a->tid == b->tid && own == hb_clock_of(b, b->tid));
}

lg_tid_t lg_hb_segment_tid(const lg_segment_t *s) {
  return s->tid;
}
