/* options.c - LOCKGRAPH_OPTIONS and the suppressions file.
 *
 * Runs inside the preloaded library, usually before main: no malloc (lg_mem only), no stdio
 * streams (the file is read with read(2)). Messages are built with snprintf into the
 * caller's buffer and are always one line: text quoted from the input has its control
 * characters replaced and is shortened.
 */
#define _GNU_SOURCE
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

#define OPTIONS_QUOTE_MAX 64 /* bytes of user text quoted in a message */

typedef enum { OPT_PATH, OPT_NUMBER } opt_kind_t;

typedef struct opt_key {
  const char *name;
  opt_kind_t kind;
  const char *accepts; /* finishes "expected ..." */
  size_t offset;       /* of the field in lg_options_t */
  unsigned long min, max;
} opt_key_t;

#define OPT_FIELD(f) offsetof(lg_options_t, f)

static const opt_key_t opt_keys[] = {
    {"json", OPT_PATH, "a file path for JSON Lines reports", OPT_FIELD(json_path), 0, 0},
    {"log", OPT_PATH, "a file path for text reports", OPT_FIELD(log_path), 0, 0},
    {"watchdog_ms", OPT_NUMBER, "a number of milliseconds, 0 to disable (max 86400000)",
     OPT_FIELD(watchdog_ms), 0, 86400000},
    {"suppressions", OPT_PATH, "a suppressions file path", OPT_FIELD(suppressions_path), 0, 0},
    {"exitcode", OPT_NUMBER, "an exit status, 0..255", OPT_FIELD(exitcode), 0, 255},
    {"stack_depth", OPT_NUMBER, "a frame count, 1..64", OPT_FIELD(stack_depth), 1, 64},
    {"verbosity", OPT_NUMBER,
     "0 (quiet), 1 (summary when anything was reported), 2 (summary always) or 3 (also memory)",
     OPT_FIELD(verbosity), 0, 3},
    {"sarif", OPT_PATH, "a file path for a SARIF 2.1.0 log", OPT_FIELD(sarif_path), 0, 0},
    {"halt_on_error", OPT_NUMBER, "0 (go on) or 1 (end the run at the first misuse report)",
     OPT_FIELD(halt_on_error), 0, 1},
    {"stall_ms", OPT_NUMBER, "a number of milliseconds, 0 to disable (max 86400000)",
     OPT_FIELD(stall_ms), 0, 86400000},
};
#define OPT_NKEYS (sizeof opt_keys / sizeof opt_keys[0])
#define OPT_KEY_LIST \
  "json, log, watchdog_ms, suppressions, exitcode, stack_depth, verbosity, sarif, " \
  "halt_on_error, stall_ms"

void lg_options_defaults(lg_options_t *o) {
  memset(o, 0, sizeof *o);
  o->watchdog_ms = 1000;
  o->exitcode = 66;
  o->stack_depth = 16;
  o->verbosity = 1;
  o->stall_ms = 100;
}

