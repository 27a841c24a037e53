/* test_install.c - lockgraph as installed: `cmake --install` to a temporary prefix, the prefix
 * moved elsewhere, and a corpus inversion run through the moved tree's own front end, which
 * must preload the moved tree's library; the man page renders with man(1) and lists exactly
 * the options `lockgraph --help` lists, each with the same LOCKGRAPH_OPTIONS key.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_corpus.h"
#include "lg_tools.h"

/* Installs the build tree into <dir>/p and moves it to <dir>/moved; `moved` gets that path. */
static void install_and_move(const char *dir, char *moved, size_t cap)
{
  char prefix[PATH_MAX];
  snprintf(prefix, sizeof prefix, "%s/p", dir);
  snprintf(moved, cap, "%s/moved", dir);
  const char *argv[] = {"cmake", "--install", LG_BUILD_DIR, "--prefix", prefix, NULL};
  char *out = NULL;
  int status = tool_run(argv, NULL, 120, &out);
  cr_assert_eq(status, 0, "cmake --install exited with %d:\n%s", status, out);
  free(out);
  cr_assert_eq(rename(prefix, moved), 0, "moving %s to %s: %s", prefix, moved, strerror(errno));
}

Test(install, moved_prefix_reports_the_inversion_through_its_own_library, .timeout = 180)
{
  run_result_t r;
  run_init(&r);
  char moved[PATH_MAX], cli[PATH_MAX + 16], lib[PATH_MAX + 48];
  install_and_move(r.dir, moved, sizeof moved);
  snprintf(cli, sizeof cli, "%s/bin/lockgraph", moved);
  snprintf(lib, sizeof lib, "%s/lib/lockgraph/liblockgraph.so", moved);
  cr_assert_eq(access(lib, R_OK), 0, "%s is not installed", lib);

  /* The Tier-1 inversion, through the installed front end: same verdict as the build tree's. */
  run_request_t rq = {.program = "two_thread_inversion", .cli = cli};
  run_program(&rq, &r);
  expect_potential_deadlock(&r, "two_thread_inversion", 2);
  report_set_t set;
  reports_load(r.json, &set);
  edge_expect_t expect[2];
  ab_ba_expect(expect, "worker_ab", "worker_ba");
  expect_inversion(reports_first(&set, "potential-deadlock"), "two_thread_inversion.c", 2,
                   "mutex", expect, 0);
  reports_free(&set);

  /* The library the program got is the moved tree's, not the build tree's: a program run
   * through the installed front end sees it in its own memory map. */
  const char *argv[] = {cli, "--", "cat", "/proc/self/maps", NULL};
  char *maps = NULL;
  int status = tool_run(argv, NULL, 30, &maps);
  cr_expect_eq(status, 0, "lockgraph -- cat exited with %d:\n%s", status, maps);
  char resolved[PATH_MAX];
  cr_assert_not_null(realpath(lib, resolved));
  cr_expect(strstr(maps, resolved) != NULL, "%s is not mapped:\n%s", resolved, maps);
  cr_expect(strstr(maps, LOCKGRAPH_LIB) == NULL, "the build tree's library is mapped:\n%s", maps);
  free(maps);
  run_cleanup(&r);
}

/* The options of `lockgraph --help`: "  --json FILE ... [json] (default: ...)" lines, as
 * "--json json" strings; --help and --version have no key. */
static size_t help_options(const char *help, char opts[][64], size_t max)
{
  size_t n = 0;
  for (const char *line = help; line && *line && n < max; line = strchr(line, '\n'), line += !!line) {
    if (strncmp(line, "  --", 4) != 0)
      continue;
    char flag[32] = "", key[32] = "";
    sscanf(line + 2, "%31s", flag);
    const char *eol = strchr(line, '\n');
    const char *br = strchr(line, '[');
    if (br && (!eol || br < eol))
      sscanf(br + 1, "%31[^]]", key);
    snprintf(opts[n++], 64, "%s %s", flag, key);
  }
  return n;
}

