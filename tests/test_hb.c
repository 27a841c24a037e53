/* test_hb.c - happens-before from create and join. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "hb.h"

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
