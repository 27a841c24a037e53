/* classify.c - per-detector classifiers: verdict and first report line from a run's log.
 *
 * Each classifier first looks at how the process ended (a timeout is a hang, a signal death
 * is a crash), then at the tool's own report headers. Exit codes only confirm: a tool exit
 * status without the report that should go with it is a tool error, so a broken tool never
 * passes for a clean program nor for a catch.
 */
#include "classify.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const detector_names[HARNESS_DET_COUNT] = {
  "oracle", "compiler", "tsan-gcc", "tsan-clang", "helgrind", "drd", "lockgraph", "budget",
};

static const char *const verdict_names[HARNESS_VERDICT_COUNT] = {
  "caught", "clean", "hang", "crash", "tool-error", "not-built",
};

static const char *const verdict_shorts[HARNESS_VERDICT_COUNT] = {
  "C", "ok", "H", "X", "E", "NB",
};

const char *harness_detector_name(harness_detector_t d)
{
  return (unsigned)d < HARNESS_DET_COUNT ? detector_names[d] : NULL;
}

int harness_detector_parse(const char *name, harness_detector_t *out)
{
  for (int d = 0; d < HARNESS_DET_COUNT; d++) {
    if (strcmp(name, detector_names[d]) == 0) {
      *out = (harness_detector_t)d;
      return 0;
    }
  }
  return -EINVAL;
}

const char *harness_verdict_name(harness_verdict_t v)
{
  return (unsigned)v < HARNESS_VERDICT_COUNT ? verdict_names[v] : "?";
}

const char *harness_verdict_short(harness_verdict_t v)
{
  return (unsigned)v < HARNESS_VERDICT_COUNT ? verdict_shorts[v] : "?";
}

void harness_exit_format(const harness_exit_t *ex, double wall_s, long rss_kib, char *buf,
                         size_t cap)
{
  switch (ex->kind) {
  case HARNESS_EXIT_CODE:
    snprintf(buf, cap, "detect: exit %d, %.2f s, peak RSS %ld KiB", ex->code, wall_s, rss_kib);
    break;
  case HARNESS_EXIT_SIGNAL:
    snprintf(buf, cap, "detect: killed by signal %d (%s), %.2f s, peak RSS %ld KiB", ex->code,
             strsignal(ex->code), wall_s, rss_kib);
    break;
  case HARNESS_EXIT_TIMEOUT:
    snprintf(buf, cap, "detect: timed out after %d s; killed the process group", ex->code);
    break;
  case HARNESS_EXIT_NOT_RUN:
    snprintf(buf, cap, "detect: not run: the program or the tool is not built");
    break;
  }
}

/* Iterates lines: returns the start of the line after the one starting at p, or NULL at the
 * end of the text; *len gets the length of p's line without its newline. */
static const char *line_next(const char *p, size_t *len)
{
  const char *nl = strchr(p, '\n');
  if (!nl) {
    *len = strlen(p);
    return NULL;
  }
  *len = (size_t)(nl - p);
  return nl + 1;
}

static int starts_with(const char *s, size_t len, const char *prefix)
{
  size_t n = strlen(prefix);
  return len >= n && memcmp(s, prefix, n) == 0;
}

/* memmem for one line: is `needle` inside s[0..len)? */
static const char *line_find(const char *s, size_t len, const char *needle)
{
  size_t n = strlen(needle);
  if (n > len)
    return NULL;
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(s + i, needle, n) == 0)
      return s + i;
  return NULL;
}

/* Copies one log line into buf, trimmed, at most cap-1 bytes. */
static void line_copy(char *buf, size_t cap, const char *s, size_t len)
{
  while (len > 0 && isspace((unsigned char)*s)) {
    s++;
    len--;
  }
  while (len > 0 && isspace((unsigned char)s[len - 1]))
    len--;
  if (len >= cap)
    len = cap - 1;
  memcpy(buf, s, len);
  buf[len] = '\0';
}

/* Finds a project source location "path.c:N" in one line. A location is in the project when
 * its path starts with src_root/ or is already relative to it (buggy/, fixed/, lib/,
 * tests/). Writes "rel/path.c:N" to loc. Returns 1 when found. */