/* Appends to err whatever fits; err stays terminated. */
static void opt_err_append(char *err, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void opt_err_append(char *err, size_t cap, size_t *len, const char *fmt, ...) {
  if (err == NULL || *len + 1 >= cap)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(err + *len, cap - *len, fmt, ap);
  va_end(ap);
  if (n > 0)
    *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

/* Appends user text [s, s+n), one line and short: control bytes become '?'. */
static void opt_err_quote(char *err, size_t cap, size_t *len, const char *s, size_t n) {
  size_t shown = n > OPTIONS_QUOTE_MAX ? OPTIONS_QUOTE_MAX : n;
  for (size_t i = 0; i < shown && err != NULL && *len + 1 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    err[(*len)++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    err[*len] = '\0';
  }
  if (shown < n)
    opt_err_append(err, cap, len, "...");
}

static void opt_err_start(char *err, size_t cap, size_t *len) {
  *len = 0;
  if (err != NULL && cap > 0)
    err[0] = '\0';
}

static const opt_key_t *opt_key_find(const char *s, size_t n) {
  for (size_t i = 0; i < OPT_NKEYS; i++)
    if (strlen(opt_keys[i].name) == n && memcmp(opt_keys[i].name, s, n) == 0)
      return &opt_keys[i];
  return NULL;
}

/* Decimal digits only (no sign, no spaces, no base prefix). 0 ok, -EINVAL not a number,
 * -ERANGE too big for unsigned long. */
static int opt_number_parse(const char *s, size_t n, unsigned long *out) {
  if (n == 0)
    return -EINVAL;
  unsigned long v = 0;
  int overflow = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -EINVAL;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (ULONG_MAX - d) / 10)
      overflow = 1;
    else
      v = v * 10 + d;
  }
  *out = v;
  return overflow ? -ERANGE : 0;
}

/* Applies one "key=value" item (no ':' inside) to o. */
static int opt_item_apply(lg_options_t *o, const char *item, size_t n, char *err, size_t cap) {
  size_t len;
  const char *eq = memchr(item, '=', n);
  size_t klen = eq ? (size_t)(eq - item) : n;
  const opt_key_t *key = opt_key_find(item, klen);

  opt_err_start(err, cap, &len);
  if (key == NULL) {
    opt_err_append(err, cap, &len, "LOCKGRAPH_OPTIONS: unknown key '");
    opt_err_quote(err, cap, &len, item, klen);
    opt_err_append(err, cap, &len, "' (keys: %s)", OPT_KEY_LIST);
    return -EINVAL;
  }
  if (eq == NULL) {
    opt_err_append(err, cap, &len, "LOCKGRAPH_OPTIONS: %s: missing '=': expected %s=<%s>",
                   key->name, key->name, key->accepts);
    return -EINVAL;
  }
  const char *val = eq + 1;
  size_t vlen = n - klen - 1;
  char *field = (char *)o + key->offset;

  if (key->kind == OPT_PATH) {
    if (vlen == 0 || vlen >= LG_PATH_MAX) {
      opt_err_append(err, cap, &len, "LOCKGRAPH_OPTIONS: %s=", key->name);
      opt_err_quote(err, cap, &len, val, vlen);
      opt_err_append(err, cap, &len, ": %sexpected %s",
                     vlen == 0 ? "" : "path too long (max 4095 bytes): ", key->accepts);
      return -EINVAL;
    }
    memcpy(field, val, vlen);
    field[vlen] = '\0';
    return 0;
  }

  unsigned long v = 0;
  int rc = opt_number_parse(val, vlen, &v);
  if (rc == 0 && (v < key->min || v > key->max))
    rc = -ERANGE;
  if (rc != 0) {
    opt_err_append(err, cap, &len, "LOCKGRAPH_OPTIONS: %s=", key->name);
    opt_err_quote(err, cap, &len, val, vlen);
    opt_err_append(err, cap, &len, ": %sexpected %s", rc == -ERANGE ? "out of range: " : "",
                   key->accepts);
    return -EINVAL;
  }
  if (key->offset == OPT_FIELD(exitcode))
    *(int *)(void *)field = (int)v;
  else
    *(unsigned *)(void *)field = (unsigned)v;
  return 0;
}

int lg_options_parse(lg_options_t *o, const char *spec, char *err, size_t err_cap) {
  if (err != NULL && err_cap > 0)
    err[0] = '\0';
  if (spec == NULL)
    return 0;
  /* Work on a copy so a bad item leaves *o as it was. */
  lg_options_t next = *o;
  const char *p = spec;
  for (;;) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    /* Empty items (a trailing ':', or "a=1::b=2" from joined strings) say nothing. */
    if (n > 0) {
      int rc = opt_item_apply(&next, p, n, err, err_cap);
      if (rc != 0)
        return rc;
    }
    if (end == NULL)
      break;
    p = end + 1;
  }
  *o = next;
  return 0;
}

/* ---- the report paths of a run ---- */

int lg_path_absolute(const char *path, char *out, size_t cap) {
  char cwd[LG_PATH_MAX];
  if (path[0] == '/')
    return snprintf(out, cap, "%s", path) < (int)cap ? 0 : -1;
  if (getcwd(cwd, sizeof cwd) == NULL)
    return -1;
  return snprintf(out, cap, "%s/%s", cwd, path) < (int)cap ? 0 : -1;
}

int lg_path_kind(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return LG_PATH_NEW; /* nothing there (or out of reach: the open says why) */
  if (S_ISREG(st.st_mode))
    return LG_PATH_FILE;
  if (S_ISCHR(st.st_mode))
    return LG_PATH_DEVICE;
  if (S_ISFIFO(st.st_mode))
    return LG_PATH_FIFO;
  return LG_PATH_UNFIT;
}

