/* test_gate.c - the real `detect --gate` on real programs under real tools.
 *
 * Fast on purpose: one hazard (lost_update), two detectors (Helgrind, the compiler). The
 * failure path uses a copy of harness/expectations.tsv with one expectation made wrong, and
 * checks the exact message: slug, variant, detector, expected vs got, log path. Each test
 * writes to its own --out directory, so they can run in parallel. Also: the command line's
 * usage errors (one line, exit 2), setup errors (no build tree, an output directory that
 * cannot be written, a tool missing from PATH), a hazard with no expectations, and a SIGTERM
 * or SIGINT to detect taking its runs' process groups down with it.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DETECT LG_BUILD_DIR "/bin/detect"
#define REAL_TSV LG_SOURCE_DIR "/harness/expectations.tsv"

typedef struct detect_result {
  int status;        /* exit status, or -1 when detect did not exit normally */
  char out[65536];   /* stdout and stderr */
} detect_result_t;

/* Runs detect through the shell; env (may be "") is a prefix such as "PATH='/x' ". */
static detect_result_t *detect_run_env(const char *env, const char *args)
{
  static __thread detect_result_t r;
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%s'%s' --build '%s' --jobs 2 %s 2>&1", env, DETECT, LG_BUILD_DIR,
           args);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p, "cannot run %s", cmd);
  size_t n = fread(r.out, 1, sizeof r.out - 1, p);
  r.out[n] = '\0';
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return &r;
}

static detect_result_t *detect_run(const char *args)
{
  return detect_run_env("", args);
}

/* A copy of the real expectations with the line for (slug, detector) given a new verdict. */
static void tsv_with_flip(const char *path, const char *slug, const char *detector,
                          const char *verdict)
{
  FILE *in = fopen(REAL_TSV, "r"), *out = fopen(path, "w");
  cr_assert(in && out, "cannot copy %s to %s", REAL_TSV, path);
  char line[1024], key[256];
  int flipped = 0;
  snprintf(key, sizeof key, "%s\t%s\t", slug, detector);
  while (fgets(line, sizeof line, in)) {
    if (strncmp(line, key, strlen(key)) == 0) {
      const char *reason = strchr(line + strlen(key), '\t');
      fprintf(out, "%s%s%s", key, verdict, reason ? reason : "\n");
      flipped = 1;
    } else {
      fputs(line, out);
    }
  }
  fclose(in);
  fclose(out);
  cr_assert(flipped, "no line for %s %s in %s", slug, detector, REAL_TSV);
}

static void test_dir(const char *name, char *buf, size_t cap)
{
  snprintf(buf, cap, "%s/test-gate/%s", LG_BUILD_DIR, name);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", buf);
  cr_assert_eq(system(cmd), 0);
}

Test(gate, wrong_expectation_fails_with_the_exact_message, .timeout = 300)
{
  char dir[1024], tsv[1100], args[4096], want[2048];
  test_dir("fail", dir, sizeof dir);
  snprintf(tsv, sizeof tsv, "%s/expectations.tsv", dir);
  /* The compiler has nothing to say about lost_update; expect it to catch it anyway. */
  tsv_with_flip(tsv, "lost_update", "compiler", "caught");
  snprintf(args, sizeof args,
           "--gate --slug lost_update --detector helgrind,compiler --expectations '%s' --out '%s'",
           tsv, dir);
  detect_result_t *r = detect_run(args);
  cr_expect_eq(r->status, 1, "exit %d:\n%s", r->status, r->out);
  snprintf(want, sizeof want,
           "gate: FAIL lost_update buggy compiler: expected caught, got clean (log: "
           "%s/logs/lost_update/buggy/compiler.log)\n", dir);
  cr_expect(strstr(r->out, want) != NULL, "missing\n  %s in\n%s", want, r->out);
  cr_expect(strstr(r->out, "gate: 3 passed, 1 failed\n") != NULL, "%s", r->out);
  /* Exactly one failure line. */
  const char *first = strstr(r->out, "gate: FAIL ");
  cr_expect(first && !strstr(first + 1, "gate: FAIL "), "%s", r->out);
}

