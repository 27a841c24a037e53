/* lg_corpus.c - see lg_corpus.h. */
#define _GNU_SOURCE
#include "lg_corpus.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
/* ------------------------------------------------------------------------------------------
 * A small JSON reader: one value tree per JSON Lines line.
 */





static int json_parse_value(json_cursor_t *c, json_t *out, int depth);

void json_free(json_t *v)
{
  for (size_t i = 0; i < v->count; i++) {
    json_free(&v->items[i]);
    if (v->keys != NULL)
      free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->string);
  memset(v, 0, sizeof(*v));
}

static void json_skip_space(json_cursor_t *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static int json_hex4(const char *p, unsigned *out)
{
  unsigned v = 0;

  for (int i = 0; i < 4; i++) {
    char ch = p[i];
    v <<= 4;
    if (ch >= '0' && ch <= '9')
      v |= (unsigned)(ch - '0');
    else if (ch >= 'a' && ch <= 'f')
      v |= (unsigned)(ch - 'a' + 10);
    else if (ch >= 'A' && ch <= 'F')
      v |= (unsigned)(ch - 'A' + 10);
    else
      return -EINVAL;
  }
  *out = v;
  return 0;
}

/* Decodes a string literal; \u escapes become UTF-8 (surrogate pairs are not needed for
 * paths and symbol names here and become '?'). */
static int json_parse_string(json_cursor_t *c, char **out)
{
  size_t cap = 16, len = 0;
  char *s;

  if (c->p >= c->end || *c->p != '"')
    return -EINVAL;
  c->p++;
  s = malloc(cap);
  if (s == NULL)
    return -ENOMEM;
  while (c->p < c->end && *c->p != '"') {
    char buf[4];
    size_t n = 1;

    buf[0] = *c->p++;
    if (buf[0] == '\\') {
      if (c->p >= c->end)
        goto bad;
      char e = *c->p++;
      switch (e) {
      case '"': case '\\': case '/': buf[0] = e; break;
      case 'b': buf[0] = '\b'; break;
      case 'f': buf[0] = '\f'; break;
      case 'n': buf[0] = '\n'; break;
      case 'r': buf[0] = '\r'; break;
      case 't': buf[0] = '\t'; break;
      case 'u': {
        unsigned cp;
        if (c->end - c->p < 4 || json_hex4(c->p, &cp) != 0)
          goto bad;
        c->p += 4;
        if (cp >= 0xd800 && cp <= 0xdfff) {
          buf[0] = '?';
        } else if (cp < 0x80) {
          buf[0] = (char)cp;
        } else if (cp < 0x800) {
          buf[0] = (char)(0xc0 | (cp >> 6));
          buf[1] = (char)(0x80 | (cp & 0x3f));
          n = 2;
        } else {
          buf[0] = (char)(0xe0 | (cp >> 12));
          buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
          buf[2] = (char)(0x80 | (cp & 0x3f));
          n = 3;
        }
        break;
      }
      default:
        goto bad;
      }
    }
    if (len + n + 1 > cap) {
      char *grown = realloc(s, cap * 2);
      if (grown == NULL)
        goto bad;
      s = grown;
      cap *= 2;
    }
    memcpy(s + len, buf, n);
    len += n;
  }
  if (c->p >= c->end)
    goto bad;
  c->p++;
  s[len] = '\0';
  *out = s;
  return 0;
bad:
  free(s);
  return -EINVAL;
}

/* Appends a zeroed slot to an array or object and returns it. */
static json_t *json_append(json_t *v)
{
  json_t *items = realloc(v->items, (v->count + 1) * sizeof(*items));

  if (items == NULL)
    return NULL;
  v->items = items;
  if (v->kind == JSON_OBJECT) {
    char **keys = realloc(v->keys, (v->count + 1) * sizeof(*keys));
    if (keys == NULL)
      return NULL;
    v->keys = keys;
    v->keys[v->count] = NULL;
  }
  memset(&v->items[v->count], 0, sizeof(json_t));
  return &v->items[v->count++];
}

static int json_parse_container(json_cursor_t *c, json_t *out, int depth)
{
  char close = *c->p == '[' ? ']' : '}';

  out->kind = close == ']' ? JSON_ARRAY : JSON_OBJECT;
  c->p++;
  json_skip_space(c);
  if (c->p < c->end && *c->p == close) {
    c->p++;
    return 0;
  }
  for (;;) {
    char *key = NULL;
    json_t *slot;

    json_skip_space(c);
    if (out->kind == JSON_OBJECT) {
      if (json_parse_string(c, &key) != 0)
        return -EINVAL;
      json_skip_space(c);
      if (c->p >= c->end || *c->p != ':') {
        free(key);
        return -EINVAL;
      }
      c->p++;
    }
    slot = json_append(out);
    if (slot == NULL) {
      free(key);
      return -ENOMEM;
    }
    if (out->kind == JSON_OBJECT)
      out->keys[out->count - 1] = key;
    if (json_parse_value(c, slot, depth + 1) != 0)
      return -EINVAL;
    json_skip_space(c);
    if (c->p < c->end && *c->p == ',') {
      c->p++;
      continue;
    }
    if (c->p < c->end && *c->p == close) {
      c->p++;
      return 0;
    }
    return -EINVAL;
  }
}

static int json_parse_value(json_cursor_t *c, json_t *out, int depth)
{
  if (depth > JSON_MAX_DEPTH)
    return -EINVAL;
  json_skip_space(c);
  if (c->p >= c->end)
    return -EINVAL;
  switch (*c->p) {
  case '{':
  case '[':
    return json_parse_container(c, out, depth);
  case '"':
    out->kind = JSON_STRING;
    return json_parse_string(c, &out->string);
  case 't':
  case 'f':
  case 'n': {
    static const struct { const char *word; json_kind_t kind; double value; } words[] = {
      {"true", JSON_BOOL, 1}, {"false", JSON_BOOL, 0}, {"null", JSON_NULL, 0}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
      size_t n = strlen(words[i].word);
      if ((size_t)(c->end - c->p) >= n && memcmp(c->p, words[i].word, n) == 0) {
        out->kind = words[i].kind;
        out->number = words[i].value;
        c->p += n;
        return 0;
      }
    }
    return -EINVAL;
  }
  default: {
    char buf[64];
    size_t n = 0;
    char *endp;

    while (c->p + n < c->end && n < sizeof(buf) - 1 && strchr("+-0123456789.eE", c->p[n]) != NULL)
      n++;
    if (n == 0)
      return -EINVAL;
    memcpy(buf, c->p, n);
    buf[n] = '\0';
    out->kind = JSON_NUMBER;
    out->number = strtod(buf, &endp);
    if (*endp != '\0')
      return -EINVAL;
    c->p += n;
    return 0;
  }
  }
}

/* Parses exactly one JSON value filling [text, text+len). 0 or -EINVAL/-ENOMEM. */
int json_parse(const char *text, size_t len, json_t *out)
{
  json_cursor_t c = {text, text + len};
  int rc;

  memset(out, 0, sizeof(*out));
  rc = json_parse_value(&c, out, 0);
  json_skip_space(&c);
  if (rc == 0 && c.p != c.end)
    rc = -EINVAL;
  if (rc != 0)
    json_free(out);
  return rc;
}

const json_t *json_get(const json_t *obj, const char *key)
{
  if (obj == NULL || obj->kind != JSON_OBJECT)
    return NULL;
  for (size_t i = 0; i < obj->count; i++)
    if (strcmp(obj->keys[i], key) == 0)
      return &obj->items[i];
  return NULL;
}

const json_t *json_at(const json_t *arr, size_t i)
{
  if (arr == NULL || arr->kind != JSON_ARRAY || i >= arr->count)
    return NULL;
  return &arr->items[i];
}

size_t json_len(const json_t *arr)
{
  return arr != NULL && arr->kind == JSON_ARRAY ? arr->count : 0;
}

const char *json_str(const json_t *v)
{
  return v != NULL && v->kind == JSON_STRING ? v->string : NULL;
}

/* A number, or a string holding one (addresses may come as "0x..."); -1 when neither. */
long long json_int(const json_t *v)
{
  if (v != NULL && v->kind == JSON_NUMBER)
    return (long long)v->number;
  if (v != NULL && v->kind == JSON_STRING && v->string[0] != '\0') {
    char *end;
    long long n = strtoll(v->string, &end, 0);
    if (*end == '\0')
      return n;
  }
  return -1;
}

/* A lock named either by a bare string or by an object with a "name". */
const char *json_name(const json_t *v)
{
  if (v != NULL && v->kind == JSON_OBJECT)
    return json_str(json_get(v, "name"));
  return json_str(v);
}

int json_str_is(const json_t *v, const char *s)
{
  const char *got = json_str(v);
  return got != NULL && strcmp(got, s) == 0;
}

/* ------------------------------------------------------------------------------------------
 * Files and text.
 */

/* Whole file as a NUL-terminated string, or NULL when it cannot be read. */
char *file_read_all(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t len = 0, cap = 0;

  if (f == NULL)
    return NULL;
  for (;;) {
    if (cap - len < 4096) {
      char *grown = realloc(buf, cap + 65536);
      if (grown == NULL) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = grown;
      cap += 65536;
    }
    size_t n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0)
      break;
  }
  fclose(f);
  buf[len] = '\0';
  return buf;
}