int lg_report_open_append(const char *path) {
  if (lg_path_kind(path) == LG_PATH_UNFIT) {
    struct stat st;
    errno = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? EISDIR : ENXIO;
    return -1;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0)
    return -1;
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

int lg_sarif_scratch_name(char *out, size_t cap, long pid) {
  const char *tmp = getenv("TMPDIR");
  int n = snprintf(out, cap, "%s/lockgraph-%ld.reports.jsonl",
                   tmp != NULL && tmp[0] == '/' ? tmp : "/tmp", pid);
  return n >= 0 && n < (int)cap ? 0 : -1;
}

/* ---- suppressions ---- */

typedef struct supp_entry {
  const char *glob; /* into the text block */
  int type;         /* index into lg_supp_types */
  _Atomic size_t hits;
} supp_entry_t;

struct lg_suppressions {
  size_t n;
  supp_entry_t *e;
  size_t e_size;
  char *text; /* all globs, each terminated */
  size_t text_size;
};

void lg_suppressions_free(lg_suppressions_t *s) {
  if (s == NULL)
    return;
  lg_mem_free(s->e, s->e_size);
  lg_mem_free(s->text, s->text_size);
  lg_mem_free(s, sizeof *s);
}

static int supp_is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims line [*b, *e): comment, then surrounding blanks. */
static void supp_line_trim(const char **b, const char **e) {
  const char *hash = memchr(*b, '#', (size_t)(*e - *b));
  if (hash != NULL)
    *e = hash;
  while (*b < *e && supp_is_space(**b))
    (*b)++;
  while (*e > *b && supp_is_space((*e)[-1]))
    (*e)--;
}

/* The report kinds a suppression can name, as the `type:` before its glob. A kind of report
 * is matched by the one type its report names (report.c's table of kinds). */
const char *const lg_supp_types[] = {
    "deadlock", /* lock-order cycles, deadlocks that happened, self-deadlocks */
    "unlock",   /* bad unlocks: of a lock the thread does not hold */
    "destroy",  /* destroy of a locked lock */
    "invalid",  /* use of a destroyed or uninitialized lock */
    "init",     /* init of a locked lock */
    "condvar",  /* condition variable misuse */
    "hang",     /* no thread can go on (joins, condition variables, semaphores, pipes) */
    "stall",    /* a lock held across a blocking call while another thread waits for it */
    "exit",     /* a thread ended holding a lock */
    "fork",     /* a forked child needs a lock another thread held at the fork */
    NULL,
};
#define SUPP_TYPE_LIST \
  "deadlock, unlock, destroy, invalid, init, condvar, hang, stall, exit, fork"

/* The type index of line [b, e) ("type:glob"), with *glob set past the colon and blanks;
 * -1 when the line does not start with a known type and a colon. */
static int supp_line_type(const char *b, const char *e, const char **glob) {
  const char *colon = memchr(b, ':', (size_t)(e - b));
  if (colon == NULL)
    return -1;
  for (int t = 0; lg_supp_types[t] != NULL; t++) {
    size_t n = strlen(lg_supp_types[t]);
    if ((size_t)(colon - b) == n && memcmp(b, lg_supp_types[t], n) == 0) {
      const char *g = colon + 1;
      while (g < e && supp_is_space(*g)) /* "deadlock: foo" reads as meant */
        g++;
      *glob = g;
      return g < e ? t : -1;
    }
  }
  return -1;
}

int lg_supp_type_index(const char *type) {
  for (int t = 0; type != NULL && lg_supp_types[t] != NULL; t++)
    if (strcmp(lg_supp_types[t], type) == 0)
      return t;
  return -1;
}

lg_suppressions_t *lg_suppressions_parse(const char *text, const char *name, char *err,
                                         size_t err_cap) {
  size_t len;
  opt_err_start(err, err_cap, &len);
  if (text == NULL)
    text = "";
  if (name == NULL)
    name = "suppressions";

  /* Pass 1 validates and counts; pass 2 copies. */
  size_t count = 0, bytes = 0, line = 0;
  for (const char *p = text;;) {
    const char *nl = strchr(p, '\n');
    const char *b = p, *e = nl ? nl : p + strlen(p);
    line++;
    supp_line_trim(&b, &e);
    if (b < e) {
      size_t n = (size_t)(e - b);
      const char *glob;
      if (supp_line_type(b, e, &glob) < 0) {
        opt_err_append(err, err_cap, &len,
                       "%s:%zu: expected '<type>:<glob>' with a type of " SUPP_TYPE_LIST
                       ", got '", name, line);
        opt_err_quote(err, err_cap, &len, b, n);
        opt_err_append(err, err_cap, &len, "'");
        return NULL;
      }
      count++;
      bytes += (size_t)(e - glob) + 1;
    }
    if (nl == NULL)
      break;
    p = nl + 1;
  }

  lg_suppressions_t *s = lg_mem_alloc(sizeof *s);
  if (s == NULL)
    goto nomem;
  s->n = count;
  s->e_size = (count ? count : 1) * sizeof *s->e;
  s->text_size = bytes ? bytes : 1;
  s->e = lg_mem_alloc(s->e_size);
  s->text = lg_mem_alloc(s->text_size);
  if (s->e == NULL || s->text == NULL) {
    lg_suppressions_free(s);
    goto nomem;
  }
  char *out = s->text;
  size_t k = 0;
  for (const char *p = text;;) {
    const char *nl = strchr(p, '\n');
    const char *b = p, *e = nl ? nl : p + strlen(p);
    supp_line_trim(&b, &e);
    if (b < e) {
      const char *glob;
      s->e[k].type = supp_line_type(b, e, &glob);
      memcpy(out, glob, (size_t)(e - glob));
      s->e[k++].glob = out;
      out += e - glob;
      *out++ = '\0';
    }
    if (nl == NULL)
      break;
    p = nl + 1;
  }
  return s;

nomem:
  opt_err_append(err, err_cap, &len, "%s: out of memory", name);
  return NULL;
}

static const char *supp_strerror(int e) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  /* Untranslated and lock-free: no locale machinery inside the preloaded library. */
  const char *d = strerrordesc_np(e);
  return d ? d : "unknown error";
#else
  return strerror(e);
#endif
}

