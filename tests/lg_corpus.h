/* lg_corpus.h - running corpus programs under the real lockgraph and reading what it reports.
 *
 * Shared by every tests/test_lockgraph*.c file. Each run is one corpus program (under
 * <build>/tests/corpus) started through the built CLI (bin/lockgraph) with --json into a
 * scratch directory and the text report captured from stderr, under a timeout of its own (the
 * child is killed, never waited on forever). The checks below then hold the exit status, the
 * first report line, the summary line and the JSON Lines reports to what the program's source
 * says: expected lines are read from the `LINE:<name>` markers in the program's source, so
 * editing a program cannot silently detach a test from it. "No report" verdicts also check that
 * the program itself ran to its end (it prints "<name>: done").
 *
 * The JSON reader is deliberately small: it builds a tree of values for one line and offers key
 * and index look-up, which is all the report format needs. Failures are Criterion assertions
 * in the calling test.
 */
#ifndef LG_CORPUS_H
#define LG_CORPUS_H

#include <limits.h>
#include <stddef.h>

#define CORPUS_SOURCE_DIR LG_SOURCE_DIR "/tests/corpus"
#define CORPUS_BUILD_DIR LG_BUILD_DIR "/tests/corpus"
#define LOCKGRAPH_CLI LG_BUILD_DIR "/bin/lockgraph"
#define LOCKGRAPH_LIB LG_BUILD_DIR "/lib/liblockgraph.so"
#define REPORT_EXITCODE 66

typedef enum json_kind {
  JSON_NULL,
  JSON_BOOL,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT,
} json_kind_t;

typedef struct json {
  json_kind_t kind;
  double number;      /* JSON_NUMBER, and 0/1 for JSON_BOOL */
  char *string;       /* JSON_STRING */
  size_t count;       /* elements of an array, members of an object */
  char **keys;        /* JSON_OBJECT member names */
  struct json *items; /* array elements or object member values */
} json_t;

typedef struct json_cursor {
  const char *p;
  const char *end;
} json_cursor_t;

#define JSON_MAX_DEPTH 64

typedef struct run_request {
  const char *program;          /* corpus program name, under <build>/tests/corpus */
  const char *const *args;      /* NULL-terminated program arguments, or NULL */
  const char *const *cli_flags; /* NULL-terminated extra CLI flags, or NULL */
  const char *options;          /* LOCKGRAPH_OPTIONS for the run, or NULL to leave it unset */
  int no_json;                  /* do not pass --json (the flags say what to do) */
  int preload;                  /* run the program with LD_PRELOAD only, without the CLI */
  const char *cli;              /* the front end to run; NULL: the build tree's bin/lockgraph */
  unsigned timeout_s;           /* kill the run after this long; 0 = 30 s */
  int leaves_daemon;            /* what the program leaves running is a daemon of its own: it
                                   ends by itself, and is not killed with the program's group
                                   (it may not have left the group yet) */
} run_request_t;

typedef struct run_result {
  char dir[PATH_MAX / 2];   /* scratch directory, removed by run_cleanup */
  char out_path[PATH_MAX];  /* program stdout */
  char err_path[PATH_MAX];  /* stderr: lockgraph's text report and any program errors */
  char json_path[PATH_MAX]; /* --json target */
  int status;               /* exit status; 128 + signal when killed; -1 on timeout */
  int timed_out;
  double seconds;
  char *out, *err, *json;   /* contents after the run ("" when the file is missing) */
} run_result_t;

#define RUN_MAX_DIRS 8

typedef struct report_set {
  json_t *objects;
  size_t count;
} report_set_t;

#define SUMMARY_KINDS_MAX 16

typedef struct summary {
  unsigned reports, potential, deadlocks, self, suppressed, locks, edges, threads;
  /* Every "<count> <noun>" inside the parentheses, the three above included, in order. */
  unsigned nkinds;
  unsigned kind_count[SUMMARY_KINDS_MAX];
  char kind_noun[SUMMARY_KINDS_MAX][48]; /* as printed, plural included */
} summary_t;

/* The count of a kind in the summary by its singular noun ("hang"); 0 when not listed. */
unsigned summary_kind(const summary_t *s, const char *noun);

typedef struct edge_expect {
  const char *held_function, *held_marker; /* where the held lock was taken */
  const char *acq_function, *acq_marker;   /* where the next lock was taken */
} edge_expect_t;

void json_free(json_t *v);

/* Parses exactly one JSON value filling [text, text+len). 0 or -EINVAL/-ENOMEM. */
int json_parse(const char *text, size_t len, json_t *out);

const json_t *json_get(const json_t *obj, const char *key);

const json_t *json_at(const json_t *arr, size_t i);

size_t json_len(const json_t *arr);

const char *json_str(const json_t *v);

/* A number, or a string holding one (addresses may come as "0x..."); -1 when neither. */
long long json_int(const json_t *v);

/* A lock named either by a bare string or by an object with a "name". */
const char *json_name(const json_t *v);

int json_str_is(const json_t *v, const char *s);

/* Whole file as a NUL-terminated string, or NULL when it cannot be read. */
char *file_read_all(const char *path);

void file_write_all(const char *path, const char *text);

/* First line that starts with `prefix` and contains `needle` (either may be ""), copied;
 * NULL when there is none. */
