/* test_lockgraph.c - the corpus programs of lock-order cycles, real deadlocks, fork, signals,
 * options and scale, each run under the real lockgraph with its report checked (the running and
 * checking helpers are in lg_corpus.h). A new concern of the detector gets a test file of its own,
 * tests/test_lockgraph_<concern>.c, registered in tests/CMakeLists.txt.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <poll.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg_corpus.h"

/* ------------------------------------------------------------------------------------------
 * The corpus, one test per program.
 */

/* A clean run prints no text summary by default: the tests that read counts from it ask. */
static const char *const verbose_summary[] = {"--verbosity", "2", NULL};

Test(lockgraph, two_thread_inversion_reports_both_stacks_of_both_edges, .timeout = 60)
{
  const char *src = "two_thread_inversion.c";
  edge_expect_t expect[2];
  run_result_t r;
  report_set_t set;
  const json_t *rep;

  ab_ba_expect(expect, "worker_ab", "worker_ba");
  run_potential_deadlock("two_thread_inversion", 2, &r, &set);
  rep = reports_first(&set, "potential-deadlock");
  expect_inversion(rep, src, 2, "mutex", expect, 0);

  /* The text carries the same facts: the cycle line, the closing acquisition, both stacks of
   * both edges, and the two-thread scenario. */
  if (json_len(json_get(rep, "cycle")) == 3) {
    const char *m1 = json_name(json_at(json_get(rep, "cycle"), 0));
    const char *m2 = json_name(json_at(json_get(rep, "cycle"), 1));
    char want[128];
    char *line;

    snprintf(want, sizeof(want), "  cycle: %s -> %s -> %s", m1, m2, m1);
    line = text_find_line(r.err, want, "");
    cr_expect_not_null(line, "no line '%s'; stderr:\n%s", want, r.err);
    free(line);
    line = text_find_line(r.err, "  thread T", " while holding ");
    cr_expect_not_null(line, "no 'thread T<n> acquires X while holding Y' line");
    free(line);
  }
  /* A was first locked at ab_first and B at ab_second: the lock legend says so. */
  for (int i = 0; i < 2; i++) {
    char where[128];
    char *legend;

    snprintf(where, sizeof(where), "%s:%d", src, corpus_marker_line(src, i == 0 ? "ab_first" : "ab_second"));
    legend = text_find_line(r.err, "  M", where);
    cr_expect(legend != NULL && strstr(legend, " = mutex 0x") != NULL &&
                  strstr(legend, "first locked at worker_ab ") != NULL,
              "no lock legend 'M<n> = mutex 0x..., first locked at worker_ab ...%s'", where);
    free(legend);
  }
  expect_text_frame(r.err, "worker_ab", src, corpus_marker_line(src, "ab_first"));
  expect_text_frame(r.err, "worker_ab", src, corpus_marker_line(src, "ab_second"));
  expect_text_frame(r.err, "worker_ba", src, corpus_marker_line(src, "ba_first"));
  expect_text_frame(r.err, "worker_ba", src, corpus_marker_line(src, "ba_second"));
  cr_expect_eq(text_count_lines(r.err, "    thread T", " and wants "), 2, "scenario lines: %zu",
               text_count_lines(r.err, "    thread T", " and wants "));
  cr_expect_eq(text_count_lines(r.err, "    -> each waits for the other forever", ""), 1);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph, one_thread_inversion_is_a_potential_deadlock, .timeout = 60)
{
  check_ab_ba_inversion("one_thread_inversion", "one_thread_inversion.c", "main", "main", "mutex",
                        0);
}

Test(lockgraph, three_lock_cycle_reports_a_cycle_of_three, .timeout = 60)
{
  const edge_expect_t expect[] = {
      {"worker_ab", "ab_first", "worker_ab", "ab_second"},
      {"worker_bc", "bc_first", "worker_bc", "bc_second"},
      {"worker_ca", "ca_first", "worker_ca", "ca_second"},
  };
  check_inversion("three_lock_cycle", "three_lock_cycle.c", 3, "mutex", expect, 0);
}

Test(lockgraph, shortest_cycle_is_reported_first, .timeout = 60)
{
  const edge_expect_t expect[] = {
      {"main", "close_first", "main", "close_second"},
      {"main", "ba_first", "main", "ba_second"},
  };
  run_request_t rq = {.program = "shortest_cycle"};
  run_result_t r;
  report_set_t set;
  summary_t s;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  summary_parse(r.err, &s);
  cr_expect_eq(s.potential, 2, "summary: %u potential deadlocks (the 2-cycle and the ring of 3)",
               s.potential);
  reports_load(r.json, &set);
  cr_assert_eq(reports_count(&set, "potential-deadlock"), 2);
  expect_inversion(reports_first(&set, "potential-deadlock"), "shortest_cycle.c", 2, "mutex",
                   expect, 0);
  reports_free(&set);
  run_cleanup(&r);
}

/* A two-lock inversion among 24 locks once held nested in order: the search judges the
 * shortest cycles before the 2^19 longer ones its budget cannot cover (before, the budget ran
 * out on the long paths first: a warning, no report, exit 0). */
