/* sarif.c - results.sarif and GitHub Actions annotations; the contract is in sarif.h. */
#define _GNU_SOURCE
#include "sarif.h"
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The line of the program's BUG: (buggy) or FIX: (fixed) marker; 0 when there is none. */
static int marker_line(const char *src_dir, const char *rel, int fixed)
{
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s", src_dir, rel) >= (int)sizeof path)
    return 0;
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char buf[1024];
  int n = 0, found = 0;
  while (!found && fgets(buf, sizeof buf, f)) {
    n++;
    found = strstr(buf, fixed ? "FIX:" : "BUG:") != NULL;
  }
  fclose(f);
  return found ? n : 0;
}

void harness_finding_location(const char *first_line, const char *src_dir, const char *slug,
                              int fixed, char *file, size_t cap, int *line)
{
  /* "... (buggy/lost_update.c:40)": the last parenthesis, a path, a colon, digits. */
  size_t n = strlen(first_line);
  const char *open = NULL;
  if (n > 4 && first_line[n - 1] == ')') {
    for (const char *p = first_line + n - 2; p > first_line; p--)
      if (p[0] == '(' && p[-1] == ' ') {
        open = p;
        break;
      }
  }
  if (open) {
    const char *colon = NULL;
    for (const char *p = first_line + n - 2; p > open; p--)
      if (*p == ':') {
        colon = p;
        break;
      }
    int digits = colon && colon + 1 < first_line + n - 1;
    for (const char *p = colon ? colon + 1 : NULL; digits && p < first_line + n - 1; p++)
      digits = *p >= '0' && *p <= '9';
    if (digits && colon > open + 1 && (size_t)(colon - open - 1) < cap) {
      memcpy(file, open + 1, (size_t)(colon - open - 1));
      file[colon - open - 1] = '\0';
      *line = atoi(colon + 1);
      if (*line > 0 && !strstr(file, " "))
        return;
    }
  }
  snprintf(file, cap, "%s/%s.c", fixed ? "fixed" : "buggy", slug);
  *line = marker_line(src_dir, file, fixed);
}

int harness_gate_failure_next(const harness_matrix_t *m, const char *src_dir,
                              const char *expect_path, harness_gate_failure_t *g)
{
  size_t cells = m->nslugs * 2 * HARNESS_DET_COUNT;
  /* First the cells that do not match, in matrix order, then the hazards without expectations. */
  while (g->next < 2 * cells) {
    size_t i = g->next++;
    size_t k = i % cells;
    harness_detector_t d = (harness_detector_t)(k % HARNESS_DET_COUNT);
    size_t s = k / (2 * HARNESS_DET_COUNT);
    int fixed = (int)(k / HARNESS_DET_COUNT % 2);
    if (!m->selected[d])
      continue;
    const char *slug = m->slugs[s];
    const char *det = harness_detector_name(d);
    g->slug = s;
    g->fixed = fixed;
    g->det = d;
    snprintf(g->title, sizeof g->title, "%s %s %s", slug, fixed ? "fixed" : "buggy", det);
    if (i < cells) {
      if (harness_matrix_judge(m, s, fixed, d) != HARNESS_JUDGE_FAIL)
        continue;
      const harness_run_t *r = harness_matrix_run(m, s, fixed, d);
      harness_expect_t x = harness_expectations_get(m->expect, slug, fixed, d, NULL);
      g->run = r;
      snprintf(g->message, sizeof g->message, "expected %s, got %s: %s (log: %s)",
               x == HARNESS_EXPECT_MISS ? "miss (clean)" : harness_expect_name(x),
               harness_verdict_name(r->finding.verdict), r->finding.first_line, r->log_path);
      harness_finding_location(r->finding.first_line, src_dir, slug, fixed, g->file,
                               sizeof g->file, &g->line);
      return 1;
    }
    if (fixed || harness_expectations_get(m->expect, slug, 0, HARNESS_DET_ORACLE, NULL) !=
                     HARNESS_EXPECT_NONE)
      continue;
    g->run = NULL;
    snprintf(g->message, sizeof g->message, "no expectation in %s", expect_path);
    snprintf(g->file, sizeof g->file, "buggy/%s.c", slug);
    g->line = marker_line(src_dir, g->file, 0);
    return 1;
  }
  return 0;
}

/* ---- SARIF ---- */

static void uri_path(FILE *f, const char *path)
{
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    unsigned char c = *p;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '/')
      fputc(c, f);
    else
      fprintf(f, "%%%02X", c);
  }
}

static void sarif_location(FILE *f, const char *file, int line, const char *src_abs)
{
  /* An absolute path under the checkout is made relative to it; others stay file:// URIs. */
  size_t n = strlen(src_abs);
  if (file[0] == '/' && n > 1 && strncmp(file, src_abs, n) == 0 && file[n] == '/')
    file += n + 1;
  fputs("[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":\"", f);
  if (file[0] == '/') {
    fputs("file://", f);
    uri_path(f, file);
    fputs("\"}", f);
  } else {
    uri_path(f, strncmp(file, "./", 2) == 0 ? file + 2 : file);
    fputs("\",\"uriBaseId\":\"SRCROOT\"}", f);
  }
  if (line > 0)
    fprintf(f, ",\"region\":{\"startLine\":%d}", line);
  fputs("}}]", f);
}

