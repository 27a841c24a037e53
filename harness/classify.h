/* classify.h - turn one detector run into a verdict, read from the tool's own report.
 *
 * A run is classified from two things: how the process ended (exit status, signal, timeout)
 * and what the tool printed. The report decides: a TSan run that exits 66 without a
 * "WARNING: ThreadSanitizer:" header is a tool error, not a catch; a Valgrind run is a catch
 * because of its error headers and its "ERROR SUMMARY", not because of --error-exitcode.
 *
 * Every log the runner writes is self-describing (see runner.h): a header line with the exact
 * command, the tool's output, and a trailer line with the way the process ended. So a stored
 * log alone is enough to classify it again (harness_exit_from_log), which is what the
 * fixture tests do.
 */
#ifndef HARNESS_CLASSIFY_H
#define HARNESS_CLASSIFY_H

#include <stddef.h>

/* The matrix columns, in the order they are printed. */
typedef enum harness_detector {
  HARNESS_DET_ORACLE,
  HARNESS_DET_COMPILER,
  HARNESS_DET_TSAN_GCC,
  HARNESS_DET_TSAN_CLANG,
  HARNESS_DET_HELGRIND,
  HARNESS_DET_DRD,
  HARNESS_DET_LOCKGRAPH,
  HARNESS_DET_BUDGET,
  HARNESS_DET_COUNT
} harness_detector_t;

typedef enum harness_verdict {
  HARNESS_CAUGHT,
  HARNESS_CLEAN,
  HARNESS_HANG,
  HARNESS_CRASH,
  HARNESS_TOOL_ERROR,
  HARNESS_NOT_BUILT,
  HARNESS_VERDICT_COUNT
} harness_verdict_t;

/* How a process ended. NOT_RUN: the binary did not exist, nothing was started. */
typedef enum harness_exit_kind {
  HARNESS_EXIT_CODE,
  HARNESS_EXIT_SIGNAL,
  HARNESS_EXIT_TIMEOUT,
  HARNESS_EXIT_NOT_RUN
} harness_exit_kind_t;

typedef struct harness_exit {
  harness_exit_kind_t kind;
  int code;        /* exit status (EXIT_CODE), signal number (EXIT_SIGNAL), seconds (TIMEOUT) */
} harness_exit_t;

#define HARNESS_LINE_MAX 240

typedef struct harness_finding {
  harness_verdict_t verdict;
  /* The tool's first report line, shortened, with "(file:line)" where the tool gives one;
   * for other verdicts, why (e.g. "killed by signal 11"). Never empty after classify. */
  char first_line[HARNESS_LINE_MAX];
} harness_finding_t;

/* Column name ("tsan-gcc"), or NULL for an out-of-range value. */
const char *harness_detector_name(harness_detector_t d);

/* Looks a column name up. Returns 0 and sets *out, or -EINVAL when the name is unknown. */
int harness_detector_parse(const char *name, harness_detector_t *out);

/* "caught", "clean", "hang", "crash", "tool-error", "not-built". */
const char *harness_verdict_name(harness_verdict_t v);

/* The matrix abbreviation: "C", "ok", "H", "X", "E", "NB". */
const char *harness_verdict_short(harness_verdict_t v);

/* Formats the trailer line the runner appends to every log (no newline), e.g.
 * "detect: exit 66, 1.25 s, peak RSS 10240 KiB". */
void harness_exit_format(const harness_exit_t *ex, double wall_s, long rss_kib, char *buf,
                         size_t cap);

/* Reads the LAST trailer line of a log back. Returns 0, or -ENOENT when the log has none. */
int harness_exit_from_log(const char *log, harness_exit_t *ex);

/* Classifies one run of `detector` on program `slug`.
 *   log       the whole log text (NUL-terminated), as the runner wrote it
 *   ex        how the (last) process ended
 *   src_root  the source checkout the tools saw (absolute, no trailing '/'); paths under it
 *             are printed relative to it ("buggy/lost_update.c:31")
 * Always fills *out. Returns 0, or -EINVAL for a bad argument. */
int harness_classify(harness_detector_t detector, const char *slug, const char *log,
                     const harness_exit_t *ex, const char *src_root, harness_finding_t *out);

/* The budget thresholds: caught when peak RSS at -x 4 is more than twice that at -x 1 and
 * more than this many KiB above it. */
#define HARNESS_BUDGET_GROWTH_KIB (16L * 1024)

/* The wall-time budget, in seconds, of the run at -x 1 (the run at -x 4 gets four times as
 * much), on the time the run spent blocked: every thread of its process tree asleep, none
 * running or waiting for a CPU (runner.h). A run blocked longer, or one the runner's timeout
 * ends, is caught, and after a -x 1 run over its budget the -x 4 run is skipped. A program that
 * is only slow because the machine is loaded (beside two busy loops, a fixed program's 0.06 s
 * once took 3.5 s of wall time) is not blocked, so it stays within it; every fixed program
 * blocks for well under it. A hazard that would hang ends itself instead, with alarm(2) after
 * 2 s of waiting, longer than this budget: so budget catches the hang that the program's own
 * timeout cut short, and says how long it was blocked. */
#define HARNESS_BUDGET_WALL_S 1.5

#endif
