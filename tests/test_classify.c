/* test_classify.c - every classifier against real tool output.
 *
 * The fixtures in tests/fixtures/<detector>/ are logs of real runs (tests/fixtures/capture.sh):
 * the project's hazard programs under each detector, and real failures (a crash under Helgrind
 * and under TSan, a hang, Valgrind on a missing binary, a usage error, a compile error). Paths
 * in them start with /checkout, so they are classified with that source root. Each test reads
 * the exit status from the log's own trailer, as the runner wrote it, and asserts the verdict
 * and the first report line, file:line included.
 */
#include "classify.h"

#include <criterion/criterion.h>
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

/* Classifies a fixture with the exit status recorded in it. */
static harness_finding_t fixture_classify(harness_detector_t d, const char *slug, const char *name)
{
  char *log = fixture_read(harness_detector_name(d), name);
  harness_exit_t ex;
  cr_assert_eq(harness_exit_from_log(log, &ex), 0, "%s has no exit trailer", name);
  harness_finding_t f;
  cr_assert_eq(harness_classify(d, slug, log, &ex, ROOT, &f), 0);
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

#define expect_verdict(f, v)                                                             \
  cr_expect_eq((f).verdict, (v), "verdict %s, expected %s (%s)",                         \
               harness_verdict_name((f).verdict), harness_verdict_name(v), (f).first_line)

/* --- ThreadSanitizer ---------------------------------------------------------------- */

Test(classify, tsan_gcc_reports_the_lost_update_race_at_its_line)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_TSAN_GCC, "lost_update", "lost_update-buggy");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect_str_eq(f.first_line, "data race (buggy/lost_update.c:40)");
}

Test(classify, tsan_clang_reports_the_race_without_the_column)
{
  harness_finding_t f =
    fixture_classify(HARNESS_DET_TSAN_CLANG, "lost_update", "lost_update-buggy");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect_str_eq(f.first_line, "data race (buggy/lost_update.c:40)");
}

Test(classify, tsan_fixed_program_is_clean)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_TSAN_GCC, "lost_update", "lost_update-fixed");
  expect_verdict(f, HARNESS_CLEAN);
  f = fixture_classify(HARNESS_DET_TSAN_CLANG, "lost_update", "lost_update-fixed");
  expect_verdict(f, HARNESS_CLEAN);
}

Test(classify, tsan_segv_is_a_crash_not_a_catch)
{
  /* TSan turns the SIGSEGV into a report and exits with its exitcode (66). */
  harness_finding_t f = fixture_classify(HARNESS_DET_TSAN_GCC, "misbehave", "crash-under-tsan");
  expect_verdict(f, HARNESS_CRASH);
  cr_expect(starts_with(f.first_line, "ThreadSanitizer: SEGV on unknown address"), "%s",
            f.first_line);
  cr_expect(ends_with(f.first_line, "(tests/fixtures/src/misbehave.c:16)"), "%s", f.first_line);
}

Test(classify, tsan_exitcode_without_a_report_is_a_tool_error)
{
  /* The clean run's own output, with the exit status TSan uses for "reported something". */
  char *log = fixture_read("tsan-gcc", "lost_update-fixed");
  harness_exit_t ex = {HARNESS_EXIT_CODE, 66};
  harness_finding_t f;
  harness_classify(HARNESS_DET_TSAN_GCC, "lost_update", log, &ex, ROOT, &f);
  free(log);
  expect_verdict(f, HARNESS_TOOL_ERROR);
  cr_expect_str_eq(f.first_line, "exit 66 without a ThreadSanitizer report");
}

Test(classify, tsan_reports_the_lock_order_inversion_in_the_program)
{
  /* clang's SUMMARY line points into the interceptor; the first project frame is the
   * program's own second lock. */
  const harness_detector_t tools[] = {HARNESS_DET_TSAN_GCC, HARNESS_DET_TSAN_CLANG};
  for (int i = 0; i < 2; i++) {
    harness_finding_t f =
      fixture_classify(tools[i], "lock_order_deadlock", "lock_order_deadlock-buggy");
    expect_verdict(f, HARNESS_CAUGHT);
    cr_expect_str_eq(f.first_line,
                     "lock-order-inversion (potential deadlock) (buggy/lock_order_deadlock.c:58)");
  }
}

Test(classify, tsan_misses_the_locked_check_then_set)
{
  /* The documented miss: every access is locked, so there is no data race to report. */
  harness_finding_t f =
    fixture_classify(HARNESS_DET_TSAN_GCC, "check_then_set", "check_then_set-buggy");
  expect_verdict(f, HARNESS_CLEAN);
  cr_expect_str_eq(f.first_line, "no ThreadSanitizer warnings");
}