Test(lockgraph, short_inversion_among_nested_locks_is_found_within_the_budget, .timeout = 60)
{
  const edge_expect_t expect[] = {
      {"main", "nest", "main", "nest"},
      {"inverse", "inverse_first", "inverse", "inverse_second"},
  };
  run_result_t r;
  report_set_t set;
  run_corpus(&(run_request_t){.program = "inversion_under_deep_nesting"}, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  reports_load(r.json, &set);
  cr_assert_geq(reports_count(&set, "potential-deadlock"), 1, "no potential deadlock:\n%s", r.err);
  expect_inversion(reports_first(&set, "potential-deadlock"), "inversion_under_deep_nesting.c", 2,
                   "mutex", expect, 0);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph, heap_and_static_mutexes_are_both_tracked, .timeout = 60)
{
  const char *src = "heap_and_static.c";
  const edge_expect_t expect[] = {
      {"main", "sh_first", "main", "sh_second"},
      {"main", "hs_first", "main", "hs_second"},
  };
  run_result_t r;
  report_set_t set;
  const json_t *locks;
  void *static_addr = NULL, *heap_addr = NULL;
  char *addr_line;

  run_potential_deadlock("heap_and_static", 2, &r, &set);
  addr_line = text_find_line(r.out, "heap_and_static: static=", "");
  cr_assert_not_null(addr_line, "the program did not print its addresses");
  cr_assert_eq(sscanf(addr_line, "heap_and_static: static=%p heap=%p", &static_addr, &heap_addr), 2);
  free(addr_line);

  expect_inversion(reports_first(&set, "potential-deadlock"), src, 2, "mutex", expect, 0);
  locks = json_get(reports_first(&set, "potential-deadlock"), "locks");
  int seen_static = 0, seen_heap = 0;
  for (size_t i = 0; i < json_len(locks); i++) {
    long long addr = json_int(json_get(json_at(locks, i), "addr"));
    seen_static |= addr == (long long)(uintptr_t)static_addr;
    seen_heap |= addr == (long long)(uintptr_t)heap_addr;
  }
  cr_expect(seen_static, "no lock at the static mutex's address %p", static_addr);
  cr_expect(seen_heap, "no lock at the heap mutex's address %p", heap_addr);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph, timedlock_inversion_is_caught, .timeout = 60)
{
  check_ab_ba_inversion("timedlock_inversion", "timedlock_inversion.c", "worker_ab", "worker_ba",
                        "mutex", 0);
}

/* The JSON self-deadlock report names the relocking thread, whose stack starts at main on
 * the program's `relock` line. */
static void expect_self_deadlock_at_relock(const report_set_t *set, const char *src)
{
  const json_t *rep = reports_first(set, "self-deadlock");
  int line = corpus_marker_line(src, "relock");

  cr_assert_not_null(rep, "no self-deadlock object in the JSON report");
  const json_t *thread = json_at(json_get(rep, "threads"), 0);
  cr_expect(stack_has(json_get(thread, "stack"), "main", 0, src, line),
            "the thread's stack should start at main %s:%d", src, line);
}

Test(lockgraph, errorcheck_relock_is_reported_and_the_run_continues, .timeout = 60)
{
  const char *src = "errorcheck_relock.c";
  run_request_t rq = {.program = "errorcheck_relock"};
  run_result_t r;
  report_set_t set;
  summary_t s;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d", r.status);
  expect_out_line(&r, "errorcheck_relock: relock returned EDEADLK");
  expect_out_line(&r, "errorcheck_relock: done");
  expect_first_report_line(
      &r, "lockgraph: self-deadlock: errorcheck mutex M1 relocked by its owner T1 (report 1)");
  summary_parse(r.err, &s);
  cr_expect_eq(s.reports, 1);
  cr_expect_eq(s.self, 1);

  reports_load(r.json, &set);
  expect_self_deadlock_at_relock(&set, src);
  cr_expect_eq(reports_count_findings(&set), 1);
  reports_free(&set);
  run_cleanup(&r);
}

/* A timed acquisition that fails asked for its order all the same: two threads that each hold
 * one lock and time out waiting for the other's (a deadlock the deadline turned into
 * ETIMEDOUT) are a lock-order cycle; a timed relock an errorcheck mutex or a write-held rwlock
 * refuses with EDEADLK is a self-deadlock, as a blocking one is. A default mutex's timed relock
 * that times out is not reported. */
Test(lockgraph, timed_acquisitions_that_fail_count_their_order_and_relock, .timeout = 60)
{
  const char *src = "timed_lock_failures.c";
  edge_expect_t expect[2] = {{"inversion", "hold_a", "inversion", "want_b"},
                             {"holds_b_wants_a", "hold_b", "holds_b_wants_a", "want_a"}};
  const char *inv[] = {"inversion", NULL};
  run_request_t rq = {.program = "timed_lock_failures", .args = inv};
  run_result_t r;
  report_set_t set;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "inversion: exit status %d; stderr:\n%s", r.status, r.err);
  expect_out_line(&r, "timed_lock_failures: A then B: ETIMEDOUT");
  expect_out_line(&r, "timed_lock_failures: B then A: ETIMEDOUT");
  expect_out_line(&r, "timed_lock_failures: done");
  reports_load(r.json, &set);
  cr_expect_eq(reports_count_findings(&set), 1, "inversion: %zu findings", reports_count_findings(&set));
  expect_inversion(reports_first(&set, "potential-deadlock"), src, 2, "mutex", expect, 0);
  reports_free(&set);
  run_cleanup(&r);

  static const char *const relocks[] = {"errorcheck", "rwlock"};
  for (size_t i = 0; i < 2; i++) {
    const char *args[] = {relocks[i], NULL};
    run_request_t rq2 = {.program = "timed_lock_failures", .args = args};
    run_corpus(&rq2, &r);
    cr_expect_eq(r.status, REPORT_EXITCODE, "%s: exit status %d; stderr:\n%s", relocks[i],
                 r.status, r.err);
    expect_out_line(&r, "timed_lock_failures: relock: EDEADLK");
    expect_out_line(&r, "timed_lock_failures: done");
    reports_load(r.json, &set);
    cr_expect_eq(reports_count_findings(&set), 1, "%s: %zu findings", relocks[i],
                 reports_count_findings(&set));
    const json_t *rep = reports_first(&set, "self-deadlock");
    cr_expect_not_null(rep, "%s: no self-deadlock:\n%s", relocks[i], r.json);
    if (rep != NULL) {
      int line = corpus_marker_line(src, i == 0 ? "relock" : "relock_rw");
      const json_t *stack = json_get(json_at(json_get(rep, "threads"), 0), "stack");
      cr_expect(stack_has(stack, i == 0 ? "relock" : "relock_rwlock", 0, src, line),
                "%s: the relock's stack does not start at %s:%d", relocks[i], src, line);
    }
    reports_free(&set);
    run_cleanup(&r);
  }

  const char *dflt[] = {"default", NULL};
  run_request_t rq3 = {.program = "timed_lock_failures", .args = dflt};
  run_corpus(&rq3, &r);
  expect_clean(&r, "timed_lock_failures");
  expect_out_line(&r, "timed_lock_failures: relock: ETIMEDOUT");
  run_cleanup(&r);
}

Test(lockgraph, default_relock_is_reported_and_ends_the_run, .timeout = 20)
{
  const char *src = "default_relock.c";
  run_request_t rq = {.program = "default_relock", .timeout_s = 15};
  run_result_t r;
  report_set_t set;
  summary_t s;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d", r.status);
  cr_expect_lt(r.seconds, 10.0, "took %.1f s to end", r.seconds);
  expect_out_line(&r, "default_relock: before relock");
  cr_expect_null(strstr(r.out, "default_relock: done"), "the relock returned");
  expect_first_report_line(
      &r, "lockgraph: self-deadlock: mutex M1 relocked by its owner T1; ending the run (report 1)");
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
  cr_expect_eq(s.self, 1);

  reports_load(r.json, &set);
  expect_self_deadlock_at_relock(&set, src);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph, destroy_reuse_makes_new_locks, .timeout = 60)
{
  check_clean("destroy_reuse", NULL);
}

