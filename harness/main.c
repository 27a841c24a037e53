/* main.c - `detect`: every hazard program under every detector, the matrix, and the gate.
 *
 *   detect [--build DIR] [--jobs N] [--slug S,...] [--detector D,...] [--repeat N]
 *          [--gate] [--expectations FILE] [--source DIR] [--out DIR] [--annotate github|none]
 *
 * Hazards are the pairs buggy/<slug>.c + fixed/<slug>.c of the source tree; programs come
 * from <build>/hazards/<variant>/. Logs go to <out>/logs/<slug>/<buggy|fixed>/<detector>.log,
 * results to <out>/summary.json, <out>/junit.xml and <out>/results.sarif (<out> defaults to
 * <build>/detect). With --annotate github (the default under GitHub Actions), each gate
 * failure is also printed as a GitHub workflow `::error` line (sarif.h).
 * Exit status: 0 when every cell matches harness/expectations.tsv, 1 otherwise, 2 for a usage
 * error or a setup problem (no build tree, reports that cannot be written).
 */
#define _GNU_SOURCE
#include "classify.h"
#include "expectations.h"
#include "report.h"
#include "runner.h"
#include "sarif.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef LG_SOURCE_DIR
#define LG_SOURCE_DIR "."
#endif
#ifndef LG_BUILD_DIR
#define LG_BUILD_DIR "build"
#endif

/* DRD's --exclusive-threshold: a mutex or writer lock held longer than this many ms is an
 * error (a lock held across slow I/O). The fixed programs' longest holds under DRD stay under
 * 20 ms even on a loaded 2-core machine; a lock held across slow I/O is held for far longer. */
#define DRD_EXCLUSIVE_THRESHOLD_MS "250"

/* Timeouts per step, in seconds. */
#define TIMEOUT_NATIVE 30
#define TIMEOUT_TSAN 60
#define TIMEOUT_VALGRIND 180
#define TIMEOUT_LOCKGRAPH 60

static const char usage_text[] =
  "usage: detect [options]\n"
  "Runs every hazard program (buggy/ and fixed/) under every detector and prints the matrix.\n"
  "\n"
  "  --build DIR          build tree with hazards/<variant>/... and bin/lockgraph\n"
  "                       [" LG_BUILD_DIR "]\n"
  "  --source DIR         source checkout (buggy/, fixed/, lib/) [" LG_SOURCE_DIR "]\n"
  "  --jobs N             runs in parallel [number of CPUs]\n"
  "  --slug S[,S...]      only these hazards\n"
  "  --detector D[,D...]  only these columns: oracle, compiler, tsan-gcc, tsan-clang,\n"
  "                       helgrind, drd, lockgraph, budget\n"
  "  --repeat N           run everything N times and count verdict flips per cell\n"
  "  --gate               print only the mismatches and 'gate: N passed, M failed'\n"
  "  --expectations FILE  expectations table [<source>/harness/expectations.tsv]\n"
  "  --out DIR            where logs, summary.json, junit.xml and results.sarif go\n"
  "                       [<build>/detect]\n"
  "  --annotate STYLE     also print gate failures for CI: github (::error lines) or none\n"
  "                       [github when GITHUB_ACTIONS=true, else none]\n"
  "  -h, --help           this text\n"
  "\n"
  "Exit status: 0 every cell as expected, 1 a mismatch, 2 usage or setup error.\n";

