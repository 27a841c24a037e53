/* test_harness_expectations.c - the expectations.tsv parser and the gate's judgement rule.
 *
 * The real harness/expectations.tsv must parse; every kind of bad line must be refused with a
 * message naming the file and the line number.
 */
#include "expectations.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A complete, valid block for one slug; tests append or damage lines around it. */
#define GOOD_BLOCK                                                                  \
  "# comment\n"                                                                     \
  "\n"                                                                              \
  "lost_update\toracle\tcaught\tfinal count too small\n"                            \
  "lost_update\tcompiler\tmiss\tvalid C\n"                                          \
  "lost_update\ttsan-gcc\tcaught\n"                                                 \
  "lost_update\ttsan-clang\tcaught\n"                                               \
  "lost_update\thelgrind\tcaught\n"                                                 \
  "lost_update\tdrd\tcaught\n"                                                      \
  "lost_update\tlockgraph\tmiss\tno lock\n"                                         \
  "lost_update\tbudget\tmiss\tno growth\n"

static void expect_error(const char *text, const char *message)
{
  harness_expectations_t *e = (harness_expectations_t *)1;
  char err[512] = "";
  int rc = harness_expectations_parse(text, "expectations.tsv", &e, err, sizeof err);
  cr_expect_eq(rc, -EINVAL, "rc %d for a bad table", rc);
  cr_expect_null(e);
  cr_expect_str_eq(err, message);
}

