/* test_sarif.c - the SARIF logs, checked by a real validator (Microsoft's SARIF multitool) and
 * read back for what they say: lockgraph's own log (--sarif, and sarif= under LD_PRELOAD alone)
 * points at the program's acquisition lines, and detect's results.sarif has the caught cells
 * and the gate's failures, which --annotate github also prints as ::error lines.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg_corpus.h"
#include "lg_tools.h"
#include "sarif.h"

#define DETECT LG_BUILD_DIR "/bin/detect"

static void sarif_load(const char *path, json_t *doc)
{
  char *text = file_read_all(path);
  cr_assert_not_null(text, "%s was not written", path);
  cr_assert_eq(json_parse(text, strlen(text), doc), 0, "%s is not JSON:\n%s", path, text);
  free(text);
}

static void expect_valid(const char *path)
{
  char *out = NULL;
  int errors = sarif_validate(path, &out);
  cr_expect_eq(errors, 0, "the SARIF validator found %d error(s) in %s:\n%s", errors, path, out);
  free(out);
}

static const json_t *run0(const json_t *doc)
{
  cr_assert(json_str_is(json_get(doc, "version"), "2.1.0"));
  const json_t *run = json_at(json_get(doc, "runs"), 0);
  cr_assert_not_null(run, "no run in the log");
  return run;
}

static long loc_line(const json_t *loc)
{
  return json_int(json_get(json_get(json_get(loc, "physicalLocation"), "region"), "startLine"));
}

static const char *loc_uri(const json_t *loc)
{
  const char *u = json_str(
      json_get(json_get(json_get(loc, "physicalLocation"), "artifactLocation"), "uri"));
  return u ? u : "";
}

static int rule_listed(const json_t *run, const char *id)
{
  const json_t *rules = json_get(json_get(json_get(run, "tool"), "driver"), "rules");
  for (size_t i = 0; i < json_len(rules); i++)
    if (json_str_is(json_get(json_at(rules, i), "id"), id))
      return 1;
  return 0;
}

static int ends_with(const char *s, const char *tail)
{
  size_t n = strlen(s), k = strlen(tail);
  return n >= k && strcmp(s + n - k, tail) == 0;
}

/* The two-lock inversion: one result, at one edge's closing acquisition, with the three other
 * acquisitions as related locations, a thread flow per edge and the four stacks. */
static void expect_inversion_result(const json_t *run, const json_t *res, const char *src)
{
  int ab1 = corpus_marker_line(src, "ab_first"), ab2 = corpus_marker_line(src, "ab_second");
  int ba1 = corpus_marker_line(src, "ba_first"), ba2 = corpus_marker_line(src, "ba_second");
  cr_assert(json_str_is(json_get(res, "ruleId"), "potential-deadlock"));
  cr_expect(rule_listed(run, "potential-deadlock"), "no rule for potential-deadlock");
  const json_t *loc = json_at(json_get(res, "locations"), 0);
  long line = loc_line(loc);
  cr_expect(line == ab2 || line == ba2, "the location is line %ld, not %d or %d (acquisitions)",
            line, ab2, ba2);
  cr_expect(ends_with(loc_uri(loc), src), "location uri %s", loc_uri(loc));
  const json_t *rel = json_get(res, "relatedLocations");
  cr_assert_eq(json_len(rel), 3, "%zu related locations", json_len(rel));
  int seen[4] = {0};
  int want[4] = {ab1, ab2, ba1, ba2};
  for (size_t i = 0; i < 3; i++)
    for (int k = 0; k < 4; k++)
      seen[k] |= loc_line(json_at(rel, i)) == want[k];
  for (int k = 0; k < 4; k++)
    cr_expect(seen[k] || want[k] == line, "line %d is neither the location nor related", want[k]);
  const json_t *flows = json_get(json_at(json_get(res, "codeFlows"), 0), "threadFlows");
  cr_expect_eq(json_len(flows), 2, "%zu thread flows", json_len(flows));
  for (size_t i = 0; i < json_len(flows); i++)
    cr_expect_eq(json_len(json_get(json_at(flows, i), "locations")), 2);
  cr_expect_eq(json_len(json_get(res, "stacks")), 4);
}