void file_write_all(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");

  cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
  cr_assert_eq(fputs(text, f) >= 0 && fclose(f) == 0, 1, "cannot write %s", path);
}

/* The line of `text` starting at `line` as a new string (without its newline). */
static char *text_line_copy(const char *line)
{
  const char *nl = strchr(line, '\n');
  size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
  char *s = malloc(n + 1);

  cr_assert_not_null(s);
  memcpy(s, line, n);
  s[n] = '\0';
  return s;
}

/* First line that starts with `prefix` and contains `needle` (either may be ""), copied;
 * NULL when there is none. */
char *text_find_line(const char *text, const char *prefix, const char *needle)
{
  for (const char *line = text; line != NULL && *line != '\0';) {
    const char *nl = strchr(line, '\n');
    size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
    if (strncmp(line, prefix, strlen(prefix)) == 0 && memmem(line, n, needle, strlen(needle)) != NULL)
      return text_line_copy(line);
    line = nl != NULL ? nl + 1 : NULL;
  }
  return NULL;
}

size_t text_count_lines(const char *text, const char *prefix, const char *needle)
{
  size_t count = 0;

  for (const char *line = text; line != NULL && *line != '\0';) {
    const char *nl = strchr(line, '\n');
    size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
    if (strncmp(line, prefix, strlen(prefix)) == 0 && memmem(line, n, needle, strlen(needle)) != NULL)
      count++;
    line = nl != NULL ? nl + 1 : NULL;
  }
  return count;
}

