/* report.c - the matrix, the first report lines, the gate lines, summary.json, junit.xml. */
#include "report.h"

#include <errno.h>
#include <string.h>

#define SLUG_COL 22
#define CELL_COL 11

harness_run_t *harness_matrix_run(const harness_matrix_t *m, size_t slug, int fixed,
                                  harness_detector_t d)
{
  return &m->runs[(slug * 2 + (size_t)(fixed != 0)) * HARNESS_DET_COUNT + (size_t)d];
}

harness_judgement_t harness_matrix_judge(const harness_matrix_t *m, size_t slug, int fixed,
                                         harness_detector_t d)
{
  harness_expect_t x = harness_expectations_get(m->expect, m->slugs[slug], fixed, d, NULL);
  return harness_judge(x, harness_matrix_run(m, slug, fixed, d)->finding.verdict);
}

/* One cell of the matrix as the reports below walk it, with what was expected of it. */
typedef struct report_cell {
  size_t next;  /* where report_cell_next looks next: 0 before the first cell */
  size_t index; /* the cell's index into m->runs and m->flips */
  size_t slug;
  int fixed;
  harness_detector_t det;
  const harness_run_t *run;
  harness_expect_t expect;
  const char *reason; /* why, from the expectations table (may be "") */
  harness_judgement_t judgement;
} report_cell_t;

/* Steps *c to the next cell of a selected detector, in the order of m->runs (slug, then the
 * buggy program before the fixed one, then detector). Returns 0 after the last cell. */
static int report_cell_next(const harness_matrix_t *m, report_cell_t *c)
{
  size_t count = m->nslugs * 2 * HARNESS_DET_COUNT;

  while (c->next < count) {
    size_t i = c->next++;
    harness_detector_t d = (harness_detector_t)(i % HARNESS_DET_COUNT);
    if (!m->selected[d])
      continue;
    c->index = i;
    c->slug = i / (2 * HARNESS_DET_COUNT);
    c->fixed = (int)(i / HARNESS_DET_COUNT % 2);
    c->det = d;
    c->run = harness_matrix_run(m, c->slug, c->fixed, d);
    c->expect = harness_expectations_get(m->expect, m->slugs[c->slug], c->fixed, d, &c->reason);
    c->judgement = harness_judge(c->expect, c->run->finding.verdict);
    return 1;
  }
  return 0;
}

/* One half of a cell: the verdict's abbreviation, "-" for a miss that was expected, with "!"
 * before anything that does not match and "*" after a catch where a miss was expected. */
static void cell_half(const harness_matrix_t *m, size_t s, int fixed, harness_detector_t d,
                      char *buf, size_t cap)
{
  harness_expect_t x = harness_expectations_get(m->expect, m->slugs[s], fixed, d, NULL);
  harness_verdict_t v = harness_matrix_run(m, s, fixed, d)->finding.verdict;
  harness_judgement_t j = harness_judge(x, v);
  const char *base = harness_verdict_short(v);
  if (x == HARNESS_EXPECT_MISS && v == HARNESS_CLEAN)
    base = "-";
  snprintf(buf, cap, "%s%s%s", j == HARNESS_JUDGE_FAIL ? "!" : "", base,
           j == HARNESS_JUDGE_NOTE ? "*" : "");
}

void harness_matrix_print(FILE *f, const harness_matrix_t *m)
{
  fprintf(f, "%-*s", SLUG_COL, "hazard (buggy/fixed)");
  for (int d = 0; d < HARNESS_DET_COUNT; d++)
    if (m->selected[d])
      fprintf(f, "%-*s", CELL_COL, harness_detector_name((harness_detector_t)d));
  fputc('\n', f);
  for (size_t s = 0; s < m->nslugs; s++) {
    fprintf(f, "%-*s", SLUG_COL, m->slugs[s]);
    for (int d = 0; d < HARNESS_DET_COUNT; d++) {
      if (!m->selected[d])
        continue;
      char b[16], x[16], cell[40];
      cell_half(m, s, 0, (harness_detector_t)d, b, sizeof b);
      cell_half(m, s, 1, (harness_detector_t)d, x, sizeof x);
      snprintf(cell, sizeof cell, "%s/%s", b, x);
      fprintf(f, "%-*s", CELL_COL, cell);
    }
    fputc('\n', f);
  }
  fputs("\nEach cell is <buggy program>/<fixed program>:\n"
        "  C   caught: the detector reported the hazard     ok  clean: nothing reported\n"
        "  -   clean, and a miss is expected (the reason is in harness/expectations.tsv)\n"
        "  H   hang: no exit before the timeout             X   crash: killed by a signal\n"
        "  E   tool error: the tool failed or its exit status does not match its report\n"
        "  NB  not built: the program, its variant or the tool is missing; a failure only\n"
        "      where the detector is expected to catch the buggy program\n"
        "  !   does not match the expectation (a gate failure)\n"
        "  *   caught although a miss is expected (a note, not a failure)\n", f);
}

