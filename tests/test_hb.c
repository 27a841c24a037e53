/* test_hb.c - happens-before from create and join. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "hb.h"
#include "mem.h"

Test(hb, main_segment_is_thread_one) {
  lg_segment_t *m = lg_hb_main_segment();
  cr_assert_not_null(m);
  cr_expect_eq(lg_hb_segment_tid(m), 1);
  cr_expect_not(lg_hb_before(m, m), "a segment is not before itself");
}

Test(hb, parent_before_create_happens_before_child) {
  lg_segment_t *main0 = lg_hb_main_segment();
  lg_segment_t *main = main0;
  lg_segment_t *child = lg_hb_thread_start(&main, 2);
  cr_assert_not_null(child);
  cr_expect_eq(lg_hb_segment_tid(child), 2);
  cr_expect_neq(main, main0, "the creator moved to a new segment");
  cr_expect(lg_hb_before(main0, child));
  cr_expect_not(lg_hb_before(child, main0));
  /* What the parent does after the create races with the child. */
  cr_expect_not(lg_hb_before(main, child));
  cr_expect_not(lg_hb_before(child, main));
  cr_expect(lg_hb_before(main0, main), "program order within a thread");
  cr_expect_not(lg_hb_before(main, main0));
}

Test(hb, child_before_join_happens_before_parent_after_join) {
  lg_segment_t *main = lg_hb_main_segment();
  lg_segment_t *child = lg_hb_thread_start(&main, 2);
  lg_segment_t *main_during = main;
  lg_hb_thread_join(&main, child);
  cr_expect_neq(main, main_during);
  cr_expect(lg_hb_before(child, main));
  cr_expect_not(lg_hb_before(main, child));
  cr_expect_not(lg_hb_before(child, main_during), "before the join the two ran together");
  cr_expect(lg_hb_before(main_during, main));
}

Test(hb, siblings_are_concurrent) {
  lg_segment_t *main = lg_hb_main_segment();
  lg_segment_t *a = lg_hb_thread_start(&main, 2);
  lg_segment_t *b = lg_hb_thread_start(&main, 3);
  cr_expect_not(lg_hb_before(a, b));
  cr_expect_not(lg_hb_before(b, a));
  /* Joining a before creating c orders a before c, but not b. */
  lg_hb_thread_join(&main, a);
  lg_segment_t *c = lg_hb_thread_start(&main, 4);
  cr_expect(lg_hb_before(a, c));
  cr_expect_not(lg_hb_before(b, c));
  cr_expect_not(lg_hb_before(c, b));
}

Test(hb, transitive_through_grandchildren) {
  lg_segment_t *main0 = lg_hb_main_segment();
  lg_segment_t *main = main0;
  lg_segment_t *child = lg_hb_thread_start(&main, 2);
  lg_segment_t *child0 = child;
  lg_segment_t *grand = lg_hb_thread_start(&child, 3);
  cr_expect(lg_hb_before(main0, grand), "create, then create");
  cr_expect(lg_hb_before(child0, grand));
  cr_expect_not(lg_hb_before(main, grand));
  /* The grandchild is joined by the child, the child by main. */
  lg_hb_thread_join(&child, grand);
  lg_segment_t *main_before_join = main;
  lg_hb_thread_join(&main, child);
  cr_expect(lg_hb_before(grand, main), "join, then join");
  cr_expect_not(lg_hb_before(grand, main_before_join));
  cr_expect_not(lg_hb_before(main, grand));
}

Test(hb, create_join_chain) {
  /* Each thread creates the next; then each joins the one it created. */
  enum { DEPTH = 50 };
  lg_segment_t *first[DEPTH + 1], *cur[DEPTH + 1];
  cur[0] = first[0] = lg_hb_main_segment();
  for (int i = 1; i <= DEPTH; i++) {
    cur[i] = first[i] = lg_hb_thread_start(&cur[i - 1], (lg_tid_t)(i + 1));
    cr_assert_not_null(cur[i]);
  }
  for (int i = DEPTH; i >= 1; i--)
    lg_hb_thread_join(&cur[i - 1], cur[i]);
  for (int i = 1; i <= DEPTH; i++) {
    cr_expect(lg_hb_before(first[0], first[i]));
    cr_expect(lg_hb_before(first[i - 1], first[i]));
    cr_expect(lg_hb_before(first[i], cur[0]), "everything joined back into main");
  }
  /* Joins carry knowledge up the chain, never down it. */
  cr_expect(lg_hb_before(first[DEPTH], cur[1]));
  cr_expect_not(lg_hb_before(cur[1], first[DEPTH]));
  cr_expect_not(lg_hb_before(cur[1], first[2]), "thread 2 went on after creating thread 3");
}

