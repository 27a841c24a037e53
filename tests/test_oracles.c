/* test_oracles.c - the Tier-1 hazard programs, run natively: every fixed program's oracle
 * passes (exit 0, one "<slug>: OK" line), every buggy one's catches its hazard (exit 1, one
 * "<slug>: HAZARD" line; lock_order_deadlock's deadlock is latent, so it passes too), and a
 * bad option is one line on stderr with exit status 2. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct run {
  int status;   /* exit status, or 128 + signal */
  char *out;    /* stdout */
  char *err;    /* stderr */
} run_t;

static char *file_slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  char *buf;
  long len;

  cr_assert_not_null(f, "cannot read %s", path);
  fseek(f, 0, SEEK_END);
  len = ftell(f);
  rewind(f);
  buf = calloc(1, (size_t)len + 1);
  cr_assert_not_null(buf);
  cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  return buf;
}

/* Runs build/hazards/native/<kind>/<slug> with args; stdout and stderr go to files in the
 * temporary directory (TMPDIR, else /tmp), whatever the checkout's path. */
static run_t program_run(const char *kind, const char *slug, const char *a1, const char *a2)
{
  const char *tmp = getenv("TMPDIR");
  char path[PATH_MAX], out_path[PATH_MAX], err_path[PATH_MAX];
  char *argv[4] = {path, (char *)a1, (char *)a2, NULL};
  posix_spawn_file_actions_t fa;
  int out_fd, err_fd, status;
  pid_t pid;
  run_t r;

  if (tmp == NULL || *tmp == '\0')
    tmp = "/tmp";
  snprintf(out_path, sizeof out_path, "%s/oracle_out_XXXXXX", tmp);
  snprintf(err_path, sizeof err_path, "%s/oracle_err_XXXXXX", tmp);
  out_fd = mkstemp(out_path);
  err_fd = mkstemp(err_path);
  cr_assert_lt(snprintf(path, sizeof path, "%s/hazards/native/%s/%s", LG_BUILD_DIR, kind, slug),
               (int)sizeof path, "build path too long");
  cr_assert_eq(access(path, X_OK), 0, "%s is not built", path);
  cr_assert(out_fd >= 0 && err_fd >= 0, "cannot create files in %s", tmp);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
  cr_assert_eq(posix_spawn(&pid, path, &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  close(out_fd);
  close(err_fd);
  r.out = file_slurp(out_path);
  r.err = file_slurp(err_path);
  unlink(out_path);
  unlink(err_path);
  return r;
}

static void run_free(run_t *r)
{
  free(r->out);
  free(r->err);
}

static int lines_count(const char *s)
{
  int n = 0;

  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* The one summary line: "<slug>: <verdict> ..." and nothing else on stdout. */
static void summary_expect(const run_t *r, const char *slug, const char *verdict)
{
  char prefix[128];

  snprintf(prefix, sizeof prefix, "%s: %s ", slug, verdict);
  cr_expect_eq(strncmp(r->out, prefix, strlen(prefix)), 0, "%s: want '%s...', got '%s'", slug,
               prefix, r->out);
  cr_expect_eq(lines_count(r->out), 1, "%s: want one stdout line, got '%s'", slug, r->out);
}

static void fixed_expect_ok(const char *slug)
{
  run_t r = program_run("fixed", slug, NULL, NULL);

  cr_expect_eq(r.status, 0, "fixed/%s exited %d: %s%s", slug, r.status, r.out, r.err);
  summary_expect(&r, slug, "OK");
  run_free(&r);
}

static void buggy_expect_hazard(const char *slug)
{
  run_t r = program_run("buggy", slug, NULL, NULL);

  cr_expect_eq(r.status, 1, "buggy/%s exited %d: %s%s", slug, r.status, r.out, r.err);
  summary_expect(&r, slug, "HAZARD");
  run_free(&r);
}

Test(oracles, lost_update_fixed_ok, .timeout = 30) { fixed_expect_ok("lost_update"); }
Test(oracles, lost_update_buggy_hazard, .timeout = 30) { buggy_expect_hazard("lost_update"); }
Test(oracles, check_then_set_fixed_ok, .timeout = 30) { fixed_expect_ok("check_then_set"); }
Test(oracles, check_then_set_buggy_hazard, .timeout = 30)
{
  buggy_expect_hazard("check_then_set");
}
Test(oracles, unbounded_submit_fixed_ok, .timeout = 30) { fixed_expect_ok("unbounded_submit"); }
Test(oracles, unbounded_submit_buggy_hazard, .timeout = 30)
{
  buggy_expect_hazard("unbounded_submit");
}
Test(oracles, swallowed_error_fixed_ok, .timeout = 30) { fixed_expect_ok("swallowed_error"); }
Test(oracles, swallowed_error_buggy_hazard, .timeout = 30)
{
  buggy_expect_hazard("swallowed_error");
}

/* The deadlock is only potential: both variants finish and pass their oracle. */
Test(oracles, lock_order_deadlock_both_finish, .timeout = 30)
{
  fixed_expect_ok("lock_order_deadlock");
  run_t r = program_run("buggy", "lock_order_deadlock", NULL, NULL);
  cr_expect_eq(r.status, 0, "buggy/lock_order_deadlock exited %d", r.status);
  summary_expect(&r, "lock_order_deadlock", "OK");
  run_free(&r);
}

/* With one lock order, forcing the meeting point cannot deadlock the fixed program. */
Test(oracles, lock_order_deadlock_fixed_survives_hang_mode, .timeout = 30)
{
  run_t r = program_run("fixed", "lock_order_deadlock", "--hang", NULL);

  cr_expect_eq(r.status, 0);
  summary_expect(&r, "lock_order_deadlock", "OK");
  run_free(&r);
}

/* The runtime check names the line of the dropped submit, found by its BUG marker. */
Test(oracles, swallowed_error_buggy_names_the_submit_line, .timeout = 30)
{
  char *src = file_slurp(LG_SOURCE_DIR "/buggy/swallowed_error.c"), *bug, want[256];
  run_t r;
  int line = 1;

  bug = strstr(src, "/* BUG:");
  cr_assert_not_null(bug);
  for (const char *p = src; p < bug; p++)
    line += *p == '\n';
  snprintf(want, sizeof want, "executor: future submitted at buggy/swallowed_error.c:%d failed "
                              "(Input/output error) and its error was never observed\n", line);
  r = program_run("buggy", "swallowed_error", NULL, NULL);
  cr_expect_not_null(strstr(r.err, want), "no '%s' in stderr: %s", want, r.err);
  /* The designed failures: every 7th of the default 100 items. */
  cr_expect_eq(lines_count(r.err), 14, "stderr: %s", r.err);
  summary_expect(&r, "swallowed_error", "HAZARD");
  cr_expect_not_null(strstr(r.out, " 0 of 14 failures reported"), "%s", r.out);
  run_free(&r);
  free(src);
}

Test(oracles, bad_option_exits_2_with_one_line, .timeout = 60)
{
  static const char *const slugs[] = {"lost_update", "check_then_set", "lock_order_deadlock",
                                      "unbounded_submit", "swallowed_error"};

  for (size_t i = 0; i < sizeof slugs / sizeof *slugs; i++) {
    for (int k = 0; k < 2; k++) {
      const char *kind = k ? "fixed" : "buggy";
      run_t r = program_run(kind, slugs[i], "--bogus", NULL);
      run_t z = program_run(kind, slugs[i], "-n", "0");

      cr_expect_eq(r.status, 2, "%s/%s --bogus exited %d", kind, slugs[i], r.status);
      cr_expect_eq(lines_count(r.err), 1, "%s/%s: '%s'", kind, slugs[i], r.err);
      cr_expect_not_null(strstr(r.err, "--bogus"), "%s", r.err);
      cr_expect_not_null(strstr(r.err, "-n N"), "accepted options listed: %s", r.err);
      cr_expect_str_empty(r.out);
      cr_expect_eq(z.status, 2, "%s/%s -n 0 exited %d", kind, slugs[i], z.status);
      cr_expect_eq(lines_count(z.err), 1, "%s", z.err);
      run_free(&r);
      run_free(&z);
    }
  }
}

Test(oracles, hang_is_only_accepted_where_it_means_something, .timeout = 30)
{
  run_t r = program_run("fixed", "lost_update", "--hang", NULL);

  cr_expect_eq(r.status, 2);
  cr_expect_not_null(strstr(r.err, "--hang"), "%s", r.err);
  run_free(&r);
}