/* Prints a first line in at most `width` columns, keeping its trailing "(file:line)". */
static void line_print_short(FILE *f, const char *line, size_t width)
{
  size_t len = strlen(line);
  const char *loc = strrchr(line, '(');
  if (len <= width) {
    fprintf(f, "%s\n", line);
  } else if (loc && line[len - 1] == ')' && strlen(loc) + 8 < width) {
    size_t keep = width - strlen(loc) - 4;
    fprintf(f, "%.*s... %s\n", (int)keep, line, loc);
  } else {
    fprintf(f, "%.*s...\n", (int)(width - 3), line);
  }
}

void harness_findings_print(FILE *f, const harness_matrix_t *m)
{
  int any = 0;
  for (size_t s = 0; s < m->nslugs; s++) {
    for (int d = 0; d < HARNESS_DET_COUNT; d++) {
      if (!m->selected[d])
        continue;
      const harness_run_t *r = harness_matrix_run(m, s, 0, (harness_detector_t)d);
      if (r->finding.verdict != HARNESS_CAUGHT)
        continue;
      if (!any)
        fputs("\nWhat caught each buggy program (first report line):\n", f);
      any = 1;
      fprintf(f, "  %-20s %-10s ", m->slugs[s], harness_detector_name((harness_detector_t)d));
      line_print_short(f, r->finding.first_line, 86);
    }
  }
}

int harness_gate_print(FILE *f, const harness_matrix_t *m, const char *prefix, int *passed,
                       int *failed)
{
  int fails = 0;
  for (report_cell_t c = {0}; report_cell_next(m, &c);) {
    const harness_run_t *r = c.run;
    const char *det = harness_detector_name(c.det);
    const char *variant = c.fixed ? "fixed" : "buggy";
    switch (c.judgement) {
    case HARNESS_JUDGE_FAIL:
      fprintf(f, "%s%s %s %s: expected %s, got %s (log: %s)\n", prefix, m->slugs[c.slug], variant,
              det, c.expect == HARNESS_EXPECT_MISS ? "miss (clean)" : harness_expect_name(c.expect),
              harness_verdict_name(r->finding.verdict), r->log_path);
      fails++;
      (*failed)++;
      break;
    case HARNESS_JUDGE_NOTE:
      fprintf(f, "note: %s %s %s: caught although a miss is expected: %s\n", m->slugs[c.slug],
              variant, det, r->finding.first_line);
      (*passed)++;
      break;
    case HARNESS_JUDGE_PASS:
      (*passed)++;
      break;
    case HARNESS_JUDGE_SKIP:
      break;
    }
  }
  return fails;
}

int harness_flips_print(FILE *f, const harness_matrix_t *m)
{
  int total = 0;
  if (!m->flips)
    return 0;
  for (report_cell_t c = {0}; report_cell_next(m, &c);) {
    int flips = m->flips[c.index];
    if (flips == 0)
      continue;
    total += flips;
    fprintf(f, "flaky: %s %s %s: verdict changed %d time(s) in %u runs (last: %s)\n",
            m->slugs[c.slug], c.fixed ? "fixed" : "buggy", harness_detector_name(c.det), flips,
            m->repeat, harness_verdict_name(c.run->finding.verdict));
  }
  return total;
}

