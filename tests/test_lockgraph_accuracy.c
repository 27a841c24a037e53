/* test_lockgraph_accuracy.c - every lock-order cycle reported once, none invented: distinct
 * cycles behind one lock helper, gates that do or do not exclude, create/join ordering with
 * many threads, C11 <threads.h>, occurrence-level judging, and the end-to-end randomized test
 * of the whole detector against a brute-force model of its documented rules. Each program
 * runs under the real lockgraph (helpers in lg_corpus.h).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_corpus.h"

/* The addresses of a report's locks, sorted, as one comparable string. */
static void report_lock_set(const json_t *rep, char *buf, size_t cap)
{
  const json_t *locks = json_get(rep, "locks");
  size_t n = json_len(locks);
  long long a[64];
  size_t k = 0;
  for (size_t i = 0; i < n && k < 64; i++)
    a[k++] = json_int(json_get(json_at(locks, i), "addr"));
  for (size_t i = 1; i < k; i++)
    for (size_t j = i; j > 0 && a[j - 1] > a[j]; j--) {
      long long x = a[j];
      a[j] = a[j - 1];
      a[j - 1] = x;
    }
  buf[0] = '\0';
  for (size_t i = 0; i < k; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "%llx,", a[i]);
  }
}

/* Runs a program that must report exactly `n` potential deadlocks, cycles of lens[i] locks in
 * that order, over pairwise different sets of locks; loads the JSON reports into set. */
static void run_distinct_cycles(const char *program, size_t n, const size_t *lens,
                                run_result_t *r, report_set_t *set)
{
  run_request_t rq = {.program = program};
  summary_t s;
  char sets[16][512];

  run_corpus(&rq, r);
  cr_expect_eq(r->status, REPORT_EXITCODE, "%s: exit status %d; stderr:\n%s", program, r->status,
               r->err);
  cr_expect_eq(summary_parse(r->err, &s), 1, "expected one summary line; stderr:\n%s", r->err);
  cr_expect_eq(s.potential, n, "summary: %u potential deadlocks, expected %zu; stderr:\n%s",
               s.potential, n, r->err);
  cr_expect_eq(s.reports, n, "summary: %u reports, expected %zu", s.reports, n);
  char done[128];
  snprintf(done, sizeof done, "%s: done", program);
  expect_out_line(r, done);
  reports_load(r->json, set);
  size_t got = 0;
  for (size_t i = 0; i < set->count; i++) {
    const json_t *rep = &set->objects[i];
    if (!json_str_is(json_get(rep, "type"), "potential-deadlock"))
      continue;
    cr_assert_lt(got, n, "more potential-deadlock reports than %zu", n);
    size_t len = json_len(json_get(rep, "cycle"));
    cr_expect_eq(len, lens[got] + 1, "report %zu: a cycle of %zu locks, expected %zu", got + 1,
                 len - 1, lens[got]);
    report_lock_set(rep, sets[got], sizeof sets[got]);
    for (size_t j = 0; j < got; j++)
      cr_expect_str_neq(sets[j], sets[got], "reports %zu and %zu name the same locks", j + 1,
                        got + 1);
    got++;
  }
  cr_expect_eq(got, n, "JSON: %zu potential-deadlock objects, expected %zu", got, n);
}

/* ------------------------------------------------------------------------------------------
 * Distinct cycles are not dropped: one helper for every lock, std::mutex at -O0, a stress
 * table of eight inversions.
 */