Test(lockgraph, trylock_reversed_is_not_reported, .timeout = 60)
{
  check_clean("trylock_reversed", "trylock_reversed: trylock succeeded");
}

Test(lockgraph, recursive_mutex_retaken_is_not_reported, .timeout = 60)
{
  check_clean("recursive_mutex", "recursive_mutex: retaken");
}

Test(lockgraph, condvar_wait_releases_its_mutex, .timeout = 60)
{
  check_clean("condvar_wait", "condvar_wait: waited on the condvar");
}

Test(lockgraph, rwlock_read_read_is_not_reported, .timeout = 60)
{
  check_clean("rwlock_read_read", NULL);
}

Test(lockgraph, rwlock_write_inversion_is_reported_with_rw_names, .timeout = 60)
{
  check_ab_ba_inversion("rwlock_write_inversion", "rwlock_write_inversion.c", "writer_ab", "writer_ba",
                        "rwlock", 0);
}

Test(lockgraph, gate_lock_hides_the_inversion, .timeout = 60)
{
  check_clean("gate_lock", NULL);
}

Test(lockgraph, create_join_separation_hides_the_inversion, .timeout = 60)
{
  check_clean("create_join_separation", NULL);
}

/* A deadlock that closes in a condition wait's retake of its mutex: the waiter, signalled, is
 * blocked inside pthread_cond_wait on a mutex the signaller holds, while the signaller waits
 * for a lock the waiter holds. The watchdog sees the waiter waiting for that mutex (the kernel
 * says where it is blocked): a deadlock that happened, about a second after it closed. Before,
 * it was taken for a condition wait: a "hang", and only once every other thread was stuck too
 * (never, with a thread that keeps running). */
Test(lockgraph, deadlock_in_a_condition_waits_retake_is_a_deadlock, .timeout = 60)
{
  const char *src = "cond_retake_deadlock.c";
  static const char *const modes[] = {"alone", "bystander"};
  for (size_t i = 0; i < 2; i++) {
    const char *args[] = {modes[i], NULL};
    run_request_t rq = {.program = "cond_retake_deadlock", .args = args, .timeout_s = 15};
    run_result_t r;
    summary_t s;
    run_corpus(&rq, &r);
    cr_expect_eq(r.status, REPORT_EXITCODE, "%s: exit status %d; stderr:\n%s", modes[i],
                 r.status, r.err);
    cr_expect_lt(r.seconds, 8.0, "%s: took %.1f s to end", modes[i], r.seconds);
    cr_expect_null(strstr(r.out, "cond_retake_deadlock: done"), "%s: the threads finished",
                   modes[i]);
    char *line = text_find_line(
        r.err, "lockgraph: deadlock (it happened): 2 threads blocked in a cycle (report ", "");
    cr_expect_not_null(line, "%s: no 'deadlock (it happened)' line; stderr:\n%s", modes[i],
                       r.err);
    free(line);
    cr_expect_null(strstr(r.err, "lockgraph: hang:"), "%s: reported as a hang:\n%s", modes[i],
                   r.err);
    expect_text_frame(r.err, "signaller", src, corpus_marker_line(src, "want_outer"));
    cr_expect_geq(summary_parse(r.err, &s), 1, "%s: no summary line", modes[i]);
    cr_expect_eq(s.deadlocks, 1, "%s: %u deadlocks", modes[i], s.deadlocks);
    run_cleanup(&r);
  }
}

/* The read-read rule holds for rwlocks that prefer readers (glibc's default) only: one of the
 * PREFER_WRITER_NONRECURSIVE kind queues a reader behind a waiting writer, so read after read
 * is an arc that can wait. The order is a potential deadlock there, nothing with a default
 * rwlock; with a writer queued between the two, the deadlock happens and the watchdog ends
 * it (before: no report, and a run that hung until killed). */
Test(lockgraph, read_after_read_on_a_writer_preferring_rwlock_can_deadlock, .timeout = 60)
{
  const char *order[] = {"order", NULL}, *dflt[] = {"default", NULL}, *dead[] = {"deadlock", NULL};
  run_request_t rq = {.program = "rwlock_writer_preferred", .args = order};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  expect_potential_deadlock(&r, "rwlock_writer_preferred", 2);
  run_cleanup(&r);

  rq.args = dflt;
  run_corpus(&rq, &r);
  expect_clean(&r, "rwlock_writer_preferred");
  run_cleanup(&r);

  rq.args = dead;
  rq.timeout_s = 20;
  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "deadlock: exit status %d; stderr:\n%s", r.status, r.err);
  cr_expect_lt(r.seconds, 10.0, "deadlock: took %.1f s to end", r.seconds);
  cr_expect_null(strstr(r.out, "rwlock_writer_preferred: done"), "deadlock: the threads finished");
  cr_expect_geq(summary_parse(r.err, &s), 1, "deadlock: no summary line");
  cr_expect_eq(s.deadlocks, 1, "deadlock: %u deadlocks; stderr:\n%s", s.deadlocks, r.err);
  run_cleanup(&r);
}

