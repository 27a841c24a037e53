/* expectations.c - strict parser for expectations.tsv and the pass/fail rule of the gate. */
#include "expectations.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SLUG_MAX 64
#define REASON_MAX 200

typedef struct expect_row {
  int set;
  int line;
  harness_expect_t expect;
  char reason[REASON_MAX];
} expect_row_t;

typedef struct expect_slug {
  char name[SLUG_MAX];
  int first_line;
  expect_row_t rows[HARNESS_DET_COUNT];
} expect_slug_t;

struct harness_expectations {
  expect_slug_t *slugs;
  size_t count, cap;
};

static expect_slug_t *slug_find(const harness_expectations_t *e, const char *name)
{
  for (size_t i = 0; i < e->count; i++)
    if (strcmp(e->slugs[i].name, name) == 0)
      return &e->slugs[i];
  return NULL;
}

static expect_slug_t *slug_add(harness_expectations_t *e, const char *name, int line)
{
  if (e->count == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 16;
    expect_slug_t *s = realloc(e->slugs, cap * sizeof *s);
    if (!s)
      return NULL;
    e->slugs = s;
    e->cap = cap;
  }
  expect_slug_t *s = &e->slugs[e->count++];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "%s", name);
  s->first_line = line;
  return s;
}

static void detector_list(char *buf, size_t cap)
{
  buf[0] = '\0';
  for (int d = 0; d < HARNESS_DET_COUNT; d++) {
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s", d ? ", " : "", harness_detector_name((harness_detector_t)d));
  }
}

static int slug_valid(const char *s)
{
  if (!*s)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return 0;
  return 1;
}

/* Parses one non-comment line (modified in place). Returns 0 or -EINVAL with err set. */
static int line_parse(harness_expectations_t *e, char *line, const char *name, int lineno,
                      char *err, size_t cap)
{
  /* Every field is counted, so a line with too many says how many it has. */
  char *fields[4];
  int n = 0;
  char *p = line;
  for (;;) {
    if (n < 4)
      fields[n] = p;
    n++;
    char *tab = strchr(p, '\t');
    if (!tab)
      break;
    *tab = '\0';
    p = tab + 1;
  }
  if (n < 3 || n > 4) {
    snprintf(err, cap,
             "%s:%d: expected 3 or 4 tab-separated fields (slug, detector, caught|miss, reason), "
             "got %d", name, lineno, n);
    return -EINVAL;
  }
  if (!slug_valid(fields[0]) || strlen(fields[0]) >= SLUG_MAX) {
    snprintf(err, cap, "%s:%d: '%s' is not a slug (lower case letters, digits, '_')", name,
             lineno, fields[0]);
    return -EINVAL;
  }
  harness_detector_t d;
  if (harness_detector_parse(fields[1], &d) < 0) {
    char list[160];
    detector_list(list, sizeof list);
    snprintf(err, cap, "%s:%d: unknown detector '%s' (detectors: %s)", name, lineno, fields[1],
             list);
    return -EINVAL;
  }
  harness_expect_t x;
  if (strcmp(fields[2], "caught") == 0) {
    x = HARNESS_EXPECT_CAUGHT;
  } else if (strcmp(fields[2], "miss") == 0) {
    x = HARNESS_EXPECT_MISS;
  } else {
    snprintf(err, cap, "%s:%d: expected 'caught' or 'miss', got '%s'", name, lineno, fields[2]);
    return -EINVAL;
  }
  const char *reason = n == 4 ? fields[3] : "";
  while (*reason == ' ')
    reason++;
  if (x == HARNESS_EXPECT_MISS && !*reason) {
    snprintf(err, cap, "%s:%d: %s %s: an expected miss needs a reason (4th field)", name, lineno,
             fields[0], fields[1]);
    return -EINVAL;
  }
  if (strlen(reason) >= REASON_MAX) {
    snprintf(err, cap, "%s:%d: reason longer than %d characters: keep it to one line", name,
             lineno, REASON_MAX - 1);
    return -EINVAL;
  }
  expect_slug_t *s = slug_find(e, fields[0]);
  if (!s && !(s = slug_add(e, fields[0], lineno))) {
    snprintf(err, cap, "%s:%d: out of memory", name, lineno);
    return -ENOMEM;
  }
  expect_row_t *r = &s->rows[d];
  if (r->set) {
    snprintf(err, cap, "%s:%d: second entry for %s %s (first at line %d)", name, lineno,
             fields[0], fields[1], r->line);
    return -EINVAL;
  }
  r->set = 1;
  r->line = lineno;
  r->expect = x;
  snprintf(r->reason, sizeof r->reason, "%s", reason);
  return 0;
}