static int line_project_location(const char *s, size_t len, const char *src_root, char *loc,
                                 size_t cap)
{
  size_t root_len = strlen(src_root);
  for (size_t i = 0; i + 3 < len; i++) {
    if (s[i] != '.' || (s[i + 1] != 'c' && s[i + 1] != 'h') || s[i + 2] != ':' ||
        !isdigit((unsigned char)s[i + 3]))
      continue;
    size_t start = i;
    while (start > 0 && !isspace((unsigned char)s[start - 1]) && s[start - 1] != '(' &&
           s[start - 1] != '\'' && s[start - 1] != '"')
      start--;
    size_t end = i + 3;
    while (end < len && isdigit((unsigned char)s[end]))
      end++;
    const char *path = s + start;
    size_t path_len = end - start;
    if (root_len > 0 && path_len > root_len + 1 && memcmp(path, src_root, root_len) == 0 &&
        path[root_len] == '/') {
      path += root_len + 1;
      path_len -= root_len + 1;
    } else if (!starts_with(path, path_len, "buggy/") && !starts_with(path, path_len, "fixed/") &&
               !starts_with(path, path_len, "lib/") && !starts_with(path, path_len, "tests/")) {
      continue;
    }
    if (path_len >= cap)
      path_len = cap - 1;
    memcpy(loc, path, path_len);
    loc[path_len] = '\0';
    return 1;
  }
  return 0;
}

/* Searches the lines from p on (stopping before a line that starts with `stop`, when given)
 * for the first project location. */
static int text_project_location(const char *p, const char *stop, const char *src_root,
                                 char *loc, size_t cap)
{
  size_t len;
  while (p) {
    const char *next = line_next(p, &len);
    if (stop && starts_with(p, len, stop))
      return 0;
    if (line_project_location(p, len, src_root, loc, cap))
      return 1;
    p = next;
  }
  return 0;
}

static void finding_setf(harness_finding_t *out, harness_verdict_t v, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void finding_setf(harness_finding_t *out, harness_verdict_t v, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->first_line, sizeof out->first_line, fmt, ap);
  va_end(ap);
  out->verdict = v;
}

/* first_line = "<header> (<loc>)", or the header alone. */
static void finding_set(harness_finding_t *out, harness_verdict_t v, const char *header,
                        size_t header_len, const char *loc)
{
  char h[HARNESS_LINE_MAX];
  line_copy(h, sizeof h, header, header_len);
  out->verdict = v;
  if (loc && *loc) {
    /* Keep the location visible even when the header is long. */
    size_t room = sizeof out->first_line - strlen(loc) - 4;
    if (strlen(h) > room)
      h[room] = '\0';
    finding_setf(out, v, "%s (%s)", h, loc);
  } else {
    finding_setf(out, v, "%s", h);
  }
}

/* The verdicts every classifier shares: timeouts, signals, binaries that were never run.
 * Returns 1 when the exit alone decides. */
static int classify_exit(const harness_exit_t *ex, harness_finding_t *out)
{
  switch (ex->kind) {
  case HARNESS_EXIT_TIMEOUT:
    finding_setf(out, HARNESS_HANG, "no exit within %d s (process group killed)", ex->code);
    return 1;
  case HARNESS_EXIT_SIGNAL:
    finding_setf(out, HARNESS_CRASH, "killed by signal %d (%s)", ex->code, strsignal(ex->code));
    return 1;
  case HARNESS_EXIT_NOT_RUN:
    finding_setf(out, HARNESS_NOT_BUILT, "not built");
    return 1;
  case HARNESS_EXIT_CODE:
    if (ex->code == 127) {
      finding_setf(out, HARNESS_TOOL_ERROR, "exit 127: the command could not be run");
      return 1;
    }
    return 0;
  }
  return 0;
}

/* Finds the first line starting with `prefix` (after optional leading blanks when `indent`).
 * Returns it and its length, or NULL. */
