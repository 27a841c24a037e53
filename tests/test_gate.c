/* test_gate.c - the real `detect --gate` on real programs under real tools.
 *
 * Fast on purpose: one hazard (lost_update), two detectors (Helgrind, the compiler). The
 * failure path uses a copy of harness/expectations.tsv with one expectation made wrong, and
 * checks the exact message: slug, variant, detector, expected vs got, log path. Each test
 * writes to its own --out directory, so they can run in parallel. Also: the command line's
 * usage errors (one line, exit 2).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define DETECT LG_BUILD_DIR "/bin/detect"
#define REAL_TSV LG_SOURCE_DIR "/harness/expectations.tsv"

typedef struct detect_result {
  int status;        /* exit status, or -1 when detect did not exit normally */
  char out[65536];   /* stdout and stderr */
} detect_result_t;

static detect_result_t *detect_run(const char *args)
{
  static __thread detect_result_t r;
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' --build '%s' --jobs 2 %s 2>&1", DETECT, LG_BUILD_DIR, args);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p, "cannot run %s", cmd);
  size_t n = fread(r.out, 1, sizeof r.out - 1, p);
  r.out[n] = '\0';
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return &r;
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