size_t text_count_nonempty_lines(const char *text)
{
  size_t count = 0;

  for (const char *line = text; line != NULL && *line != '\0';) {
    const char *nl = strchr(line, '\n');
    if ((nl != NULL ? nl : line + strlen(line)) > line)
      count++;
    line = nl != NULL ? nl + 1 : NULL;
  }
  return count;
}

/* Line number of the `LINE:<marker>` comment in a corpus source file. */
int corpus_marker_line(const char *source, const char *marker)
{
  char path[PATH_MAX], needle[128];
  char *text;
  int line = 1, found = -1;

  snprintf(path, sizeof(path), "%s/%s", CORPUS_SOURCE_DIR, source);
  snprintf(needle, sizeof(needle), "LINE:%s */", marker);
  text = file_read_all(path);
  cr_assert_not_null(text, "cannot read %s", path);
  for (const char *p = text; *p != '\0'; p++) {
    if (*p == '\n') {
      line++;
    } else if (strncmp(p, needle, strlen(needle)) == 0) {
      found = line;
      break;
    }
  }
  free(text);
  cr_assert_gt(found, 0, "no marker LINE:%s in %s", marker, path);
  return found;
}

/* ------------------------------------------------------------------------------------------
 * Running a program under lockgraph.
 */



static int run_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Scratch directories still on disk; a failed assertion leaves the test before run_cleanup,
 * so whatever is left goes when the test's process exits. */
static char run_dirs[RUN_MAX_DIRS][PATH_MAX / 2];