int harness_sarif_write(const char *path, const harness_matrix_t *m, const char *source_dir,
                        const char *expect_path)
{
  char src_abs[PATH_MAX];
  if (!realpath(source_dir, src_abs))
    snprintf(src_abs, sizeof src_abs, "%s", source_dir);
  FILE *f = fopen(path, "w");
  if (!f)
    return -errno;
  fputs("{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
        "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"detect\",\"version\":\"1.0.0\","
        "\"semanticVersion\":\"1.0.0\",\"rules\":[\n", f);
  /* Rule 0 is the gate; rules 1.. are the detectors, in column order. */
  fputs("  {\"id\":\"gate\",\"name\":\"GateFailure\",\"shortDescription\":{\"text\":\"A cell of "
        "the matrix does not match its expectation\"},\"fullDescription\":{\"text\":\"A fixed "
        "program was reported, a buggy program was not caught by a detector that must catch it, "
        "a run hung or crashed, or a hazard has no expectations "
        "(harness/expectations.tsv).\"},\"defaultConfiguration\":{\"level\":\"error\"}}", f);
  for (int d = 0; d < HARNESS_DET_COUNT; d++) {
    const char *det = harness_detector_name((harness_detector_t)d);
    fprintf(f, ",\n  {\"id\":\"caught/%s\",\"name\":\"CaughtBy", det);
    for (const char *p = det; *p; p++)
      if (*p != '-')
        fputc(p == det || p[-1] == '-' ? (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p) : *p, f);
    fprintf(f, "\",\"shortDescription\":{\"text\":\"Hazard caught by %s\"},"
               "\"fullDescription\":{\"text\":\"The detector %s reported the hazard of a buggy "
               "program; its first report line is the message.\"},"
               "\"defaultConfiguration\":{\"level\":\"warning\"}}", det, det);
  }
  fputs("]}},\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":\"file://", f);
  uri_path(f, src_abs);
  fputs(src_abs[strlen(src_abs) - 1] == '/' ? "\"}}" : "/\"}}", f);
  fputs(",\"results\":[", f);
  int first = 1;
  /* Every caught buggy cell. */
  for (size_t s = 0; s < m->nslugs; s++)
    for (int d = 0; d < HARNESS_DET_COUNT; d++) {
      const harness_run_t *r = harness_matrix_run(m, s, 0, (harness_detector_t)d);
      if (!m->selected[d] || r->finding.verdict != HARNESS_CAUGHT)
        continue;
      char file[512];
      int line;
      harness_finding_location(r->finding.first_line, src_abs, m->slugs[s], 0, file, sizeof file,
                               &line);
      char text[1024];
      snprintf(text, sizeof text, "%s: caught by %s: %s", m->slugs[s],
               harness_detector_name((harness_detector_t)d), r->finding.first_line);
      fprintf(f, "%s\n  {\"ruleId\":\"caught/%s\",\"ruleIndex\":%d,\"level\":\"warning\","
                 "\"message\":{\"text\":", first ? "" : ",",
              harness_detector_name((harness_detector_t)d), d + 1);
      harness_json_string(f, text);
      fputs("},\"locations\":", f);
      sarif_location(f, file, line, src_abs);
      fputs(",\"properties\":{\"log\":", f);
      harness_json_string(f, r->log_path);
      fputs("}}", f);
      first = 0;
    }
  /* Every gate failure. */
  harness_gate_failure_t g = {0};
  while (harness_gate_failure_next(m, src_abs, expect_path, &g)) {
    char text[sizeof g.title + sizeof g.message + 16];
    snprintf(text, sizeof text, "gate: FAIL %s: %s", g.title, g.message);
    fprintf(f, "%s\n  {\"ruleId\":\"gate\",\"ruleIndex\":0,\"level\":\"error\",\"message\":"
               "{\"text\":", first ? "" : ",");
    harness_json_string(f, text);
    fputs("},\"locations\":", f);
    sarif_location(f, g.file, g.line, src_abs);
    fputs("}", f);
    first = 0;
  }
  fputs("\n]}]}\n", f);
  return fclose(f) == 0 ? 0 : -errno;
}

/* ---- GitHub Actions annotations ---- */

int harness_annotate_parse(const char *s, harness_annotate_t *out)
{
  if (strcmp(s, "github") == 0)
    *out = HARNESS_ANNOTATE_GITHUB;
  else if (strcmp(s, "none") == 0)
    *out = HARNESS_ANNOTATE_NONE;
  else
    return -EINVAL;
  return 0;
}

harness_annotate_t harness_annotate_default(void)
{
  const char *gha = getenv("GITHUB_ACTIONS");
  return gha && strcmp(gha, "true") == 0 ? HARNESS_ANNOTATE_GITHUB : HARNESS_ANNOTATE_NONE;
}

/* Workflow-command escaping: '%', CR and LF everywhere; ':' and ',' also in properties. */
static void gha_escape(FILE *f, const char *s, int property)
{
  for (; *s; s++) {
    if (*s == '%')
      fputs("%25", f);
    else if (*s == '\r')
      fputs("%0D", f);
    else if (*s == '\n')
      fputs("%0A", f);
    else if (property && *s == ':')
      fputs("%3A", f);
    else if (property && *s == ',')
      fputs("%2C", f);
    else
      fputc(*s, f);
  }
}

int harness_annotations_print(FILE *f, const harness_matrix_t *m, const char *src_dir,
                              const char *expect_path)
{
  int n = 0;
  harness_gate_failure_t g = {0};
  while (harness_gate_failure_next(m, src_dir, expect_path, &g)) {
    const char *file = strncmp(g.file, "./", 2) == 0 ? g.file + 2 : g.file;
    fputs("::error file=", f);
    gha_escape(f, file, 1);
    if (g.line > 0)
      fprintf(f, ",line=%d", g.line);
    fputs(",title=", f);
    gha_escape(f, "gate: ", 1);
    gha_escape(f, g.title, 1);
    fputs("::", f);
    gha_escape(f, g.message, 0);
    fputc('\n', f);
    n++;
  }
  return n;
}