static const char *text_find_line(const char *text, const char *prefix, size_t *len_out)
{
  const char *p = text;
  size_t len;
  while (p) {
    const char *next = line_next(p, &len);
    if (starts_with(p, len, prefix)) {
      *len_out = len;
      return p;
    }
    p = next;
  }
  return NULL;
}

/* --- oracle: the program's own invariant check ------------------------------------------ */

static void classify_oracle(const char *slug, const char *log, const harness_exit_t *ex,
                            harness_finding_t *out)
{
  char ok[128], hazard[128];
  size_t len;
  snprintf(ok, sizeof ok, "%s: OK", slug);
  snprintf(hazard, sizeof hazard, "%s: HAZARD", slug);
  const char *line;
  if (ex->code == 0) {
    if ((line = text_find_line(log, ok, &len)))
      finding_set(out, HARNESS_CLEAN, line, len, NULL);
    else
      finding_setf(out, HARNESS_TOOL_ERROR, "exit 0 without a '%s' line", ok);
  } else if (ex->code == 1) {
    if ((line = text_find_line(log, hazard, &len)))
      finding_set(out, HARNESS_CAUGHT, line, len, NULL);
    else
      finding_setf(out, HARNESS_TOOL_ERROR, "exit 1 without a '%s' line", hazard);
  } else if (ex->code == 2) {
    finding_setf(out, HARNESS_TOOL_ERROR, "exit 2: usage error");
  } else {
    finding_setf(out, HARNESS_TOOL_ERROR, "exit %d: not a status the programs use", ex->code);
  }
}

/* --- compiler: warnings from a syntax-only compile ------------------------------------- */

static void classify_compiler(const char *log, const harness_exit_t *ex, const char *src_root,
                              harness_finding_t *out)
{
  const char *p = log;
  size_t len;
  while (p) {
    const char *next = line_next(p, &len);
    const char *err = line_find(p, len, ": error: ");
    const char *fatal = line_find(p, len, ": fatal error: ");
    if (err || fatal) {
      char loc[HARNESS_LINE_MAX] = "";
      const char *msg = err ? err + 2 : fatal + 2;
      line_project_location(p, len, src_root, loc, sizeof loc);
      finding_set(out, HARNESS_TOOL_ERROR, msg, len - (size_t)(msg - p), loc);
      return;
    }
    p = next;
  }
  p = log;
  while (p) {
    const char *next = line_next(p, &len);
    const char *w = line_find(p, len, ": warning: ");
    if (w) {
      char loc[HARNESS_LINE_MAX] = "";
      line_project_location(p, len, src_root, loc, sizeof loc);
      /* A warning inside a library macro is the program's fault at the call site: prefer
       * the program's own line from the "in expansion of macro" notes that follow. */
      const char *q = next;
      size_t qlen;
      while (q && !starts_with(loc, strlen(loc), "buggy/") &&
             !starts_with(loc, strlen(loc), "fixed/")) {
        const char *qn = line_next(q, &qlen);
        if (line_find(q, qlen, ": warning: ") || line_find(q, qlen, ": error: "))
          break;
        char note[HARNESS_LINE_MAX];
        if (line_find(q, qlen, ": note: ") &&
            line_project_location(q, qlen, src_root, note, sizeof note) &&
            (starts_with(note, strlen(note), "buggy/") ||
             starts_with(note, strlen(note), "fixed/")))
          snprintf(loc, sizeof loc, "%s", note);
        q = qn;
      }
      finding_set(out, HARNESS_CAUGHT, w + 2, len - (size_t)(w + 2 - p), loc);
      return;
    }
    p = next;
  }
  if (ex->code != 0)
    finding_setf(out, HARNESS_TOOL_ERROR, "compiler exit %d without a diagnostic", ex->code);
  else
    finding_setf(out, HARNESS_CLEAN, "no warnings");
}

/* --- ThreadSanitizer ------------------------------------------------------------------- */