static void run_dirs_remove(void)
{
  for (int i = 0; i < RUN_MAX_DIRS; i++)
    if (run_dirs[i][0] != '\0') {
      nftw(run_dirs[i], run_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
      run_dirs[i][0] = '\0';
    }
}

void run_init(run_result_t *r)
{
  static int registered;
  const char *tmp = getenv("TMPDIR");

  memset(r, 0, sizeof(*r));
  snprintf(r->dir, sizeof(r->dir), "%s/lockgraph-corpus-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
  cr_assert_not_null(mkdtemp(r->dir), "mkdtemp: %s", strerror(errno));
  if (!registered)
    registered = atexit(run_dirs_remove) == 0;
  for (int i = 0; i < RUN_MAX_DIRS; i++)
    if (run_dirs[i][0] == '\0') {
      memcpy(run_dirs[i], r->dir, sizeof(r->dir));
      break;
    }
  snprintf(r->out_path, sizeof(r->out_path), "%s/stdout.txt", r->dir);
  snprintf(r->err_path, sizeof(r->err_path), "%s/stderr.txt", r->dir);
  snprintf(r->json_path, sizeof(r->json_path), "%s/report.jsonl", r->dir);
}

void run_cleanup(run_result_t *r)
{
  free(r->out);
  free(r->err);
  free(r->json);
  r->out = r->err = r->json = NULL;
  if (r->dir[0] != '\0') {
    nftw(r->dir, run_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < RUN_MAX_DIRS; i++)
      if (strcmp(run_dirs[i], r->dir) == 0)
        run_dirs[i][0] = '\0';
  }
}

static double run_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The environment of the run: ours, minus anything that would change what lockgraph does. */
static char **run_environment(const run_request_t *rq, char *options_buf, size_t options_cap,
                              char *preload_buf, size_t preload_cap)
{
  size_t n = 0, k = 0;
  char **env;

  while (environ[n] != NULL)
    n++;
  env = calloc(n + 3, sizeof(*env));
  cr_assert_not_null(env);
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "LOCKGRAPH_OPTIONS=", 18) != 0 && strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
      env[k++] = environ[i];
  if (rq->options != NULL) {
    snprintf(options_buf, options_cap, "LOCKGRAPH_OPTIONS=%s", rq->options);
    env[k++] = options_buf;
  }
  if (rq->preload) {
    snprintf(preload_buf, preload_cap, "LD_PRELOAD=%s", LOCKGRAPH_LIB);
    env[k++] = preload_buf;
  }
  env[k] = NULL;
  return env;
}

/* Waits for pid up to timeout_s; on timeout kills its whole process group, and after it ends
 * what it left in the group, unless `leaves_daemon`. */
static void run_wait(pid_t pid, unsigned timeout_s, int leaves_daemon, run_result_t *r)
{
  double deadline = run_now() + timeout_s;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int status = 0;

  for (;;) {
    double left = deadline - run_now();
    if (left <= 0) {
      r->timed_out = 1;
      break;
    }
    if (pidfd >= 0) {
      struct pollfd p = {.fd = pidfd, .events = POLLIN};
      int rc = poll(&p, 1, (int)(left * 1000) + 1);
      if (rc > 0)
        break;
      if (rc < 0 && errno != EINTR)
        cr_assert_fail("poll on the child: %s", strerror(errno));
    } else {
      /* No pidfd (old kernel): check every 10 ms, only to bound the wait. */
      struct timespec tick = {0, 10 * 1000 * 1000};
      if (waitpid(pid, &status, WNOHANG) == pid)
        goto reaped;
      nanosleep(&tick, NULL);
    }
  }
  if (r->timed_out)
    kill(-pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
reaped:
  if (pidfd >= 0)
    close(pidfd);
  /* Anything the program forked and left behind belongs to the same group. */
  if (!leaves_daemon || r->timed_out)
    kill(-pid, SIGKILL);
  if (r->timed_out)
    r->status = -1;
  else if (WIFEXITED(status))
    r->status = WEXITSTATUS(status);
  else
    r->status = 128 + WTERMSIG(status);
}

/* Runs one program as the request says; r must come from run_init. */
void run_program(const run_request_t *rq, run_result_t *r)
{
  char prog[PATH_MAX], options_buf[PATH_MAX + 64], preload_buf[PATH_MAX + 16];
  const char *argv[64];
  size_t argc = 0;
  char **env;
  double start;
  pid_t pid;

  snprintf(prog, sizeof(prog), "%s/%s", CORPUS_BUILD_DIR, rq->program);
  cr_assert_eq(access(prog, X_OK), 0, "%s is not built (build the corpus target)", prog);
  if (rq->preload) {
    cr_assert_eq(access(LOCKGRAPH_LIB, R_OK), 0, "%s is not built", LOCKGRAPH_LIB);
  } else {
    const char *cli = rq->cli != NULL ? rq->cli : LOCKGRAPH_CLI;
    cr_assert_eq(access(cli, X_OK), 0, "%s is not built", cli);
    argv[argc++] = cli;
    if (!rq->no_json) {
      argv[argc++] = "--json";
      argv[argc++] = r->json_path;
    }
    for (size_t i = 0; rq->cli_flags != NULL && rq->cli_flags[i] != NULL; i++)
      argv[argc++] = rq->cli_flags[i];
    argv[argc++] = "--";
  }
  argv[argc++] = prog;
  for (size_t i = 0; rq->args != NULL && rq->args[i] != NULL && argc < 63; i++)
    argv[argc++] = rq->args[i];
  argv[argc] = NULL;
  env = run_environment(rq, options_buf, sizeof(options_buf), preload_buf, sizeof(preload_buf));

  fflush(NULL);
  start = run_now();
  pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
      _exit(127);
    setpgid(0, 0);
    execve(argv[0], (char *const *)argv, env);
    _exit(127);
  }
  setpgid(pid, pid); /* also here, so a kill of the group cannot race the child's own call */
  free(env);
  run_wait(pid, rq->timeout_s != 0 ? rq->timeout_s : 30, rq->leaves_daemon, r);
  r->seconds = run_now() - start;

  r->out = file_read_all(r->out_path);
  r->err = file_read_all(r->err_path);
  r->json = file_read_all(r->json_path);
  if (r->out == NULL)
    r->out = strdup("");
  if (r->err == NULL)
    r->err = strdup("");
  if (r->json == NULL)
    r->json = strdup("");
  cr_assert(r->out != NULL && r->err != NULL && r->json != NULL);
  cr_assert_eq(r->timed_out, 0, "%s did not finish within %u s; stderr so far:\n%s", rq->program,
               rq->timeout_s != 0 ? rq->timeout_s : 30, r->err);
}

/* ------------------------------------------------------------------------------------------
 * Reports: JSON Lines objects and the text summary.
 */


void reports_load(const char *text, report_set_t *set)
{
  memset(set, 0, sizeof(*set));
  for (const char *line = text; line != NULL && *line != '\0';) {
    const char *nl = strchr(line, '\n');
    size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
    if (n > 0) {
      json_t *grown = realloc(set->objects, (set->count + 1) * sizeof(*grown));
      cr_assert_not_null(grown);
      set->objects = grown;
      cr_assert_eq(json_parse(line, n, &set->objects[set->count]), 0,
                   "JSON report line %zu does not parse: %.*s", set->count + 1, (int)n, line);
      set->count++;
    }
    line = nl != NULL ? nl + 1 : NULL;
  }
}

void reports_free(report_set_t *set)
{
  for (size_t i = 0; i < set->count; i++)
    json_free(&set->objects[i]);
  free(set->objects);
  memset(set, 0, sizeof(*set));
}

size_t reports_count(const report_set_t *set, const char *type)
{
  size_t n = 0;

  for (size_t i = 0; i < set->count; i++)
    if (json_str_is(json_get(&set->objects[i], "type"), type))
      n++;
  return n;
}

/* Reports proper: every object that is not the summary. */
size_t reports_count_findings(const report_set_t *set)
{
  return set->count - reports_count(set, "summary");
}

const json_t *reports_first(const report_set_t *set, const char *type)
{
  for (size_t i = 0; i < set->count; i++)
    if (json_str_is(json_get(&set->objects[i], "type"), type))
      return &set->objects[i];
  return NULL;
}


/* Parses the text summary. Returns how many summary lines there were (a forked child may add
 * its own); *s gets the first one, which fails the test when it does not match the format. */
size_t summary_parse(const char *err, summary_t *s)
{
  char *line = text_find_line(err, "lockgraph: summary:", "");
  size_t n = text_count_lines(err, "lockgraph: summary:", "");

  memset(s, 0, sizeof(*s));
  if (line == NULL)
    return 0;
  /* "lockgraph: summary: R report(s) (<count> <noun>, ...), S suppressed; L lock(s), E edge(s),
   * T thread(s)": read the numbers, then hold the whole line to the exact wording its numbers
   * call for: a noun is singular for a count of 1 ("1 report", "1 thread"), plural otherwise. */
  const char *open_paren = strchr(line, '('), *close_paren = strchr(line, ')');
  int got = sscanf(line, "lockgraph: summary: %u", &s->reports);
  cr_assert(got == 1 && open_paren != NULL && close_paren != NULL && open_paren < close_paren,
            "summary line does not match the contract: '%s'", line);
  for (const char *p = open_paren + 1; p < close_paren && s->nkinds < SUMMARY_KINDS_MAX;) {
    const char *end = memchr(p, ',', (size_t)(close_paren - p));
    if (end == NULL)
      end = close_paren;
    unsigned k = s->nkinds;
    int used = 0;
    cr_assert_eq(sscanf(p, "%u %n", &s->kind_count[k], &used), 1, "summary: bad count in '%s'", line);
    snprintf(s->kind_noun[k], sizeof(s->kind_noun[k]), "%.*s", (int)(end - p - used), p + used);
    s->nkinds++;
    p = end + (end < close_paren ? 2 : 1);
  }
  got = sscanf(close_paren, "), %u suppressed; %u %*[a-z], %u %*[a-z], %u %*[a-z]", &s->suppressed,
               &s->locks, &s->edges, &s->threads);
  cr_expect_eq(got, 4, "summary line does not match the contract: '%s'", line);
  s->potential = summary_kind(s, "potential deadlock");
  s->deadlocks = summary_kind(s, "deadlock");
  s->self = summary_kind(s, "self-deadlock");
#define PLURAL(n) ((n) == 1 ? "" : "s")
  char want[1024], kinds[768] = "";
  size_t kl = 0;
  unsigned sum = 0;
  for (unsigned k = 0; k < s->nkinds; k++) {
    char noun[48];
    snprintf(noun, sizeof(noun), "%s", s->kind_noun[k]);
    size_t nl = strlen(noun);
    if (s->kind_count[k] != 1 && nl > 0 && noun[nl - 1] == 's')
      noun[nl - 1] = '\0';
    kl += (size_t)snprintf(kinds + kl, sizeof(kinds) - kl, "%s%u %s%s", k ? ", " : "",
                           s->kind_count[k], noun, PLURAL(s->kind_count[k]));
    sum += s->kind_count[k];
  }
  snprintf(want, sizeof(want),
           "lockgraph: summary: %u report%s (%s), %u suppressed; %u lock%s, %u edge%s, %u thread%s",
           s->reports, PLURAL(s->reports), kinds, s->suppressed, s->locks, PLURAL(s->locks),
           s->edges, PLURAL(s->edges), s->threads, PLURAL(s->threads));
#undef PLURAL
  cr_expect_str_eq(line, want, "summary line: counts and nouns disagree");
  cr_expect_eq(sum, s->reports, "summary: the kinds add up to %u, not %u: '%s'", sum, s->reports, line);
  cr_expect(s->nkinds >= 3 && strstr(s->kind_noun[0], "potential deadlock") == s->kind_noun[0],
            "summary: the three lock-order kinds come first: '%s'", line);
  free(line);
  return n;
}

unsigned summary_kind(const summary_t *s, const char *noun)
{
  size_t n = strlen(noun);

  for (unsigned k = 0; k < s->nkinds; k++)
    if (strncmp(s->kind_noun[k], noun, n) == 0 &&
        (s->kind_noun[k][n] == '\0' || strcmp(s->kind_noun[k] + n, "s") == 0))
      return s->kind_count[k];
  return 0;
}

/* Describes a frame for failure messages. */
const char *frame_describe(const json_t *frame, char *buf, size_t cap)
{
  const char *fn = json_str(json_get(frame, "function"));
  const char *file = json_str(json_get(frame, "file"));

  snprintf(buf, cap, "%s %s:%lld", fn ? fn : "?", file ? file : "?", json_int(json_get(frame, "line")));
  return buf;
}

int file_has_basename(const char *file, const char *base)
{
  size_t fl, bl = strlen(base);

  if (file == NULL)
    return 0;
  fl = strlen(file);
  if (fl < bl || strcmp(file + fl - bl, base) != 0)
    return 0;
  return fl == bl || file[fl - bl - 1] == '/';
}

/* A frame matches when it is in `source` at `line`, in a function named `function` (exactly
 * for C; for C++, a symbol that contains it, mangled or not). */
int frame_matches(const json_t *frame, const char *function, int exact, const char *source,
                         int line)
{
  const char *fn = json_str(json_get(frame, "function"));

  if (fn == NULL || !file_has_basename(json_str(json_get(frame, "file")), source))
    return 0;
  if (json_int(json_get(frame, "line")) != line)
    return 0;
  return exact ? strcmp(fn, function) == 0 : strstr(fn, function) != NULL;
}

/* Whether frame #0 of a stack is the given one: the detector hides its own frames and the C++
 * runtime's lock wrappers (std::mutex::lock, lock_guard, __gthread_*), so a report starts at the
 * program's line. C++ names are matched as a part ("worker_ab" in "worker_ab()"). */
int stack_has(const json_t *stack, const char *function, int cxx, const char *source, int line)
{
  size_t n = (cxx & STACK_ANY_FRAME) ? json_len(stack) : (json_len(stack) > 0 ? 1 : 0);

  for (size_t i = 0; i < n; i++)
    if (frame_matches(json_at(stack, i), function, !(cxx & STACK_CXX), source, line))
      return 1;
  return 0;
}

/* The frame to show in a failure message: #0, or for C++ the first frame in the program's
 * own source (the frames above it are libstdc++'s). */
const json_t *stack_top_in(const json_t *stack, const char *source, int cxx)
{
  for (size_t i = 0; (cxx & STACK_ANY_FRAME) && i < json_len(stack); i++)
    if (file_has_basename(json_str(json_get(json_at(stack, i), "file")), source))
      return json_at(stack, i);
  return json_at(stack, 0);
}


/* Checks one lock-order report against the program's source: the cycle has `n` locks of
 * `kind`, its edges follow the cycle, and every expected edge is there with both stacks. */
void expect_inversion(const json_t *rep, const char *source, size_t n, const char *kind,
                             const edge_expect_t *expect, int cxx)
{
  const json_t *cycle = json_get(rep, "cycle");
  const json_t *edges = json_get(rep, "edges");
  const json_t *locks = json_get(rep, "locks");
  const char *prefix = strcmp(kind, "rwlock") == 0 ? "RW" : strcmp(kind, "spinlock") == 0 ? "S" : "M";

  cr_assert_not_null(rep, "no potential-deadlock object in the JSON report");
  cr_expect(json_str_is(json_get(rep, "type"), "potential-deadlock"));
  cr_assert_eq(json_len(cycle), n + 1, "cycle has %zu names, expected %zu (a cycle of %zu locks)",
               json_len(cycle), n + 1, n);
  cr_expect_str_eq(json_name(json_at(cycle, 0)), json_name(json_at(cycle, n)),
                   "a cycle ends where it starts");
  cr_assert_eq(json_len(edges), n, "expected %zu edges, got %zu", n, json_len(edges));

  for (size_t i = 0; i < n; i++) {
    const char *name = json_name(json_at(cycle, i));
    int listed = 0;
    cr_assert_not_null(name);
    cr_expect(strncmp(name, prefix, strlen(prefix)) == 0 && name[strlen(prefix)] >= '1' &&
                  name[strlen(prefix)] <= '9',
              "lock name '%s' should be %s<n>", name, prefix);
    for (size_t j = 0; j < i; j++)
      cr_expect(strcmp(name, json_name(json_at(cycle, j))) != 0, "lock %s twice in the cycle", name);
    for (size_t j = 0; j < json_len(locks); j++) {
      const json_t *lk = json_at(locks, j);
      if (json_str_is(json_get(lk, "name"), name)) {
        listed = 1;
        cr_expect(json_str_is(json_get(lk, "kind"), kind), "lock %s should be a %s", name, kind);
        cr_expect_gt(json_int(json_get(lk, "addr")), 0, "lock %s has no address", name);
      }
    }
    cr_expect(listed, "lock %s of the cycle is not in \"locks\"", name);

    /* The edges follow the cycle: some edge goes from cycle[i] to cycle[i+1]. */
    const char *next = json_name(json_at(cycle, i + 1));
    int found = 0;
    for (size_t j = 0; j < n; j++) {
      const json_t *e = json_at(edges, j);
      if (json_str_is(json_get(e, "from"), name) && next != NULL && json_str_is(json_get(e, "to"), next))
        found = 1;
    }
    cr_expect(found, "no edge %s -> %s although the cycle has it", name, next ? next : "?");
  }

  for (size_t k = 0; k < n; k++) {
    const edge_expect_t *x = &expect[k];
    int held_line = corpus_marker_line(source, x->held_marker);
    int acq_line = corpus_marker_line(source, x->acq_marker);
    char seen[2048] = "";
    int found = 0;

    for (size_t j = 0; j < n && !found; j++) {
      const json_t *e = json_at(edges, j);
      const json_t *hs = json_get(e, "held_stack"), *as = json_get(e, "acquire_stack");
      char a[512], b[512];
      found = stack_has(hs, x->held_function, cxx, source, held_line) &&
              stack_has(as, x->acq_function, cxx, source, acq_line);
      snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "\n  %s -> %s: held %s, acquire %s",
               json_str(json_get(e, "from")) ? json_str(json_get(e, "from")) : "?",
               json_str(json_get(e, "to")) ? json_str(json_get(e, "to")) : "?",
               frame_describe(stack_top_in(hs, source, cxx), a, sizeof(a)),
               frame_describe(stack_top_in(as, source, cxx), b, sizeof(b)));
    }
    cr_expect(found, "no edge held at %s %s:%d and acquired at %s %s:%d; edges were:%s",
              x->held_function, source, held_line, x->acq_function, source, acq_line, seen);
  }
}