Test(gate, race_detector_expected_to_see_a_logic_race_fails, .timeout = 300)
{
  char dir[1024], tsv[1100], args[4096], want[2048];
  test_dir("fail-tsan", dir, sizeof dir);
  snprintf(tsv, sizeof tsv, "%s/expectations.tsv", dir);
  /* check_then_set locks every access: TSan has no race to see, whatever the table says. */
  tsv_with_flip(tsv, "check_then_set", "tsan-gcc", "caught");
  snprintf(args, sizeof args,
           "--gate --slug check_then_set --detector tsan-gcc --expectations '%s' --out '%s'", tsv,
           dir);
  detect_result_t *r = detect_run(args);
  cr_expect_eq(r->status, 1, "exit %d:\n%s", r->status, r->out);
  snprintf(want, sizeof want,
           "gate: FAIL check_then_set buggy tsan-gcc: expected caught, got clean (log: "
           "%s/logs/check_then_set/buggy/tsan-gcc.log)\n", dir);
  cr_expect(strstr(r->out, want) != NULL, "missing\n  %s in\n%s", want, r->out);
  cr_expect(strstr(r->out, "gate: 1 passed, 1 failed\n") != NULL, "%s", r->out);
}

Test(gate, real_expectations_pass, .timeout = 300)
{
  char dir[1024], args[2048];
  test_dir("pass", dir, sizeof dir);
  snprintf(args, sizeof args, "--gate --slug lost_update --detector helgrind,compiler --out '%s'",
           dir);
  detect_result_t *r = detect_run(args);
  cr_expect_eq(r->status, 0, "exit %d:\n%s", r->status, r->out);
  cr_expect(strstr(r->out, "gate: 4 passed, 0 failed\n") != NULL, "%s", r->out);
  cr_expect(strstr(r->out, "FAIL") == NULL, "%s", r->out);
}

Test(gate, caught_expected_miss_is_a_note_not_a_failure, .timeout = 300)
{
  char dir[1024], tsv[1100], args[4096];
  test_dir("note", dir, sizeof dir);
  snprintf(tsv, sizeof tsv, "%s/expectations.tsv", dir);
  tsv_with_flip(tsv, "lost_update", "helgrind", "miss");
  snprintf(args, sizeof args,
           "--gate --slug lost_update --detector helgrind --expectations '%s' --out '%s'", tsv,
           dir);
  detect_result_t *r = detect_run(args);
  cr_expect_eq(r->status, 0, "exit %d:\n%s", r->status, r->out);
  cr_expect(strstr(r->out, "note: lost_update buggy helgrind: caught although a miss is expected")
              != NULL, "%s", r->out);
  cr_expect(strstr(r->out, "gate: 2 passed, 0 failed\n") != NULL, "%s", r->out);
}

Test(gate, bad_option_is_one_line_and_exit_2)
{
  detect_result_t *r = detect_run("--bogus");
  cr_expect_eq(r->status, 2);
  cr_expect_str_eq(r->out, "detect: unknown option '--bogus' (see detect -h)\n");
}

Test(gate, unknown_detector_names_the_valid_ones)
{
  detect_result_t *r = detect_run("--detector helgrind,tsan");
  cr_expect_eq(r->status, 2);
  cr_expect_str_eq(r->out, "detect: no detector 'tsan'; the detectors are: oracle compiler "
                           "tsan-gcc tsan-clang helgrind drd lockgraph budget\n");
}

Test(gate, unknown_slug_names_the_valid_ones)
{
  detect_result_t *r = detect_run("--slug no_such_hazard");
  cr_expect_eq(r->status, 2);
  cr_expect(strncmp(r->out, "detect: no hazard 'no_such_hazard'; the hazards are: ", 53) == 0,
            "%s", r->out);
  cr_expect(strstr(r->out, " lost_update") != NULL, "%s", r->out);
  cr_expect(strchr(r->out, '\n') == r->out + strlen(r->out) - 1, "more than one line: %s", r->out);
}

Test(gate, bad_expectations_file_names_the_line)
{
  char dir[1024], tsv[1100], args[2048];
  test_dir("badtsv", dir, sizeof dir);
  snprintf(tsv, sizeof tsv, "%s/expectations.tsv", dir);
  FILE *f = fopen(tsv, "w");
  cr_assert_not_null(f);
  fputs("# broken\nlost_update\toracle\tperhaps\twho knows\n", f);
  fclose(f);
  snprintf(args, sizeof args, "--gate --expectations '%s'", tsv);
  detect_result_t *r = detect_run(args);
  cr_expect_eq(r->status, 2);
  char want[1400];
  snprintf(want, sizeof want, "detect: %s:2: expected 'caught' or 'miss', got 'perhaps'\n", tsv);
  cr_expect_str_eq(r->out, want);
}

