/* report.h - what `detect` prints and writes: the matrix, the first report lines, the gate,
 * summary.json and junit.xml.
 *
 * All of them read one harness_matrix_t: a run per (slug, buggy|fixed, detector), classified,
 * plus the expectations. The judgement of a cell (pass, fail, note, skip) comes from
 * harness_judge() in expectations.h, so the matrix marks, the gate and junit.xml agree.
 */
#ifndef HARNESS_REPORT_H
#define HARNESS_REPORT_H

#include "expectations.h"
#include "runner.h"

#include <stdio.h>

typedef struct harness_matrix {
  size_t nslugs;
  char **slugs;
  /* nslugs * 2 * HARNESS_DET_COUNT runs; see harness_matrix_run(). */
  harness_run_t *runs;
  int selected[HARNESS_DET_COUNT];   /* columns asked for with --detector (all by default) */
  const harness_expectations_t *expect;
  const char *build_dir;             /* as the user wrote it, for the paths we print */
  unsigned repeat;                   /* >= 1 */
  int *flips;                        /* per run: verdict changes between repetitions */
} harness_matrix_t;

/* The run of one cell. */
harness_run_t *harness_matrix_run(const harness_matrix_t *m, size_t slug, int fixed,
                                  harness_detector_t d);

/* The cell's expectation and how its verdict compares with it. */
harness_judgement_t harness_matrix_judge(const harness_matrix_t *m, size_t slug, int fixed,
                                         harness_detector_t d);

/* The matrix with its legend (fits in 120 columns). */
void harness_matrix_print(FILE *f, const harness_matrix_t *m);

/* For each buggy program, the first report line of each detector that caught it. */
void harness_findings_print(FILE *f, const harness_matrix_t *m);

/* One line per mismatch, starting with `prefix` ("gate: FAIL " or "detect: unexpected: "),
 * one "note" line per expected miss that was caught. Adds to *passed / *failed the cells
 * checked (skipped cells are not counted) and returns the number of failures. */
int harness_gate_print(FILE *f, const harness_matrix_t *m, const char *prefix, int *passed,
                       int *failed);

/* Cells whose verdict changed between repetitions; returns the total number of flips. */
int harness_flips_print(FILE *f, const harness_matrix_t *m);

/* Machine-readable results. Both return 0 or -errno. */
int harness_summary_json_write(const char *path, const harness_matrix_t *m);
/* Writes s as a JSON string literal (quotes, escapes for '"', '\\' and control characters). */
void harness_json_string(FILE *f, const char *s);
int harness_junit_write(const char *path, const harness_matrix_t *m);

#endif