/* The text report has a frame line naming `function` and source:line. */
void expect_text_frame(const char *err, const char *function, const char *source, int line)
{
  char where[256];
  char *found;

  snprintf(where, sizeof(where), "%s:%d", source, line);
  found = NULL;
  for (const char *p = err; p != NULL && *p != '\0';) {
    const char *nl = strchr(p, '\n');
    char *l = text_line_copy(p);
    if (strstr(l, "#") != NULL && strstr(l, function) != NULL && strstr(l, where) != NULL) {
      found = l;
      break;
    }
    free(l);
    p = nl != NULL ? nl + 1 : NULL;
  }
  cr_expect_not_null(found, "the text report has no frame '%s ... %s'", function, where);
  free(found);
}

void expect_out_line(const run_result_t *r, const char *line)
{
  char *found = text_find_line(r->out, line, "");

  cr_expect_not_null(found, "the program did not print '%s'; its stdout:\n%s", line, r->out);
  free(found);
}

/* The text has no report line at all (every report's first line ends in "(report <n>)"). */
void expect_no_report_line(const run_result_t *r)
{
  char *first = text_find_line(r->err, "lockgraph:", "(report ");

  cr_expect_null(first, "unexpected report: '%s'", first ? first : "");
  free(first);
}

/* The first report line of the text is exactly `want`. */
void expect_first_report_line(const run_result_t *r, const char *want)
{
  char *first = text_find_line(r->err, "lockgraph:", "(report ");

  cr_assert_not_null(first, "no report line; stderr:\n%s", r->err);
  cr_expect_str_eq(first, want);
  free(first);
}