lg_suppressions_t *lg_suppressions_load(const char *path, char *err, size_t err_cap) {
  size_t len;
  opt_err_start(err, err_cap, &len);
  int fd;
  do
    fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    opt_err_append(err, err_cap, &len, "suppressions: cannot open '%s': %s", path,
                   supp_strerror(errno));
    return NULL;
  }
  size_t cap = 4096, used = 0;
  char *buf = lg_mem_alloc(cap);
  int saved = 0;
  while (buf != NULL) {
    if (used + 1 >= cap) {
      char *bigger = lg_mem_realloc(buf, cap, cap * 2);
      if (bigger == NULL) {
        lg_mem_free(buf, cap);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + used, cap - used - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      saved = errno;
      break;
    }
    if (r == 0)
      break;
    used += (size_t)r;
  }
  close(fd);
  if (buf == NULL) {
    opt_err_append(err, err_cap, &len, "suppressions: cannot read '%s': %s", path,
                   supp_strerror(ENOMEM));
    return NULL;
  }
  if (saved != 0) {
    lg_mem_free(buf, cap);
    opt_err_append(err, err_cap, &len, "suppressions: cannot read '%s': %s", path,
                   supp_strerror(saved));
    return NULL;
  }
  buf[used] = '\0';
  if (memchr(buf, '\0', used) != NULL) {
    lg_mem_free(buf, cap);
    opt_err_append(err, err_cap, &len, "suppressions: '%s' is not a text file (NUL byte)", path);
    return NULL;
  }
  lg_suppressions_t *s = lg_suppressions_parse(buf, path, err, err_cap);
  lg_mem_free(buf, cap);
  return s;
}

static int supp_glob_matches(const char *glob, const char *text) {
  return text != NULL && fnmatch(glob, text, 0) == 0;
}

int lg_suppressions_match(lg_suppressions_t *s, const char *type, const lg_frame_view_t *frames,
                          size_t n) {
  if (s == NULL)
    return -1;
  int t = lg_supp_type_index(type);
  for (size_t i = 0; i < s->n; i++) {
    const char *glob = s->e[i].glob;
    if (s->e[i].type != t)
      continue;
    for (size_t f = 0; f < n; f++) {
      const char *file = frames[f].file;
      const char *base = file ? strrchr(file, '/') : NULL;
      if (supp_glob_matches(glob, frames[f].function) || supp_glob_matches(glob, file) ||
          (base != NULL && supp_glob_matches(glob, base + 1))) {
        atomic_fetch_add_explicit(&s->e[i].hits, 1, memory_order_relaxed);
        return (int)i;
      }
    }
  }
  return -1;
}

size_t lg_suppressions_count(const lg_suppressions_t *s) {
  return s ? s->n : 0;
}

size_t lg_suppressions_hits(const lg_suppressions_t *s, size_t i) {
  if (s == NULL || i >= s->n)
    return 0;
  return atomic_load_explicit(&s->e[i].hits, memory_order_relaxed);
}

const char *lg_suppressions_pattern(const lg_suppressions_t *s, size_t i) {
  if (s == NULL || i >= s->n)
    return NULL;
  return s->e[i].glob;
}

const char *lg_suppressions_type(const lg_suppressions_t *s, size_t i) {
  if (s == NULL || i >= s->n)
    return NULL;
  return lg_supp_types[s->e[i].type];
}
