/* expectations.h - the ground truth: which detector is expected to catch which buggy program.
 *
 * One data file, harness/expectations.tsv, one line per (slug, detector):
 *
 *   slug <TAB> detector <TAB> caught|miss <TAB> reason
 *
 * '#' starts a comment line; blank lines are ignored. The reason is required for "miss" (a
 * documented miss is a result, and says why) and optional for "caught". A slug that appears
 * must list every detector once. Fixed programs need no lines: they are always expected clean.
 *
 * The parser is strict: the first bad line is an error naming the file and the line number.
 */
#ifndef HARNESS_EXPECTATIONS_H
#define HARNESS_EXPECTATIONS_H

#include "classify.h"

#include <stddef.h>

typedef enum harness_expect {
  HARNESS_EXPECT_NONE,     /* the slug has no lines: judged SKIP here; detect fails the
                            * slug's buggy cells as "no expectation" */
  HARNESS_EXPECT_CAUGHT,
  HARNESS_EXPECT_MISS,
  HARNESS_EXPECT_CLEAN     /* every fixed program, under every detector */
} harness_expect_t;

/* How one cell compares with its expectation. */
typedef enum harness_judgement {
  HARNESS_JUDGE_PASS,
  HARNESS_JUDGE_FAIL,
  HARNESS_JUDGE_NOTE,      /* an expected miss that was caught: reported, not a failure */
  HARNESS_JUDGE_SKIP       /* not built (and not expected to catch), or no expectation */
} harness_judgement_t;

typedef struct harness_expectations harness_expectations_t;

/* Parses TSV text; `name` is used in messages ("expectations.tsv:7: ..."). Returns 0 and a new
 * table in *out, or a negative errno with a one-line message (no newline) in err:
 * -EINVAL for a bad line, -ENOMEM. */
int harness_expectations_parse(const char *text, const char *name, harness_expectations_t **out,
                               char *err, size_t err_cap);

/* Reads and parses a file. Returns 0, or -errno (unreadable file) / the parse error. */
int harness_expectations_load(const char *path, harness_expectations_t **out, char *err,
                              size_t err_cap);

void harness_expectations_free(harness_expectations_t *e);

/* The expectation for one cell. `fixed` selects the fixed program (always CLEAN). The reason
 * (may be "") goes to *reason when reason is not NULL. */
harness_expect_t harness_expectations_get(const harness_expectations_t *e, const char *slug,
                                          int fixed, harness_detector_t d, const char **reason);

/* Number of slugs in the table, and the i-th one (in file order). */
size_t harness_expectations_slug_count(const harness_expectations_t *e);
const char *harness_expectations_slug(const harness_expectations_t *e, size_t i);

/* Judges a verdict against an expectation:
 *   CLEAN  : clean passes; not-built is skipped; anything else fails.
 *   CAUGHT : caught passes; anything else fails (not-built included: the column must exist).
 *   MISS   : clean passes, caught is a note, not-built is skipped; hang, crash and tool-error
 *            fail (a detector expected to miss must still run properly).
 *   NONE   : skipped (detect reports each such buggy cell as a failure of its own). */
harness_judgement_t harness_judge(harness_expect_t expect, harness_verdict_t got);

/* "caught", "miss", "clean", "none". */
const char *harness_expect_name(harness_expect_t e);

#endif