void harness_json_string(FILE *f, const char *s)
{
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c == '\t')
      fputs("\\t", f);
    else if (c < 0x20 || c == 0x7f)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static const char *judgement_name(harness_judgement_t j)
{
  switch (j) {
  case HARNESS_JUDGE_PASS: return "pass";
  case HARNESS_JUDGE_FAIL: return "fail";
  case HARNESS_JUDGE_NOTE: return "note";
  case HARNESS_JUDGE_SKIP: break;
  }
  return "skip";
}

int harness_summary_json_write(const char *path, const harness_matrix_t *m)
{
  FILE *f = fopen(path, "w");
  if (!f)
    return -errno;
  fprintf(f, "{\n  \"repeat\": %u,\n  \"cells\": [", m->repeat);
  int first = 1;
  for (report_cell_t c = {0}; report_cell_next(m, &c);) {
    const harness_run_t *r = c.run;
    fprintf(f, "%s\n    {\"slug\": ", first ? "" : ",");
    first = 0;
    harness_json_string(f, m->slugs[c.slug]);
    fprintf(f, ", \"variant\": \"%s\", \"detector\": \"%s\", \"verdict\": \"%s\", "
               "\"expected\": \"%s\", \"gate\": \"%s\",\n     \"first_line\": ",
            c.fixed ? "fixed" : "buggy", harness_detector_name(c.det),
            harness_verdict_name(r->finding.verdict), harness_expect_name(c.expect),
            judgement_name(c.judgement));
    harness_json_string(f, r->finding.first_line);
    fputs(", \"reason\": ", f);
    harness_json_string(f, c.reason);
    fputs(", \"log\": ", f);
    harness_json_string(f, r->log_path);
    fprintf(f, ", \"wall_s\": %.3f, \"peak_rss_kib\": %ld, \"reran_setarch\": %s",
            r->wall_s, r->rss_kib, r->reran_setarch ? "true" : "false");
    if (m->flips)
      fprintf(f, ", \"flips\": %d", m->flips[c.index]);
    fputc('}', f);
  }
  fputs("\n  ]\n}\n", f);
  return fclose(f) == 0 ? 0 : -errno;
}

static void xml_text(FILE *f, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default:
      if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
        fputc(*s, f);
    }
  }
}

int harness_junit_write(const char *path, const harness_matrix_t *m)
{
  int tests = 0, failures = 0, skipped = 0;
  double time = 0;
  for (report_cell_t c = {0}; report_cell_next(m, &c);) {
    tests++;
    failures += c.judgement == HARNESS_JUDGE_FAIL;
    skipped += c.judgement == HARNESS_JUDGE_SKIP;
    time += c.run->wall_s;
  }
  FILE *f = fopen(path, "w");
  if (!f)
    return -errno;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
             "<testsuite name=\"detect\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" "
             "time=\"%.3f\">\n", tests, failures, skipped, time);
  for (report_cell_t c = {0}; report_cell_next(m, &c);) {
    const harness_run_t *r = c.run;
    fprintf(f, "  <testcase classname=\"detect.");
    xml_text(f, m->slugs[c.slug]);
    fprintf(f, ".%s\" name=\"%s\" time=\"%.3f\">", c.fixed ? "fixed" : "buggy",
            harness_detector_name(c.det), r->wall_s);
    if (c.judgement == HARNESS_JUDGE_FAIL) {
      fprintf(f, "\n    <failure message=\"expected %s, got %s\">", harness_expect_name(c.expect),
              harness_verdict_name(r->finding.verdict));
      xml_text(f, r->finding.first_line);
      fputs("\nlog: ", f);
      xml_text(f, r->log_path);
      fputs("</failure>\n  ", f);
    } else if (c.judgement == HARNESS_JUDGE_SKIP) {
      fprintf(f, "\n    <skipped message=\"%s\"/>\n  ",
              c.expect == HARNESS_EXPECT_NONE ? "no expectation" : "not built");
    } else {
      fputs("\n    <system-out>", f);
      xml_text(f, r->finding.first_line);
      fputs("</system-out>\n  ", f);
    }
    fputs("</testcase>\n", f);
  }
  fputs("</testsuite>\n</testsuites>\n", f);
  return fclose(f) == 0 ? 0 : -errno;
}