Test(lockgraph_accuracy, two_inversions_through_one_helper_are_two_reports, .timeout = 60)
{
  const size_t lens[] = {2, 2};
  const edge_expect_t expect[] = {
      {"accounts_ab", "ab_first", "accounts_ab", "ab_second"},
      {"accounts_ba", "ba_first", "accounts_ba", "ba_second"},
  };
  run_result_t r;
  report_set_t set;

  run_distinct_cycles("one_helper_two_inversions", 2, lens, &r, &set);
  /* The program's own lines are frame #1 (under my_lock): C++-style matching finds them. */
  expect_inversion(reports_first(&set, "potential-deadlock"), "one_helper_two_inversions.c", 2,
                   "mutex", expect, 1);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph_accuracy, cxx_two_std_mutex_inversions_at_O0_are_two_reports, .timeout = 60)
{
  const size_t lens[] = {2, 2};
  edge_expect_t expect[2];
  run_result_t r;
  report_set_t set;

  ab_ba_expect(expect, "worker_ab", "worker_ba");
  run_distinct_cycles("cxx_two_inversions", 2, lens, &r, &set);
  expect_inversion(reports_first(&set, "potential-deadlock"), "cxx_two_inversions.cpp", 2,
                   "mutex", expect, 1);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph_accuracy, stress_table_of_eight_inversions_is_eight_reports, .timeout = 60)
{
  const size_t lens[] = {2, 3, 4, 2, 2, 2, 2, 2};
  run_result_t r;
  report_set_t set;

  run_distinct_cycles("stress_eight_inversions", 8, lens, &r, &set);
  reports_free(&set);
  run_cleanup(&r);
}

/* ------------------------------------------------------------------------------------------
 * Gates: only a lock held exclusively by one side serializes.
 */

Test(lockgraph_accuracy, rwlock_read_by_both_sides_is_not_a_gate, .timeout = 60)
{
  check_ab_ba_inversion("rwlock_read_gate", "rwlock_read_gate.c", "thread_ab", "thread_ba",
                        "mutex", 0);
}

Test(lockgraph_accuracy, gates_held_exclusively_by_one_side_still_serialize, .timeout = 60)
{
  check_clean("gate_modes", NULL);
}

/* ------------------------------------------------------------------------------------------
 * Create/join ordering, exact with any number of threads.
 */

static void check_sequential_threads(const char *n)
{
  const char *const args[] = {n, NULL};
  const char *const flags[] = {"--verbosity", "2", NULL};
  run_request_t rq = {.program = "sequential_threads", .args = args, .cli_flags = flags,
                      .timeout_s = 300};
  run_result_t r;

  run_corpus(&rq, &r);
  expect_clean(&r, "sequential_threads");
  /* Memory: the detector's mappings stay far below a per-thread-pair cost (N^2). */
  char *mem = text_find_line(r.err, "  detector memory:", "");
  cr_assert_not_null(mem, "no detector memory line; stderr:\n%s", r.err);
  unsigned long long bytes = 0;
  cr_assert_eq(sscanf(mem, "  detector memory: %llu", &bytes), 1);
  unsigned long long threads = strtoull(n, NULL, 10);
  cr_expect_lt(bytes, (64ull << 20) + threads * 1024,
               "detector memory %llu bytes for %llu threads", bytes, threads);
  free(mem);
  run_cleanup(&r);
}

Test(lockgraph_accuracy, thousand_sequential_threads_are_ordered, .timeout = 120)
{
  check_sequential_threads("1000");
}

Test(lockgraph_accuracy, ten_thousand_sequential_threads_are_ordered, .timeout = 300)
{
  check_sequential_threads("10000");
}

Test(lockgraph_accuracy, hundred_thousand_sequential_threads_are_ordered, .timeout = 600)
{
  check_sequential_threads("100000");
}

/* ------------------------------------------------------------------------------------------
 * C11 <threads.h>: the same rules as the pthread twins.
 */

Test(lockgraph_accuracy, c11_mtx_inversion_is_caught, .timeout = 60)
{
  run_request_t rq = {.program = "c11_inversion"};
  run_result_t r;

  check_ab_ba_inversion("c11_inversion", "c11_inversion.c", "worker_ab", "worker_ba", "mutex", 0);
  /* thrd_join reads back each thread's int result, as without the detector. */
  run_corpus(&rq, &r);
  expect_out_line(&r, "c11_inversion: results 7 9");
  run_cleanup(&r);
}

Test(lockgraph_accuracy, c11_clean_program_is_silent_and_its_locks_are_seen, .timeout = 60)
{
  run_request_t rq = {.program = "c11_clean"};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  expect_clean(&r, "c11_clean");
  summary_parse(r.err, &s);
  /* Silent because the rules hold, not because the C11 calls went unseen. */
  cr_expect_eq(s.locks, 6, "summary: %u locks, expected the program's 6 mtx_t", s.locks);
  cr_expect_eq(s.threads, 2, "summary: %u threads, expected main and the thrd_create one", s.threads);
  run_cleanup(&r);
}