/* snprintf that reports truncation: paths longer than PATH_MAX are errors, not cut paths. */
static int fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int fmt(char *buf, size_t cap, const char *f, ...)
{
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(buf, cap, f, ap);
  va_end(ap);
  return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int slug_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Slugs are the pairs buggy/<slug>.c + fixed/<slug>.c. Returns the count, or -errno. */
static int slugs_discover(const char *src, char ***out)
{
  char dir[PATH_MAX];
  *out = NULL;
  if (fmt(dir, sizeof dir, "%s/buggy", src) < 0)
    return -ENAMETOOLONG;
  DIR *dp = opendir(dir);
  if (!dp)
    return errno == ENOENT ? 0 : -errno;
  char **v = NULL;
  int n = 0, rc = 0;
  struct dirent *de;
  while ((de = readdir(dp))) {
    size_t len = strlen(de->d_name);
    if (len < 3 || strcmp(de->d_name + len - 2, ".c") != 0)
      continue;
    char fixed[PATH_MAX];
    if (fmt(fixed, sizeof fixed, "%s/fixed/%s", src, de->d_name) < 0) {
      rc = -ENAMETOOLONG;
      break;
    }
    if (access(fixed, R_OK) != 0)
      continue;
    char **nv = realloc(v, (size_t)(n + 1) * sizeof *nv);
    if (!nv)
      break;
    v = nv;
    v[n] = strndup(de->d_name, len - 2);
    if (v[n])
      n++;
  }
  closedir(dp);
  if (rc < 0) {
    for (int i = 0; i < n; i++)
      free(v[i]);
    free(v);
    return rc;
  }
  qsort(v, (size_t)n, sizeof *v, slug_cmp);
  *out = v;
  return n;
}

static int list_contains(char **v, int n, const char *s)
{
  for (int i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return 1;
  return 0;
}

static int file_exists(const char *path)
{
  return access(path, F_OK) == 0;
}

/* Whether `name` is an executable in a directory of $PATH (what execvp would find). */
static int tool_on_path(const char *name)
{
  const char *path = getenv("PATH");
  if (!path || !*path)
    return 0;
  const char *p = path;
  for (;;) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    char cand[PATH_MAX];
    if (fmt(cand, sizeof cand, "%.*s/%s", (int)len, len ? p : ".", name) == 0 &&
        access(cand, X_OK) == 0)
      return 1;
    if (!colon)
      return 0;
    p = colon + 1;
  }
}

/* A cell whose tool is missing is not built, like a cell whose program is missing. */
static void run_tool_require(harness_run_t *r, const char *tool)
{
  if (r->missing[0] || tool_on_path(tool))
    return;
  snprintf(r->missing, sizeof r->missing, "%s", tool);
  r->missing_tool = 1;
}

/* Sets up one cell's commands (kept across repeats). Returns 0, -E2BIG (too many arguments),
 * -ENAMETOOLONG (a path longer than PATH_MAX) or the errno of creating the log directory. */
static int run_prepare(harness_run_t *r, const char *build, const char *out, const char *src,
                       const char *slug,
                       int fixed, harness_detector_t d, unsigned rep, unsigned repeat)
{
  const char *kind = fixed ? "fixed" : "buggy";
  char dir[PATH_MAX], prog[PATH_MAX], path[PATH_MAX];
  int rc = 0, frc = 0;
  memset(r, 0, sizeof *r);
  r->slug = slug;
  r->fixed = fixed;
  r->detector = d;
  frc |= fmt(dir, sizeof dir, "%s/logs/%s/%s", out, slug, kind);
  if (repeat > 1)
    frc |= fmt(r->log_path, sizeof r->log_path, "%s/%s.run%u.log", dir,
               harness_detector_name(d), rep + 1);
  else
    frc |= fmt(r->log_path, sizeof r->log_path, "%s/%s.log", dir, harness_detector_name(d));
  frc |= fmt(prog, sizeof prog, "%s/hazards/native/%s/%s", build, kind, slug);
  if (!file_exists(prog) && d != HARNESS_DET_COMPILER && d != HARNESS_DET_TSAN_GCC &&
      d != HARNESS_DET_TSAN_CLANG)
    frc |= fmt(r->missing, sizeof r->missing, "%s", prog);

  switch (d) {
  case HARNESS_DET_ORACLE:
    r->timeout_s = TIMEOUT_NATIVE;
    rc |= harness_run_arg(r, 0, prog);
    break;
  case HARNESS_DET_COMPILER:
    r->timeout_s = TIMEOUT_NATIVE;
    frc |= fmt(path, sizeof path, "-I%s/lib", src);
    /* A real compile, not -fsyntax-only: GCC diagnoses warn_unused_result while lowering
     * the function, a step -fsyntax-only skips, so that run would never see the ignored
     * future of swallowed_error. */
    run_tool_require(r, "cc");
    rc |= harness_run_arg(r, 0, "cc");
    rc |= harness_run_arg(r, 0, "-c");
    rc |= harness_run_arg(r, 0, "-o");
    rc |= harness_run_arg(r, 0, "/dev/null");
    rc |= harness_run_arg(r, 0, "-Wall");
    rc |= harness_run_arg(r, 0, "-Wextra");
    rc |= harness_run_arg(r, 0, path);
    frc |= fmt(path, sizeof path, "%s/%s/%s.c", src, kind, slug);
    rc |= harness_run_arg(r, 0, path);
    break;
  case HARNESS_DET_TSAN_GCC:
  case HARNESS_DET_TSAN_CLANG:
    r->timeout_s = TIMEOUT_TSAN;
    r->tsan = 1;
    /* atexit_sleep_ms=0: TSan's default second of sleep at exit waits for threads still
     * running to report; every hazard program joins its threads (or, in a forked child,
     * exits through its own bound) before it returns, so the second is only lost time,
     * once per TSan run. */
    frc |= fmt(r->env, sizeof r->env,
             "TSAN_OPTIONS=halt_on_error=0 exitcode=66 second_deadlock_stack=1 "
             "atexit_sleep_ms=0");
    frc |= fmt(path, sizeof path, "%s/hazards/%s/%s/%s", build, harness_detector_name(d), kind,
               slug);
    if (!file_exists(path))
      frc |= fmt(r->missing, sizeof r->missing, "%s", path);
    rc |= harness_run_arg(r, 0, path);
    break;
  case HARNESS_DET_HELGRIND:
  case HARNESS_DET_DRD:
    r->timeout_s = TIMEOUT_VALGRIND;
    run_tool_require(r, "valgrind");
    rc |= harness_run_arg(r, 0, "valgrind");
    rc |= harness_run_arg(r, 0, d == HARNESS_DET_HELGRIND ? "--tool=helgrind" : "--tool=drd");
    rc |= harness_run_arg(r, 0, "--error-exitcode=66");
    /* Programs that fork and exec: the tool follows the exec'd children too (a forked child
     * is always followed, and reports under its own pid with its own ERROR SUMMARY). */
    rc |= harness_run_arg(r, 0, "--trace-children=yes");
    if (d == HARNESS_DET_DRD)
      rc |= harness_run_arg(r, 0, "--exclusive-threshold=" DRD_EXCLUSIVE_THRESHOLD_MS);
    /* Full source paths in stacks, so reports point at buggy/<slug>.c:N, not <slug>.c:N. */
    rc |= harness_run_arg(r, 0, "--fullpath-after=");
    rc |= harness_run_arg(r, 0, prog);
    break;
  case HARNESS_DET_LOCKGRAPH:
    r->timeout_s = TIMEOUT_LOCKGRAPH;
    frc |= fmt(path, sizeof path, "%s/bin/lockgraph", build);
    if (!file_exists(path))
      frc |= fmt(r->missing, sizeof r->missing, "%s", path);
    rc |= harness_run_arg(r, 0, path);
    /* Hangs and real deadlocks ended after 500 ms rather than the default 1 s: the hazard
     * programs bound their own hangs at 2 s (an alarm), and on a loaded machine the watchdog's
     * look after 1 s came later than that alarm (the cell read clean). Only threads that all
     * wait without a deadline, or wait in a cycle, are reported, so the shorter time adds no
     * finding to a correct program. */
    rc |= harness_run_arg(r, 0, "--watchdog");
    rc |= harness_run_arg(r, 0, "500");
    rc |= harness_run_arg(r, 0, "--json");
    frc |= fmt(path, sizeof path, "%s/lockgraph.jsonl", dir);
    rc |= harness_run_arg(r, 0, path);
    rc |= harness_run_arg(r, 0, "--");
    rc |= harness_run_arg(r, 0, prog);
    break;
  case HARNESS_DET_BUDGET:
    r->timeout_s = TIMEOUT_NATIVE;
    /* A run over its wall-time budget at -x 1 is already a catch: no -x 4 run after it. */
    r->wall_limit_s = HARNESS_BUDGET_WALL_S;
    for (int step = 0; step < 2; step++) {
      rc |= harness_run_arg(r, step, prog);
      rc |= harness_run_arg(r, step, "-x");
      rc |= harness_run_arg(r, step, step == 0 ? "1" : "4");
    }
    break;
  default:
    break;
  }
  if (frc < 0)
    return -ENAMETOOLONG;
  if (rc < 0)
    return -E2BIG;
  return harness_mkdirs(dir);
}

/* What to do about a tool that is not on PATH. */
static const char *tool_package(const char *tool)
{
  return strcmp(tool, "cc") == 0 ? "gcc" : tool;
}

static void tools_missing_print(const harness_run_t *work, size_t n, const char *build,
                                const int *selected)
{
  for (size_t i = 0; i < n; i++) {
    if (!work[i].missing_tool)
      continue;
    size_t j = 0;
    while (j < i && !(work[j].missing_tool && strcmp(work[j].missing, work[i].missing) == 0))
      j++;
    if (j < i)
      continue;
    printf("detect: %s not found on PATH: run scripts/deps.sh build (as root) or apt-get install "
           "%s\n", work[i].missing, tool_package(work[i].missing));
  }
  /* The tsan-clang variant is only configured when CMake found clang, and built by `make
   * build` (the tsan_clang target), not by a build of single targets. */
  char dir[PATH_MAX];
  struct stat st;
  if (selected[HARNESS_DET_TSAN_CLANG] &&
      fmt(dir, sizeof dir, "%s/hazards/tsan-clang", build) == 0 && stat(dir, &st) < 0) {
    if (tool_on_path("clang") || tool_on_path("clang-14"))
      printf("detect: the tsan-clang programs are not built (no %s): run make build\n", dir);
    else
      printf("detect: the tsan-clang programs are not built (no %s): install clang "
             "(scripts/deps.sh build, as root), then make build\n", dir);
  }
  fflush(stdout);
}

static void run_classify(harness_run_t *r, const char *src)
{
  char *text = NULL;
  int rc = harness_file_read(r->log_path, &text);
  if (rc < 0) {
    r->finding.verdict = HARNESS_TOOL_ERROR;
    fmt(r->finding.first_line, sizeof r->finding.first_line, "cannot read the log: %s",
             strerror(-rc));
    return;
  }
  harness_classify(r->detector, r->slug, text, &r->exit, src, &r->finding);
  free(text);
}

/* Parses a comma list against the valid names; prints one line and returns -EINVAL on an
 * unknown name or a list that names nothing (",": running nothing would pass). */
static int names_select(const char *arg, const char *option, const char *what, char **valid,
                        int nvalid, int *mask)
{
  char *copy = strdup(arg);
  if (!copy)
    return -ENOMEM;
  int rc = 0, chosen = 0;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int found = -1;
    for (int i = 0; i < nvalid; i++)
      if (strcmp(valid[i], tok) == 0)
        found = i;
    if (found < 0) {
      fprintf(stderr, "detect: no %s '%s'; the %ss are:", what, tok, what);
      for (int i = 0; i < nvalid; i++)
        fprintf(stderr, " %s", valid[i]);
      fputc('\n', stderr);
      rc = -EINVAL;
      break;
    }
    mask[found] = 1;
    chosen++;
  }
  if (rc == 0 && chosen == 0) {
    fprintf(stderr, "detect: %s '%s' names no %s (see detect -h)\n", option, arg, what);
    rc = -EINVAL;
  }
  free(copy);
  return rc;
}