/* --- Helgrind and DRD ---------------------------------------------------------------- */

Test(classify, helgrind_reports_a_possible_data_race_at_its_line)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_HELGRIND, "lost_update", "lost_update-buggy");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect(starts_with(f.first_line, "Possible data race during read of size 8 "), "%s",
            f.first_line);
  /* The read half of counter++ ("long seen = counter"), the first access Helgrind saw. */
  cr_expect(ends_with(f.first_line, "(buggy/lost_update.c:37)"), "%s", f.first_line);
}

Test(classify, drd_reports_a_conflicting_access_at_its_line)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_DRD, "lost_update", "lost_update-buggy");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect(starts_with(f.first_line, "Conflicting store by thread "), "%s", f.first_line);
  cr_expect(ends_with(f.first_line, "(buggy/lost_update.c:40)"), "%s", f.first_line);
}

Test(classify, helgrind_reports_the_violated_lock_order)
{
  harness_finding_t f =
    fixture_classify(HARNESS_DET_HELGRIND, "lock_order_deadlock", "lock_order_deadlock-buggy");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect(starts_with(f.first_line, "Thread #"), "%s", f.first_line);
  cr_expect(strstr(f.first_line, ": lock order \"0x") != NULL, "%s", f.first_line);
  cr_expect(ends_with(f.first_line, " violated (buggy/lock_order_deadlock.c:72)"), "%s",
            f.first_line);
}

Test(classify, drd_has_no_lock_order_checker)
{
  harness_finding_t f =
    fixture_classify(HARNESS_DET_DRD, "lock_order_deadlock", "lock_order_deadlock-buggy");
  expect_verdict(f, HARNESS_CLEAN);
}

Test(classify, valgrind_fixed_program_is_clean)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_HELGRIND, "lost_update", "lost_update-fixed");
  expect_verdict(f, HARNESS_CLEAN);
  cr_expect_str_eq(f.first_line, "ERROR SUMMARY: 0 errors");
  f = fixture_classify(HARNESS_DET_DRD, "lost_update", "lost_update-fixed");
  expect_verdict(f, HARNESS_CLEAN);
}

Test(classify, helgrind_on_a_crashing_program_is_a_crash)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_HELGRIND, "misbehave", "crash-under-helgrind");
  expect_verdict(f, HARNESS_CRASH);
  cr_expect(starts_with(f.first_line, "Process terminating with default action of signal 11"),
            "%s", f.first_line);
  cr_expect(ends_with(f.first_line, "(tests/fixtures/src/misbehave.c:16)"), "%s", f.first_line);
}

Test(classify, valgrind_on_a_missing_binary_is_a_tool_error)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_DRD, "no_such_program", "missing-binary");
  expect_verdict(f, HARNESS_TOOL_ERROR);
  cr_expect_str_eq(f.first_line, "valgrind: /checkout/build/hazards/native/buggy/no_such_program: "
                                 "No such file or directory");
}

Test(classify, valgrind_errors_with_a_clean_exit_still_count)
{
  /* The report decides, not --error-exitcode: the same errors with exit 0 are still caught. */
  char *log = fixture_read("helgrind", "lost_update-buggy");
  harness_exit_t ex = {HARNESS_EXIT_CODE, 0};
  harness_finding_t f;
  harness_classify(HARNESS_DET_HELGRIND, "lost_update", log, &ex, ROOT, &f);
  free(log);
  expect_verdict(f, HARNESS_CAUGHT);
}

/* --- oracle ------------------------------------------------------------------------- */

Test(classify, oracle_hazard_line_is_a_catch)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_ORACLE, "lost_update", "lost_update-large");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect(starts_with(f.first_line, "lost_update: HAZARD counter="), "%s", f.first_line);
}

Test(classify, oracle_ok_line_is_clean)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_ORACLE, "lost_update", "lost_update-fixed");
  expect_verdict(f, HARNESS_CLEAN);
  cr_expect_str_eq(f.first_line, "lost_update: OK counter=400000 expected=400000");
}

Test(classify, oracle_usage_error_is_a_tool_error)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_ORACLE, "lost_update", "usage-error");
  expect_verdict(f, HARNESS_TOOL_ERROR);
  cr_expect_str_eq(f.first_line, "exit 2: usage error");
}

Test(classify, oracle_timeout_is_a_hang)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_ORACLE, "misbehave", "hang");
  expect_verdict(f, HARNESS_HANG);
  cr_expect_str_eq(f.first_line, "no exit within 2 s (process group killed)");
}