Test(lockgraph, real_deadlock_is_reported_by_the_watchdog, .timeout = 20)
{
  const char *src = "real_deadlock.c";
  run_request_t rq = {.program = "real_deadlock", .timeout_s = 15};
  run_result_t r;
  report_set_t set;
  summary_t s;
  char *line;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d", r.status);
  cr_expect_lt(r.seconds, 10.0, "took %.1f s to end", r.seconds);
  expect_out_line(&r, "real_deadlock: threads started");
  cr_expect_null(strstr(r.out, "real_deadlock: done"), "the deadlocked threads finished");
  line = text_find_line(r.err, "lockgraph: deadlock (it happened): 2 threads blocked in a cycle (report ", "");
  cr_expect_not_null(line, "no 'deadlock (it happened)' line; stderr:\n%s", r.err);
  free(line);
  expect_text_frame(r.err, "worker_ab", src, corpus_marker_line(src, "ab_second"));
  expect_text_frame(r.err, "worker_ba", src, corpus_marker_line(src, "ba_second"));
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
  cr_expect_eq(s.deadlocks, 1);
  /* Unwinding the blocked threads must not count the unwinder's own locks as the program's. */
  cr_expect_eq(s.locks, 2, "%u locks for a program with two mutexes", s.locks);
  cr_expect_eq(s.edges, 2, "%u edges for a program with two lock orders", s.edges);

  /* Each thread waits at its second lock for the lock the other one holds. */
  reports_load(r.json, &set);
  const json_t *rep = reports_first(&set, "deadlock");
  cr_assert_not_null(rep, "no deadlock object in the JSON report");
  const json_t *threads = json_get(rep, "threads");
  const json_t *ab = NULL, *ba = NULL;
  cr_expect_eq(json_len(threads), 2, "%zu threads in the deadlock", json_len(threads));
  for (size_t i = 0; i < json_len(threads); i++) {
    const json_t *stack = json_get(json_at(threads, i), "stack");
    if (stack_has(stack, "worker_ab", 0, src, corpus_marker_line(src, "ab_second")))
      ab = json_at(threads, i);
    if (stack_has(stack, "worker_ba", 0, src, corpus_marker_line(src, "ba_second")))
      ba = json_at(threads, i);
  }
  cr_assert_not_null(ab, "no thread blocked in worker_ab at its second lock");
  cr_assert_not_null(ba, "no thread blocked in worker_ba at its second lock");
  const char *ab_waits = json_name(json_get(ab, "waits_for"));
  const char *ba_waits = json_name(json_get(ba, "waits_for"));
  cr_assert(ab_waits != NULL && ba_waits != NULL && strcmp(ab_waits, ba_waits) != 0,
            "the two threads should wait for two different locks");
  cr_expect_eq(json_len(json_get(ab, "holds")), 1);
  cr_expect_eq(json_len(json_get(ba, "holds")), 1);
  cr_expect_str_eq(json_name(json_at(json_get(ab, "holds"), 0)), ba_waits,
                   "worker_ab holds what worker_ba waits for");
  cr_expect_str_eq(json_name(json_at(json_get(ba, "holds"), 0)), ab_waits,
                   "worker_ba holds what worker_ab waits for");
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph, fork_with_lock_held_child_does_not_hang, .timeout = 60)
{
  run_request_t rq = {.program = "fork_with_lock_held", .cli_flags = verbose_summary};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  /* Both processes write to the same stderr and JSON file: no summary may count a report. */
  cr_expect_eq(r.status, 0, "exit status %d; stderr:\n%s", r.status, r.err);
  expect_out_line(&r, "fork_with_lock_held: child done");
  expect_out_line(&r, "fork_with_lock_held: child exit status 0");
  expect_out_line(&r, "fork_with_lock_held: done");
  expect_no_report_line(&r);
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
  cr_expect_eq(text_count_lines(r.err, "lockgraph: summary: 0 reports", ""),
               text_count_lines(r.err, "lockgraph: summary:", ""), "a summary counts reports:\n%s", r.err);
  expect_no_json_findings(&r);
  run_cleanup(&r);
}

Test(lockgraph, exit_with_lock_held_prints_summary, .timeout = 60)
{
  run_request_t rq = {.program = "exit_with_lock_held", .cli_flags = verbose_summary};
  run_result_t r;

  run_corpus(&rq, &r);
  expect_clean(&r, rq.program);
  cr_expect_eq(text_count_lines(r.err, "lockgraph: summary:", ""), 1, "the summary is printed once");
  run_cleanup(&r);
}

Test(lockgraph, main_pthread_exit_ends_with_its_last_thread, .timeout = 60)
{
  run_request_t rq = {.program = "main_pthread_exit", .cli_flags = verbose_summary, .timeout_s = 20};
  run_result_t r;

  run_corpus(&rq, &r);
  expect_clean(&r, rq.program);
  cr_expect_eq(text_count_lines(r.err, "lockgraph: summary:", ""), 1, "the summary is printed at the end");
  cr_expect_lt(r.seconds, 10.0, "took %.1f s: something kept the process alive", r.seconds);
  run_cleanup(&r);
}

Test(lockgraph, abort_after_report_writes_summary_and_dies_by_sigabrt, .timeout = 60)
{
  edge_expect_t expect[2];
  run_request_t rq = {.program = "abort_after_report"};
  run_result_t r;
  report_set_t set;

  ab_ba_expect(expect, "main", "main");
  run_corpus(&rq, &r);
  expect_out_line(&r, "abort_after_report: aborting");
  expect_first_report_line(&r, "lockgraph: potential deadlock: lock-order cycle of 2 locks (report 1)");
  expect_signal_summary(&r, SIGABRT, "SIGABRT", 1);
  reports_load(r.json, &set);
  expect_inversion(reports_first(&set, "potential-deadlock"), "abort_after_report.c", 2, "mutex", expect, 0);
  reports_free(&set);
  run_cleanup(&r);
}

/* Runs `program mode`, which reports ab_ba.h's inversion and ends in some unusual way: the run
 * must end with the exit code, one text summary of that one report, and a JSON summary that
 * says so (the last one: the process lockgraph started ends after its children). */
static void run_ab_ba_ending(const char *program, const char *mode, run_result_t *r)
{
  edge_expect_t expect[2];
  const char *args[] = {mode, NULL};
  run_request_t rq = {.program = program, .args = args};
  report_set_t set;
  summary_t s;

  ab_ba_expect(expect, "corpus_ab_ba", "corpus_ab_ba");
  run_corpus(&rq, r);
  cr_expect_eq(r->status, REPORT_EXITCODE, "%s: exit status %d; stderr:\n%s", mode, r->status,
               r->err);
  cr_expect_eq(summary_parse(r->err, &s), 1, "%s: expected one summary line; stderr:\n%s", mode,
               r->err);
  cr_expect_eq(s.reports, 1, "%s: summary of %u reports", mode, s.reports);
  cr_expect_eq(s.potential, 1, "%s: summary of %u potential deadlocks", mode, s.potential);
  reports_load(r->json, &set);
  const json_t *js = NULL;
  for (size_t k = 0; k < set.count; k++)
    if (json_str_is(json_get(&set.objects[k], "type"), "summary"))
      js = &set.objects[k];
  cr_expect_not_null(js, "%s: no JSON summary:\n%s", mode, r->json);
  if (js != NULL) {
    cr_expect_eq(json_int(json_get(js, "reports")), 1, "%s: JSON summary of %lld reports", mode,
                 json_int(json_get(js, "reports")));
    cr_expect_eq(json_int(json_get(js, "exitcode")), REPORT_EXITCODE, "%s: JSON exitcode %lld",
                 mode, json_int(json_get(js, "exitcode")));
  }
  expect_inversion(reports_first(&set, "potential-deadlock"), "ab_ba.h", 2, "mutex", expect, 0);
  reports_free(&set);
}

/* A process that ends without exit(3) runs no destructor: _exit, _Exit, quick_exit, _exit from
 * another thread or from a signal handler must still write both summaries and end with the
 * exit code, or a gate would pass a program whose inversion was reported. Forked and vforked
 * children keep their own statuses; a clean run's _exit keeps the program's. */