static int parse_uint(const char *s, unsigned *out)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || v == 0 || v > 1000)
    return -EINVAL;
  *out = (unsigned)v;
  return 0;
}

int main(int argc, char **argv)
{
  const char *build = LG_BUILD_DIR, *source = LG_SOURCE_DIR, *expect_path = NULL;
  const char *slug_arg = NULL, *det_arg = NULL, *out_arg = NULL;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned jobs = ncpu > 0 ? (unsigned)ncpu : 2, repeat = 1;
  int gate = 0;
  harness_annotate_t annotate = harness_annotate_default();

  enum { OPT_BUILD = 256, OPT_SOURCE, OPT_JOBS, OPT_SLUG, OPT_DETECTOR, OPT_REPEAT, OPT_GATE,
         OPT_EXPECT, OPT_OUT, OPT_ANNOTATE };
  static const struct option longopts[] = {
    {"build", required_argument, NULL, OPT_BUILD},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"slug", required_argument, NULL, OPT_SLUG},
    {"detector", required_argument, NULL, OPT_DETECTOR},
    {"repeat", required_argument, NULL, OPT_REPEAT},
    {"gate", no_argument, NULL, OPT_GATE},
    {"expectations", required_argument, NULL, OPT_EXPECT},
    {"out", required_argument, NULL, OPT_OUT},
    {"annotate", required_argument, NULL, OPT_ANNOTATE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_BUILD: build = optarg; break;
    case OPT_SOURCE: source = optarg; break;
    case OPT_SLUG: slug_arg = optarg; break;
    case OPT_DETECTOR: det_arg = optarg; break;
    case OPT_GATE: gate = 1; break;
    case OPT_EXPECT: expect_path = optarg; break;
    case OPT_OUT: out_arg = optarg; break;
    case OPT_ANNOTATE:
      if (harness_annotate_parse(optarg, &annotate) < 0) {
        fprintf(stderr, "detect: --annotate wants github or none, not '%s'\n", optarg);
        return 2;
      }
      break;
    case OPT_JOBS:
      if (parse_uint(optarg, &jobs) < 0) {
        fprintf(stderr, "detect: --jobs wants a number from 1 to 1000, not '%s'\n", optarg);
        return 2;
      }
      break;
    case OPT_REPEAT:
      if (parse_uint(optarg, &repeat) < 0) {
        fprintf(stderr, "detect: --repeat wants a number from 1 to 1000, not '%s'\n", optarg);
        return 2;
      }
      break;
    case 'h':
      fputs(usage_text, stdout);
      return 0;
    case ':':
      fprintf(stderr, "detect: option '%s' needs a value (see detect -h)\n", argv[optind - 1]);
      return 2;
    default:
      /* A short option may sit in a cluster ("-zq"): name the letter, not the word. */
      if (optopt)
        fprintf(stderr, "detect: unknown option '-%c' (see detect -h)\n", optopt);
      else
        fprintf(stderr, "detect: unknown option '%s' (see detect -h)\n", argv[optind - 1]);
      return 2;
    }
  }
  /* An empty path would quietly mean the current directory, or "/" once a suffix is added. */
  const char *empty = !*build ? "--build" : !*source ? "--source"
                    : expect_path && !*expect_path ? "--expectations"
                    : out_arg && !*out_arg ? "--out" : slug_arg && !*slug_arg ? "--slug"
                    : det_arg && !*det_arg ? "--detector" : NULL;
  if (empty) {
    fprintf(stderr, "detect: option '%s' needs a non-empty value (see detect -h)\n", empty);
    return 2;
  }
  if (optind < argc) {
    fprintf(stderr, "detect: unexpected argument '%s' (see detect -h)\n", argv[optind]);
    return 2;
  }

  /* Tools print absolute source paths; classify against the real path of the checkout. */
  char src[PATH_MAX];
  if (!realpath(source, src)) {
    fprintf(stderr, "detect: source directory %s: %s\n", source, strerror(errno));
    return 2;
  }
  char tsv[PATH_MAX];
  if (!expect_path) {
    if (fmt(tsv, sizeof tsv, "%s/harness/expectations.tsv", src) < 0) {
      fprintf(stderr, "detect: %s/harness/expectations.tsv: %s\n", src, strerror(ENAMETOOLONG));
      return 2;
    }
    expect_path = tsv;
  }
  harness_expectations_t *expect = NULL;
  char err[512];
  if (harness_expectations_load(expect_path, &expect, err, sizeof err) < 0) {
    fprintf(stderr, "detect: %s\n", err);
    return 2;
  }

  /* Without programs every cell would be "not built"; say what is wrong instead. */
  char hazards[PATH_MAX];
  struct stat st;
  if (fmt(hazards, sizeof hazards, "%s/hazards", build) < 0 || stat(hazards, &st) < 0 ||
      !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "detect: %s is not a build tree (no hazards/): run make build\n", build);
    return 2;
  }

  char **all = NULL;
  int nall = slugs_discover(src, &all);
  if (nall < 0) {
    fprintf(stderr, "detect: %s/buggy: %s\n", src, strerror(-nall));
    return 2;
  }
  harness_matrix_t m;
  memset(&m, 0, sizeof m);
  m.expect = expect;
  m.build_dir = build;
  m.repeat = repeat;

  int *slug_mask = calloc((size_t)nall + 1, sizeof *slug_mask);
  if (!slug_mask) {
    fprintf(stderr, "detect: out of memory\n");
    return 2;
  }
  if (slug_arg) {
    if (names_select(slug_arg, "--slug", "hazard", all, nall, slug_mask) < 0)
      return 2;
  } else {
    for (int i = 0; i < nall; i++)
      slug_mask[i] = 1;
  }
  char *det_names[HARNESS_DET_COUNT];
  for (int d = 0; d < HARNESS_DET_COUNT; d++)
    det_names[d] = (char *)harness_detector_name((harness_detector_t)d);
  if (det_arg) {
    if (names_select(det_arg, "--detector", "detector", det_names, HARNESS_DET_COUNT,
                     m.selected) < 0)
      return 2;
  } else {
    for (int d = 0; d < HARNESS_DET_COUNT; d++)
      m.selected[d] = 1;
  }
  m.slugs = calloc((size_t)nall + 1, sizeof *m.slugs);
  for (int i = 0; i < nall; i++)
    if (slug_mask[i])
      m.slugs[m.nslugs++] = all[i];

  size_t nruns = m.nslugs * 2 * HARNESS_DET_COUNT;
  m.runs = calloc(nruns ? nruns : 1, sizeof *m.runs);
  harness_run_t *kept = calloc(nruns ? nruns : 1, sizeof *kept);
  harness_verdict_t *last = calloc(nruns ? nruns : 1, sizeof *last);
  m.flips = repeat > 1 ? calloc(nruns ? nruns : 1, sizeof *m.flips) : NULL;
  if (!m.runs || !kept || !last || (repeat > 1 && !m.flips)) {
    fprintf(stderr, "detect: out of memory\n");
    return 2;
  }

  /* The selected runs only, as one array for the runner. */
  harness_run_t *work = calloc(nruns ? nruns : 1, sizeof *work);
  size_t *where = calloc(nruns ? nruns : 1, sizeof *where);
  if (!work || !where) {
    fprintf(stderr, "detect: out of memory\n");
    return 2;
  }
  char out_dir[PATH_MAX], json[PATH_MAX], junit[PATH_MAX], sarif[PATH_MAX];
  if ((out_arg ? fmt(out_dir, sizeof out_dir, "%s", out_arg)
               : fmt(out_dir, sizeof out_dir, "%s/detect", build)) < 0 ||
      fmt(json, sizeof json, "%s/summary.json", out_dir) < 0 ||
      fmt(junit, sizeof junit, "%s/junit.xml", out_dir) < 0 ||
      fmt(sarif, sizeof sarif, "%s/results.sarif", out_dir) < 0) {
    fprintf(stderr, "detect: --out %s: %s\n", out_arg ? out_arg : build, strerror(ENAMETOOLONG));
    return 2;
  }
  /* Found out now, not after minutes of runs whose results would then be lost. */
  int out_rc = harness_mkdirs(out_dir);
  struct stat out_st;
  if (out_rc == 0 && stat(out_dir, &out_st) == 0 && !S_ISDIR(out_st.st_mode))
    out_rc = -ENOTDIR; /* a file of that name is there */
  if (out_rc == 0 && access(out_dir, W_OK) < 0)
    out_rc = -errno;
  if (out_rc < 0) {
    fprintf(stderr, "detect: cannot write to the output directory %s: %s\n", out_dir,
            strerror(-out_rc));
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned rep = 0; rep < repeat; rep++) {
    size_t nwork = 0;
    for (size_t s = 0; s < m.nslugs; s++)
      for (int fixed = 0; fixed < 2; fixed++)
        for (int d = 0; d < HARNESS_DET_COUNT; d++) {
          if (!m.selected[d])
            continue;
          int rc = run_prepare(&work[nwork], build, out_dir, src, m.slugs[s], fixed,
                               (harness_detector_t)d, rep, repeat);
          if (rc < 0) {
            fprintf(stderr, "detect: %s %s %s: cannot prepare the run: %s\n", m.slugs[s],
                    fixed ? "fixed" : "buggy", harness_detector_name((harness_detector_t)d),
                    strerror(-rc));
            return 2;
          }
          where[nwork++] = (s * 2 + (size_t)fixed) * HARNESS_DET_COUNT + (size_t)d;
        }
    /* One line per missing tool, once: the NB cells say "not built", this says what to do. */
    if (rep == 0)
      tools_missing_print(work, nwork, build, m.selected);
    int rc = harness_runs_execute(work, nwork, jobs);
    if (rc < 0)
      fprintf(stderr, "detect: some runs could not start: %s\n", strerror(-rc));
    for (size_t w = 0; w < nwork; w++) {
      harness_run_t *r = &work[w];
      size_t i = where[w];
      run_classify(r, src);
      m.runs[i] = *r;
      /* With --repeat, a cell that failed once keeps that failing run (and its log). */
      size_t s = i / (2 * HARNESS_DET_COUNT);
      int fixed = (int)((i / HARNESS_DET_COUNT) % 2);
      harness_detector_t d = (harness_detector_t)(i % HARNESS_DET_COUNT);
      harness_judgement_t j = harness_matrix_judge(&m, s, fixed, d);
      if (rep > 0 && r->finding.verdict != last[i])
        m.flips[i]++;
      last[i] = r->finding.verdict;
      if (j == HARNESS_JUDGE_FAIL && !kept[i].slug)
        kept[i] = *r;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  for (size_t i = 0; i < nruns; i++)
    if (kept[i].slug)
      m.runs[i] = kept[i];
  double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

  int rc_json = harness_summary_json_write(json, &m);
  int rc_junit = harness_junit_write(junit, &m);
  int rc_sarif = harness_sarif_write(sarif, &m, source, expect_path);

  int passed = 0, failed = 0, nsel = 0;
  for (int d = 0; d < HARNESS_DET_COUNT; d++)
    nsel += m.selected[d];
  FILE *out = stdout;
  if (!gate) {
    harness_matrix_print(out, &m);
    harness_findings_print(out, &m);
    fputc('\n', out);
  }
  harness_gate_print(out, &m, gate ? "gate: FAIL " : "unexpected: ", &passed, &failed);
  /* Cells of a detector whose tool is missing were neither run nor judged (NB): said in the
   * last line, and a gate with any is no pass (nothing was checked there). */
  int not_built = 0;
  for (size_t i = 0; i < m.nslugs * 2 * HARNESS_DET_COUNT; i++)
    not_built += m.selected[i % HARNESS_DET_COUNT] &&
                 m.runs[i].finding.verdict == HARNESS_NOT_BUILT;
  /* A hazard nobody wrote expectations for would never be judged: each buggy cell fails. */
  for (size_t s = 0; s < m.nslugs; s++) {
    if (harness_expectations_get(expect, m.slugs[s], 0, HARNESS_DET_ORACLE, NULL) !=
        HARNESS_EXPECT_NONE)
      continue;
    for (int d = 0; d < HARNESS_DET_COUNT; d++) {
      if (!m.selected[d])
        continue;
      fprintf(out, "%s%s buggy %s: no expectation in %s\n", gate ? "gate: FAIL " : "unexpected: ",
              m.slugs[s], harness_detector_name((harness_detector_t)d), expect_path);
      failed++;
    }
  }
  /* An expected hazard whose program is missing must not pass silently. */
  for (size_t i = 0; i < harness_expectations_slug_count(expect); i++) {
    const char *s = harness_expectations_slug(expect, i);
    if (!list_contains(all, nall, s) && !slug_arg) {
      fprintf(out, "%s%s: listed in %s, but buggy/%s.c and fixed/%s.c are not both there\n",
              gate ? "gate: FAIL " : "unexpected: ", s, expect_path, s, s);
      failed++;
    }
  }
  if (annotate == HARNESS_ANNOTATE_GITHUB)
    harness_annotations_print(out, &m, src, expect_path);
  if (repeat > 1) {
    int flips = harness_flips_print(out, &m);
    fprintf(out, "detect: --repeat %u: %d verdict flip(s) over %zu cells\n", repeat, flips,
            m.nslugs * 2 * (size_t)nsel);
  }
  if (!gate) {
    fprintf(out, "logs: %s/logs/<slug>/<buggy|fixed>/<detector>%s.log\n", out_dir,
            repeat > 1 ? ".run<N>" : "");
    if (rc_json == 0 && rc_junit == 0 && rc_sarif == 0)
      fprintf(out, "results: %s, %s, %s\n", json, junit, sarif);
    fprintf(out, "detect: %zu hazard%s x 2 programs x %d detector%s in %.1f s: %d cells as "
                 "expected, %d not", m.nslugs, m.nslugs == 1 ? "" : "s", nsel,
            nsel == 1 ? "" : "s", elapsed, passed, failed);
    if (not_built > 0)
      fprintf(out, ", %d not built (a tool is missing: see above)", not_built);
    fputc('\n', out);
  } else {
    fprintf(out, "gate: %d passed, %d failed", passed, failed);
    if (not_built > 0)
      fprintf(out, ", %d not built: nothing was checked there (a tool is missing: install it, "
                   "or leave its detector out with --detector)", not_built);
    fputc('\n', out);
    if (not_built > 0 && failed == 0)
      failed = 1;
  }
  harness_expectations_free(expect);
  if (rc_json < 0 || rc_junit < 0 || rc_sarif < 0) {
    fflush(stdout);
    fprintf(stderr, "detect: cannot write %s: %s\n",
            rc_json < 0 ? json : rc_junit < 0 ? junit : sarif,
            strerror(-(rc_json < 0 ? rc_json : rc_junit < 0 ? rc_junit : rc_sarif)));
    return 2;
  }
  return failed ? 1 : 0;
}