Test(hb, thousand_threads_created_and_joined, .timeout = 30) {
  enum { N = 1000 };
  lg_segment_t *kids[N];
  lg_segment_t *main0 = lg_hb_main_segment();
  lg_segment_t *main = main0;
  for (int i = 0; i < N; i++) {
    kids[i] = lg_hb_thread_start(&main, (lg_tid_t)(i + 2));
    cr_assert_not_null(kids[i]);
  }
  lg_segment_t *after_create = main;
  for (int i = 0; i < N; i++)
    lg_hb_thread_join(&main, kids[i]);
  for (int i = 0; i < N; i++) {
    cr_assert(lg_hb_before(main0, kids[i]));
    cr_assert(lg_hb_before(kids[i], main));
    cr_assert_not(lg_hb_before(kids[i], after_create));
    cr_assert_not(lg_hb_before(after_create, kids[i]));
  }
  for (int i = 1; i < N; i++)
    cr_assert_not(lg_hb_before(kids[i - 1], kids[i]), "siblings %d and %d", i, i + 1);
}

Test(hb, orphan_thread_knows_nothing_before_it) {
  lg_segment_t *main0 = lg_hb_main_segment();
  lg_segment_t *main = main0;
  lg_segment_t *child = lg_hb_thread_start(&main, 2);
  lg_segment_t *orphan = lg_hb_orphan_segment(3);
  cr_assert_not_null(orphan);
  cr_expect_eq(lg_hb_segment_tid(orphan), 3);
  cr_expect_not(lg_hb_before(main0, orphan), "its creation was not seen");
  cr_expect_not(lg_hb_before(child, orphan));
  cr_expect_not(lg_hb_before(orphan, main0));
  /* Joining it still orders its work before the joiner. */
  lg_hb_thread_join(&main, orphan);
  cr_expect(lg_hb_before(orphan, main));
}

/* ---- randomized, against dense vector clocks computed the obvious way ---- */

enum { MODEL_THREADS = 60, MODEL_SEGMENTS = 400 };

typedef struct model_segment {
  lg_segment_t *seg;
  lg_tid_t tid;
  uint32_t vc[MODEL_THREADS + 2]; /* indexed by tid; tids run from 1 */
} model_segment_t;

typedef struct model {
  model_segment_t segs[MODEL_SEGMENTS];
  uint32_t nsegs;
  uint32_t cur[MODEL_THREADS + 2]; /* index in segs of each thread's current segment */
  int live[MODEL_THREADS + 2];     /* started and not yet joined */
  lg_tid_t ntids;
  uint64_t rng;
} model_t;

static uint32_t model_rand(model_t *m, uint32_t bound) {
  m->rng ^= m->rng << 13;
  m->rng ^= m->rng >> 7;
  m->rng ^= m->rng << 17;
  return (uint32_t)(m->rng % bound);
}

/* A random live thread; with `newest` set, the most recently started live one. */
static lg_tid_t model_pick_live(model_t *m, int newest) {
  lg_tid_t n = 0, pick = 0;
  for (lg_tid_t t = 1; t <= m->ntids; t++)
    if (m->live[t] && (newest ? 1 : model_rand(m, ++n) == 0))
      pick = t;
  return pick;
}

static model_segment_t *model_push(model_t *m, lg_segment_t *s, lg_tid_t tid,
                                   const uint32_t *vc) {
  cr_assert_not_null(s);
  cr_assert_lt(m->nsegs, MODEL_SEGMENTS);
  model_segment_t *ms = &m->segs[m->nsegs];
  ms->seg = s;
  ms->tid = tid;
  memcpy(ms->vc, vc, sizeof(ms->vc));
  m->cur[tid] = m->nsegs++;
  return ms;
}

static void model_run(model_t *m) {
  uint32_t vc[MODEL_THREADS + 2] = {0};
  vc[1] = 1;
  m->ntids = 1;
  m->live[1] = 1;
  model_push(m, lg_hb_main_segment(), 1, vc);
  /* Stops when the segments are used up, or when only main is left and no tid is: bounded
   * tries, since a join drawn between a thread and itself is skipped. */
  for (uint32_t tries = 0; m->nsegs + 2 <= MODEL_SEGMENTS && tries < 100 * MODEL_SEGMENTS;
       tries++) {
    uint32_t op = model_rand(m, 10);
    lg_tid_t fresh = m->ntids + 1;
    if (op < 5 && fresh <= MODEL_THREADS) {
      /* Create; often from the newest thread, so chains of creation grow deep. */
      lg_tid_t c = model_pick_live(m, op < 2);
      model_segment_t *cs = &m->segs[m->cur[c]];
      lg_segment_t *s = cs->seg;
      lg_segment_t *child = lg_hb_thread_start(&s, fresh);
      memcpy(vc, cs->vc, sizeof(vc));
      vc[fresh] = 1;
      model_push(m, child, fresh, vc);
      vc[fresh] = 0;
      vc[c]++;
      model_push(m, s, c, vc);
      m->ntids = fresh;
      m->live[fresh] = 1;
    } else if (op < 6 && fresh <= MODEL_THREADS) {
      /* A thread whose creation was not seen. */
      memset(vc, 0, sizeof(vc));
      vc[fresh] = 1;
      model_push(m, lg_hb_orphan_segment(fresh), fresh, vc);
      m->ntids = fresh;
      m->live[fresh] = 1;
    } else {
      /* Join any live thread but main from any other live thread, creator or not. */
      lg_tid_t j = model_pick_live(m, 0), t = model_pick_live(m, 0);
      if (j == 1 || t == j)
        continue;
      model_segment_t *ts = &m->segs[m->cur[t]], *js = &m->segs[m->cur[j]];
      lg_segment_t *s = ts->seg;
      lg_hb_thread_join(&s, js->seg);
      for (lg_tid_t u = 1; u <= MODEL_THREADS + 1; u++)
        vc[u] = ts->vc[u] > js->vc[u] ? ts->vc[u] : js->vc[u];
      vc[t] = ts->vc[t] + 1;
      model_push(m, s, t, vc);
      m->live[j] = 0;
    }
  }
}

