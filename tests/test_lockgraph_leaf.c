/* test_lockgraph_leaf.c - locks taken only innermost (a lock per request or per object) live and
 * die without the detector lock (detector/leaf.c); these check that nothing is lost or invented
 * on the way: an edge made that way still closes a cycle later, with its stacks; an edge from a
 * lock destroyed since never does; threads doing it at once are counted exactly. Each program
 * runs under the real lockgraph (helpers in lg_corpus.h).
 */
#include <criterion/criterion.h>

#include "lg_corpus.h"

static const char *const verbose_summary[] = {"--verbosity", "2", NULL};

/* The kept request lock's edge in was made without the detector lock (the call sites were
 * known by then); taking it the other way round must still be the reported cycle, with the
 * worker's lines on that edge. */
Test(lockgraph_leaf, request_lock_taken_the_other_way_is_reported, .timeout = 60)
{
  check_ab_ba_inversion("leaf_request_inversion", "leaf_request_inversion.c", "serve_requests",
                        "audit_request", "mutex", 0);
}

Test(lockgraph_leaf, edge_from_a_destroyed_lock_closes_no_cycle, .timeout = 60)
{
  check_clean("leaf_holder_reinit", NULL);
}

/* A clean run of program whose summary counts exactly `locks` locks and `edges` edges. */
static void check_clean_counts(const char *program, unsigned locks, unsigned edges)
{
  run_request_t rq = {.program = program, .cli_flags = verbose_summary};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  expect_clean(&r, program);
  cr_assert_eq(summary_parse(r.err, &s), 1, "expected one summary line; stderr:\n%s", r.err);
  cr_expect_eq(s.locks, locks, "summary: %u locks, expected %u", s.locks, locks);
  cr_expect_eq(s.edges, edges, "summary: %u edges, expected %u", s.edges, edges);
  run_cleanup(&r);
}

/* 4 own locks + 1 registry + 12,000 requests; 4 own -> registry + 2 into each request. */
Test(lockgraph_leaf, threads_making_request_locks_are_counted_exactly, .timeout = 120)
{
  check_clean_counts("leaf_churn_threads", 12005, 24004);
}

/* Children forked while a thread makes and destroys request locks (and walks stacks) each make
 * request locks of their own and exit: nothing the parent's thread held at the fork (a lock's
 * flag, the unwinder's locks) stops them. Several runs: a fork lands anywhere in the worker's
 * loop. */
Test(lockgraph_leaf, children_forked_during_churn_run_to_their_end, .timeout = 120)
{
  for (int i = 0; i < 5; i++)
    check_clean("leaf_churn_fork", "leaf_churn_fork: done");
}

/* Four threads' first acquisitions of one fresh mutex at the same moment, some making it a leaf
 * and some on the detector lock's path: it stays one lock (counted once, no report). */
/* The 2 own locks taken + 2,000 shared ones; 2 edges into each shared one. */
Test(lockgraph_leaf, a_lock_first_taken_by_threads_at_once_is_one_lock, .timeout = 120)
{
  check_clean_counts("leaf_first_lock_race", 2002, 4000);
}

/* Four threads' first acquisitions in memory no lock has lived in, two locks in one span: the
 * block of slots they race to make is one, and each lock is counted once. The 2 own locks
 * taken + 2 x 2,000; an edge into each. */
Test(lockgraph_leaf, locks_made_at_once_in_fresh_memory_are_one_lock_each, .timeout = 120)
{
  check_clean_counts("fresh_block_race", 4002, 4000);
}