static void classify_tsan(const char *log, const harness_exit_t *ex, const char *src_root,
                          harness_finding_t *out)
{
  const char *line;
  size_t len;
  /* The runtime could not start (e.g. a memory layout it does not support). */
  if ((line = text_find_line(log, "FATAL: ThreadSanitizer", &len)) ||
      (line = text_find_line(log, "ThreadSanitizer: CHECK failed", &len))) {
    finding_set(out, HARNESS_TOOL_ERROR, line, len, NULL);
    return;
  }
  const char *p = log;
  while (p) {
    const char *next = line_next(p, &len);
    /* A fatal signal in the program: TSan reports it, then exits with its exitcode. */
    const char *e = line_find(p, len, "ERROR: ThreadSanitizer: ");
    if (e) {
      char loc[HARNESS_LINE_MAX] = "";
      text_project_location(next, NULL, src_root, loc, sizeof loc);
      finding_set(out, HARNESS_CRASH, e + 7, len - (size_t)(e + 7 - p), loc);
      return;
    }
    p = next;
  }
  p = log;
  while (p) {
    const char *next = line_next(p, &len);
    if (starts_with(p, len, "WARNING: ThreadSanitizer: ")) {
      const char *kind = p + strlen("WARNING: ThreadSanitizer: ");
      const char *pid = line_find(p, len, " (pid=");
      size_t kind_len = pid ? (size_t)(pid - kind) : len - (size_t)(kind - p);
      char loc[HARNESS_LINE_MAX] = "";
      text_project_location(next, "SUMMARY: ThreadSanitizer", src_root, loc, sizeof loc);
      finding_set(out, HARNESS_CAUGHT, kind, kind_len, loc);
      return;
    }
    p = next;
  }
  if (ex->code == 0 || ex->code == 1)
    finding_setf(out, HARNESS_CLEAN, "no ThreadSanitizer warnings");
  else
    finding_setf(out, HARNESS_TOOL_ERROR, "exit %d without a ThreadSanitizer report", ex->code);
}

/* --- Valgrind: Helgrind and DRD -------------------------------------------------------- */

/* Error headers, as the tools word them (after the "==pid== " prefix and, for Helgrind,
 * after an optional "Thread #N: "). */
static const char *const helgrind_headers[] = {
  "Possible data race", "lock order", "unlocked a not-locked lock", "unlocked lock",
  "pthread_cond_", "pthread_mutex_", "pthread_rwlock_", "pthread_barrier_", "sem_",
  "Exiting thread still holds", "Attempt to re-lock", "Bug in libpthread",
  "Thread #", NULL,
};

static const char *const drd_headers[] = {
  "Conflicting load", "Conflicting store", "Lock on", "Mutex", "mutex", "Destroying",
  "Recursive", "Probably a race condition", "condition variable", "Reader-writer lock",
  "The object at address", "Semaphore", "Barrier", "Thread ", "pthread_", NULL,
};

/* Strips Valgrind's "==1234== " prefix; returns NULL for lines without it (program output). */
static const char *valgrind_strip(const char *p, size_t *len)
{
  if (*len < 4 || p[0] != '=' || p[1] != '=')
    return NULL;
  const char *q = p + 2;
  while (q < p + *len && isdigit((unsigned char)*q))
    q++;
  if (q + 2 > p + *len || q[0] != '=' || q[1] != '=')
    return NULL;
  q += 2;
  if (q < p + *len && *q == ' ')
    q++;
  *len -= (size_t)(q - p);
  return q;
}

static int valgrind_is_header(harness_detector_t d, const char *s, size_t len)
{
  const char *const *list = d == HARNESS_DET_HELGRIND ? helgrind_headers : drd_headers;
  /* Announcements and stack lines are context, not errors. */
  if (line_find(s, len, " was created") || line_find(s, len, "is the program's root thread") ||
      starts_with(s, len, "at 0x") || starts_with(s, len, "by 0x") ||
      starts_with(s, len, "Thread announcement"))
    return 0;
  /* DRD prefixes a thread switch with a bare "Thread N:" line. */
  if (d == HARNESS_DET_DRD && len > 0 && s[len - 1] == ':' && starts_with(s, len, "Thread "))
    return 0;
  if (d == HARNESS_DET_HELGRIND && starts_with(s, len, "Thread #")) {
    const char *colon = line_find(s, len, ": ");
    if (colon) {
      size_t skip = (size_t)(colon + 2 - s);
      for (int i = 0; list[i]; i++)
        if (starts_with(colon + 2, len - skip, list[i]))
          return 1;
    }
  }
  for (int i = 0; list[i]; i++)
    if (starts_with(s, len, list[i]))
      return 1;
  return 0;
}