Test(classify, oracle_exit_code_without_its_line_is_a_tool_error)
{
  /* An OK line with exit 1 is neither a catch nor clean. */
  char *log = fixture_read("oracle", "lost_update-fixed");
  harness_exit_t ex = {HARNESS_EXIT_CODE, 1};
  harness_finding_t f;
  harness_classify(HARNESS_DET_ORACLE, "lost_update", log, &ex, ROOT, &f);
  free(log);
  expect_verdict(f, HARNESS_TOOL_ERROR);
  cr_expect_str_eq(f.first_line, "exit 1 without a 'lost_update: HAZARD' line");
}

/* --- compiler ----------------------------------------------------------------------- */

Test(classify, compiler_reports_the_dropped_future_at_the_call_site)
{
  /* GCC places the warning in lib/executor.h (the exec_submit macro); the note "in expansion
   * of macro" names the program's own line, and that is the line that matters. */
  harness_finding_t f =
    fixture_classify(HARNESS_DET_COMPILER, "swallowed_error", "swallowed_error-buggy");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect_str_eq(f.first_line, "warning: ignoring return value of \u2018exec_submit_at\u2019 "
                                 "declared with attribute \u2018warn_unused_result\u2019 "
                                 "[-Wunused-result] (buggy/swallowed_error.c:57)");
}

Test(classify, compiler_without_warnings_is_clean)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_COMPILER, "lost_update", "lost_update-buggy");
  expect_verdict(f, HARNESS_CLEAN);
  cr_expect_str_eq(f.first_line, "no warnings");
}

Test(classify, compiler_fatal_error_is_a_tool_error)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_COMPILER, "no_such_program", "compile-error");
  expect_verdict(f, HARNESS_TOOL_ERROR);
  cr_expect(starts_with(f.first_line, "fatal error: "), "%s", f.first_line);
  cr_expect(ends_with(f.first_line, "(buggy/no_such_program.c)") ||
              strstr(f.first_line, "No such file") != NULL, "%s", f.first_line);
}

/* --- lockgraph ---------------------------------------------------------------------- */

Test(classify, lockgraph_reports_the_cycle_with_the_first_lock_line)
{
  harness_finding_t f =
    fixture_classify(HARNESS_DET_LOCKGRAPH, "lock_order_deadlock", "lock_order_deadlock-buggy");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect(starts_with(f.first_line, "lockgraph: potential deadlock: lock-order cycle of 2 locks"),
            "%s", f.first_line);
  cr_expect(ends_with(f.first_line, "(buggy/lock_order_deadlock.c:56)"), "%s", f.first_line);
}

Test(classify, lockgraph_without_locks_is_clean)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_LOCKGRAPH, "lost_update", "lost_update-buggy");
  expect_verdict(f, HARNESS_CLEAN);
}

/* --- every fixed program ------------------------------------------------------------ */

Test(classify, every_fixed_program_is_clean_under_every_detector)
{
  static const char *const slugs[] = {"check_then_set", "lock_order_deadlock", "lost_update",
                                      "swallowed_error", "unbounded_submit"};
  for (size_t s = 0; s < sizeof slugs / sizeof slugs[0]; s++) {
    for (int d = 0; d < HARNESS_DET_COUNT; d++) {
      char name[128];
      snprintf(name, sizeof name, "%s-fixed", slugs[s]);
      harness_finding_t f = fixture_classify((harness_detector_t)d, slugs[s], name);
      cr_expect_eq(f.verdict, HARNESS_CLEAN, "%s under %s: %s (%s)", name,
                   harness_detector_name((harness_detector_t)d), harness_verdict_name(f.verdict),
                   f.first_line);
    }
  }
}

/* --- budget ------------------------------------------------------------------------- */

Test(classify, budget_catches_memory_growing_with_input)
{
  harness_finding_t f =
    fixture_classify(HARNESS_DET_BUDGET, "unbounded_submit", "unbounded_submit-buggy");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect_str_eq(f.first_line, "peak memory grows with input: 12 MiB at x1 -> 55 MiB at x4");
}

Test(classify, oracle_catches_duplicate_registrations)
{
  harness_finding_t f =
    fixture_classify(HARNESS_DET_ORACLE, "check_then_set", "check_then_set-buggy");
  expect_verdict(f, HARNESS_CAUGHT);
  cr_expect(starts_with(f.first_line, "check_then_set: HAZARD "), "%s", f.first_line);
}

Test(classify, budget_flat_memory_is_clean)
{
  harness_finding_t f = fixture_classify(HARNESS_DET_BUDGET, "lost_update", "lost_update-fixed");
  expect_verdict(f, HARNESS_CLEAN);
  cr_expect(starts_with(f.first_line, "peak memory "), "%s", f.first_line);
  cr_expect(strstr(f.first_line, " MiB at x1, ") != NULL, "%s", f.first_line);
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