Test(lockgraph, ending_without_exit_still_writes_the_summary_and_exit_code, .timeout = 180)
{
  static const char *const modes[] = {"_exit", "_Exit", "quick_exit", "thread", "handler",
                                      "children"};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    run_result_t r;
    run_ab_ba_ending("ends_without_exit", modes[i], &r);
    if (strcmp(modes[i], "quick_exit") == 0)
      expect_out_line(&r, "ends_without_exit: quick_exit handler");
    if (strcmp(modes[i], "children") == 0)
      expect_out_line(&r, "children: 7 9");
    run_cleanup(&r);
  }
  const char *args[] = {"clean", NULL};
  run_request_t rq = {.program = "ends_without_exit", .args = args};
  run_result_t r;
  run_corpus(&rq, &r);
  cr_expect_eq(r.status, 3, "clean: exit status %d; stderr:\n%s", r.status, r.err);
  cr_expect_str_empty(r.err, "clean: a clean run printed:\n%s", r.err);
  expect_no_json_findings(&r);
  run_cleanup(&r);
}

/* An exec keeps the process: the reports of the image before it count in the summaries and the
 * exit code the new image ends with, whichever exec function was called; a vfork or fork
 * child's exec starts another program, whose status is its own. */
Test(lockgraph, reports_before_an_exec_count_at_the_end_of_the_run, .timeout = 180)
{
  static const char *const modes[] = {"execve", "execv",  "execvp", "execvpe", "execl",
                                      "execlp", "execle", "fexecve", "vfork",  "fork"};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    run_result_t r;
    run_ab_ba_ending("reports_then_execs", modes[i], &r);
    expect_out_line(&r, "reports_then_execs: new image");
    if (strcmp(modes[i], "vfork") == 0 || strcmp(modes[i], "fork") == 0)
      expect_out_line(&r, "child: 0");
    run_cleanup(&r);
  }
  const char *args[] = {"clean", NULL};
  run_request_t rq = {.program = "reports_then_execs", .args = args};
  run_result_t r;
  run_corpus(&rq, &r);
  expect_clean(&r, "reports_then_execs");
  expect_out_line(&r, "reports_then_execs: new image");
  run_cleanup(&r);

  /* An exec into an environment without the library: the summaries are written before it,
   * and say the exit status is the new program's (0 here). */
  const char *bare[] = {"bare", NULL};
  char sarif[PATH_MAX];
  const char *flags[] = {"--sarif", sarif, NULL};
  run_request_t rq2 = {.program = "reports_then_execs", .args = bare, .cli_flags = flags};
  run_init(&r);
  snprintf(sarif, sizeof sarif, "%s/r.sarif", r.dir);
  run_program(&rq2, &r);
  summary_t s;
  cr_expect_eq(r.status, 0, "bare: exit status %d (the new program's)", r.status);
  expect_out_line(&r, "reports_then_execs: new image");
  cr_expect_eq(summary_parse(r.err, &s), 1, "bare: no summary; stderr:\n%s", r.err);
  cr_expect_eq(s.reports, 1, "bare: summary of %u reports", s.reports);
  cr_expect_not_null(strstr(r.err, "the exit status will be that program's"), "stderr:\n%s", r.err);
  char *log = file_read_all(sarif);
  json_t doc;
  size_t results = 0;
  if (log != NULL && json_parse(log, strlen(log), &doc) == 0) {
    results = json_len(json_get(json_at(json_get(&doc, "runs"), 0), "results"));
    json_free(&doc);
  }
  cr_expect_eq(results, 1, "bare: the SARIF log has %zu results:\n%s", results, log ? log : "");
  free(log);
  run_cleanup(&r);
}

/* Reads path until it has `want` lines starting with `prefix` (up to 20 s: a daemon ends after
 * the run); returns the text (to free). */
static char *wait_for_lines(const char *path, const char *prefix, size_t want)
{
  for (int i = 0;; i++) {
    char *text = file_read_all(path);
    if (text_count_lines(text, prefix, "") >= want || i == 200)
      return text;
    free(text);
    usleep(100 * 1000);
  }
}

/* daemon(3): its parent, the process lockgraph started, _exits inside the C library; its end is
 * the run's, with the reports made before daemon(). The daemon goes on as the program: its own
 * report, its summary, and the SARIF log rewritten with both at its end. */
Test(lockgraph, a_program_that_becomes_a_daemon_keeps_its_reports, .timeout = 120)
{
  char dir[] = "/tmp/lockgraph-daemon-XXXXXX", sarif[64];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(sarif, sizeof sarif, "%s/r.sarif", dir);
  const char *flags[] = {"--sarif", sarif, NULL};
  run_request_t rq = {.program = "reports_then_daemon", .cli_flags = flags, .leaves_daemon = 1};
  run_result_t r;
  edge_expect_t expect[2];
  report_set_t set;

  ab_ba_expect(expect, "corpus_ab_ba", "corpus_ab_ba");
  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);

  /* The daemon's end: its JSON summary after the parent's, then its SARIF log. Both write
   * their text summary, of one report each, to the same stderr. */
  char *json = wait_for_lines(r.json_path, "{\"type\":\"summary\"", 2);
  char *err = file_read_all(r.err_path);
  cr_expect_eq(text_count_lines(err, "lockgraph: summary: 1 report (", ""), 2,
               "expected two summaries of one report; stderr:\n%s", err);
  free(err);
  reports_load(json, &set);
  cr_expect_eq(reports_count(&set, "potential-deadlock"), 2, "potential deadlocks: %zu:\n%s",
               reports_count(&set, "potential-deadlock"), json);
  cr_expect_eq(reports_count(&set, "summary"), 2, "summaries: %zu", reports_count(&set, "summary"));
  expect_inversion(reports_first(&set, "potential-deadlock"), "ab_ba.h", 2, "mutex",
                   expect, 0);
  reports_free(&set);
  free(json);
  char *out = wait_for_lines(r.out_path, "reports_then_daemon: daemon done", 1);
  cr_expect_eq(text_count_lines(out, "reports_then_daemon: daemon done", ""), 1, "stdout:\n%s", out);
  free(out);
  size_t results = 0;
  for (int i = 0; i < 200 && results != 2; i++) {
    char *text = file_read_all(sarif);
    json_t doc;
    results = 0;
    if (json_parse(text, strlen(text), &doc) == 0) {
      results = json_len(json_get(json_at(json_get(&doc, "runs"), 0), "results"));
      json_free(&doc);
    }
    free(text);
    if (results != 2)
      usleep(100 * 1000);
  }
  cr_expect_eq(results, 2, "the SARIF log has %zu results, not the parent's and the daemon's", results);
  run_cleanup(&r);
  unlink(sarif);
  rmdir(dir);
}