static void classify_valgrind(harness_detector_t d, const char *log, const harness_exit_t *ex,
                              const char *src_root, harness_finding_t *out)
{
  const char *p = log;
  size_t len;
  long errors = -1;
  const char *header = NULL, *after_header = NULL;
  size_t header_len = 0;
  const char *internal = NULL;
  size_t internal_len = 0;
  const char *terminating = NULL;
  size_t terminating_len = 0;

  while (p) {
    const char *next = line_next(p, &len);
    size_t slen = len;
    const char *s = valgrind_strip(p, &slen);
    if (!s) {
      /* Valgrind's own fatal messages are not pid-prefixed. */
      if (!internal && (starts_with(p, len, "valgrind: ") ||
                        line_find(p, len, "VALGRIND INTERNAL ERROR"))) {
        internal = p;
        internal_len = len;
      }
    } else if (starts_with(s, slen, "ERROR SUMMARY: ")) {
      /* One summary per process: a forked or exec'd child prints its own. */
      errors = (errors < 0 ? 0 : errors) + strtol(s + strlen("ERROR SUMMARY: "), NULL, 10);
    } else if (!terminating && starts_with(s, slen, "Process terminating with default action")) {
      terminating = s;
      terminating_len = slen;
    } else if (!header && valgrind_is_header(d, s, slen)) {
      header = s;
      header_len = slen;
      after_header = next;
    }
    p = next;
  }

  if (internal) {
    finding_set(out, HARNESS_TOOL_ERROR, internal, internal_len, NULL);
    return;
  }
  if (ex->kind == HARNESS_EXIT_SIGNAL && terminating) {
    char loc[HARNESS_LINE_MAX] = "";
    /* The stack under "Process terminating" is prefixed; search it line by line. */
    const char *q = terminating;
    size_t qlen;
    for (int i = 0; q && i < 12 && !*loc; i++) {
      const char *next = line_next(q, &qlen);
      line_project_location(q, qlen, src_root, loc, sizeof loc);
      q = next;
    }
    finding_set(out, HARNESS_CRASH, terminating, terminating_len, loc);
    return;
  }
  if (classify_exit(ex, out))
    return;
  if (errors < 0) {
    finding_setf(out, HARNESS_TOOL_ERROR, "exit %d and no ERROR SUMMARY from valgrind", ex->code);
    return;
  }
  if (errors > 0) {
    if (header) {
      char loc[HARNESS_LINE_MAX] = "";
      const char *q = after_header;
      size_t qlen;
      /* The first project frame of this error's stacks. */
      for (int i = 0; q && i < 40 && !*loc; i++) {
        const char *next = line_next(q, &qlen);
        size_t slen = qlen;
        const char *s = valgrind_strip(q, &slen);
        if (s && (starts_with(s, slen, "----") || starts_with(s, slen, "ERROR SUMMARY")))
          break;
        if (s)
          line_project_location(s, slen, src_root, loc, sizeof loc);
        q = next;
      }
      finding_set(out, HARNESS_CAUGHT, header, header_len, loc);
    } else {
      finding_setf(out, HARNESS_CAUGHT, "ERROR SUMMARY: %ld errors (header not recognized)",
                   errors);
    }
    return;
  }
  if (ex->code == 0 || ex->code == 1)
    finding_setf(out, HARNESS_CLEAN, "ERROR SUMMARY: 0 errors");
  else
    finding_setf(out, HARNESS_TOOL_ERROR, "exit %d with 0 errors reported", ex->code);
}

/* --- lockgraph ------------------------------------------------------------------------- */

static const char *const lockgraph_headers[] = {
  "lockgraph: potential deadlock", "lockgraph: deadlock", "lockgraph: self-deadlock",
  "lockgraph: hang", "lockgraph: stall", "lockgraph: lock held at thread exit", "lockgraph: fork",
  NULL,
};

