/* options.h - LOCKGRAPH_OPTIONS and suppressions.
 *
 * Options are "key=value" pairs separated by ':' (as TSAN_OPTIONS), parsed strictly: an
 * unknown key, a missing '=', or a value of the wrong kind is an error whose message names the
 * key and what it accepts. Empty items (a trailing ':', "a=1::b=2") are ignored; a repeated
 * key takes its last value. Numbers are plain decimal digits (no sign, no spaces, no 0x),
 * range checked. A path value may not be empty or longer than LG_PATH_MAX - 1 bytes.
 * The CLI (`lockgraph --json FILE ... -- prog`) builds the same string, so both paths share
 * this parser and its messages.
 *
 * Keys (defaults in brackets):
 *   json=FILE           JSON Lines reports, one object per report plus a summary [none]
 *   log=FILE            text reports [stderr]
 *   watchdog_ms=N       report and end a real deadlock once threads wait N ms, 0..86400000;
 *                       0 = off [1000]
 *   suppressions=FILE   file of suppression lines, see below [none]
 *   exitcode=N          exit status when anything was reported, 0..255 [66]
 *   stack_depth=N       frames kept per stack, 1..64 [16]
 *   verbosity=N         the exit summary, 0..3 [1]: 0 never; 1 only when anything was reported
 *                       or suppressed or a fatal signal ended the run (a clean run prints
 *                       nothing, as TSan); 2 always; 3 also the detector's memory. The JSON
 *                       summary object is written whatever the verbosity.
 *   sarif=FILE          every report as a SARIF 2.1.0 result, written at the end of the run
 *                       (sarif.h) [none]
 *   halt_on_error=N     1: a lock misuse report (misuse.h) ends the run with the exit code,
 *                       as a deadlock does; 0: the run goes on, 0..1 [0]
 *   stall_ms=N          report a lock held across a blocking call once another thread has
 *                       waited N ms for it, 0..86400000; 0 = off [100]
 *
 * Suppressions: one per line, `<type>:<glob>`; '#' starts a comment; blank lines are
 * ignored. The type names the kind of report it hides (lg_supp_types: `deadlock` for lock-order
 * cycles, deadlocks that happened and self-deadlocks; each further kind of report has a type of
 * its own: the lock misuse kinds', and `hang`, `stall`, `exit` (a lock held at thread exit) and
 * `fork`). The glob (fnmatch, '*' and '?') is matched against
 * every frame of every stack of a report of that type: the function name, and the source file
 * (full path or base name). Any match hides the report.
 */
#ifndef LG_OPTIONS_H
#define LG_OPTIONS_H

#include <stddef.h>

#define LG_PATH_MAX 4096

typedef struct lg_options {
  char json_path[LG_PATH_MAX];   /* "" = no JSON */
  char log_path[LG_PATH_MAX];    /* "" = stderr */
  char suppressions_path[LG_PATH_MAX];
  unsigned watchdog_ms;
  int exitcode;
  unsigned stack_depth;
  unsigned verbosity;
  char sarif_path[LG_PATH_MAX];  /* "" = no SARIF */
  unsigned halt_on_error;
  unsigned stall_ms;
} lg_options_t;

/* Fills *o with the defaults. */
void lg_options_defaults(lg_options_t *o);

/* Parses `spec` (may be NULL or empty) over the current values of *o. Returns 0, or -EINVAL
 * with a one-line message (no newline, truncated to err_cap; err may be NULL) in err, and *o
 * unchanged (all or nothing). Messages look like:
 *   "LOCKGRAPH_OPTIONS: unknown key 'jsn' (keys: json, log, watchdog_ms, ...)"
 *   "LOCKGRAPH_OPTIONS: watchdog_ms=abc: expected a number of milliseconds, 0 to disable
 *    (max 86400000)"  (one line; wrapped here)
 *   "LOCKGRAPH_OPTIONS: exitcode=300: out of range: expected an exit status, 0..255"
 *   "LOCKGRAPH_OPTIONS: verbosity: missing '=': expected verbosity=<0 (quiet), 1 ... or 3 ...>"
 * Quoted input has control characters shown as '?' and is cut after 64 bytes. */
int lg_options_parse(lg_options_t *o, const char *spec, char *err, size_t err_cap);

/* A report path as every process of a run must name it (one may change directory): made
 * absolute against the working directory. 0, or -1 when it does not fit in cap. */
int lg_path_absolute(const char *path, char *out, size_t cap);

/* What a report path names, by stat(2) (symbolic links followed): nothing yet (a file will be
 * made; also a path stat cannot reach, whose open then says why), a regular file, a character
 * device (/dev/null, a terminal: written through), a FIFO (written to while a reader has it
 * open), or something no report can go to (a directory, a socket, a block device). */
enum { LG_PATH_NEW, LG_PATH_FILE, LG_PATH_DEVICE, LG_PATH_FIFO, LG_PATH_UNFIT };
int lg_path_kind(const char *path);

/* Opens a log or JSON report path for appending (O_CREAT, close-on-exec) without blocking on
 * a FIFO nobody reads (ENXIO then) or waiting forever for one; the descriptor it returns
 * blocks as usual. -1 with errno on failure (EISDIR and the like for an unfit path). */
int lg_report_open_append(const char *path);

/* The scratch JSON Lines file a SARIF log is made from when no json= is given:
 * $TMPDIR/lockgraph-<pid>.reports.jsonl (/tmp when $TMPDIR is not an absolute path). The front
 * end names it for the program it executes (same pid), the runtime for a process started
 * without it. 0, or -1 when it does not fit in cap. */
int lg_sarif_scratch_name(char *out, size_t cap, long pid);

typedef struct lg_suppressions lg_suppressions_t;

/* The suppression types, NULL-terminated, and the index of one (-1 when unknown). */
extern const char *const lg_supp_types[];
int lg_supp_type_index(const char *type);

/* Parses suppression text. Returns NULL and a one-line message naming the line number and
 * what is accepted, e.g. "suppressions.txt:3: expected '<type>:<glob>' with a type of
 * deadlock, ..., got 'race:foo'".
 * `name` (NULL: "suppressions") prefixes the message. Blanks around the glob are dropped. */
lg_suppressions_t *lg_suppressions_parse(const char *text, const char *name,
                                         char *err, size_t err_cap);
/* Reads and parses a file; a file that cannot be read is an error naming the path and errno,
 * e.g. "suppressions: cannot open 'x.supp': No such file or directory". */
lg_suppressions_t *lg_suppressions_load(const char *path, char *err, size_t err_cap);
void lg_suppressions_free(lg_suppressions_t *s);

/* One stack frame as the matcher sees it; any field may be NULL when unknown. */
typedef struct lg_frame_view {
  const char *function;
  const char *file;
} lg_frame_view_t;

/* Index of the first suppression (in file order) of the given type matching any of the
 * frames, or -1. Counts the hit (atomically: concurrent calls are safe once parsing is done).
 * fnmatch without flags, so '*' also crosses '/' in a path glob. */
int lg_suppressions_match(lg_suppressions_t *s, const char *type, const lg_frame_view_t *frames,
                          size_t n);
size_t lg_suppressions_count(const lg_suppressions_t *s);
/* How many reports suppression i has hidden so far. */
size_t lg_suppressions_hits(const lg_suppressions_t *s, size_t i);
const char *lg_suppressions_pattern(const lg_suppressions_t *s, size_t i);
/* The type of suppression i ("deadlock", ...). */
const char *lg_suppressions_type(const lg_suppressions_t *s, size_t i);

#endif
