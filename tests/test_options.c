/* test_options.c - LOCKGRAPH_OPTIONS parsing and suppressions. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

static lg_options_t opts;
static char err[512];

static void opts_reset(void) {
  lg_options_defaults(&opts);
  memset(err, 0, sizeof err);
}

TestSuite(options, .init = opts_reset);

/* A rejected spec names the key, says what is accepted, is one line, and changes nothing. */
static void expect_rejected(const char *spec, const char *key, const char *accepts) {
  lg_options_t before = opts;
  int rc = lg_options_parse(&opts, spec, err, sizeof err);
  cr_assert_eq(rc, -EINVAL, "'%s' was accepted", spec);
  cr_expect(strncmp(err, "LOCKGRAPH_OPTIONS: ", 19) == 0, "message: %s", err);
  cr_expect_not_null(strstr(err, key), "'%s' does not name '%s'", err, key);
  cr_expect_not_null(strstr(err, accepts), "'%s' does not say '%s'", err, accepts);
  cr_expect_null(strchr(err, '\n'), "'%s' is more than one line", err);
  cr_expect(memcmp(&before, &opts, sizeof opts) == 0, "'%s' changed the options", spec);
}

Test(options, defaults_are_documented_values) {
  cr_expect_str_empty(opts.json_path);
  cr_expect_str_empty(opts.log_path);
  cr_expect_str_empty(opts.suppressions_path);
  cr_expect_eq(opts.watchdog_ms, 1000);
  cr_expect_eq(opts.exitcode, 66);
  cr_expect_eq(opts.stack_depth, 16);
  cr_expect_eq(opts.verbosity, 1);
}

