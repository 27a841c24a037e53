/* test_classify.c - every classifier against real tool output.
 *
 * The fixtures in tests/fixtures/<detector>/ are logs of real runs (tests/fixtures/capture.sh):
 * the project's hazard programs under each detector, and real failures (a crash under Helgrind
 * and under TSan, a hang, Valgrind on a missing binary, a usage error, a compile error). Paths
 * in them start with /checkout, so they are classified with that source root. Each test reads
 * the exit status from the log's own trailer, as the runner wrote it, and asserts the verdict
 * and the first report line, file:line included. Most of them are rows of one table, run as
 * a parameterized test; each row is named after the behaviour it pins down.
 */
#include "classify.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES LG_SOURCE_DIR "/tests/fixtures"
#define ROOT "/checkout"

static char *fixture_read(const char *detector, const char *name)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/%s.log", FIXTURES, detector, name);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "missing fixture %s (run tests/fixtures/capture.sh)", path);
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *copy = strdup(buf);
  cr_assert_not_null(copy);
  return copy;
}

/* Classifies a fixture with the exit status recorded in it, or, when `forced` is not NULL,
 * with that status instead (to see what the same output means under another exit). */
static harness_finding_t fixture_classify(harness_detector_t d, const char *slug, const char *name,
                                          const harness_exit_t *forced)
{
  char *log = fixture_read(harness_detector_name(d), name);
  harness_exit_t ex;
  harness_finding_t f;

  if (forced != NULL) {
    ex = *forced;
    harness_classify(d, slug, log, &ex, ROOT, &f);
  } else {
    cr_assert_eq(harness_exit_from_log(log, &ex), 0, "%s has no exit trailer", name);
    cr_assert_eq(harness_classify(d, slug, log, &ex, ROOT, &f), 0);
  }
  free(log);
  return f;
}