/* A copy of the real expectations without any line for slug. */
static void tsv_without(const char *path, const char *slug)
{
  FILE *in = fopen(REAL_TSV, "r"), *out = fopen(path, "w");
  cr_assert(in && out, "cannot copy %s to %s", REAL_TSV, path);
  char line[1024], key[256];
  int dropped = 0;
  snprintf(key, sizeof key, "%s\t", slug);
  while (fgets(line, sizeof line, in)) {
    if (strncmp(line, key, strlen(key)) == 0)
      dropped++;
    else
      fputs(line, out);
  }
  fclose(in);
  fclose(out);
  cr_assert_gt(dropped, 0, "no line for %s in %s", slug, REAL_TSV);
}

Test(gate, hazard_without_expectations_fails, .timeout = 300)
{
  char dir[1024], tsv[1100], args[4096], want[2048];
  test_dir("noexpect", dir, sizeof dir);
  snprintf(tsv, sizeof tsv, "%s/expectations.tsv", dir);
  tsv_without(tsv, "lost_update");
  snprintf(args, sizeof args,
           "--gate --slug lost_update --detector compiler --expectations '%s' --out '%s'", tsv,
           dir);
  detect_result_t *r = detect_run(args);
  cr_expect_eq(r->status, 1, "exit %d:\n%s", r->status, r->out);
  snprintf(want, sizeof want, "gate: FAIL lost_update buggy compiler: no expectation in %s\n",
           tsv);
  cr_expect(strstr(r->out, want) != NULL, "missing\n  %s in\n%s", want, r->out);
  cr_expect(strstr(r->out, "gate: 1 passed, 1 failed\n") != NULL, "%s", r->out);
}

Test(gate, unwritable_report_exits_2_and_claims_nothing, .timeout = 300)
{
  char dir[1024], sub[1100], args[2048], want[2048];
  test_dir("unwritable", dir, sizeof dir);
  /* A directory where summary.json should go: root or not, that file cannot be written. */
  snprintf(sub, sizeof sub, "%s/summary.json", dir);
  cr_assert(mkdir(sub, 0755) == 0 || errno == EEXIST);
  snprintf(args, sizeof args, "--slug lost_update --detector compiler --out '%s'", dir);
  detect_result_t *r = detect_run(args);
  cr_expect_eq(r->status, 2, "exit %d:\n%s", r->status, r->out);
  snprintf(want, sizeof want, "detect: cannot write %s: Is a directory\n", sub);
  cr_expect(strstr(r->out, want) != NULL, "missing\n  %s in\n%s", want, r->out);
  cr_expect(strstr(r->out, "results:") == NULL, "%s", r->out);
}

Test(gate, output_directory_that_cannot_be_made_is_refused_at_once)
{
  char dir[1024], file[1100], args[2048], want[2048];
  test_dir("outfile", dir, sizeof dir);
  snprintf(file, sizeof file, "%s/plain-file", dir);
  FILE *f = fopen(file, "w");
  cr_assert_not_null(f);
  fclose(f);
  snprintf(args, sizeof args, "--slug lost_update --detector helgrind --out '%s/out'", file);
  detect_result_t *r = detect_run(args);
  cr_expect_eq(r->status, 2, "exit %d:\n%s", r->status, r->out);
  snprintf(want, sizeof want,
           "detect: cannot write to the output directory %s/out: Not a directory\n", file);
  cr_expect_str_eq(r->out, want);
}