Test(options, every_key_accepts_a_good_value) {
  int rc = lg_options_parse(&opts,
                            "json=reports/r.jsonl:log=out.txt:watchdog_ms=0:suppressions=s.supp:"
                            "exitcode=0:stack_depth=64:verbosity=2",
                            err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_expect_str_eq(opts.json_path, "reports/r.jsonl");
  cr_expect_str_eq(opts.log_path, "out.txt");
  cr_expect_str_eq(opts.suppressions_path, "s.supp");
  cr_expect_eq(opts.watchdog_ms, 0);
  cr_expect_eq(opts.exitcode, 0);
  cr_expect_eq(opts.stack_depth, 64);
  cr_expect_eq(opts.verbosity, 2);
  cr_expect_str_empty(err);
}

Test(options, range_edges_are_accepted) {
  cr_assert_eq(lg_options_parse(&opts, "exitcode=255:stack_depth=1:verbosity=0", err, sizeof err),
               0);
  cr_expect_eq(opts.exitcode, 255);
  cr_expect_eq(opts.stack_depth, 1);
  cr_expect_eq(opts.verbosity, 0);
  cr_assert_eq(lg_options_parse(&opts, "watchdog_ms=86400000:exitcode=007", err, sizeof err), 0);
  cr_expect_eq(opts.watchdog_ms, 86400000);
  cr_expect_eq(opts.exitcode, 7);
}

Test(options, empty_and_null_specs_change_nothing) {
  cr_expect_eq(lg_options_parse(&opts, NULL, err, sizeof err), 0);
  cr_expect_eq(lg_options_parse(&opts, "", err, sizeof err), 0);
  cr_expect_eq(lg_options_parse(&opts, ":", err, sizeof err), 0);
  cr_expect_eq(opts.watchdog_ms, 1000);
}

Test(options, trailing_and_doubled_colons_tolerated) {
  cr_assert_eq(lg_options_parse(&opts, "verbosity=0:", err, sizeof err), 0);
  cr_expect_eq(opts.verbosity, 0);
  cr_assert_eq(lg_options_parse(&opts, "verbosity=2::exitcode=3", err, sizeof err), 0);
  cr_expect_eq(opts.verbosity, 2);
  cr_expect_eq(opts.exitcode, 3);
}

Test(options, duplicate_key_last_wins) {
  cr_assert_eq(lg_options_parse(&opts, "exitcode=1:exitcode=2:log=a:log=b", err, sizeof err), 0);
  cr_expect_eq(opts.exitcode, 2);
  cr_expect_str_eq(opts.log_path, "b");
}

Test(options, parse_applies_over_current_values) {
  cr_assert_eq(lg_options_parse(&opts, "exitcode=5", err, sizeof err), 0);
  cr_assert_eq(lg_options_parse(&opts, "verbosity=0", err, sizeof err), 0);
  cr_expect_eq(opts.exitcode, 5, "the second parse kept the first one's value");
}

/* Specs that must be rejected, by the test that owns them: the spec, what the message must
 * quote (the key, or key=value), and what it must say is accepted. A test that checks more
 * than expect_rejected does about one of its specs calls expect_rejected for it itself. */
typedef struct rejection {
  const char *test, *spec, *quoted, *accepts;
} rejection_t;

static const rejection_t rejections[] = {
    {"unknown_key_is_named_with_the_key_list", "verbosity=1:Verbosity=1", "'Verbosity'", "keys:"},
    {"unknown_key_is_named_with_the_key_list", "=5", "''", "keys:"},
    {"missing_equals_is_an_error", "verbosity", "verbosity", "missing '='"},
    {"missing_equals_is_an_error", "json", "json", "a file path"},
    {"missing_equals_is_an_error", "nosuchkey", "'nosuchkey'", "unknown key"},
    {"watchdog_ms_rejects_non_numbers", "watchdog_ms=", "watchdog_ms", "milliseconds"},
    {"watchdog_ms_rejects_non_numbers", "watchdog_ms=-1", "watchdog_ms=-1", "milliseconds"},
    {"watchdog_ms_rejects_non_numbers", "watchdog_ms=+5", "watchdog_ms=+5", "milliseconds"},
    {"watchdog_ms_rejects_non_numbers", "watchdog_ms= 5", "watchdog_ms", "milliseconds"},
    {"watchdog_ms_rejects_non_numbers", "watchdog_ms=0x10", "watchdog_ms=0x10", "milliseconds"},
    {"watchdog_ms_rejects_non_numbers", "watchdog_ms=86400001", "out of range", "86400000"},
    {"exitcode_rejects_bad_values", "exitcode=x", "exitcode=x", "an exit status"},
    {"exitcode_rejects_bad_values", "exitcode=", "exitcode", "0..255"},
    {"exitcode_rejects_bad_values", "exitcode=-1", "exitcode", "0..255"},
    {"stack_depth_rejects_bad_values", "stack_depth=0", "stack_depth=0", "1..64"},
    {"stack_depth_rejects_bad_values", "stack_depth=65", "stack_depth=65", "1..64"},
    {"stack_depth_rejects_bad_values", "stack_depth=1.5", "stack_depth", "1..64"},
    {"verbosity_rejects_bad_values", "verbosity=4", "verbosity=4", "0 (quiet)"},
    {"verbosity_rejects_bad_values", "verbosity=loud", "verbosity=loud", "3 (also memory)"},
    {"halt_on_error_takes_0_or_1", "halt_on_error=2", "halt_on_error=2", "0 (go on) or 1"},
    {"halt_on_error_takes_0_or_1", "halt_on_error=yes", "halt_on_error=yes", "0 (go on) or 1"},
    {"huge_numbers_are_out_of_range", "watchdog_ms=99999999999999999999999999999", "watchdog_ms",
     "out of range"},
    {"huge_numbers_are_out_of_range", "exitcode=18446744073709551616", "exitcode", "out of range"},
    {"huge_numbers_are_out_of_range", "verbosity=4294967297", "verbosity", "out of range"},
    {"path_keys_reject_empty_values", "json=", "json", "a file path for JSON Lines reports"},
    {"path_keys_reject_empty_values", "log=", "log", "a file path for text reports"},
    {"path_keys_reject_empty_values", "suppressions=", "suppressions", "a suppressions file path"},
};

/* Checks every row of rejections that belongs to `test`. */
static void expect_rejected_rows(const char *test) {
  size_t rows = 0;

  for (size_t i = 0; i < sizeof rejections / sizeof rejections[0]; i++) {
    const rejection_t *r = &rejections[i];
    if (strcmp(r->test, test) == 0) {
      expect_rejected(r->spec, r->quoted, r->accepts);
      rows++;
    }
  }
  cr_assert_gt(rows, 0, "no rejected specs listed for %s", test);
}

Test(options, unknown_key_is_named_with_the_key_list) {
  expect_rejected("jsn=x", "'jsn'", "keys: json, log, watchdog_ms, suppressions, exitcode, "
                                    "stack_depth, verbosity");
  cr_expect_str_eq(err, "LOCKGRAPH_OPTIONS: unknown key 'jsn' (keys: json, log, watchdog_ms, "
                        "suppressions, exitcode, stack_depth, verbosity, sarif, halt_on_error, stall_ms)");
  expect_rejected_rows("unknown_key_is_named_with_the_key_list");
}

Test(options, missing_equals_is_an_error) {
  expect_rejected_rows("missing_equals_is_an_error");
}

Test(options, watchdog_ms_rejects_non_numbers) {
  expect_rejected("watchdog_ms=abc", "watchdog_ms=abc", "a number of milliseconds, 0 to disable");
  const char *documented =
      "LOCKGRAPH_OPTIONS: watchdog_ms=abc: expected a number of milliseconds, 0 to disable";
  cr_expect(strncmp(err, documented, strlen(documented)) == 0, "%s", err);
  expect_rejected_rows("watchdog_ms_rejects_non_numbers");
}

Test(options, exitcode_rejects_bad_values) {
  expect_rejected("exitcode=256", "exitcode=256", "0..255");
  cr_expect_not_null(strstr(err, "out of range"), "%s", err);
  expect_rejected_rows("exitcode_rejects_bad_values");
}

Test(options, stack_depth_rejects_bad_values) {
  expect_rejected_rows("stack_depth_rejects_bad_values");
}

Test(options, verbosity_rejects_bad_values) {
  expect_rejected_rows("verbosity_rejects_bad_values");
}

Test(options, halt_on_error_takes_0_or_1) {
  lg_options_t opts;
  char err[256];

  expect_rejected_rows("halt_on_error_takes_0_or_1");
  lg_options_defaults(&opts);
  cr_expect_eq(opts.halt_on_error, 0, "misuse reports end the run by default");
  cr_assert_eq(lg_options_parse(&opts, "halt_on_error=1", err, sizeof err), 0, "%s", err);
  cr_expect_eq(opts.halt_on_error, 1);
}

Test(options, huge_numbers_are_out_of_range) {
  expect_rejected_rows("huge_numbers_are_out_of_range");
}

Test(options, path_keys_reject_empty_values) {
  expect_rejected_rows("path_keys_reject_empty_values");
}

Test(options, path_too_long_is_an_error) {
  static char spec[LG_PATH_MAX + 64];
  strcpy(spec, "log=");
  memset(spec + 4, 'a', LG_PATH_MAX);
  spec[4 + LG_PATH_MAX] = '\0';
  expect_rejected(spec, "log=", "too long");
  cr_expect_lt(strlen(err), 300, "the message quotes only the start of the value");
  spec[4 + LG_PATH_MAX - 1] = '\0'; /* 4095 bytes: fits with its terminator */
  cr_expect_eq(lg_options_parse(&opts, spec, err, sizeof err), 0, "%s", err);
  cr_expect_eq(strlen(opts.log_path), LG_PATH_MAX - 1);
}

Test(options, bad_item_after_good_ones_changes_nothing) {
  expect_rejected("exitcode=9:verbosity=7", "verbosity=7", "0 (quiet)");
  cr_expect_eq(opts.exitcode, 66);
}

Test(options, message_stays_one_line_and_fits_a_small_buffer) {
  char small[24];
  cr_assert_eq(lg_options_parse(&opts, "log\n=x\n", small, sizeof small), -EINVAL);
  cr_expect_eq(strlen(small), sizeof small - 1, "truncated to the buffer: %s", small);
  cr_expect_null(strchr(small, '\n'));
  cr_assert_eq(lg_options_parse(&opts, "exitcode=1\n2", err, sizeof err), -EINVAL);
  cr_expect_null(strchr(err, '\n'), "%s", err);
  cr_expect_eq(lg_options_parse(&opts, "bogus", NULL, 0), -EINVAL, "no buffer is fine");
}

/* ---- suppressions ---- */

/* A new empty file in $TMPDIR; its path goes to path[cap]. Returns the open fd. */
static int temp_file_create(char *path, size_t cap) {
  const char *dir = getenv("TMPDIR");
  snprintf(path, cap, "%s/lg_supp_XXXXXX", dir != NULL && *dir ? dir : "/tmp");
  return mkstemp(path);
}

Test(suppressions, parse_skips_comments_and_blank_lines) {
  const char *text = "# our own locks\n"
                     "\n"
                     "   deadlock:cache_*   \n"
                     "deadlock:*/vendor/*.c # third party\n"
                     "\t\n"
                     "deadlock: spaced";
  lg_suppressions_t *s = lg_suppressions_parse(text, "test.supp", err, sizeof err);
  cr_assert_not_null(s, "%s", err);
  cr_expect_eq(lg_suppressions_count(s), 3);
  cr_expect_str_eq(lg_suppressions_pattern(s, 0), "cache_*");
  cr_expect_str_eq(lg_suppressions_pattern(s, 1), "*/vendor/*.c");
  cr_expect_str_eq(lg_suppressions_pattern(s, 2), "spaced");
  cr_expect_null(lg_suppressions_pattern(s, 3));
  lg_suppressions_free(s);
}

Test(suppressions, empty_text_has_no_suppressions) {
  lg_suppressions_t *s = lg_suppressions_parse("", "empty", err, sizeof err);
  cr_assert_not_null(s);
  cr_expect_eq(lg_suppressions_count(s), 0);
  lg_frame_view_t f = {"main", "main.c"};
  cr_expect_eq(lg_suppressions_match(s, "deadlock", &f, 1), -1);
  lg_suppressions_free(s);
}

Test(suppressions, bad_line_names_file_and_line) {
  lg_suppressions_t *s =
      lg_suppressions_parse("deadlock:ok\n# fine\nrace:foo\n", "suppressions.txt", err, sizeof err);
  cr_assert_null(s);
  cr_expect_str_eq(err, "suppressions.txt:3: expected '<type>:<glob>' with a type of deadlock, unlock, destroy, invalid, init, condvar, hang, stall, exit, fork, got 'race:foo'");
  cr_assert_null(lg_suppressions_parse("\n\ndeadlock:\n", "x.supp", err, sizeof err));
  cr_expect_str_eq(err, "x.supp:3: expected '<type>:<glob>' with a type of deadlock, unlock, destroy, invalid, init, condvar, hang, stall, exit, fork, got 'deadlock:'");
  cr_assert_null(lg_suppressions_parse("deadlock_foo\n", "x.supp", err, sizeof err));
  cr_expect_not_null(strstr(err, "x.supp:1:"), "%s", err);
}

Test(suppressions, match_on_function_name) {
  lg_suppressions_t *s =
      lg_suppressions_parse("deadlock:never_*\ndeadlock:cache_?ock\n", "t", err, sizeof err);
  cr_assert_not_null(s);
  lg_frame_view_t frames[] = {{"main", "app.c"}, {"cache_lock", "cache.c"}};
  cr_expect_eq(lg_suppressions_match(s, "deadlock", frames, 2), 1);
  cr_expect_eq(lg_suppressions_match(s, "deadlock", frames, 1), -1, "only the frames given are searched");
  lg_frame_view_t other = {"cache_locks", "cache.c"};
  cr_expect_eq(lg_suppressions_match(s, "deadlock", &other, 1), -1, "'?' is one character");
  lg_suppressions_free(s);
}

Test(suppressions, a_suppression_hides_only_reports_of_its_type) {
  lg_suppressions_t *s = lg_suppressions_parse("deadlock:worker\n", "t", err, sizeof err);
  cr_assert_not_null(s);
  lg_frame_view_t f = {"worker", "pool.c"};
  cr_expect_str_eq(lg_suppressions_type(s, 0), "deadlock");
  cr_expect_null(lg_suppressions_type(s, 1));
  cr_expect_eq(lg_suppressions_match(s, "deadlock", &f, 1), 0);
  cr_expect_eq(lg_suppressions_match(s, "no-such-type", &f, 1), -1);
  cr_expect_eq(lg_supp_type_index("deadlock"), 0);
  cr_expect_eq(lg_supp_type_index("deadlock:"), -1);
  lg_suppressions_free(s);
}

Test(suppressions, match_on_file_base_name_and_full_path) {
  lg_suppressions_t *s = lg_suppressions_parse("deadlock:pool.c\ndeadlock:/opt/*/third_party/*\n",
                                               "t", err, sizeof err);
  cr_assert_not_null(s);
  lg_frame_view_t base = {"worker", "/home/me/src/pool.c"};
  cr_expect_eq(lg_suppressions_match(s, "deadlock", &base, 1), 0);
  lg_frame_view_t full = {"zlib_thing", "/opt/app/third_party/zlib/inflate.c"};
  cr_expect_eq(lg_suppressions_match(s, "deadlock", &full, 1), 1);
  lg_frame_view_t none = {"worker", "/home/me/src/mempool.c"};
  cr_expect_eq(lg_suppressions_match(s, "deadlock", &none, 1), -1);
  lg_frame_view_t unknown = {NULL, NULL};
  cr_expect_eq(lg_suppressions_match(s, "deadlock", &unknown, 1), -1, "unknown frames match nothing");
  lg_suppressions_free(s);
}

Test(suppressions, hits_are_counted_per_suppression) {
  lg_suppressions_t *s = lg_suppressions_parse("deadlock:a*\ndeadlock:b*\n", "t", err, sizeof err);
  cr_assert_not_null(s);
  lg_frame_view_t a = {"alpha", NULL}, b = {"beta", NULL};
  lg_frame_view_t both[] = {{"beta", NULL}, {"alpha", NULL}};
  for (int i = 0; i < 3; i++)
    cr_expect_eq(lg_suppressions_match(s, "deadlock", &a, 1), 0);
  cr_expect_eq(lg_suppressions_match(s, "deadlock", &b, 1), 1);
  cr_expect_eq(lg_suppressions_match(s, "deadlock", both, 2), 0, "the first suppression in file order wins");
  cr_expect_eq(lg_suppressions_hits(s, 0), 4);
  cr_expect_eq(lg_suppressions_hits(s, 1), 1);
  cr_expect_eq(lg_suppressions_hits(s, 2), 0);
  lg_suppressions_free(s);
}

Test(suppressions, load_reads_a_file) {
  char path[256];
  int fd = temp_file_create(path, sizeof path);
  cr_assert_geq(fd, 0);
  const char *text = "# header\ndeadlock:from_file\n";
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  lg_suppressions_t *s = lg_suppressions_load(path, err, sizeof err);
  cr_assert_not_null(s, "%s", err);
  cr_expect_eq(lg_suppressions_count(s), 1);
  cr_expect_str_eq(lg_suppressions_pattern(s, 0), "from_file");
  lg_suppressions_free(s);

  /* A bad line in a file is reported with the file's path. */
  fd = open(path, O_WRONLY | O_TRUNC);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, "deadlock:x\nbogus\n", 17), 17);
  close(fd);
  cr_expect_null(lg_suppressions_load(path, err, sizeof err));
  char want[512];
  snprintf(want, sizeof want, "%s:2: expected '<type>:<glob>' with a type of deadlock, unlock, destroy, invalid, init, condvar, hang, stall, exit, fork, got 'bogus'", path);
  cr_expect_str_eq(err, want);
  unlink(path);
}