static int ends_with(const char *s, const char *suffix)
{
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int starts_with(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* One fixture, classified, and what must come of it. The first line is checked exactly when
 * `line` is set; otherwise by whichever of prefix, infix and suffix are set (paths and
 * addresses in the middle vary between runs). */
typedef struct fixture_case {
  const char *what; /* the behaviour this case pins down, for failure messages */
  harness_detector_t detector;
  const char *slug, *fixture;
  harness_verdict_t verdict;
  const char *line;
  const char *prefix, *infix, *suffix;
  int forced;    /* classify with exit code `code` instead of the log's own trailer */
  int code;
} fixture_case_t;

/* Classifies c's fixture and checks the verdict and the first line; returns the finding for
 * any check of the caller's own. */
static harness_finding_t fixture_expect(const fixture_case_t *c)
{
  const harness_exit_t forced = {HARNESS_EXIT_CODE, c->code};
  harness_finding_t f =
    fixture_classify(c->detector, c->slug, c->fixture, c->forced ? &forced : NULL);

  cr_expect_eq(f.verdict, c->verdict, "%s: verdict %s, expected %s (%s)", c->what,
               harness_verdict_name(f.verdict), harness_verdict_name(c->verdict), f.first_line);
  if (c->line != NULL)
    cr_expect_str_eq(f.first_line, c->line, "%s: first line '%s', expected '%s'", c->what,
                     f.first_line, c->line);
  if (c->prefix != NULL)
    cr_expect(starts_with(f.first_line, c->prefix), "%s: '%s' does not start with '%s'", c->what,
              f.first_line, c->prefix);
  if (c->infix != NULL)
    cr_expect(strstr(f.first_line, c->infix) != NULL, "%s: '%s' does not contain '%s'", c->what,
              f.first_line, c->infix);
  if (c->suffix != NULL)
    cr_expect(ends_with(f.first_line, c->suffix), "%s: '%s' does not end with '%s'", c->what,
              f.first_line, c->suffix);
  return f;
}

/* --- one fixture, one verdict --------------------------------------------------------- */

static const fixture_case_t fixture_cases[] = {
  /* ThreadSanitizer */
  {"tsan_gcc_reports_the_lost_update_race_at_its_line", HARNESS_DET_TSAN_GCC, "lost_update",
   "lost_update-buggy", HARNESS_CAUGHT, .line = "data race (buggy/lost_update.c:40)"},
  {"tsan_clang_reports_the_race_without_the_column", HARNESS_DET_TSAN_CLANG, "lost_update",
   "lost_update-buggy", HARNESS_CAUGHT, .line = "data race (buggy/lost_update.c:40)"},
  /* TSan turns the SIGSEGV into a report and exits with its exitcode (66). */
  {"tsan_segv_is_a_crash_not_a_catch", HARNESS_DET_TSAN_GCC, "misbehave", "crash-under-tsan",
   HARNESS_CRASH, .prefix = "ThreadSanitizer: SEGV on unknown address",
   .suffix = "(tests/fixtures/src/misbehave.c:16)"},
  /* The clean run's own output, with the exit status TSan uses for "reported something". */
  {"tsan_exitcode_without_a_report_is_a_tool_error", HARNESS_DET_TSAN_GCC, "lost_update",
   "lost_update-fixed", HARNESS_TOOL_ERROR, .line = "exit 66 without a ThreadSanitizer report",
   .forced = 1, .code = 66},
  /* A real start-up failure on a kernel with 32 bits of mmap randomization: the runner reruns
   * such a run under setarch -R; on its own the log is a tool error, never clean or caught. */
  {"tsan_memory_mapping_failure_is_a_tool_error", HARNESS_DET_TSAN_CLANG, "lost_update",
   "mapping-failure", HARNESS_TOOL_ERROR,
   .prefix = "FATAL: ThreadSanitizer: unexpected memory mapping 0x"},
  /* The documented miss: every access is locked, so there is no data race to report. */
  {"tsan_misses_the_locked_check_then_set", HARNESS_DET_TSAN_GCC, "check_then_set",
   "check_then_set-buggy", HARNESS_CLEAN, .line = "no ThreadSanitizer warnings"},

  /* Helgrind and DRD */
  /* The read half of counter++ ("long seen = counter"), the first access Helgrind saw. */
  {"helgrind_reports_a_possible_data_race_at_its_line", HARNESS_DET_HELGRIND, "lost_update",
   "lost_update-buggy", HARNESS_CAUGHT, .prefix = "Possible data race during read of size 8 ",
   .suffix = "(buggy/lost_update.c:37)"},
  {"drd_reports_a_conflicting_access_at_its_line", HARNESS_DET_DRD, "lost_update",
   "lost_update-buggy", HARNESS_CAUGHT, .prefix = "Conflicting store by thread ",
   .suffix = "(buggy/lost_update.c:40)"},
  {"helgrind_reports_the_violated_lock_order", HARNESS_DET_HELGRIND, "lock_order_deadlock",
   "lock_order_deadlock-buggy", HARNESS_CAUGHT, .prefix = "Thread #", .infix = ": lock order \"0x",
   .suffix = " violated (buggy/lock_order_deadlock.c:72)"},
  {"drd_has_no_lock_order_checker", HARNESS_DET_DRD, "lock_order_deadlock",
   "lock_order_deadlock-buggy", .verdict = HARNESS_CLEAN},
  {"helgrind_on_a_crashing_program_is_a_crash", HARNESS_DET_HELGRIND, "misbehave",
   "crash-under-helgrind", HARNESS_CRASH,
   .prefix = "Process terminating with default action of signal 11",
   .suffix = "(tests/fixtures/src/misbehave.c:16)"},
  {"valgrind_on_a_missing_binary_is_a_tool_error", HARNESS_DET_DRD, "no_such_program",
   "missing-binary", HARNESS_TOOL_ERROR,
   .line = "valgrind: /checkout/build/hazards/native/buggy/no_such_program: "
           "No such file or directory"},
  /* With --trace-children=yes an exec'd child reports under its own pid, with its own ERROR
   * SUMMARY ("1 errors") before the parent's ("0 errors"): the child's errors count. */
  {"helgrind_counts_the_errors_of_a_traced_child", HARNESS_DET_HELGRIND, "misbehave",
   "child-error", HARNESS_CAUGHT, .prefix = "Thread #1 unlocked an invalid lock at 0x",
   .suffix = "(tests/fixtures/src/misbehave.c:29)"},
  {"drd_counts_the_errors_of_a_traced_child", HARNESS_DET_DRD, "misbehave", "child-error",
   HARNESS_CAUGHT,
   .line = "The object at address 0x10c080 is not a mutex. (tests/fixtures/src/misbehave.c:29)"},
  /* DRD with --exclusive-threshold=250: a lock held across 400 ms of slow I/O. The header
   * comes after DRD's "Acquired at:" stack; its location is the late unlock. */
  {"drd_reports_a_lock_held_longer_than_the_threshold", HARNESS_DET_DRD, "lock_held_io",
   "lock_held_io-buggy", HARNESS_CAUGHT, .prefix = "Lock on mutex 0x",
   .infix = " ms (threshold: 250 ms).", .suffix = "(buggy/lock_held_io.c:63)"},
  /* A thread that ends holding a lock: pthread_cancel in write() inside a critical section. */
  {"helgrind_reports_a_thread_exiting_with_a_lock_held", HARNESS_DET_HELGRIND, "no_cancellation",
   "no_cancellation-buggy", HARNESS_CAUGHT,
   .line = "Thread #2: Exiting thread still holds 1 lock"},
  {"drd_reports_a_mutex_still_locked_at_thread_exit", HARNESS_DET_DRD, "no_cancellation",
   "no_cancellation-buggy", HARNESS_CAUGHT, .prefix = "Mutex still locked at thread exit: mutex 0x",
   .suffix = "(buggy/no_cancellation.c:86)"},
  /* A forked child ended by its own alarm prints "Process terminating with default action of
   * signal 14" under its pid; the program itself exits 1: not a crash, and no error. */
  {"valgrind_child_ended_by_a_signal_is_not_a_crash", HARNESS_DET_HELGRIND, "fork_with_locks",
   "fork_with_locks-buggy", HARNESS_CLEAN, .line = "ERROR SUMMARY: 0 errors"},
  /* The report decides, not --error-exitcode: the same errors with exit 0 are still caught. */
  {"valgrind_errors_with_a_clean_exit_still_count", HARNESS_DET_HELGRIND, "lost_update",
   "lost_update-buggy", HARNESS_CAUGHT, .forced = 1, .code = 0},

  /* oracle */
  {"oracle_hazard_line_is_a_catch", HARNESS_DET_ORACLE, "lost_update", "lost_update-large",
   HARNESS_CAUGHT, .prefix = "lost_update: HAZARD counter="},
  {"oracle_ok_line_is_clean", HARNESS_DET_ORACLE, "lost_update", "lost_update-fixed",
   HARNESS_CLEAN, .line = "lost_update: OK counter=400000 expected=400000"},
  {"oracle_usage_error_is_a_tool_error", HARNESS_DET_ORACLE, "lost_update", "usage-error",
   HARNESS_TOOL_ERROR, .line = "exit 2: usage error"},
  {"oracle_timeout_is_a_hang", HARNESS_DET_ORACLE, "misbehave", "hang", HARNESS_HANG,
   .line = "no exit within 2 s (process group killed)"},
  /* An OK line with exit 1 is neither a catch nor clean. */
  {"oracle_exit_code_without_its_line_is_a_tool_error", HARNESS_DET_ORACLE, "lost_update",
   "lost_update-fixed", HARNESS_TOOL_ERROR, .line = "exit 1 without a 'lost_update: HAZARD' line",
   .forced = 1, .code = 1},
  {"oracle_catches_duplicate_registrations", HARNESS_DET_ORACLE, "check_then_set",
   "check_then_set-buggy", HARNESS_CAUGHT, .prefix = "check_then_set: HAZARD "},

  /* compiler */
  /* GCC places the warning in lib/executor.h (the exec_submit macro); the note "in expansion
   * of macro" names the program's own line, and that is the line that matters. */
  {"compiler_reports_the_dropped_future_at_the_call_site", HARNESS_DET_COMPILER,
   "swallowed_error", "swallowed_error-buggy", HARNESS_CAUGHT,
   .line = "warning: ignoring return value of \u2018exec_submit_at\u2019 "
           "declared with attribute \u2018warn_unused_result\u2019 "
           "[-Wunused-result] (buggy/swallowed_error.c:57)"},
  {"compiler_without_warnings_is_clean", HARNESS_DET_COMPILER, "lost_update", "lost_update-buggy",
   HARNESS_CLEAN, .line = "no warnings"},

  /* lockgraph */
  {"lockgraph_reports_the_cycle_with_the_first_lock_line", HARNESS_DET_LOCKGRAPH,
   "lock_order_deadlock", "lock_order_deadlock-buggy", HARNESS_CAUGHT,
   .prefix = "lockgraph: potential deadlock: lock-order cycle of 2 locks",
   .suffix = "(buggy/lock_order_deadlock.c:56)"},
  {"lockgraph_without_locks_is_clean", HARNESS_DET_LOCKGRAPH, "lost_update", "lost_update-buggy",
   .verdict = HARNESS_CLEAN},
  /* The forked child's report: the child ends at once (exit 66), the parent then exits 1. */
  {"lockgraph_reports_a_fork_child_waiting_for_a_lock_held_at_fork", HARNESS_DET_LOCKGRAPH,
   "fork_with_locks", "fork_with_locks-buggy", HARNESS_CAUGHT,
   .prefix = "lockgraph: deadlock (it happened): thread T1 waits for M1, which a thread that",
   .suffix = "(buggy/fork_with_locks.c:52)"},

  /* budget */
  {"budget_catches_memory_growing_with_input", HARNESS_DET_BUDGET, "unbounded_submit",
   "unbounded_submit-buggy", HARNESS_CAUGHT,
   .line = "peak memory grows with input: 12 MiB at x1 -> 55 MiB at x4"},
  {"budget_flat_memory_is_clean", HARNESS_DET_BUDGET, "lost_update", "lost_update-fixed",
   HARNESS_CLEAN, .prefix = "peak memory ", .infix = " MiB at x1, "},
  /* A hang the program bounds with its own 2 s alarm: exit 1 after 2 s, over the budget; the
   * runner did not go on to -x 4, and one run is enough for the verdict. */
  {"budget_catches_a_run_over_the_wall_time_budget", HARNESS_DET_BUDGET, "missing_sentinel",
   "missing_sentinel-buggy", HARNESS_CAUGHT,
   .line = "run 1 (-x 1) took 2.00 s: over the wall-time budget of 1.5 s"},
  {"budget_fast_runs_are_within_the_wall_time_budget", HARNESS_DET_BUDGET, "missing_sentinel",
   "missing_sentinel-fixed", HARNESS_CLEAN, .suffix = " MiB at x4; took 0.00 s, 0.00 s"},
  /* The runner's "detect: blocked" line: the limit is on the time every thread was asleep. */
  {"budget_catches_a_run_blocked_over_the_budget", HARNESS_DET_BUDGET, "missing_sentinel",
   "missing_sentinel-buggy-blocked", HARNESS_CAUGHT,
   .line = "run 1 (-x 1) was blocked 2.00 s: over the wall-time budget of 1.5 s"},
  /* For budget, the runner's timeout is a blown wall-time budget: a catch, not a hang. */
  {"budget_run_ended_by_the_timeout_is_over_the_wall_time_budget", HARNESS_DET_BUDGET,
   "misbehave", "hang", HARNESS_CAUGHT,
   .line = "run 1 (-x 1) did not end within 2 s: over the wall-time budget of 1.5 s"},
};

#define FIXTURE_CASES (sizeof fixture_cases / sizeof fixture_cases[0])

/* The parameters are indexes into fixture_cases, not the cases themselves: Criterion copies
 * parameters into each test's own process, where the strings a case points to would not be
 * at the same addresses. */
ParameterizedTestParameters(classify, fixture_gets_its_verdict_and_first_line)
{
  static size_t indexes[FIXTURE_CASES];

  for (size_t i = 0; i < FIXTURE_CASES; i++)
    indexes[i] = i;
  return cr_make_param_array(size_t, indexes, FIXTURE_CASES);
}

ParameterizedTest(size_t *index, classify, fixture_gets_its_verdict_and_first_line)
{
  cr_assert_lt(*index, FIXTURE_CASES);
  fixture_expect(&fixture_cases[*index]);
}

/* --- the same fixture under more than one detector ------------------------------------ */

Test(classify, tsan_fixed_program_is_clean)
{
  fixture_expect(&(fixture_case_t){"tsan-gcc", HARNESS_DET_TSAN_GCC, "lost_update",
                                   "lost_update-fixed", .verdict = HARNESS_CLEAN});
  fixture_expect(&(fixture_case_t){"tsan-clang", HARNESS_DET_TSAN_CLANG, "lost_update",
                                   "lost_update-fixed", .verdict = HARNESS_CLEAN});
}

Test(classify, tsan_reports_the_lock_order_inversion_in_the_program)
{
  /* clang's SUMMARY line points into the interceptor; the first project frame is the
   * program's own second lock. */
  const harness_detector_t tools[] = {HARNESS_DET_TSAN_GCC, HARNESS_DET_TSAN_CLANG};
  for (int i = 0; i < 2; i++)
    fixture_expect(&(fixture_case_t){
        harness_detector_name(tools[i]), tools[i], "lock_order_deadlock",
        "lock_order_deadlock-buggy", HARNESS_CAUGHT,
        .line = "lock-order-inversion (potential deadlock) (buggy/lock_order_deadlock.c:58)"});
}

Test(classify, valgrind_fixed_program_is_clean)
{
  fixture_expect(&(fixture_case_t){"helgrind", HARNESS_DET_HELGRIND, "lost_update",
                                   "lost_update-fixed", HARNESS_CLEAN,
                                   .line = "ERROR SUMMARY: 0 errors"});
  fixture_expect(&(fixture_case_t){"drd", HARNESS_DET_DRD, "lost_update", "lost_update-fixed",
                                   .verdict = HARNESS_CLEAN});
}

Test(classify, compiler_fatal_error_is_a_tool_error)
{
  harness_finding_t f = fixture_expect(&(fixture_case_t){
      "compiler fatal error", HARNESS_DET_COMPILER, "no_such_program", "compile-error",
      HARNESS_TOOL_ERROR, .prefix = "fatal error: "});

  cr_expect(ends_with(f.first_line, "(buggy/no_such_program.c)") ||
              strstr(f.first_line, "No such file") != NULL, "%s", f.first_line);
}

/* --- every fixed program ------------------------------------------------------------ */

Test(classify, every_fixed_program_is_clean_under_every_detector)
{
  static const char *const slugs[] = {"check_then_set", "lock_order_deadlock", "lost_update",
                                      "swallowed_error", "unbounded_submit", "lock_held_io",
                                      "missing_timeout", "no_cancellation", "missing_sentinel",
                                      "lost_wakeup", "fork_with_locks"};
  for (size_t s = 0; s < sizeof slugs / sizeof slugs[0]; s++) {
    for (int d = 0; d < HARNESS_DET_COUNT; d++) {
      char name[128];
      snprintf(name, sizeof name, "%s-fixed", slugs[s]);
      harness_finding_t f = fixture_classify((harness_detector_t)d, slugs[s], name, NULL);
      cr_expect_eq(f.verdict, HARNESS_CLEAN, "%s under %s: %s (%s)", name,
                   harness_detector_name((harness_detector_t)d), harness_verdict_name(f.verdict),
                   f.first_line);
    }
  }
}

/* --- the log trailer ---------------------------------------------------------------- */

Test(classify, exit_trailer_round_trips)
{
  const harness_exit_t cases[] = {
    {HARNESS_EXIT_CODE, 66}, {HARNESS_EXIT_SIGNAL, 11}, {HARNESS_EXIT_TIMEOUT, 60},
    {HARNESS_EXIT_NOT_RUN, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char line[HARNESS_LINE_MAX], log[512];
    harness_exit_format(&cases[i], 1.5, 2048, line, sizeof line);
    snprintf(log, sizeof log, "detect: $ prog\noutput\n%s\n", line);
    harness_exit_t back;
    cr_assert_eq(harness_exit_from_log(log, &back), 0, "%s", line);
    cr_expect_eq(back.kind, cases[i].kind, "%s", line);
    cr_expect_eq(back.code, cases[i].code, "%s", line);
  }
  harness_exit_t none;
  cr_expect_eq(harness_exit_from_log("no trailer here\n", &none), -ENOENT);
}