int harness_expectations_parse(const char *text, const char *name, harness_expectations_t **out,
                               char *err, size_t err_cap)
{
  *out = NULL;
  harness_expectations_t *e = calloc(1, sizeof *e);
  char *copy = strdup(text);
  if (!e || !copy) {
    free(e);
    free(copy);
    snprintf(err, err_cap, "%s: out of memory", name);
    return -ENOMEM;
  }
  int lineno = 0, rc = 0;
  char *p = copy;
  while (p && *p) {
    char *nl = strchr(p, '\n');
    if (nl)
      *nl = '\0';
    lineno++;
    size_t len = strlen(p);
    if (len > 0 && p[len - 1] == '\r')
      p[--len] = '\0';
    const char *q = p;
    while (*q == ' ' || *q == '\t')
      q++;
    if (*q != '\0' && *q != '#') {
      rc = line_parse(e, p, name, lineno, err, err_cap);
      if (rc < 0)
        break;
    }
    p = nl ? nl + 1 : NULL;
  }
  /* A slug that is listed must be complete, or a forgotten detector would pass unnoticed. */
  for (size_t i = 0; rc == 0 && i < e->count; i++) {
    for (int d = 0; d < HARNESS_DET_COUNT; d++) {
      if (!e->slugs[i].rows[d].set) {
        snprintf(err, err_cap, "%s:%d: %s has no entry for detector %s", name,
                 e->slugs[i].first_line, e->slugs[i].name,
                 harness_detector_name((harness_detector_t)d));
        rc = -EINVAL;
        break;
      }
    }
  }
  free(copy);
  if (rc < 0) {
    harness_expectations_free(e);
    return rc;
  }
  *out = e;
  return 0;
}

int harness_expectations_load(const char *path, harness_expectations_t **out, char *err,
                              size_t err_cap)
{
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f) {
    int rc = -errno;
    snprintf(err, err_cap, "%s: %s", path, strerror(errno));
    return rc;
  }
  /* A directory opens for reading; only the first read would fail, as a vague "read error". */
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    snprintf(err, err_cap, "%s: %s", path, strerror(EISDIR));
    return -EISDIR;
  }
  size_t cap = 8192, len = 0;
  char *text = malloc(cap);
  int rc = 0;
  while (text) {
    if (len + 4096 + 1 > cap) {
      char *t = realloc(text, cap * 2);
      if (!t) {
        free(text);
        text = NULL;
        break;
      }
      text = t;
      cap *= 2;
    }
    size_t n = fread(text + len, 1, 4096, f);
    len += n;
    if (n < 4096)
      break;
  }
  if (!text) {
    fclose(f);
    snprintf(err, err_cap, "%s: out of memory", path);
    return -ENOMEM;
  }
  if (ferror(f)) {
    rc = -EIO;
    snprintf(err, err_cap, "%s: read error", path);
  }
  fclose(f);
  text[len] = '\0';
  if (rc == 0)
    rc = harness_expectations_parse(text, path, out, err, err_cap);
  free(text);
  return rc;
}

void harness_expectations_free(harness_expectations_t *e)
{
  if (!e)
    return;
  free(e->slugs);
  free(e);
}

harness_expect_t harness_expectations_get(const harness_expectations_t *e, const char *slug,
                                          int fixed, harness_detector_t d, const char **reason)
{
  if (reason)
    *reason = "";
  if (fixed)
    return HARNESS_EXPECT_CLEAN;
  const expect_slug_t *s = e ? slug_find(e, slug) : NULL;
  if (!s || (unsigned)d >= HARNESS_DET_COUNT)
    return HARNESS_EXPECT_NONE;
  if (reason)
    *reason = s->rows[d].reason;
  return s->rows[d].expect;
}

size_t harness_expectations_slug_count(const harness_expectations_t *e)
{
  return e ? e->count : 0;
}

const char *harness_expectations_slug(const harness_expectations_t *e, size_t i)
{
  return e && i < e->count ? e->slugs[i].name : NULL;
}

harness_judgement_t harness_judge(harness_expect_t expect, harness_verdict_t got)
{
  switch (expect) {
  case HARNESS_EXPECT_CLEAN:
    if (got == HARNESS_CLEAN)
      return HARNESS_JUDGE_PASS;
    return got == HARNESS_NOT_BUILT ? HARNESS_JUDGE_SKIP : HARNESS_JUDGE_FAIL;
  case HARNESS_EXPECT_CAUGHT:
    return got == HARNESS_CAUGHT ? HARNESS_JUDGE_PASS : HARNESS_JUDGE_FAIL;
  case HARNESS_EXPECT_MISS:
    if (got == HARNESS_CLEAN)
      return HARNESS_JUDGE_PASS;
    if (got == HARNESS_CAUGHT)
      return HARNESS_JUDGE_NOTE;
    return got == HARNESS_NOT_BUILT ? HARNESS_JUDGE_SKIP : HARNESS_JUDGE_FAIL;
  case HARNESS_EXPECT_NONE:
    break;
  }
  return HARNESS_JUDGE_SKIP;
}

const char *harness_expect_name(harness_expect_t e)
{
  switch (e) {
  case HARNESS_EXPECT_CAUGHT: return "caught";
  case HARNESS_EXPECT_MISS: return "miss";
  case HARNESS_EXPECT_CLEAN: return "clean";
  case HARNESS_EXPECT_NONE: break;
  }
  return "none";
}