Test(suppressions, load_of_missing_file_names_path_and_error) {
  lg_suppressions_t *s = lg_suppressions_load("/nonexistent/dir/lg.supp", err, sizeof err);
  cr_assert_null(s);
  cr_expect_not_null(strstr(err, "/nonexistent/dir/lg.supp"), "%s", err);
  cr_expect_not_null(strstr(err, "No such file or directory"), "%s", err);
  cr_expect_null(strchr(err, '\n'));
}

Test(suppressions, load_of_a_directory_is_an_error) {
  lg_suppressions_t *s = lg_suppressions_load("/", err, sizeof err);
  cr_assert_null(s);
  cr_expect_not_null(strstr(err, "Is a directory"), "%s", err);
}

Test(suppressions, large_file_loads) {
  char path[256];
  int fd = temp_file_create(path, sizeof path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  for (int i = 0; i < 5000; i++)
    fprintf(f, "deadlock:function_number_%d\n", i);
  fclose(f);
  lg_suppressions_t *s = lg_suppressions_load(path, err, sizeof err);
  unlink(path);
  cr_assert_not_null(s, "%s", err);
  cr_expect_eq(lg_suppressions_count(s), 5000);
  lg_frame_view_t fr = {"function_number_4999", NULL};
  cr_expect_eq(lg_suppressions_match(s, "deadlock", &fr, 1), 4999);
  lg_suppressions_free(s);
}