Test(gate, missing_valgrind_is_not_built_and_says_what_to_do, .timeout = 120)
{
  char dir[1024], bin[1100], env[1300], args[2048], want[2048], cmd[4096];
  test_dir("novalgrind", dir, sizeof dir);
  /* A PATH with the shell tools but no valgrind. */
  snprintf(bin, sizeof bin, "%s/bin", dir);
  snprintf(cmd, sizeof cmd,
           "rm -rf '%s' && mkdir -p '%s' && for t in sh cc; do ln -s \"$(command -v $t)\" '%s'/; "
           "done", bin, bin, bin);
  cr_assert_eq(system(cmd), 0);
  snprintf(env, sizeof env, "PATH='%s' ", bin);
  snprintf(args, sizeof args, "--gate --slug lost_update --detector helgrind --out '%s'", dir);
  detect_result_t *r = detect_run_env(env, args);
  cr_expect_eq(r->status, 1, "exit %d:\n%s", r->status, r->out);
  cr_expect(strstr(r->out, "detect: valgrind not found on PATH: run scripts/deps.sh build (as "
                           "root) or apt-get install valgrind\n") != NULL, "%s", r->out);
  /* Once, not once per cell. */
  const char *first = strstr(r->out, "valgrind not found");
  cr_expect(first && !strstr(first + 1, "valgrind not found"), "%s", r->out);
  snprintf(want, sizeof want, "gate: FAIL lost_update buggy helgrind: expected caught, got "
           "not-built (log: %s/logs/lost_update/buggy/helgrind.log)\n", dir);
  cr_expect(strstr(r->out, want) != NULL, "missing\n  %s in\n%s", want, r->out);
  char log[1200], text[4096] = "";
  snprintf(log, sizeof log, "%s/logs/lost_update/buggy/helgrind.log", dir);
  FILE *f = fopen(log, "r");
  cr_assert_not_null(f, "%s", log);
  text[fread(text, 1, sizeof text - 1, f)] = '\0';
  fclose(f);
  cr_expect(strstr(text, "detect: not built: valgrind not found on PATH\n") != NULL, "%s", text);
  /* Neither cell was built (the buggy one also failed its expectation): said in the last line. */
  cr_expect(strstr(r->out, "gate: 0 passed, 1 failed, 2 not built: nothing was checked there") !=
                NULL, "%s", r->out);

  /* Cells expected to miss (check_then_set under DRD) that were not built would pass a gate
   * that checked nothing: a gate with cells not built fails. */
  snprintf(args, sizeof args, "--gate --slug check_then_set --detector drd --out '%s'", dir);
  r = detect_run_env(env, args);
  cr_expect_eq(r->status, 1, "exit %d:\n%s", r->status, r->out);
  cr_expect(strstr(r->out, "gate: 0 passed, 0 failed, 2 not built: nothing was checked there") !=
                NULL, "%s", r->out);
}

Test(gate, missing_build_tree_says_run_make_build)
{
  char dir[1024], args[2048], want[2048];
  test_dir("nobuild", dir, sizeof dir);
  snprintf(args, sizeof args, "--build '%s/empty' --gate", dir);
  detect_result_t *r = detect_run(args);
  cr_expect_eq(r->status, 2);
  snprintf(want, sizeof want,
           "detect: %s/empty is not a build tree (no hazards/): run make build\n", dir);
  cr_expect_str_eq(r->out, want);
}

Test(gate, empty_option_values_are_usage_errors)
{
  static const char *const opts[] = {"--out", "--build", "--source", "--expectations"};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    char args[128], want[256];
    snprintf(args, sizeof args, "%s ''", opts[i]);
    snprintf(want, sizeof want, "detect: option '%s' needs a non-empty value (see detect -h)\n",
             opts[i]);
    detect_result_t *r = detect_run(args);
    cr_expect_eq(r->status, 2, "%s: exit %d", opts[i], r->status);
    cr_expect_str_eq(r->out, want);
  }
}

Test(gate, slug_list_naming_nothing_is_refused)
{
  detect_result_t *r = detect_run("--slug ,");
  cr_expect_eq(r->status, 2);
  cr_expect_str_eq(r->out, "detect: --slug ',' names no hazard (see detect -h)\n");
}

Test(gate, unknown_short_option_is_named)
{
  detect_result_t *r = detect_run("-zq");
  cr_expect_eq(r->status, 2);
  cr_expect_str_eq(r->out, "detect: unknown option '-z' (see detect -h)\n");
}