Test(lockgraph, sigterm_while_holding_writes_summary_and_dies_by_sigterm, .timeout = 60)
{
  run_request_t rq = {.program = "sigterm_while_holding"};
  run_result_t r;

  run_corpus(&rq, &r);
  expect_out_line(&r, "sigterm_while_holding: sending SIGTERM");
  cr_expect_null(strstr(r.out, "sigterm_while_holding: done"), "the program outlived its SIGTERM");
  cr_expect_eq(r.status, 128 + SIGTERM, "exit status %d", r.status);
  /* A clean run ended by SIGTERM (no crash) prints nothing; its JSON summary names it. */
  cr_expect_str_empty(r.err, "a clean run ended by SIGTERM printed:\n%s", r.err);
  report_set_t set;
  reports_load(r.json, &set);
  const json_t *js = reports_first(&set, "summary");
  cr_expect(js != NULL && json_int(json_get(js, "signal")) == SIGTERM &&
                json_int(json_get(js, "reports")) == 0,
            "the JSON summary does not name SIGTERM:\n%s", r.json);
  reports_free(&set);
  run_cleanup(&r);
}

/* Every signal whose default action ends the process writes the summary first, also when the
 * program set that default itself (a handler that cleans up and raises the signal again, a
 * signal ignored for a while): before, only eight of them did, and a SIGPIPE (a run piped into
 * head) left no summary and an empty SARIF log. A clean run's SIGPIPE stays quiet. */