/* The JSON report holds nothing but the summary. */
void expect_no_json_findings(const run_result_t *r)
{
  report_set_t set;

  reports_load(r->json, &set);
  cr_expect_eq(reports_count_findings(&set), 0, "the JSON report has %zu findings",
               reports_count_findings(&set));
  reports_free(&set);
}

/* A run that must be clean: the program's own status, its last line, no report anywhere. */
void expect_clean(const run_result_t *r, const char *program)
{
  char done[128];
  summary_t s;
  report_set_t set;

  snprintf(done, sizeof(done), "%s: done", program);
  cr_expect_eq(r->status, 0, "%s: exit status %d, expected the program's own 0; stderr:\n%s", program,
               r->status, r->err);
  expect_out_line(r, done);
  expect_no_report_line(r);
  /* A clean run prints its text summary only when asked (--verbosity 2, by the tests that
   * read counts from it); the JSON summary object is always there. */
  if (text_count_lines(r->err, "lockgraph: summary:", "") > 0) {
    summary_parse(r->err, &s);
    cr_expect_eq(s.reports, 0, "summary counts %u reports", s.reports);
  }
  reports_load(r->json, &set);
  cr_expect_eq(reports_count_findings(&set), 0, "the JSON report has %zu findings",
               reports_count_findings(&set));
  cr_expect_geq(reports_count(&set, "summary"), 1, "the JSON report has no summary object");
  reports_free(&set);
}