Test(sarif, cli_log_of_an_inversion_validates_and_points_at_the_acquisitions, .timeout = 360)
{
  run_result_t r;
  run_init(&r);
  char sarif[PATH_MAX + 16];
  snprintf(sarif, sizeof sarif, "%s/r.sarif", r.dir);
  const char *flags[] = {"--sarif", sarif, NULL};
  run_request_t rq = {.program = "two_thread_inversion", .cli_flags = flags};
  run_program(&rq, &r);
  expect_potential_deadlock(&r, "two_thread_inversion", 2);

  expect_valid(sarif);
  json_t doc;
  sarif_load(sarif, &doc);
  const json_t *run = run0(&doc);
  const json_t *results = json_get(run, "results");
  cr_assert_eq(json_len(results), 1, "%zu results", json_len(results));
  expect_inversion_result(run, json_at(results, 0), "two_thread_inversion.c");
  json_free(&doc);
  run_cleanup(&r);
}

/* sarif= under LD_PRELOAD alone, without json=: the reports go through a scratch file; a run
 * ended by the watchdog still writes the log, with both of its reports. */
Test(sarif, preload_option_without_json_writes_every_report, .timeout = 360)
{
  run_result_t r;
  run_init(&r);
  char options[PATH_MAX + 32];
  snprintf(options, sizeof options, "sarif=%s/r.sarif", r.dir);
  run_request_t rq = {.program = "real_deadlock", .preload = 1, .options = options};
  run_program(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d:\n%s", r.status, r.err);

  expect_valid(options + 6);
  json_t doc;
  sarif_load(options + 6, &doc);
  const json_t *run = run0(&doc);
  const json_t *results = json_get(run, "results");
  cr_assert_eq(json_len(results), 2, "%zu results", json_len(results));
  expect_inversion_result(run, json_at(results, 0), "real_deadlock.c");
  const json_t *dl = json_at(results, 1);
  cr_expect(json_str_is(json_get(dl, "ruleId"), "deadlock"));
  cr_expect(rule_listed(run, "deadlock"), "no rule for deadlock");
  /* Each blocked thread waits at its second acquisition. */
  int ab2 = corpus_marker_line("real_deadlock.c", "ab_second");
  int ba2 = corpus_marker_line("real_deadlock.c", "ba_second");
  long a = loc_line(json_at(json_get(dl, "locations"), 0));
  long b = loc_line(json_at(json_get(dl, "relatedLocations"), 0));
  cr_expect((a == ab2 && b == ba2) || (a == ba2 && b == ab2),
            "blocked threads at lines %ld and %ld, not %d and %d", a, b, ab2, ba2);
  json_free(&doc);
  run_cleanup(&r);
}

/* Programs run from the program (a shell running two inversions, one after changing directory)
 * add their reports to the same log, without json=. `shell` is the program's shell: dash passes
 * on the environment the library changes at start-up, bash (like make) builds its children's
 * from main's envp and passes on only what it started with. */
static void check_shell_children_in_the_log(const char *shell)
{
  char dir[PATH_MAX], sarif[PATH_MAX + 16], tmpdir[PATH_MAX + 32], script[2 * PATH_MAX];
  tool_tempdir(dir, sizeof dir, "lockgraph-sarif");
  snprintf(sarif, sizeof sarif, "%s/r.sarif", dir);
  snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", dir);
  snprintf(script, sizeof script, "cd / && %s/two_thread_inversion; %s/three_lock_cycle; echo",
           CORPUS_BUILD_DIR, CORPUS_BUILD_DIR);
  const char *argv[] = {LOCKGRAPH_CLI, "--sarif", sarif, "--", shell, "-c", script, NULL};
  const char *env[] = {tmpdir, NULL};
  char *out = NULL;
  int status = tool_run(argv, env, 120, &out);
  /* The shell's status is its last command's, echo's: the children's 66 is theirs. */
  cr_expect_eq(status, 0, "%s: exit status %d:\n%s", shell, status, out);
  free(out);
  expect_valid(sarif);
  json_t doc;
  sarif_load(sarif, &doc);
  const json_t *results = json_get(run0(&doc), "results");
  cr_assert_eq(json_len(results), 2, "%s: %zu results", shell, json_len(results));
  const char *want[] = {"two_thread_inversion.c", "three_lock_cycle.c"};
  for (size_t i = 0; i < 2; i++) {
    const json_t *loc = json_at(json_get(json_at(results, i), "locations"), 0);
    cr_expect(ends_with(loc_uri(loc), want[i]), "%s: result %zu at %s", shell, i, loc_uri(loc));
  }
  json_free(&doc);
  /* The scratch file is gone with the run: the shell that made it removed it. */
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    cr_expect(strstr(e->d_name, ".reports.jsonl") == NULL, "%s: %s left in TMPDIR", shell,
              e->d_name);
  closedir(d);
}

Test(sarif, programs_run_from_a_dash_script_add_to_the_log, .timeout = 360)
{
  check_shell_children_in_the_log("dash");
}

Test(sarif, programs_run_from_a_bash_script_add_to_the_log, .timeout = 360)
{
  check_shell_children_in_the_log("bash");
}

/* ---- report paths that are not plain files ---- */

/* The number of results of the SARIF log at path, -1 when it does not parse. */
static long sarif_results(const char *path)
{
  char *text = file_read_all(path);
  json_t doc;
  long n = -1;
  if (text != NULL && json_parse(text, strlen(text), &doc) == 0) {
    n = (long)json_len(json_get(run0(&doc), "results"));
    json_free(&doc);
  }
  free(text);
  return n;
}

/* One run of one_thread_inversion under the front end with `flag path`; its exit status. */
static int run_with_report_path(const char *flag, const char *path, char **out)
{
  char program[PATH_MAX];
  snprintf(program, sizeof program, "%s/one_thread_inversion", CORPUS_BUILD_DIR);
  const char *argv[] = {LOCKGRAPH_CLI, flag, path, "--", program, NULL};
  return tool_run(argv, NULL, 60, out);
}

/* The log replaces its file by a rename at the end: through a symbolic link it must replace
 * the file the link names, never the link (nor truncate that file and leave it empty). */
Test(sarif, a_log_through_a_symbolic_link_is_written_to_the_linked_file, .timeout = 120)
{
  char dir[PATH_MAX], target[PATH_MAX + 16], link[PATH_MAX + 16];
  tool_tempdir(dir, sizeof dir, "lockgraph-sarif");
  snprintf(target, sizeof target, "%s/target.sarif", dir);
  snprintf(link, sizeof link, "%s/link.sarif", dir);
  file_write_all(target, "an earlier log\n");
  cr_assert_eq(symlink("target.sarif", link), 0);
  char *out = NULL;
  int status = run_with_report_path("--sarif", link, &out);
  cr_expect_eq(status, REPORT_EXITCODE, "exit status %d:\n%s", status, out);
  free(out);
  struct stat st;
  cr_expect(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the symbolic link was replaced");
  cr_expect_eq(sarif_results(target), 1, "the linked file has no log of one result");
}

/* A character device (the kind /dev/null is) is written through: the log must not replace it
 * by a file. Made here (mknod needs the privilege CI runs with; without it, skipped). */
Test(sarif, a_log_to_a_character_device_leaves_the_device, .timeout = 120)
{
  char dir[PATH_MAX], node[PATH_MAX + 16];
  tool_tempdir(dir, sizeof dir, "lockgraph-sarif");
  snprintf(node, sizeof node, "%s/null", dir);
  if (mknod(node, S_IFCHR | 0666, makedev(1, 3)) != 0)
    cr_skip_test("cannot make a device node here (%s)", strerror(errno));
  char *out = NULL;
  int status = run_with_report_path("--sarif", node, &out);
  cr_expect_eq(status, REPORT_EXITCODE, "exit status %d:\n%s", status, out);
  free(out);
  struct stat st;
  cr_expect(stat(node, &st) == 0 && S_ISCHR(st.st_mode), "the device node was replaced");
  unlink(node);
}

/* A FIFO nobody reads, as any report path, is one error line and status 2, not a run that
 * waits forever in an open; a directory for the log is refused the same way. */
Test(sarif, report_paths_nothing_can_be_written_to_are_refused_at_once, .timeout = 300)
{
  char dir[PATH_MAX], fifo[PATH_MAX + 16];
  tool_tempdir(dir, sizeof dir, "lockgraph-sarif");
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  cr_assert_eq(mkfifo(fifo, 0644), 0);
  const char *flags[] = {"--log", "--json", "--sarif"};
  for (size_t i = 0; i < 3; i++) {
    char *out = NULL;
    int status = run_with_report_path(flags[i], fifo, &out);
    cr_expect_eq(status, 2, "%s FIFO: exit status %d (124: it hung):\n%s", flags[i], status, out);
    cr_expect(strstr(out, "FIFO") != NULL, "%s FIFO: the error does not say FIFO:\n%s", flags[i],
              out);
    free(out);
  }
  char *out = NULL;
  int status = run_with_report_path("--sarif", dir, &out);
  cr_expect_eq(status, 2, "--sarif DIR: exit status %d:\n%s", status, out);
  free(out);
}

/* A FIFO that a reader has open gets the text report: the front end leaves it to the
 * runtime rather than open and close it (its reader would see an end of file and go). */
Test(sarif, a_log_to_a_fifo_with_a_reader_reaches_the_reader, .timeout = 120)
{
  char dir[PATH_MAX], fifo[PATH_MAX + 16], got[PATH_MAX + 16];
  tool_tempdir(dir, sizeof dir, "lockgraph-sarif");
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  snprintf(got, sizeof got, "%s/got", dir);
  cr_assert_eq(mkfifo(fifo, 0644), 0);
  pid_t reader = fork();
  cr_assert_geq(reader, 0);
  if (reader == 0) { /* copies the FIFO to a file until its writers are gone */
    int in = open(fifo, O_RDONLY), o = open(got, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char buf[4096];
    ssize_t n;
    while (in >= 0 && o >= 0 && (n = read(in, buf, sizeof buf)) > 0)
      if (write(o, buf, (size_t)n) != n)
        _exit(1);
    _exit(in >= 0 && o >= 0 ? 0 : 1);
  }
  usleep(100 * 1000); /* the reader opens first */
  char *out = NULL;
  int status = run_with_report_path("--log", fifo, &out);
  cr_expect_eq(status, REPORT_EXITCODE, "exit status %d:\n%s", status, out);
  free(out);
  int st;
  cr_expect_eq(waitpid(reader, &st, 0), reader);
  char *text = file_read_all(got);
  cr_expect(text != NULL && strstr(text, "lockgraph: potential deadlock") != NULL,
            "the reader got:\n%s", text ? text : "(nothing)");
  free(text);
}

/* A kind of report the converter has never heard of, in the generic layout (message and
 * labelled sections), with a frame of the C library and one with no source: the type is the
 * rule, the message is the report's, the first section's program line is the location. */
Test(sarif, a_report_kind_added_later_still_maps, .timeout = 360)
{
  char dir[PATH_MAX], in[PATH_MAX + 16], out[PATH_MAX + 16];
  tool_tempdir(dir, sizeof dir, "lockgraph-sarif");
  snprintf(in, sizeof in, "%s/r.jsonl", dir);
  snprintf(out, sizeof out, "%s/r.sarif", dir);
  file_write_all(in,
      "{\"type\":\"hang\",\"report\":1,\"ends_run\":false,\"message\":\"thread T2 waited 5 s "
      "for M1\",\"locks\":[{\"name\":\"M1\",\"kind\":\"mutex\",\"addr\":\"0x10\"}],"
      "\"sections\":[{\"label\":\"T2 waits for M1 at\",\"stack\":[{\"pc\":\"0x1\",\"function\":"
      "\"worker\",\"file\":\"src/a b.c\",\"line\":12,\"module\":\"prog\"},{\"pc\":\"0x2\","
      "\"function\":\"start_thread\",\"file\":\"./nptl/pthread_create.c\",\"line\":442,"
      "\"module\":\"libc.so.6\"},{\"pc\":\"0x3\",\"function\":null,\"file\":null,\"line\":0,"
      "\"module\":null}]},{\"label\":\"M1 held by T1 since\",\"stack\":[{\"pc\":\"0x4\","
      "\"function\":\"main\",\"file\":\"/abs/src/main.c\",\"line\":30,\"module\":\"prog\"}]}]}\n"
      "{\"type\":\"summary\",\"reports\":1}\n"
      "{\"type\":\"potential-deadlock\",\"report\":2,\"cut short by a kill\n");
  int ifd = open(in, O_RDONLY), ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert(ifd >= 0 && ofd >= 0);
  lg_sarif_stats_t st;
  cr_assert_eq(lg_sarif_convert(ifd, ofd, "0.1.0", "/work/src", &st), 0);
  close(ifd);
  close(ofd);
  cr_expect_eq(st.results, 1);
  cr_expect_eq(st.skipped, 1, "the line cut short is counted as skipped");

  expect_valid(out);
  json_t doc;
  sarif_load(out, &doc);
  const json_t *run = run0(&doc);
  cr_expect(rule_listed(run, "hang"));
  const json_t *res = json_at(json_get(run, "results"), 0);
  cr_assert_not_null(res);
  cr_expect(json_str_is(json_get(res, "ruleId"), "hang"));
  cr_expect(json_str_is(json_get(json_get(res, "message"), "text"), "hang: thread T2 waited 5 s for M1"));
  const json_t *loc = json_at(json_get(res, "locations"), 0);
  cr_expect_str_eq(loc_uri(loc), "src/a%20b.c");
  cr_expect_eq(loc_line(loc), 12);
  const json_t *rel = json_at(json_get(res, "relatedLocations"), 0);
  cr_expect_str_eq(loc_uri(rel), "file:///abs/src/main.c");
  cr_expect_eq(loc_line(rel), 30);
  /* The C library's frame keeps its function only; the frame with nothing is left out. */
  const json_t *frames = json_get(json_at(json_get(res, "stacks"), 0), "frames");
  cr_expect_eq(json_len(frames), 2, "%zu frames", json_len(frames));
  const json_t *libc = json_get(json_at(frames, 1), "location");
  cr_expect_null(json_get(libc, "physicalLocation"));
  json_free(&doc);
}

/* The check above can fail: the validator finds the error in a log whose line is broken. */
Test(sarif, validator_rejects_a_broken_log, .timeout = 360)
{
  run_result_t r;
  run_init(&r);
  char sarif[PATH_MAX + 16], broken[PATH_MAX + 16];
  snprintf(sarif, sizeof sarif, "%s/r.sarif", r.dir);
  snprintf(broken, sizeof broken, "%s/broken.sarif", r.dir);
  const char *flags[] = {"--sarif", sarif, NULL};
  run_request_t rq = {.program = "two_thread_inversion", .cli_flags = flags};
  run_program(&rq, &r);
  char *text = file_read_all(sarif);
  cr_assert_not_null(text);
  char *line = strstr(text, "\"startLine\":");
  cr_assert_not_null(line, "no startLine in:\n%s", text);
  line += strlen("\"startLine\":");
  for (char *p = line; *p >= '0' && *p <= '9'; p++)
    *p = '0';
  file_write_all(broken, text);
  free(text);
  char *out = NULL;
  int errors = sarif_validate(broken, &out);
  cr_expect_geq(errors, 1, "a startLine of 0 passed the validator:\n%s", out);
  free(out);
  run_cleanup(&r);
}

/* First line of `path` containing `needle`; 0 when none. */
static int source_line_of(const char *path, const char *needle)
{
  char *text = file_read_all(path);
  cr_assert_not_null(text, "cannot read %s", path);
  int n = 1, found = 0;
  for (char *p = text; *p && !found; p++) {
    if (strncmp(p, needle, strlen(needle)) == 0)
      found = n;
    n += *p == '\n';
  }
  free(text);
  return found;
}

/* detect with an expectation changed to fail: the oracle must "catch" the latent cycle. */
static int detect_failing(const char *dir, const char *annotate, const char *const *env,
                          char **out)
{
  char tsv[PATH_MAX], outdir[PATH_MAX];
  snprintf(tsv, sizeof tsv, "%s/expectations.tsv", dir);
  snprintf(outdir, sizeof outdir, "%s/detect", dir);
  char *orig = file_read_all(LG_SOURCE_DIR "/harness/expectations.tsv");
  cr_assert_not_null(orig);
  const char *row = "lock_order_deadlock\toracle\tmiss";
  char *at = strstr(orig, row);
  cr_assert_not_null(at, "no '%s' row in harness/expectations.tsv", row);
  size_t n = strlen(orig);
  char *changed = malloc(n + 8);
  cr_assert_not_null(changed);
  size_t head = (size_t)(at - orig) + strlen("lock_order_deadlock\toracle\t");
  memcpy(changed, orig, head);
  strcpy(changed + head, "caught");
  strcat(changed, orig + head + strlen("miss"));
  file_write_all(tsv, changed);
  free(orig);
  free(changed);
  const char *argv[] = {DETECT, "--gate", "--slug", "lock_order_deadlock", "--detector",
                        "oracle,lockgraph", "--jobs", "2", "--expectations", tsv, "--out",
                        outdir, annotate ? "--annotate" : NULL, annotate, NULL};
  return tool_run(argv, env, 300, out);
}

Test(sarif, detect_results_validate_and_gate_failures_are_annotated, .timeout = 600)
{
  char dir[PATH_MAX];
  tool_tempdir(dir, sizeof dir, "lockgraph-sarif");
  char *out = NULL;
  int status = detect_failing(dir, "github", NULL, &out);
  cr_expect_eq(status, 1, "detect --gate exited with %d:\n%s", status, out);

  int bug = source_line_of(LG_SOURCE_DIR "/buggy/lock_order_deadlock.c", "BUG:");
  char want[512];
  snprintf(want, sizeof want,
           "::error file=buggy/lock_order_deadlock.c,line=%d,title=gate%%3A lock_order_deadlock "
           "buggy oracle::expected caught, got clean: ", bug);
  cr_expect(strstr(out, want) != NULL, "no line starting '%s' in:\n%s", want, out);
  cr_expect_eq(text_count_lines(out, "::error ", ""), 1, "one failure, one annotation:\n%s", out);
  free(out);

  char sarif[PATH_MAX + 32];
  snprintf(sarif, sizeof sarif, "%s/detect/results.sarif", dir);
  expect_valid(sarif);
  json_t doc;
  sarif_load(sarif, &doc);
  const json_t *run = run0(&doc);
  const json_t *results = json_get(run, "results");
  int caught = 0, gate = 0;
  for (size_t i = 0; i < json_len(results); i++) {
    const json_t *res = json_at(results, i);
    const json_t *loc = json_at(json_get(res, "locations"), 0);
    if (json_str_is(json_get(res, "ruleId"), "caught/lockgraph")) {
      caught++;
      cr_expect_str_eq(loc_uri(loc), "buggy/lock_order_deadlock.c");
      cr_expect_gt(loc_line(loc), 0, "the caught cell has no line");
    } else if (json_str_is(json_get(res, "ruleId"), "gate")) {
      gate++;
      cr_expect_str_eq(loc_uri(loc), "buggy/lock_order_deadlock.c");
      cr_expect_eq(loc_line(loc), bug);
      const char *text = json_str(json_get(json_get(res, "message"), "text"));
      cr_expect(text && strstr(text, "lock_order_deadlock buggy oracle"), "message: %s", text);
    }
  }
  cr_expect_eq(caught, 1, "%d caught/lockgraph results", caught);
  cr_expect_eq(gate, 1, "%d gate results", gate);
  cr_expect(rule_listed(run, "gate") && rule_listed(run, "caught/lockgraph"));
  json_free(&doc);

  /* Under GitHub Actions the lines come without asking; --annotate none turns them off. */
  const char *gha[] = {"GITHUB_ACTIONS=true", NULL};
  status = detect_failing(dir, NULL, gha, &out);
  cr_expect_eq(text_count_lines(out, "::error ", ""), 1, "GITHUB_ACTIONS=true:\n%s", out);
  free(out);
  status = detect_failing(dir, "none", gha, &out);
  cr_expect_eq(text_count_lines(out, "::error ", ""), 0, "--annotate none:\n%s", out);
  free(out);
}