static void classify_lockgraph(const char *log, const harness_exit_t *ex, const char *src_root,
                               harness_finding_t *out)
{
  const char *p = log;
  size_t len;
  while (p) {
    const char *next = line_next(p, &len);
    for (int i = 0; lockgraph_headers[i]; i++) {
      if (starts_with(p, len, lockgraph_headers[i])) {
        char loc[HARNESS_LINE_MAX] = "";
        /* The stacks are indented under the header; stop at the next report. */
        const char *q = next;
        size_t qlen;
        while (q && !*loc) {
          const char *qn = line_next(q, &qlen);
          if (qlen > 0 && !isspace((unsigned char)q[0]))
            break;
          line_project_location(q, qlen, src_root, loc, sizeof loc);
          q = qn;
        }
        finding_set(out, HARNESS_CAUGHT, p, len, loc);
        return;
      }
    }
    p = next;
  }
  if (ex->code == 0 || ex->code == 1) {
    finding_setf(out, HARNESS_CLEAN, "no lockgraph report");
    return;
  }
  /* lockgraph's own errors (bad option, missing library) start with "lockgraph:". */
  const char *line = text_find_line(log, "lockgraph: ", &len);
  if (line)
    finding_set(out, HARNESS_TOOL_ERROR, line, len, NULL);
  else
    finding_setf(out, HARNESS_TOOL_ERROR, "exit %d without a lockgraph report", ex->code);
}

/* --- budget: peak memory at -x 1 and -x 4, time blocked in each run ------------------- *
 *
 * The time limit is on the time a run spent blocked: every thread of its process tree asleep,
 * none running or waiting for a CPU (the runner's "detect: blocked X s" line before each
 * trailer). A program that waits for something that never comes is over it; a program that is
 * only slow because the machine is loaded is not. Logs without that line (older runs) are
 * judged by their wall time. */

static void classify_budget(const char *log, harness_finding_t *out)
{
  static const char *const scale[2] = {"-x 1", "-x 4"};
  const char *p = log;
  size_t len;
  long rss[2] = {-1, -1};
  double spent[2] = {0, 0}, blocked = -1;
  int steps = 0, by_blocked = 0;
  while (p) {
    const char *next = line_next(p, &len);
    double b;
    if (starts_with(p, len, "detect: blocked ") && sscanf(p, "detect: blocked %lf s", &b) == 1)
      blocked = b;
    if (starts_with(p, len, "detect: exit ") || starts_with(p, len, "detect: killed by") ||
        starts_with(p, len, "detect: timed out") || starts_with(p, len, "detect: not run")) {
      harness_exit_t ex;
      char one[HARNESS_LINE_MAX];
      line_copy(one, sizeof one, p, len);
      harness_exit_from_log(one, &ex);
      /* The runner's timeout is the wall-time budget blown by far: a catch, not a hang. */
      if (ex.kind == HARNESS_EXIT_TIMEOUT) {
        int i = steps < 2 ? steps : 1;
        finding_setf(out, HARNESS_CAUGHT,
                     "run %d (%s) did not end within %d s: over the wall-time budget of %.1f s",
                     i + 1, scale[i], ex.code, (i ? 4 : 1) * HARNESS_BUDGET_WALL_S);
        return;
      }
      if (classify_exit(&ex, out))
        return;
      if (ex.code != 0 && ex.code != 1) {
        finding_setf(out, HARNESS_TOOL_ERROR, "run %d: exit %d", steps + 1, ex.code);
        return;
      }
      const char *r = line_find(p, len, "peak RSS ");
      double w = -1;
      if (sscanf(one, "detect: exit %*d, %lf s", &w) != 1)
        w = -1;
      if (steps < 2) {
        rss[steps] = r ? strtol(r + strlen("peak RSS "), NULL, 10) : -1;
        spent[steps] = blocked >= 0 ? blocked : w;
        by_blocked = blocked >= 0;
      }
      blocked = -1;
      steps++;
    }
    p = next;
  }
  const char *how = by_blocked ? "was blocked" : "took";
  /* Over budget at -x 1: the runner did not go on to -x 4. */
  if (steps >= 1 && spent[0] > HARNESS_BUDGET_WALL_S) {
    finding_setf(out, HARNESS_CAUGHT, "run 1 (-x 1) %s %.2f s: over the wall-time budget of "
                 "%.1f s", how, spent[0], HARNESS_BUDGET_WALL_S);
    return;
  }
  if (steps < 2 || rss[0] < 0 || rss[1] < 0 || spent[0] < 0 || spent[1] < 0) {
    finding_setf(out, HARNESS_TOOL_ERROR, "expected two measured runs (-x 1, -x 4), found %d",
                 steps);
    return;
  }
  double m1 = rss[0] / 1024.0, m4 = rss[1] / 1024.0;
  if (rss[1] > 2 * rss[0] && rss[1] - rss[0] > HARNESS_BUDGET_GROWTH_KIB) {
    finding_setf(out, HARNESS_CAUGHT,
                 "peak memory grows with input: %.0f MiB at x1 -> %.0f MiB at x4", m1, m4);
    return;
  }
  if (spent[1] > 4 * HARNESS_BUDGET_WALL_S) {
    finding_setf(out, HARNESS_CAUGHT, "run 2 (-x 4) %s %.2f s: over the wall-time budget of "
                 "%.1f s", how, spent[1], 4 * HARNESS_BUDGET_WALL_S);
    return;
  }
  finding_setf(out, HARNESS_CLEAN, "peak memory %.1f MiB at x1, %.1f MiB at x4; %s %.2f s, "
               "%.2f s", m1, m4, by_blocked ? "blocked" : "took", spent[0], spent[1]);
}