/* The common shape of an inversion verdict: status 66, the exact first report line, one
 * potential deadlock in the summary, and the program ran to its end. */
void expect_potential_deadlock(const run_result_t *r, const char *program, size_t n)
{
  char want[128], done[128];
  summary_t s;

  snprintf(want, sizeof(want), "lockgraph: potential deadlock: lock-order cycle of %zu locks (report 1)", n);
  /* A program built by another compiler is <name>.<compiler>; it still prints "<name>: done". */
  snprintf(done, sizeof(done), "%.*s: done", (int)strcspn(program, "."), program);
  cr_expect_eq(r->status, REPORT_EXITCODE, "exit status %d, expected %d", r->status, REPORT_EXITCODE);
  expect_out_line(r, done);
  expect_first_report_line(r, want);
  cr_expect_eq(summary_parse(r->err, &s), 1, "expected one summary line; stderr:\n%s", r->err);
  cr_expect_eq(s.reports, 1, "summary: %u reports", s.reports);
  cr_expect_eq(s.potential, 1, "summary: %u potential deadlocks", s.potential);
}

/* The classic inversion, as most programs of the corpus write it: ab_function takes A at its
 * `ab_first` line and B at `ab_second`; ba_function takes B at `ba_first` and A at `ba_second`. */
void ab_ba_expect(edge_expect_t expect[2], const char *ab_function, const char *ba_function)
{
  expect[0] = (edge_expect_t){ab_function, "ab_first", ab_function, "ab_second"};
  expect[1] = (edge_expect_t){ba_function, "ba_first", ba_function, "ba_second"};
}

/* Runs one corpus program into a fresh result; the caller ends with run_cleanup. */
void run_corpus(const run_request_t *rq, run_result_t *r)
{
  run_init(r);
  run_program(rq, r);
}

/* Runs an inversion program, checks the verdict of a cycle of n locks and loads its JSON
 * report into set; the caller frees set and cleans r up. */
void run_potential_deadlock(const char *program, size_t n, run_result_t *r, report_set_t *set)
{
  run_request_t rq = {.program = program};

  run_corpus(&rq, r);
  expect_potential_deadlock(r, program, n);
  reports_load(r->json, set);
}

