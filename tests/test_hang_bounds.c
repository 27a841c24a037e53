/* test_hang_bounds.c - the hazards that hang, run by the real runner on the real programs.
 *
 * Each of them ends on its own with a HAZARD line (its own 2 s alarm, or a child ended by its
 * own alarm), so the matrix never waits for a timeout; with --hang it really hangs, and only
 * the runner's timeout ends it, its whole process group (fork_with_locks' child included)
 * killed and reaped. The fixed programs finish with --hang too. And every program, buggy or
 * fixed, rejects a bad option with one line and exit status 2.
 */
#include "runner.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT LG_BUILD_DIR "/test-hang-bounds"
#define NHANG 5

static const char *const hang_slugs[NHANG] = {"missing_sentinel", "missing_timeout",
                                              "lost_wakeup", "fork_with_locks",
                                              "no_cancellation"};

static void program_run_init(harness_run_t *r, const char *kind, const char *slug,
                             const char *arg, int timeout_s)
{
  char path[1024];
  memset(r, 0, sizeof *r);
  r->slug = slug;
  r->detector = HARNESS_DET_ORACLE;
  r->timeout_s = timeout_s;
  snprintf(r->log_path, sizeof r->log_path, "%s/%s-%s%s.log", OUT, slug, kind, arg ? arg : "");
  snprintf(path, sizeof path, "%s/hazards/native/%s/%s", LG_BUILD_DIR, kind, slug);
  cr_assert_eq(access(path, X_OK), 0, "%s is not built", path);
  cr_assert_eq(harness_run_arg(r, 0, path), 0);
  if (arg)
    cr_assert_eq(harness_run_arg(r, 0, arg), 0);
}

static char *log_read(const harness_run_t *r)
{
  char *text;
  cr_assert_eq(harness_file_read(r->log_path, &text), 0, "no log %s", r->log_path);
  return text;
}

/* 4 s: twice the programs' own bound, so a program that ended itself would have by then. */
Test(hang_bounds, buggy_programs_with_hang_really_hang_until_the_timeout, .timeout = 60)
{
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r[NHANG];
  for (int i = 0; i < NHANG; i++)
    program_run_init(&r[i], "buggy", hang_slugs[i], "--hang", 4);
  cr_assert_eq(harness_runs_execute(r, NHANG, NHANG), 0);
  for (int i = 0; i < NHANG; i++) {
    char *log = log_read(&r[i]);
    cr_expect_eq(r[i].exit.kind, HARNESS_EXIT_TIMEOUT, "%s --hang did not hang:\n%s",
                 hang_slugs[i], log);
    free(log);
  }
  /* fork_with_locks' child hung too, in the same group: killed and reaped with it. */
  cr_expect_eq(waitpid(-1, NULL, WNOHANG), -1);
  cr_expect_eq(errno, ECHILD);
}

Test(hang_bounds, buggy_programs_end_themselves_with_a_hazard_line, .timeout = 60)
{
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r[NHANG];
  for (int i = 0; i < NHANG; i++)
    program_run_init(&r[i], "buggy", hang_slugs[i], NULL, 30);
  cr_assert_eq(harness_runs_execute(r, NHANG, NHANG), 0);
  for (int i = 0; i < NHANG; i++) {
    char *log = log_read(&r[i]), want[128];
    snprintf(want, sizeof want, "\n%s: HAZARD ", hang_slugs[i]);
    cr_expect_eq(r[i].exit.kind, HARNESS_EXIT_CODE, "%s:\n%s", hang_slugs[i], log);
    cr_expect_eq(r[i].exit.code, 1, "%s:\n%s", hang_slugs[i], log);
    cr_expect_not_null(strstr(log, want), "%s: no HAZARD line:\n%s", hang_slugs[i], log);
    free(log);
  }
}

Test(hang_bounds, fixed_programs_finish_even_with_hang, .timeout = 60)
{
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r[NHANG];
  for (int i = 0; i < NHANG; i++)
    program_run_init(&r[i], "fixed", hang_slugs[i], "--hang", 30);
  cr_assert_eq(harness_runs_execute(r, NHANG, NHANG), 0);
  for (int i = 0; i < NHANG; i++) {
    char *log = log_read(&r[i]), want[128];
    snprintf(want, sizeof want, "\n%s: OK ", hang_slugs[i]);
    cr_expect_eq(r[i].exit.kind, HARNESS_EXIT_CODE, "%s:\n%s", hang_slugs[i], log);
    cr_expect_eq(r[i].exit.code, 0, "%s:\n%s", hang_slugs[i], log);
    cr_expect_not_null(strstr(log, want), "%s: no OK line:\n%s", hang_slugs[i], log);
    free(log);
  }
}

Test(hang_bounds, bad_option_is_one_line_and_exit_2, .timeout = 60)
{
  static const char *const slugs[] = {"lock_held_io", "missing_timeout", "no_cancellation",
                                      "missing_sentinel", "lost_wakeup", "fork_with_locks"};
  enum { N = 2 * sizeof slugs / sizeof slugs[0] };
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r[N];
  for (int i = 0; i < N; i++)
    program_run_init(&r[i], i % 2 ? "fixed" : "buggy", slugs[i / 2], "--bogus", 30);
  cr_assert_eq(harness_runs_execute(r, N, 4), 0);
  for (int i = 0; i < N; i++) {
    char *log = log_read(&r[i]);
    cr_expect_eq(r[i].exit.kind, HARNESS_EXIT_CODE, "%s", log);
    cr_expect_eq(r[i].exit.code, 2, "%s", log);
    /* The logged command, the one line naming the option and the accepted ones, the end. */
    const char *line = strchr(log, '\n');
    cr_assert_not_null(line);
    cr_expect_not_null(strstr(line, "unknown option '--bogus' (accepted: -n N, -t T, -x X"),
                       "%s", log);
    const char *end = strstr(line + 1, "\ndetect: exit 2,");
    cr_expect(end && memchr(line + 1, '\n', (size_t)(end - line - 1)) == NULL,
              "more than one line: %s", log);
    free(log);
  }
}