char *text_find_line(const char *text, const char *prefix, const char *needle);

size_t text_count_lines(const char *text, const char *prefix, const char *needle);

size_t text_count_nonempty_lines(const char *text);

/* Line number of the `LINE:<marker>` comment in a corpus source file. */
int corpus_marker_line(const char *source, const char *marker);

void run_init(run_result_t *r);

void run_cleanup(run_result_t *r);

/* Runs one program as the request says; r must come from run_init. */
void run_program(const run_request_t *rq, run_result_t *r);

void reports_load(const char *text, report_set_t *set);

void reports_free(report_set_t *set);

size_t reports_count(const report_set_t *set, const char *type);

/* Reports proper: every object that is not the summary. */
size_t reports_count_findings(const report_set_t *set);

const json_t *reports_first(const report_set_t *set, const char *type);

/* Parses the text summary. Returns how many summary lines there were (a forked child may add
 * its own); *s gets the first one, which fails the test when it does not match the format. */
size_t summary_parse(const char *err, summary_t *s);

/* Describes a frame for failure messages. */
const char *frame_describe(const json_t *frame, char *buf, size_t cap);

int file_has_basename(const char *file, const char *base);

/* A frame matches when it is in `source` at `line`, in a function named `function` (exactly
 * for C; for C++, a symbol that contains it, mangled or not). */
int frame_matches(const json_t *frame, const char *function, int exact, const char *source,
                         int line);

/* How stack_has (and the `cxx` argument of the inversion checks) looks for a frame: by default
 * frame #0 only, whose function name must be the one given; the detector hides its own frames
 * and the C++ runtime's lock wrappers (std::mutex::lock, lock_guard, __gthread_*), so a report
 * starts at the program's line. */
#define STACK_CXX 1       /* C++: the name is matched as a part ("worker_ab" in "worker_ab()") */
#define STACK_ANY_FRAME 2 /* any frame (the program's own lock helper is frame #0) */

/* Whether a stack has the frame, as `cxx` (STACK_* flags) says. */
int stack_has(const json_t *stack, const char *function, int cxx, const char *source, int line);

/* The frame to show in a failure message: #0, or for C++ the first frame in the program's
 * own source (the frames above it are libstdc++'s). */
const json_t *stack_top_in(const json_t *stack, const char *source, int cxx);

/* Checks one lock-order report against the program's source: the cycle has `n` locks of
 * `kind`, its edges follow the cycle, and every expected edge is there with both stacks. */
void expect_inversion(const json_t *rep, const char *source, size_t n, const char *kind,
                             const edge_expect_t *expect, int cxx);

/* The text report has a frame line naming `function` and source:line. */
void expect_text_frame(const char *err, const char *function, const char *source, int line);

void expect_out_line(const run_result_t *r, const char *line);

/* The text has no report line at all (every report's first line ends in "(report <n>)"). */
void expect_no_report_line(const run_result_t *r);

/* The first report line of the text is exactly `want`. */
void expect_first_report_line(const run_result_t *r, const char *want);

/* The JSON report holds nothing but the summary. */
void expect_no_json_findings(const run_result_t *r);

/* A run that must be clean: the program's own status, its last line, no report anywhere. */
void expect_clean(const run_result_t *r, const char *program);

/* The common shape of an inversion verdict: status 66, the exact first report line, one
 * potential deadlock in the summary, and the program ran to its end. */
void expect_potential_deadlock(const run_result_t *r, const char *program, size_t n);

/* The classic inversion, as most programs of the corpus write it: ab_function takes A at its
 * `ab_first` line and B at `ab_second`; ba_function takes B at `ba_first` and A at `ba_second`. */
void ab_ba_expect(edge_expect_t expect[2], const char *ab_function, const char *ba_function);

/* Runs one corpus program into a fresh result; the caller ends with run_cleanup. */
void run_corpus(const run_request_t *rq, run_result_t *r);

/* Runs an inversion program, checks the verdict of a cycle of n locks and loads its JSON
 * report into set; the caller frees set and cleans r up. */
void run_potential_deadlock(const char *program, size_t n, run_result_t *r, report_set_t *set);

/* Runs an inversion program and checks its verdict and its JSON report. */
void check_inversion(const char *program, const char *source, size_t n, const char *kind,
                            const edge_expect_t *expect, int cxx);

/* check_inversion for a program with the classic two-lock inversion (see ab_ba_expect). */
void check_ab_ba_inversion(const char *program, const char *source, const char *ab_function,
                                  const char *ba_function, const char *kind, int cxx);

/* The "no report" verdicts: each runs clean and to its end. */
void check_clean(const char *program, const char *expected_out);

/* A run ended by a fatal signal: the process died of that signal, and the summary (text line
 * and JSON object, each once) was written on the way out, after every report. */
void expect_signal_summary(const run_result_t *r, int sig, const char *name, unsigned reports);

/* Runs a program that must be refused before it starts: given a path as its one argument, it
 * would create that file. The error must be one line naming `needle`. Returns the exit status. */
int run_refused(const run_request_t *rq, const char *needle);

/* An inversion whose first order is taken right after an unusual return of a lock call; the
 * program prints `out_line` when that return happened. */
void check_inversion_after(const char *program, const char *source, const char *out_line);

#endif