/* Runs an inversion program and checks its verdict and its JSON report. */
void check_inversion(const char *program, const char *source, size_t n, const char *kind,
                            const edge_expect_t *expect, int cxx)
{
  run_result_t r;
  report_set_t set;

  run_potential_deadlock(program, n, &r, &set);
  cr_expect_eq(reports_count(&set, "potential-deadlock"), 1, "JSON potential-deadlock objects: %zu",
               reports_count(&set, "potential-deadlock"));
  expect_inversion(reports_first(&set, "potential-deadlock"), source, n, kind, expect, cxx);
  reports_free(&set);
  run_cleanup(&r);
}

/* check_inversion for a program with the classic two-lock inversion (see ab_ba_expect). */
void check_ab_ba_inversion(const char *program, const char *source, const char *ab_function,
                                  const char *ba_function, const char *kind, int cxx)
{
  edge_expect_t expect[2];

  ab_ba_expect(expect, ab_function, ba_function);
  check_inversion(program, source, 2, kind, expect, cxx);
}


/* The "no report" verdicts: each runs clean and to its end. */
void check_clean(const char *program, const char *expected_out)
{
  run_request_t rq = {.program = program};
  run_result_t r;

  run_corpus(&rq, &r);
  expect_clean(&r, program);
  if (expected_out != NULL)
    expect_out_line(&r, expected_out);
  run_cleanup(&r);
}

/* A run ended by a fatal signal: the process died of that signal, and the summary (text line
 * and JSON object, each once) was written on the way out, after every report. */
void expect_signal_summary(const run_result_t *r, int sig, const char *name, unsigned reports)
{
  char note[128];
  summary_t s;
  report_set_t set;
  const json_t *js;
  const char *summary_at, *last_report_at = NULL;

  snprintf(note, sizeof(note), "lockgraph: the program was terminated by %s (signal %d)", name, sig);
  cr_expect_eq(r->status, 128 + sig, "exit status %d, expected death by %s (%d); stderr:\n%s", r->status,
               name, 128 + sig, r->err);
  cr_expect_eq(text_count_lines(r->err, note, ""), 1, "no line '%s'; stderr:\n%s", note, r->err);
  cr_assert_eq(summary_parse(r->err, &s), 1, "expected one summary line; stderr:\n%s", r->err);
  cr_expect_eq(s.reports, reports, "summary: %u reports, expected %u", s.reports, reports);
  summary_at = strstr(r->err, "lockgraph: summary:");
  for (const char *p = strstr(r->err, "(report "); p != NULL; p = strstr(p + 1, "(report "))
    last_report_at = p;
  cr_expect(last_report_at == NULL || last_report_at < summary_at, "a report follows the summary:\n%s",
            r->err);

  reports_load(r->json, &set);
  cr_expect_eq(reports_count(&set, "summary"), 1, "JSON summary objects: %zu", reports_count(&set, "summary"));
  js = reports_first(&set, "summary");
  cr_assert_not_null(js, "the JSON report has no summary object:\n%s", r->json);
  cr_expect_eq(json_int(json_get(js, "signal")), sig, "JSON summary signal: %lld", json_int(json_get(js, "signal")));
  cr_expect(json_str_is(json_get(js, "signal_name"), name), "JSON summary signal_name is not %s", name);
  cr_expect_eq(json_int(json_get(js, "reports")), reports, "JSON summary reports: %lld",
               json_int(json_get(js, "reports")));
  cr_expect_eq(reports_count_findings(&set), reports, "the JSON report has %zu findings",
               reports_count_findings(&set));
  reports_free(&set);
}

/* Runs a program that must be refused before it starts: given a path as its one argument, it
 * would create that file. The error must be one line naming `needle`. Returns the exit status. */
int run_refused(const run_request_t *rq, const char *needle)
{
  char marker[PATH_MAX];
  const char *args[] = {marker, NULL};
  run_request_t with_marker = *rq;
  run_result_t r;
  int status;

  with_marker.args = args;
  run_init(&r);
  snprintf(marker, sizeof(marker), "%s/ran", r.dir);
  run_program(&with_marker, &r);
  cr_expect_neq(access(marker, F_OK), 0, "the program ran (it created %s)", marker);
  cr_expect_str_empty(r.out, "the program ran: %s", r.out);
  cr_expect_eq(text_count_nonempty_lines(r.err), 1, "expected one error line, got:\n%s", r.err);
  cr_expect_not_null(strstr(r.err, needle), "the error does not name '%s': %s", needle, r.err);
  status = r.status;
  run_cleanup(&r);
  return status;
}

/* An inversion whose first order is taken right after an unusual return of a lock call; the
 * program prints `out_line` when that return happened. */
void check_inversion_after(const char *program, const char *source, const char *out_line)
{
  edge_expect_t expect[2];
  run_result_t r;
  report_set_t set;

  ab_ba_expect(expect, "main", "main");
  run_potential_deadlock(program, 2, &r, &set);
  expect_out_line(&r, out_line);
  cr_expect_eq(reports_count(&set, "potential-deadlock"), 1, "JSON potential-deadlock objects: %zu",
               reports_count(&set, "potential-deadlock"));
  expect_inversion(reports_first(&set, "potential-deadlock"), source, 2, "mutex", expect, 0);
  reports_free(&set);
  run_cleanup(&r);
}