Test(harness_expectations, real_file_parses_and_covers_every_pair)
{
  harness_expectations_t *e;
  char err[512] = "";
  int rc = harness_expectations_load(LG_SOURCE_DIR "/harness/expectations.tsv", &e, err,
                                     sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  const char *reason;
  cr_expect_eq(harness_expectations_get(e, "lost_update", 0, HARNESS_DET_HELGRIND, NULL),
               HARNESS_EXPECT_CAUGHT);
  cr_expect_eq(harness_expectations_get(e, "check_then_set", 0, HARNESS_DET_TSAN_GCC, &reason),
               HARNESS_EXPECT_MISS);
  cr_expect(strstr(reason, "every access is locked") != NULL, "reason: %s", reason);
  cr_expect_eq(harness_expectations_get(e, "lock_order_deadlock", 0, HARNESS_DET_DRD, NULL),
               HARNESS_EXPECT_MISS);
  cr_expect_eq(harness_expectations_get(e, "unbounded_submit", 0, HARNESS_DET_BUDGET, NULL),
               HARNESS_EXPECT_CAUGHT);
  cr_expect_eq(harness_expectations_get(e, "swallowed_error", 0, HARNESS_DET_COMPILER, NULL),
               HARNESS_EXPECT_CAUGHT);
  /* Fixed programs are always expected clean, whatever the table says about the buggy one. */
  cr_expect_eq(harness_expectations_get(e, "lost_update", 1, HARNESS_DET_HELGRIND, NULL),
               HARNESS_EXPECT_CLEAN);
  /* One slug per pair in the tree, no more, no less. */
  size_t pairs = 0;
  DIR *d = opendir(LG_SOURCE_DIR "/buggy");
  cr_assert_not_null(d);
  for (struct dirent *de; (de = readdir(d));) {
    size_t n = strlen(de->d_name);
    char fixed[1024];
    if (n < 3 || strcmp(de->d_name + n - 2, ".c") != 0)
      continue;
    snprintf(fixed, sizeof fixed, "%s/fixed/%s", LG_SOURCE_DIR, de->d_name);
    if (access(fixed, R_OK) != 0)
      continue;
    pairs++;
    de->d_name[n - 2] = '\0';
    cr_expect_neq(harness_expectations_get(e, de->d_name, 0, HARNESS_DET_ORACLE, NULL),
                  HARNESS_EXPECT_NONE, "%s has no expectations", de->d_name);
  }
  closedir(d);
  cr_expect_eq(harness_expectations_slug_count(e), pairs);
  harness_expectations_free(e);
}

Test(harness_expectations, every_miss_in_the_real_file_has_a_reason)
{
  harness_expectations_t *e;
  char err[512] = "";
  cr_assert_eq(harness_expectations_load(LG_SOURCE_DIR "/harness/expectations.tsv", &e, err,
                                         sizeof err), 0, "%s", err);
  for (size_t i = 0; i < harness_expectations_slug_count(e); i++)
    for (int d = 0; d < HARNESS_DET_COUNT; d++) {
      const char *reason;
      const char *slug = harness_expectations_slug(e, i);
      harness_expect_t x = harness_expectations_get(e, slug, 0, (harness_detector_t)d, &reason);
      if (x == HARNESS_EXPECT_MISS)
        cr_expect(strlen(reason) > 5, "%s %s: miss without a reason", slug,
                  harness_detector_name((harness_detector_t)d));
    }
  harness_expectations_free(e);
}

Test(harness_expectations, wrong_field_count_names_the_line)
{
  expect_error(GOOD_BLOCK "check_then_set oracle caught\n",
               "expectations.tsv:11: expected 3 or 4 tab-separated fields (slug, detector, "
               "caught|miss, reason), got 1");
}

Test(harness_expectations, unknown_detector_lists_the_valid_ones)
{
  expect_error("lost_update\thelgrnd\tcaught\n",
               "expectations.tsv:1: unknown detector 'helgrnd' (detectors: oracle, compiler, "
               "tsan-gcc, tsan-clang, helgrind, drd, lockgraph, budget)");
}

Test(harness_expectations, bad_expectation_word)
{
  expect_error(GOOD_BLOCK "\nx\toracle\tmaybe\twhy\n",
               "expectations.tsv:12: expected 'caught' or 'miss', got 'maybe'");
}

Test(harness_expectations, miss_without_reason_is_refused)
{
  expect_error("\n\nlost_update\tcompiler\tmiss\n",
               "expectations.tsv:3: lost_update compiler: an expected miss needs a reason "
               "(4th field)");
}

Test(harness_expectations, duplicate_entry_names_both_lines)
{
  expect_error(GOOD_BLOCK "lost_update\tdrd\tmiss\tsecond thoughts\n",
               "expectations.tsv:11: second entry for lost_update drd (first at line 8)");
}

Test(harness_expectations, incomplete_slug_is_refused)
{
  expect_error("# x\nlost_update\toracle\tcaught\n",
               "expectations.tsv:2: lost_update has no entry for detector compiler");
}

Test(harness_expectations, bad_slug_is_refused)
{
  expect_error("Lost Update\toracle\tcaught\n",
               "expectations.tsv:1: 'Lost Update' is not a slug (lower case letters, digits, '_')");
}

Test(harness_expectations, missing_file_is_an_errno)
{
  harness_expectations_t *e;
  char err[512] = "";
  cr_expect_eq(harness_expectations_load(LG_BUILD_DIR "/no/such/expectations.tsv", &e, err,
                                         sizeof err), -ENOENT);
  cr_expect(strstr(err, "No such file") != NULL, "%s", err);
}

Test(harness_expectations, too_many_fields_counts_them_all)
{
  expect_error("lost_update\toracle\tcaught\twhy\tmore\tand more\n",
               "expectations.tsv:1: expected 3 or 4 tab-separated fields (slug, detector, "
               "caught|miss, reason), got 6");
}

Test(harness_expectations, directory_is_refused_as_a_directory)
{
  harness_expectations_t *e = NULL;
  char err[512] = "";
  cr_expect_eq(harness_expectations_load(LG_SOURCE_DIR "/harness", &e, err, sizeof err),
               -EISDIR);
  cr_expect_null(e);
  cr_expect(strstr(err, "Is a directory") != NULL, "%s", err);
}

Test(harness_expectations, judgement_rule)
{
  cr_expect_eq(harness_judge(HARNESS_EXPECT_CAUGHT, HARNESS_CAUGHT), HARNESS_JUDGE_PASS);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_CAUGHT, HARNESS_CLEAN), HARNESS_JUDGE_FAIL);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_CAUGHT, HARNESS_NOT_BUILT), HARNESS_JUDGE_FAIL);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_MISS, HARNESS_CLEAN), HARNESS_JUDGE_PASS);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_MISS, HARNESS_CAUGHT), HARNESS_JUDGE_NOTE);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_MISS, HARNESS_NOT_BUILT), HARNESS_JUDGE_SKIP);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_MISS, HARNESS_CRASH), HARNESS_JUDGE_FAIL);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_CLEAN, HARNESS_CLEAN), HARNESS_JUDGE_PASS);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_CLEAN, HARNESS_CAUGHT), HARNESS_JUDGE_FAIL);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_CLEAN, HARNESS_NOT_BUILT), HARNESS_JUDGE_SKIP);
  cr_expect_eq(harness_judge(HARNESS_EXPECT_CLEAN, HARNESS_HANG), HARNESS_JUDGE_FAIL);
}
