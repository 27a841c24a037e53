/* sarif.h - lockgraph's reports as a SARIF 2.1.0 log (the format code-scanning services read).
 *
 * The input is the JSON Lines report stream the runtime writes (report.c): one object per
 * report and a "summary" object per process. The conversion knows no report kind by name:
 * whatever a report's "type" is becomes the result's rule (rule id = type), so a kind added
 * to the runtime maps without a change here. Per report:
 *   message            "message" when the report has one, else its type in words with its
 *                      "cycle" and "scenario" lines
 *   stacks             every stack the report holds: "edges"[].held_stack and acquire_stack,
 *                      "threads"[].stack, "sections"[].stack (labelled by "label"), and a
 *                      top-level held_stack / acquire_stack / stack; each becomes a SARIF
 *                      stack with all its frames
 *   locations          the program's line of the first acquisition stack (an edge's
 *                      acquire_stack, else the first stack): its first frame with a source line
 *   relatedLocations   the same line of each other stack, with the stack's label
 *   codeFlows          one thread flow per edge (held lock taken, then the next one), per
 *                      blocked thread and per section
 * Source paths relative to the working directory become URIs relative to the SRCROOT base
 * (given as that directory); absolute ones become file:// URIs; paths a compiler left relative
 * to some other directory ("./x.c", "../x.c": the C library's own frames) keep only the
 * function name. Summary objects, blank lines and lines that are not JSON objects are skipped.
 *
 * Allocation-free and stdio-free: it reads with pread(2) into a static buffer, writes with
 * write(2), and so can run from the runtime's exit path and from its fatal-signal handler. For
 * the same reason it is not reentrant: one conversion at a time per process. A report line
 * longer than LG_SARIF_LINE_MAX bytes is skipped and counted.
 */
#ifndef LG_SARIF_H
#define LG_SARIF_H

#include <stddef.h>

#define LG_SARIF_LINE_MAX (1u << 20)
#define LG_SARIF_RULES_MAX 64

typedef struct lg_sarif_stats {
  unsigned results; /* reports written as results */
  unsigned skipped; /* report lines too long or not parseable */
} lg_sarif_stats_t;

/* Reads the JSON Lines in in_fd (from offset 0, with pread: the descriptor's offset is left
 * alone) and writes one complete SARIF log to out_fd. `version` is the tool version;
 * `src_root` (NULL: none) is the directory relative source paths are relative to, absolute.
 * Returns 0 or a negative errno value (a read or write error); stats may be NULL. */
int lg_sarif_convert(int in_fd, int out_fd, const char *version, const char *src_root,
                     lg_sarif_stats_t *stats);

#endif