/* Whether any live (not zombie) process is in process group pgid. */
static int group_running(pid_t pgid)
{
  if (kill(-pgid, 0) < 0 && errno == ESRCH)
    return 0;
  DIR *d = opendir("/proc");
  cr_assert_not_null(d);
  int found = 0;
  struct dirent *de;
  while (!found && (de = readdir(d))) {
    char path[300], stat[512];
    if (de->d_name[0] < '0' || de->d_name[0] > '9')
      continue;
    snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    /* pid (comm) state ppid pgrp ... ; comm may hold spaces, so parse after the last ')'. */
    const char *paren = strrchr(stat, ')');
    char state;
    int ppid, pgrp;
    if (paren && sscanf(paren + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
        state != 'Z')
      found = 1;
  }
  closedir(d);
  return found;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* detect runs a stand-in lost_update (sleeps, with a grandchild) and gets sig. */
static void interrupt_check(const char *name, int sig)
{
  char dir[1024], build[1100], prog[1200], pgid_path[1100], out[1100], cmd[4096];
  test_dir(name, dir, sizeof dir);
  snprintf(build, sizeof build, "%s/build", dir);
  snprintf(prog, sizeof prog, "%s/hazards/native/buggy/lost_update", build);
  snprintf(pgid_path, sizeof pgid_path, "%s/pgid", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' && mkdir -p '%s/hazards/native/buggy'", build,
           pgid_path, build);
  cr_assert_eq(system(cmd), 0);
  FILE *f = fopen(prog, "w");
  cr_assert_not_null(f);
  /* The run is its own group leader, so $$ is the group; written last, once the grandchild
   * exists. */
  fprintf(f, "#!/bin/sh\nsleep 300 &\necho $$ > '%s.tmp' && mv '%s.tmp' '%s'\nwait\n", pgid_path,
          pgid_path, pgid_path);
  fclose(f);
  cr_assert_eq(chmod(prog, 0755), 0);

  pid_t detect = fork();
  cr_assert_geq(detect, 0);
  if (detect == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    /* The worker may run with SIGINT ignored (a background job); detect must see it. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execl(DETECT, "detect", "--build", build, "--slug", "lost_update", "--detector", "oracle",
          "--out", out, (char *)NULL);
    _exit(127);
  }
  pid_t pgid = 0;
  for (double end = now_s() + 20; !pgid && now_s() < end;) {
    FILE *p = fopen(pgid_path, "r");
    if (p) {
      if (fscanf(p, "%d", &pgid) != 1)
        pgid = 0;
      fclose(p);
    } else {
      usleep(10000);
    }
  }
  cr_assert_gt(pgid, 0, "the stand-in never started");
  cr_assert(group_running(pgid));

  cr_assert_eq(kill(detect, sig), 0);
  int st;
  cr_assert_eq(waitpid(detect, &st, 0), detect);
  cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == sig, "detect did not die of signal %d (status %#x)",
            sig, st);
  /* Killed and reaped before detect re-raised; a grandchild may wait for init to reap it. */
  double end = now_s() + 5;
  while (group_running(pgid) && now_s() < end)
    usleep(10000);
  cr_expect_not(group_running(pgid), "process group %d outlived detect", (int)pgid);
  if (group_running(pgid))
    kill(-pgid, SIGKILL);
}

Test(gate, sigterm_kills_every_running_group, .timeout = 60)
{
  interrupt_check("sigterm", SIGTERM);
}

Test(gate, sigint_kills_every_running_group, .timeout = 60)
{
  interrupt_check("sigint", SIGINT);
}

/* An --out so long that summary.json still fits under PATH_MAX but a log path does not. The
 * path is built under a short temporary root, in components of at most 200 bytes, so it is the
 * same path shape wherever the checkout lives (a long checkout path must not change what this
 * test sees). */
Test(gate, path_too_long_is_an_error_not_a_cut_path, .timeout = 60)
{
  char root[] = "/tmp/lg-gate-XXXXXX", out[4200], args[4400], cmd[64];
  cr_assert_not_null(mkdtemp(root), "mkdtemp: %s", strerror(errno));
  size_t len = (size_t)snprintf(out, sizeof out, "%s", root);
  while (len < 4070) {
    size_t part = 4070 - len - 1 > 200 ? 200 : 4070 - len - 1;
    out[len++] = '/';
    memset(out + len, 'd', part);
    len += part;
  }
  out[len] = '\0';
  cr_assert_eq(len, 4070);
  snprintf(args, sizeof args, "--slug lost_update --detector compiler --out '%s'", out);
  detect_result_t *r = detect_run(args);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  cr_expect_eq(system(cmd), 0);
  cr_expect_eq(r->status, 2, "exit %d:\n%s", r->status, r->out);
  cr_expect_str_eq(r->out, "detect: lost_update buggy compiler: cannot prepare the run: "
                           "File name too long\n");
}
