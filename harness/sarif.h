/* sarif.h - the matrix where CI systems read results: a SARIF 2.1.0 log (results.sarif,
 * for code-scanning services) and GitHub Actions annotations (`::error file=...::` lines).
 *
 * Both list the gate's failures from the same walk (harness_gate_failure_next), so they agree
 * with the gate's own lines: every cell whose verdict does not match its expectation, and
 * every selected detector of a hazard without expectations (its buggy cells cannot be judged).
 * A failure points at the file:line the tool's first report line gave, else at the program's
 * source (buggy/<slug>.c or fixed/<slug>.c) at its `BUG:` (or `FIX:`) marker line.
 *
 * The SARIF log also has one result per caught buggy cell (rule: the detector that caught it,
 * level "warning": the hazard is real and in that file), so the log shows who caught what.
 * Paths are relative to the source checkout (the SRCROOT base).
 */
#ifndef HARNESS_SARIF_H
#define HARNESS_SARIF_H

#include "report.h"

#include <limits.h>
#include <stdio.h>

/* One gate failure, as the walk gives it. */
typedef struct harness_gate_failure {
  size_t next;          /* walk position: 0 before the first */
  size_t slug;
  int fixed;
  harness_detector_t det;
  const harness_run_t *run; /* NULL for a hazard without expectations */
  char title[160];      /* "check_then_set buggy helgrind" */
  char message[PATH_MAX + 1024]; /* "expected caught, got clean: <first line> (log: ...)" */
  char file[512];       /* relative to the source checkout */
  int line;             /* 0: none */
} harness_gate_failure_t;

/* Steps *g to the next gate failure; 0 after the last. `expect_path` names the expectations
 * file in messages; src_dir is the checkout. */
int harness_gate_failure_next(const harness_matrix_t *m, const char *src_dir,
                              const char *expect_path, harness_gate_failure_t *g);

/* The "(file:line)" a first report line ends with, into file/line; else the program's source
 * file (under src_dir) and the line of its BUG:/FIX: marker, or 0 when it has none. */
void harness_finding_location(const char *first_line, const char *src_dir, const char *slug,
                              int fixed, char *file, size_t cap, int *line);

/* Writes the SARIF log. `source_dir` is the checkout (absolute or not: it is resolved).
 * Returns 0 or -errno. */
int harness_sarif_write(const char *path, const harness_matrix_t *m, const char *source_dir,
                        const char *expect_path);

/* Which annotation style to print: none, or GitHub Actions workflow commands. */
typedef enum { HARNESS_ANNOTATE_NONE, HARNESS_ANNOTATE_GITHUB } harness_annotate_t;

/* Parses --annotate's value ("github", "none"); -EINVAL when unknown. */
int harness_annotate_parse(const char *s, harness_annotate_t *out);

/* The default: github when the environment says GitHub Actions runs us (GITHUB_ACTIONS=true). */
harness_annotate_t harness_annotate_default(void);

/* One `::error file=F,line=L,title=T::message` line per gate failure (escaped as GitHub's
 * workflow commands require). Returns the number printed. */
int harness_annotations_print(FILE *f, const harness_matrix_t *m, const char *src_dir,
                              const char *expect_path);

#endif