int harness_exit_from_log(const char *log, harness_exit_t *ex)
{
  const char *p = log, *found = NULL;
  size_t len;
  while (p) {
    const char *next = line_next(p, &len);
    if (starts_with(p, len, "detect: exit ") || starts_with(p, len, "detect: killed by signal ") ||
        starts_with(p, len, "detect: timed out after ") || starts_with(p, len, "detect: not run"))
      found = p;
    p = next;
  }
  if (!found)
    return -ENOENT;
  if (sscanf(found, "detect: exit %d", &ex->code) == 1)
    ex->kind = HARNESS_EXIT_CODE;
  else if (sscanf(found, "detect: killed by signal %d", &ex->code) == 1)
    ex->kind = HARNESS_EXIT_SIGNAL;
  else if (sscanf(found, "detect: timed out after %d", &ex->code) == 1)
    ex->kind = HARNESS_EXIT_TIMEOUT;
  else {
    ex->kind = HARNESS_EXIT_NOT_RUN;
    ex->code = 0;
  }
  return 0;
}

int harness_classify(harness_detector_t detector, const char *slug, const char *log,
                     const harness_exit_t *ex, const char *src_root, harness_finding_t *out)
{
  if (!out)
    return -EINVAL;
  if ((unsigned)detector >= HARNESS_DET_COUNT || !slug || !log || !ex || !src_root) {
    finding_setf(out, HARNESS_TOOL_ERROR, "classify: bad argument");
    return -EINVAL;
  }
  switch (detector) {
  case HARNESS_DET_BUDGET:
    if (ex->kind == HARNESS_EXIT_NOT_RUN)
      classify_exit(ex, out);
    else
      classify_budget(log, out);
    return 0;
  case HARNESS_DET_HELGRIND:
  case HARNESS_DET_DRD:
    classify_valgrind(detector, log, ex, src_root, out);
    return 0;
  default:
    break;
  }
  if (classify_exit(ex, out))
    return 0;
  switch (detector) {
  case HARNESS_DET_ORACLE:
    classify_oracle(slug, log, ex, out);
    break;
  case HARNESS_DET_COMPILER:
    classify_compiler(log, ex, src_root, out);
    break;
  case HARNESS_DET_TSAN_GCC:
  case HARNESS_DET_TSAN_CLANG:
    classify_tsan(log, ex, src_root, out);
    break;
  case HARNESS_DET_LOCKGRAPH:
    classify_lockgraph(log, ex, src_root, out);
    break;
  default:
    break;
  }
  return 0;
}