Test(hb, random_creates_and_joins_match_dense_vector_clocks, .timeout = 60) {
  static model_t m;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    memset(&m, 0, sizeof(m));
    m.rng = seed * 0x9E3779B97F4A7C15ull;
    model_run(&m);
    for (uint32_t i = 0; i < m.nsegs; i++)
      for (uint32_t j = 0; j < m.nsegs; j++) {
        const model_segment_t *a = &m.segs[i], *b = &m.segs[j];
        int want = i != j && b->vc[a->tid] >= a->vc[a->tid];
        cr_assert_eq(lg_hb_before(a->seg, b->seg), want,
                     "seed %llu: segment %u (thread %u, #%u) before %u (thread %u, #%u)",
                     (unsigned long long)seed, i, a->tid, a->vc[a->tid], j, b->tid,
                     b->vc[b->tid]);
      }
  }
}

/* ---- memory stays linear in the number of threads ---- */

/* What the design guarantees in these tests (see hb.c): a create maps at most an 80-byte
 * child record and a 16-byte segment, a join a 16-byte segment plus, in the joiner's log, a
 * 16-byte change kept at least half full (32) and a 4-byte index slot kept at least a
 * quarter full (16). The arena switches chunks only when a piece does not fit, so at least
 * three quarters of each 256 KB chunk is in use: (80 + 16 + 16) * 4/3 + 32 + 16 < 200 bytes
 * per thread. The constant covers the chunk being filled, the outgrown arena copies of the
 * joiner's log and index (each no more than 2 x 64 KB) and page rounding. The old design,
 * copying the main thread's clock into each segment, needed 1.3 GB at 10,000 threads. */
#define HB_BYTES_PER_THREAD 200
#define HB_BYTES_CONSTANT ((size_t)1 << 20)

Test(hb, memory_linear_when_threads_are_created_and_joined_one_by_one, .timeout = 30) {
  enum { N = 10000 };
  static lg_segment_t *kids[N];
  size_t before = lg_mem_mapped_bytes();
  lg_segment_t *main0 = lg_hb_main_segment();
  lg_segment_t *main = main0;
  for (int i = 0; i < N; i++) {
    kids[i] = lg_hb_thread_start(&main, (lg_tid_t)(i + 2));
    cr_assert_not_null(kids[i]);
    lg_hb_thread_join(&main, kids[i]);
  }
  size_t used = lg_mem_mapped_bytes() - before;
  cr_expect_lt(used, (size_t)HB_BYTES_PER_THREAD * N + HB_BYTES_CONSTANT,
               "%zu bytes mapped for %d threads", used, N);
  /* Cheap is no use if it is wrong: every child ran after its predecessor was joined. */
  for (int i = 0; i < N; i++) {
    cr_assert(lg_hb_before(main0, kids[i]));
    cr_assert(lg_hb_before(kids[i], main));
    if (i > 0)
      cr_assert(lg_hb_before(kids[i - 1], kids[i]), "child %d before child %d", i - 1, i);
    cr_assert_not(lg_hb_before(kids[i], kids[i / 2]));
  }
}

Test(hb, memory_linear_when_threads_run_at_once, .timeout = 30) {
  enum { N = 10000 };
  static lg_segment_t *kids[N];
  size_t before = lg_mem_mapped_bytes();
  lg_segment_t *main = lg_hb_main_segment();
  for (int i = 0; i < N; i++) {
    kids[i] = lg_hb_thread_start(&main, (lg_tid_t)(i + 2));
    cr_assert_not_null(kids[i]);
  }
  /* Each child creates and joins a grandchild, then main joins the children in reverse. */
  for (int i = 0; i < N; i++) {
    lg_segment_t *grand = lg_hb_thread_start(&kids[i], (lg_tid_t)(N + 2 + i));
    cr_assert_not_null(grand);
    lg_hb_thread_join(&kids[i], grand);
  }
  for (int i = N - 1; i >= 0; i--)
    lg_hb_thread_join(&main, kids[i]);
  size_t used = lg_mem_mapped_bytes() - before;
  cr_expect_lt(used, (size_t)HB_BYTES_PER_THREAD * 2 * N + HB_BYTES_CONSTANT,
               "%zu bytes mapped for %d threads", used, 2 * N);
  for (int i = 0; i < N; i++)
    cr_assert(lg_hb_before(kids[i], main));
  cr_assert_not(lg_hb_before(kids[0], kids[1]));
}