Test(lockgraph, every_fatal_signal_writes_the_summary_first, .timeout = 180)
{
  static const struct {
    const char *mode;
    int sig;
    const char *name;
  } cases[] = {{"PIPE", SIGPIPE, "SIGPIPE"},    {"ALRM", SIGALRM, "SIGALRM"},
               {"USR1", SIGUSR1, "SIGUSR1"},    {"QUIT", SIGQUIT, "SIGQUIT"},
               {"reraise", SIGTERM, "SIGTERM"}, {"unignored", SIGINT, "SIGINT"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *args[] = {cases[i].mode, NULL};
    run_request_t rq = {.program = "ends_by_signal", .args = args};
    run_result_t r;
    run_corpus(&rq, &r);
    expect_first_report_line(&r, "lockgraph: potential deadlock: lock-order cycle of 2 locks (report 1)");
    expect_signal_summary(&r, cases[i].sig, cases[i].name, 1);
    run_cleanup(&r);
  }
  const char *args[] = {"pipe_clean", NULL};
  run_request_t rq = {.program = "ends_by_signal", .args = args};
  run_result_t r;
  run_corpus(&rq, &r);
  cr_expect_eq(r.status, 128 + SIGPIPE, "pipe_clean: exit status %d", r.status);
  cr_expect_str_empty(r.err, "pipe_clean: a clean run printed:\n%s", r.err);
  run_cleanup(&r);
}

Test(lockgraph, sigterm_own_handler_is_left_to_the_program, .timeout = 60)
{
  check_clean("sigterm_own_handler", NULL);
}

Test(lockgraph, suppressed_inversion_is_counted_not_reported, .timeout = 60)
{
  char supp[PATH_MAX];
  const char *flags[] = {"--suppressions", supp, NULL};
  run_request_t rq = {.program = "suppressed_inversion", .cli_flags = flags};
  run_result_t r;
  summary_t s;

  run_init(&r);
  snprintf(supp, sizeof(supp), "%s/suppressions.txt", r.dir);
  file_write_all(supp, "# the inversion in this program is known\n\ndeadlock:suppressed_worker_ba\n");
  run_program(&rq, &r);
  cr_expect_eq(r.status, 0, "exit status %d; stderr:\n%s", r.status, r.err);
  expect_out_line(&r, "suppressed_inversion: done");
  expect_no_report_line(&r);
  cr_assert_eq(summary_parse(r.err, &s), 1, "no summary line; stderr:\n%s", r.err);
  cr_expect_eq(s.reports, 0);
  cr_expect_eq(s.suppressed, 1, "summary: %u suppressed", s.suppressed);
  expect_no_json_findings(&r);
  run_cleanup(&r);
}

/* Runs a program that works at scale and must stay clean. Returns the number it printed on
 * its stdout line that starts with `prefix` and contains `needle`, read with `format` (one
 * %u), and the text summary in *s. */
static unsigned check_clean_at_scale(const char *program, const char *prefix, const char *needle,
                                     const char *format, summary_t *s)
{
  run_request_t rq = {.program = program, .cli_flags = verbose_summary, .timeout_s = 120};
  run_result_t r;
  char *line;
  unsigned value = 0;

  run_corpus(&rq, &r);
  expect_clean(&r, program);
  line = text_find_line(r.out, prefix, needle);
  cr_assert_not_null(line, "no line '%s...%s'; stdout:\n%s", prefix, needle, r.out);
  cr_assert_eq(sscanf(line, format, &value), 1, "'%s' does not read as '%s'", line, format);
  free(line);
  summary_parse(r.err, s);
  run_cleanup(&r);
  return value;
}

Test(lockgraph, many_locks_completes_clean, .timeout = 150)
{
  summary_t s;
  unsigned count =
      check_clean_at_scale("many_locks", "many_locks: ", " locks", "many_locks: %u locks", &s);

  cr_expect_eq(s.locks, count, "summary: %u locks, the program used %u", s.locks, count);
  cr_expect_eq(s.edges, count - 1, "summary: %u edges, the chain has %u", s.edges, count - 1);
}

/* More edges than the edge table's slots can place by their own hash bits (over 2^22 slots):
 * growing and deleting read the records; an edge then put or moved where lookups do not look
 * is learned a second time by the thread that takes the pairs again. */
Test(lockgraph, many_edges_are_found_again_past_the_slot_hash_bits, .timeout = 150)
{
  summary_t s;
  unsigned count = check_clean_at_scale("many_edges", "many_edges: ", " edges",
                                        "many_edges: %u edges", &s);

  cr_expect_eq(count, 2229216);
  cr_expect_eq(s.locks, 2112, "summary: %u locks", s.locks);
  cr_expect_eq(s.edges, count, "summary: %u edges, the program made %u", s.edges, count);
}

Test(lockgraph, many_threads_completes_clean, .timeout = 150)
{
  summary_t s;
  unsigned ran = check_clean_at_scale("many_threads", "many_threads: ", " threads ran",
                                      "many_threads: %u threads ran", &s);

  cr_expect_eq(ran, 1000);
  cr_expect_eq(s.locks, 2, "summary: %u locks", s.locks);
  cr_expect_eq(s.edges, 1, "one order taken %u times is one edge; summary: %u edges", ran, s.edges);
  cr_expect_eq(s.threads, ran + 1, "summary: %u threads, expected %u and main", s.threads, ran);
}

Test(lockgraph, deep_nesting_completes_clean, .timeout = 150)
{
  summary_t s;
  unsigned depth = check_clean_at_scale("deep_nesting", "deep_nesting: held ", "",
                                        "deep_nesting: held %u locks", &s);

  cr_expect_eq(s.locks, depth, "summary: %u locks", s.locks);
  /* An edge from every held lock to each new one: depth * (depth - 1) / 2 edges. */
  cr_expect_eq(s.edges, depth * (depth - 1) / 2, "summary: %u edges, expected %u", s.edges,
               depth * (depth - 1) / 2);
}

/* std::mutex through lock_guard: the stacks and the lock legend start at the workers' lines, not
 * in libstdc++'s wrappers, whichever compiler built the program and whatever it inlined. */
static void check_cxx_inversion(const char *program)
{
  run_result_t r;

  check_ab_ba_inversion(program, "cxx_std_mutex.cpp", "worker_ab", "worker_ba", "mutex", 1);
  run_corpus(&(run_request_t){.program = program}, &r);
  for (int i = 0; i < 2; i++) {
    char where[128];
    snprintf(where, sizeof(where), "cxx_std_mutex.cpp:%d",
             corpus_marker_line("cxx_std_mutex.cpp", i == 0 ? "ab_first" : "ab_second"));
    char *legend = text_find_line(r.err, "  M", where);
    cr_expect(legend != NULL && strstr(legend, ", first locked at worker_ab() ") != NULL,
              "no lock legend 'first locked at worker_ab() ...%s':\n%s", where, r.err);
    free(legend);
  }
  cr_expect_eq(text_count_lines(r.err, "", "__gthread"), 0, "a libstdc++ wrapper frame shows:\n%s",
               r.err);
  run_cleanup(&r);
}

Test(lockgraph, cxx_std_mutex_inversion_is_caught, .timeout = 60)
{
  check_cxx_inversion("cxx_std_mutex");
}

Test(lockgraph, cxx_std_mutex_by_gxx_starts_at_the_program_line, .timeout = 60)
{
  check_cxx_inversion("cxx_std_mutex.gxx");
}

Test(lockgraph, cxx_std_mutex_by_clangxx_starts_at_the_program_line, .timeout = 60)
{
  check_cxx_inversion("cxx_std_mutex.clangxx");
}

/* clang emits no .debug_aranges: the lines still come from the program's compile units. */
Test(lockgraph, c_program_by_clang_has_file_and_line, .timeout = 60)
{
  edge_expect_t expect[2];

  ab_ba_expect(expect, "worker_ab", "worker_ba");
  check_inversion("two_thread_inversion.clang", "two_thread_inversion.c", 2, "mutex", expect, 0);
}

Test(lockgraph, bad_option_stops_before_the_program, .timeout = 60)
{
  run_request_t cli = {.program = "bad_option", .options = "jsn=x", .no_json = 1};
  run_request_t preload = {.program = "bad_option", .options = "jsn=x", .preload = 1};
  int status;

  /* Through the CLI... */
  status = run_refused(&cli, "jsn");
  cr_expect_eq(status, 2, "CLI: exit status %d", status);

  /* ...and with only the preloaded library, which reads the same variable. */
  status = run_refused(&preload, "jsn");
  cr_expect_eq(status, 2, "LD_PRELOAD: exit status %d", status);
}

Test(lockgraph, unwritable_report_stops_before_the_program, .timeout = 60)
{
  const char *flags[] = {"--json", "/nonexistent/dir/r.json", NULL};
  run_request_t rq = {.program = "unwritable_report", .cli_flags = flags, .no_json = 1};
  int status = run_refused(&rq, "/nonexistent/dir/r.json");

  cr_expect(status != 0 && status != REPORT_EXITCODE, "exit status %d", status);
}

/* "--" ends the options: a report flag right before it has no value (it was taken as a file
 * named "--", and the report went there). */
Test(lockgraph, a_report_flag_before_the_double_dash_needs_a_value, .timeout = 60)
{
  const char *flags[] = {"--log", NULL};
  run_request_t rq = {.program = "unwritable_report", .cli_flags = flags, .no_json = 1};
  int status = run_refused(&rq, "--log needs a value (FILE)");
  cr_expect_eq(status, 2, "exit status %d", status);
}

/* Two reports named to one file (the SARIF log would replace the JSON at the end; text in the
 * JSON file makes it no JSON Lines), by the same path or two spellings of it. */
Test(lockgraph, two_reports_to_one_file_stop_before_the_program, .timeout = 60)
{
  const char *flags[] = {"--json", "/tmp/lockgraph-one-file.out", "--sarif",
                         "/tmp/../tmp/lockgraph-one-file.out", NULL};
  run_request_t rq = {.program = "unwritable_report", .cli_flags = flags, .no_json = 1};
  int status = run_refused(&rq, "--json and --sarif name the same file");
  cr_expect_eq(status, 2, "exit status %d", status);
}

/* Programs the library cannot be preloaded into would run unchecked and silent, a clean run to
 * a CI gate: the front end refuses them before they run, with one line. */
Test(lockgraph, statically_linked_program_is_refused_before_it_runs, .timeout = 60)
{
  run_request_t rq = {.program = "one_thread_inversion.static", .no_json = 1};
  int status = run_refused(&rq, "is statically linked: there is no dynamic loader to preload");

  cr_expect_eq(status, 2, "exit status %d", status);
}

/* A program built with AddressSanitizer starts only when ASan's runtime comes first among the
 * preloaded libraries (before: ASan's "runtime does not come first" and nothing ran); the
 * front end puts it first, and the inversion is found as in the plain build. */
Test(lockgraph, asan_program_runs_with_its_runtime_first, .timeout = 60)
{
  run_request_t rq = {.program = "one_thread_inversion.asan"};
  run_result_t r;

  run_corpus(&rq, &r);
  cr_expect_null(strstr(r.err, "does not come first"), "ASan refused to start:\n%s", r.err);
  expect_potential_deadlock(&r, "one_thread_inversion", 2);
  run_cleanup(&r);
}

/* Copies corpus program `name` to `copy` beside it (executable). */
static void corpus_copy(const char *name, const char *copy)
{
  char src[PATH_MAX], dst[PATH_MAX], buf[65536];
  snprintf(src, sizeof src, "%s/%s", CORPUS_BUILD_DIR, name);
  snprintf(dst, sizeof dst, "%s/%s", CORPUS_BUILD_DIR, copy);
  ssize_t k;
  int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  cr_assert(in >= 0 && out >= 0, "cannot copy %s to %s", src, dst);
  while ((k = read(in, buf, sizeof buf)) > 0)
    cr_assert_eq(write(out, buf, (size_t)k), k);
  close(in);
  close(out);
}

/* JSON is UTF-8; a name the program has (its file's here, a module's in every frame) may be any
 * bytes: a byte that starts no UTF-8 sequence is written as U+FFFD, so the JSON Lines stay
 * JSON (before, the raw byte went out and strict readers refused the file). */
Test(lockgraph, names_that_are_not_utf8_keep_the_json_valid, .timeout = 60)
{
  const char *copy = "one_thread_inversion.\xff\x01";
  corpus_copy("one_thread_inversion", copy);
  run_request_t rq = {.program = copy};
  run_result_t r;
  run_corpus(&rq, &r);
  char dst[PATH_MAX];
  snprintf(dst, sizeof dst, "%s/%s", CORPUS_BUILD_DIR, copy);
  unlink(dst);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  cr_expect_null(strchr(r.json, '\xff'), "a raw 0xff byte in the JSON:\n%s", r.json);
  cr_expect_not_null(strstr(r.json, "\\ufffd"), "no U+FFFD for the name's bad byte:\n%s", r.json);
  report_set_t set;
  reports_load(r.json, &set);
  cr_expect_eq(reports_count(&set, "potential-deadlock"), 1);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph, set_group_id_program_is_refused_before_it_runs, .timeout = 60)
{
  /* A copy of a corpus program, set-group-ID to a group this process is not in. */
  const char *dst = CORPUS_BUILD_DIR "/one_thread_inversion.setgid";
  gid_t other = getgid() == 65534 ? 65533 : 65534;
  corpus_copy("one_thread_inversion", "one_thread_inversion.setgid");
  if (chown(dst, (uid_t)-1, other) != 0) {
    unlink(dst);
    cr_skip_test("cannot give %s another group (%s): needs root or that group", dst,
                 strerror(errno));
  }
  cr_assert_eq(chmod(dst, 02755), 0);
  run_request_t rq = {.program = "one_thread_inversion.setgid", .no_json = 1};
  int status = run_refused(&rq, "is set-user-ID or set-group-ID: the dynamic loader ignores");
  unlink(dst);
  cr_expect_eq(status, 2, "exit status %d", status);
}

/* ------------------------------------------------------------------------------------------
 * Programs that do unusual but legal things with threads and locks: the detector must keep
 * the program's behavior and see the locks they take.
 */

Test(lockgraph, malloc_takes_a_mutex_does_not_hang, .timeout = 40)
{
  run_request_t rq = {.program = "malloc_takes_a_mutex", .timeout_s = 20};
  run_result_t r;

  run_corpus(&rq, &r);
  cr_expect_not(r.timed_out, "the run hung and was killed after %.1f s; stderr:\n%s", r.seconds, r.err);
  expect_clean(&r, "malloc_takes_a_mutex");
  expect_out_line(&r, "malloc_takes_a_mutex: 8 threads joined");
  run_cleanup(&r);
}

Test(lockgraph, child_reads_its_handle_sees_it_set, .timeout = 60)
{
  check_clean("child_reads_its_handle", "child_reads_its_handle: 0 of 200 children saw their handle unset");
}

/* The hand-off itself is a bad unlock (tests/test_lockgraph_misuse.c); the relock after it is
 * no self-deadlock. */
Test(lockgraph, mutex_handoff_is_not_a_relock, .timeout = 60)
{
  run_request_t rq = {.program = "mutex_handoff", .cli_flags = verbose_summary, .timeout_s = 20};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  expect_out_line(&r, "mutex_handoff: worker unlocked M");
  expect_out_line(&r, "mutex_handoff: relocked M");
  expect_out_line(&r, "mutex_handoff: done");
  summary_parse(r.err, &s);
  cr_expect_eq(s.reports, 1, "summary: %u reports", s.reports);
  cr_expect_eq(summary_kind(&s, "bad unlock"), 1, "summary: the hand-off is no bad unlock");
  cr_expect_eq(s.self, 0, "summary: %u self-deadlocks", s.self);
  cr_expect_eq(s.locks, 1, "summary: %u locks", s.locks);
  run_cleanup(&r);
}

Test(lockgraph, signal_handler_locks_while_blocked_is_not_a_relock, .timeout = 60)
{
  run_request_t rq = {.program = "signal_handler_locks_while_blocked", .cli_flags = verbose_summary,
                      .timeout_s = 30};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  /* The program only proves its point if the signal came while main was blocked on M. */
  cr_expect_null(strstr(r.out, "cannot read main's syscall"), "stdout:\n%s", r.out);
  expect_clean(&r, "signal_handler_locks_while_blocked");
  expect_out_line(&r, "signal_handler_locks_while_blocked: handler took H");
  summary_parse(r.err, &s);
  cr_expect_eq(s.self, 0, "summary: %u self-deadlocks", s.self);
  cr_expect_eq(s.locks, 2, "summary: %u locks, expected M and H", s.locks);
  run_cleanup(&r);
}

/* Handlers that lock, landing 20,000 times anywhere in their thread's own acquisitions and
 * releases (pthread lock and trylock, C11 mtx_lock and mtx_trylock): no lock of the handler's
 * is mixed into the thread's held stack (which reported releases of locks not held and cycles
 * that are not there), and the run ends in its time. */
Test(lockgraph, signal_handlers_locking_amid_the_threads_own_locking_change_nothing, .timeout = 60)
{
  run_request_t rq = {.program = "signal_storm_locks", .cli_flags = verbose_summary,
                      .timeout_s = 30};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  expect_clean(&r, "signal_storm_locks");
  expect_out_line(&r, "signal_storm_locks: done (20000 signals handled)");
  cr_assert_eq(summary_parse(r.err, &s), 1, "expected one summary line; stderr:\n%s", r.err);
  cr_expect_eq(s.locks, 5, "summary: %u locks, expected A, B, C, D and H", s.locks);
  run_cleanup(&r);
}

Test(lockgraph, condwait_einval_keeps_mutex_and_its_inversion, .timeout = 60)
{
  check_inversion_after("condwait_einval_keeps_mutex", "condwait_einval_keeps_mutex.c",
                        "condwait_einval_keeps_mutex: timedwait returned EINVAL");
}

Test(lockgraph, robust_owner_died_lock_is_an_acquisition, .timeout = 60)
{
  check_inversion_after("robust_owner_died", "robust_owner_died.c",
                        "robust_owner_died: lock returned EOWNERDEAD");
}