/* The options of the man page's OPTIONS section: ".BI \-\-json " FILE"" or ".B \-\-help"
 * items, each with the "[\fBjson\fR]" key its paragraph names. */
static size_t man_options(const char *man, char opts[][64], size_t max)
{
  const char *sec = strstr(man, "\n.SH OPTIONS");
  cr_assert_not_null(sec, "the man page has no OPTIONS section");
  const char *end = strstr(sec + 1, "\n.SH ");
  size_t n = 0;
  for (const char *p = sec; (p = strstr(p, "\n.TP\n")) != NULL && (!end || p < end) && n < max;) {
    p += 5;
    if (strncmp(p, ".B", 2) != 0)
      continue;
    const char *flag = strstr(p, "\\-\\-");
    const char *eol = strchr(p, '\n');
    if (!flag || flag > eol)
      continue;
    char name[32] = "--", key[32] = "";
    size_t k = 2;
    for (const char *q = flag + 4; q < eol && k < sizeof name - 1; q++) {
      if (*q == '\\' && q[1] == '-') {
        name[k++] = '-';
        q++;
      } else if ((*q >= 'a' && *q <= 'z') || *q == '-') {
        name[k++] = *q;
      } else {
        break;
      }
    }
    name[k] = '\0';
    const char *next = strstr(eol, "\n.TP\n");
    const char *kp = strstr(eol, "[\\fB");
    if (kp && (!next || kp < next) && (!end || kp < end)) {
      size_t j = 0;
      for (const char *q = kp + 4; *q && *q != '\\' && j < sizeof key - 1; q++)
        key[j++] = *q;
      key[j] = '\0';
    }
    snprintf(opts[n++], 64, "%s %s", name, key);
  }
  return n;
}

static int opts_has(char opts[][64], size_t n, const char *o)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(opts[i], o) == 0)
      return 1;
  return 0;
}

Test(install, man_page_and_help_list_the_same_options, .timeout = 180)
{
  run_result_t r;
  run_init(&r);
  char moved[PATH_MAX], cli[PATH_MAX + 16], page[PATH_MAX + 48];
  install_and_move(r.dir, moved, sizeof moved);
  snprintf(cli, sizeof cli, "%s/bin/lockgraph", moved);
  snprintf(page, sizeof page, "%s/share/man/man1/lockgraph.1", moved);

  const char *argv[] = {cli, "--help", NULL};
  char *help = NULL;
  cr_assert_eq(tool_run(argv, NULL, 30, &help), 0, "lockgraph --help failed:\n%s", help);
  char *man = file_read_all(page);
  cr_assert_not_null(man, "%s is not installed", page);

  char from_help[32][64], from_man[32][64];
  size_t nh = help_options(help, from_help, 32), nm = man_options(man, from_man, 32);
  cr_expect_geq(nh, 9, "too few options in --help:\n%s", help);
  for (size_t i = 0; i < nh; i++)
    cr_expect(opts_has(from_man, nm, from_help[i]),
              "--help lists '%s' (option and key), the man page does not", from_help[i]);
  for (size_t i = 0; i < nm; i++)
    cr_expect(opts_has(from_help, nh, from_man[i]),
              "the man page lists '%s' (option and key), --help does not", from_man[i]);
  free(help);
  free(man);

  /* The page renders for man(1), without warnings from the formatter. */
  const char *render[] = {"man", "--warnings", "-l", page, NULL};
  const char *env[] = {"MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", NULL};
  char *text = NULL;
  int status = tool_run(render, env, 60, &text);
  cr_expect_eq(status, 0, "man -l exited with %d:\n%s", status, text);
  const char *sections[] = {"LOCKGRAPH(1)", "SYNOPSIS", "OPTIONS", "LOCKGRAPH_OPTIONS", "REPORTS",
                            "SUPPRESSIONS", "EXIT STATUS", "EXAMPLES"};
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
    cr_expect(strstr(text, sections[i]) != NULL, "man -l: no %s in:\n%s", sections[i], text);
  cr_expect(strstr(text, "warning") == NULL, "man -l warned:\n%s", text);
  free(text);
  run_cleanup(&r);
}
