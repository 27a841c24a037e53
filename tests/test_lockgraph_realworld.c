/* test_lockgraph_realworld.c - lockgraph on real multithreaded programs nobody here wrote.
 *
 * xz, zstd and pigz compress a generated input of a few MB with two threads; git grep searches
 * a generated repository with two threads; cxx_pipeline (tests/corpus) is a C++ thread pool
 * built on the standard library's threads, mutexes and condition variables. Each command runs
 * twice with the same arguments, input and environment: natively, and under bin/lockgraph with
 * --json. The two runs must agree byte for byte on stdout and on the program's own stderr (the
 * lockgraph: lines taken out), and on the exit status; lockgraph must have reported nothing: no
 * report line, no finding in the JSON file, and every summary object there counting 0 reports.
 * The assertions do not depend on a text summary line, which a clean run need not print.
 *
 * The compressed outputs are decompressed again (under lockgraph too) and compared with the
 * input, so "identical" can never mean "identically empty". A program that is not installed
 * fails its test with the package to install: scripts/deps.sh build installs them all.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lg_corpus.h"

extern char **environ;

#define RW_TIMEOUT_S 120
#define RW_INPUT_BYTES (4u << 20)

/* A file's bytes and length (outputs are binary: no string functions on them). */
typedef struct rw_bytes {
  char *data;
  size_t len;
} rw_bytes_t;

typedef struct rw_outcome {
  int status; /* exit status, or 128 + signal */
  rw_bytes_t out, err;
  char *json; /* the --json file under lockgraph; NULL natively */
} rw_outcome_t;

static rw_bytes_t rw_read(const char *path)
{
  rw_bytes_t b = {NULL, 0};
  FILE *f = fopen(path, "rb");
  long n;

  cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
  cr_assert_eq(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  cr_assert_geq(n, 0);
  rewind(f);
  b.data = malloc((size_t)n + 1);
  cr_assert_not_null(b.data);
  b.len = fread(b.data, 1, (size_t)n, f);
  cr_assert_eq(b.len, (size_t)n, "short read of %s", path);
  b.data[b.len] = '\0';
  fclose(f);
  return b;
}

static void rw_outcome_free(rw_outcome_t *o)
{
  free(o->out.data);
  free(o->err.data);
  free(o->json);
  memset(o, 0, sizeof(*o));
}

/* Whether `name` is a program on PATH. */
static int rw_on_path(const char *name)
{
  const char *path = getenv("PATH");
  char buf[PATH_MAX];

  for (const char *p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';) {
    const char *colon = strchr(p, ':');
    size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);
    snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name);
    if (n > 0 && access(buf, X_OK) == 0)
      return 1;
    p = colon != NULL ? colon + 1 : p + n;
  }
  return 0;
}

static void rw_require(const char *program, const char *package)
{
  cr_assert(rw_on_path(program), "%s is not installed (Debian package %s; scripts/deps.sh build installs it)",
            program, package);
}

/* The environment of every run: ours without anything that steers lockgraph, with the same
 * locale, and with git's configuration cut off from the user's and the system's. */
static char **rw_environment(const char *home, char *home_buf, size_t cap)
{
  static const char *const extra[] = {"LC_ALL=C", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
                                      "GIT_PAGER=cat", "PAGER=cat"};
  size_t n = 0, k = 0;
  char **env;

  while (environ[n] != NULL)
    n++;
  env = calloc(n + 8, sizeof(*env));
  cr_assert_not_null(env);
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "LOCKGRAPH_OPTIONS=", 18) != 0 && strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
        strncmp(environ[i], "LC_ALL=", 7) != 0 && strncmp(environ[i], "HOME=", 5) != 0 &&
        strncmp(environ[i], "GIT_", 4) != 0)
      env[k++] = environ[i];
  snprintf(home_buf, cap, "HOME=%s", home);
  env[k++] = home_buf;
  for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
    env[k++] = (char *)extra[i];
  env[k] = NULL;
  return env;
}

static double rw_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for the child up to RW_TIMEOUT_S (a bound, not a measurement); on timeout kills its
 * process group and fails the test. */
static int rw_wait(pid_t pid, const char *what)
{
  double deadline = rw_now() + RW_TIMEOUT_S;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int status = 0, timed_out = 0;

  for (;;) {
    double left = deadline - rw_now();
    if (left <= 0) {
      timed_out = 1;
      break;
    }
    if (pidfd >= 0) {
      struct pollfd p = {.fd = pidfd, .events = POLLIN};
      int rc = poll(&p, 1, (int)(left * 1000) + 1);
      if (rc > 0)
        break;
      cr_assert(rc == 0 || errno == EINTR, "poll on the child: %s", strerror(errno));
    } else {
      /* No pidfd (old kernel): check every 10 ms, only to bound the wait. */
      struct timespec tick = {0, 10 * 1000 * 1000};
      if (waitpid(pid, &status, WNOHANG) == pid)
        goto reaped;
      nanosleep(&tick, NULL);
    }
  }
  if (timed_out)
    kill(-pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
reaped:
  if (pidfd >= 0)
    close(pidfd);
  kill(-pid, SIGKILL); /* anything the program left behind in its group */
  cr_assert_eq(timed_out, 0, "%s did not finish within %d s", what, RW_TIMEOUT_S);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs argv (argv[0] looked up on PATH) in `dir`, stdin from `in` (NULL: /dev/null), stdout and
 * stderr to files named after `tag`; under lockgraph when `traced`. */
static rw_outcome_t rw_run(const char *dir, const char *tag, int traced, const char *in,
                           const char *const *argv)
{
  char out_path[PATH_MAX], err_path[PATH_MAX], json_path[PATH_MAX], home_buf[PATH_MAX + 8];
  const char *full[64];
  size_t n = 0;
  rw_outcome_t o;
  char **env;
  pid_t pid;

  memset(&o, 0, sizeof(o));
  snprintf(out_path, sizeof(out_path), "%s/%s.%s.out", dir, tag, traced ? "lockgraph" : "native");
  snprintf(err_path, sizeof(err_path), "%s/%s.%s.err", dir, tag, traced ? "lockgraph" : "native");
  snprintf(json_path, sizeof(json_path), "%s/%s.jsonl", dir, tag);
  if (traced) {
    cr_assert_eq(access(LOCKGRAPH_CLI, X_OK), 0, "%s is not built", LOCKGRAPH_CLI);
    full[n++] = LOCKGRAPH_CLI;
    full[n++] = "--json";
    full[n++] = json_path;
    full[n++] = "--";
  }
  for (size_t i = 0; argv[i] != NULL && n < 63; i++)
    full[n++] = argv[i];
  full[n] = NULL;
  env = rw_environment(dir, home_buf, sizeof(home_buf));

  fflush(NULL);
  pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int fd_in = open(in != NULL ? in : "/dev/null", O_RDONLY);
    int fd_out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fd_err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd_in < 0 || fd_out < 0 || fd_err < 0 || dup2(fd_in, 0) < 0 || dup2(fd_out, 1) < 0 ||
        dup2(fd_err, 2) < 0 || chdir(dir) != 0)
      _exit(127);
    setpgid(0, 0);
    environ = env;
    execvp(full[0], (char *const *)full);
    _exit(127);
  }
  setpgid(pid, pid);
  free(env);
  o.status = rw_wait(pid, argv[0]);
  o.out = rw_read(out_path);
  o.err = rw_read(err_path);
  if (traced) {
    o.json = file_read_all(json_path);
    cr_assert_not_null(o.json, "%s under lockgraph wrote no JSON report (%s)", argv[0], json_path);
  }
  return o;
}

/* Text with every line that starts with "lockgraph:" taken out: the program's own stderr. */
static char *rw_without_lockgraph_lines(const rw_bytes_t *b)
{
  char *kept = malloc(b->len + 1);
  size_t k = 0;

  cr_assert_not_null(kept);
  for (size_t i = 0; i < b->len;) {
    const char *nl = memchr(b->data + i, '\n', b->len - i);
    size_t n = nl != NULL ? (size_t)(nl - (b->data + i)) + 1 : b->len - i;
    if (!(n >= 10 && memcmp(b->data + i, "lockgraph:", 10) == 0)) {
      memcpy(kept + k, b->data + i, n);
      k += n;
    }
    i += n;
  }
  kept[k] = '\0';
  return kept;
}

/* lockgraph reported nothing: no report line, no finding in the JSON, every summary at 0. */
static void rw_expect_no_report(const rw_outcome_t *o, const char *what)
{
  report_set_t set;
  char *line = text_find_line(o->err.data, "lockgraph:", "(report ");
  size_t summaries;

  cr_expect_null(line, "%s: lockgraph reported: %s", what, line != NULL ? line : "");
  free(line);
  reports_load(o->json, &set);
  cr_expect_eq(reports_count_findings(&set), 0, "%s: the JSON report has %zu findings:\n%s", what,
               reports_count_findings(&set), o->json);
  summaries = reports_count(&set, "summary");
  cr_expect_geq(summaries, 1, "%s: the JSON report has no summary object:\n%s", what, o->json);
  for (size_t i = 0; i < set.count; i++) {
    const json_t *obj = &set.objects[i];
    if (json_str_is(json_get(obj, "type"), "summary")) {
      cr_expect_eq(json_int(json_get(obj, "reports")), 0, "%s: summary counts reports: %s", what,
                   o->json);
      cr_expect_gt(json_int(json_get(obj, "threads")), 1,
                   "%s: the summary saw no second thread; the run did not exercise threads: %s", what,
                   o->json);
    }
  }
  reports_free(&set);
}

/* Runs argv natively and under lockgraph and holds the two runs to each other. Returns the
 * native run (the caller checks what it must contain, then frees it). */
static rw_outcome_t rw_compare(const char *dir, const char *tag, const char *in, const char *const *argv,
                               int want_status)
{
  rw_outcome_t native = rw_run(dir, tag, 0, in, argv);
  rw_outcome_t traced = rw_run(dir, tag, 1, in, argv);
  char *traced_err = rw_without_lockgraph_lines(&traced.err);

  cr_expect_eq(native.status, want_status, "%s natively: exit status %d, expected %d; stderr:\n%s", tag,
               native.status, want_status, native.err.data);
  cr_expect_eq(traced.status, native.status, "%s: exit status %d under lockgraph, %d natively; stderr:\n%s",
               tag, traced.status, native.status, traced.err.data);
  cr_expect_eq(traced.out.len, native.out.len, "%s: %zu bytes of output under lockgraph, %zu natively", tag,
               traced.out.len, native.out.len);
  cr_expect(traced.out.len == native.out.len && memcmp(traced.out.data, native.out.data, native.out.len) == 0,
            "%s: the output under lockgraph differs from the native output", tag);
  cr_expect_str_eq(traced_err, native.err.data, "%s: the program's stderr differs under lockgraph", tag);
  rw_expect_no_report(&traced, tag);
  free(traced_err);
  rw_outcome_free(&traced);
  return native;
}

/* Deterministic text of `bytes` bytes: lines of words drawn from a fixed vocabulary with a
 * fixed generator, so it compresses like prose but every block differs. */
static void rw_generate_text(const char *path, size_t bytes)
{
  static const char *const words[] = {"mutex", "thread", "lock", "order", "cycle", "graph", "wait",
                                      "signal", "queue", "worker", "barrier", "atomic", "fence",
                                      "reader", "writer", "spin", "join", "detach", "futex", "hold"};
  FILE *f = fopen(path, "w");
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  size_t written = 0;

  cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
  while (written < bytes) {
    char line[256];
    int n = 0;
    for (int w = 0; w < 10; w++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s%u", w ? " " : "",
                    words[x % (sizeof(words) / sizeof(words[0]))], (unsigned)(x >> 40) % 1000);
    }
    line[n++] = '\n';
    cr_assert_eq(fwrite(line, 1, (size_t)n, f), (size_t)n);
    written += (size_t)n;
  }
  cr_assert_eq(fclose(f), 0);
}

/* Compresses the input natively and under lockgraph (same bytes out), then decompresses the
 * native output under lockgraph too (the input back). */
static void rw_check_compressor(const char *tag, const char *const *compress, const char *const *decompress)
{
  run_result_t scratch;
  char input[PATH_MAX], packed[PATH_MAX], dtag[64];
  rw_outcome_t native, back;
  rw_bytes_t orig;
  FILE *f;

  run_init(&scratch);
  snprintf(input, sizeof(input), "%s/input.txt", scratch.dir);
  rw_generate_text(input, RW_INPUT_BYTES);
  orig = rw_read(input);

  native = rw_compare(scratch.dir, tag, input, compress, 0);
  cr_assert_gt(native.out.len, 0, "%s wrote nothing", tag);
  cr_expect_lt(native.out.len, orig.len / 2, "%s: %zu bytes from %zu: not compressed", tag, native.out.len,
               orig.len);
  snprintf(packed, sizeof(packed), "%s/packed", scratch.dir);
  f = fopen(packed, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(native.out.data, 1, native.out.len, f), native.out.len);
  cr_assert_eq(fclose(f), 0);

  snprintf(dtag, sizeof(dtag), "%s-d", tag);
  back = rw_compare(scratch.dir, dtag, packed, decompress, 0);
  cr_expect(back.out.len == orig.len && memcmp(back.out.data, orig.data, orig.len) == 0,
            "%s: decompressing gave %zu bytes, not the %zu bytes of the input", tag, back.out.len, orig.len);

  rw_outcome_free(&native);
  rw_outcome_free(&back);
  free(orig.data);
  run_cleanup(&scratch);
}

/* xz splits its input into blocks of --block-size, one per thread: 1 MiB blocks of a 4 MiB
 * input keep both threads busy (the default block is 3x the dictionary, 24 MiB). */
Test(realworld, xz_two_threads_same_bytes_no_report, .timeout = 300)
{
  const char *const c[] = {"xz", "-T2", "--block-size=1MiB", "-c", NULL};
  const char *const d[] = {"xz", "-T2", "-d", "-c", NULL};

  rw_require("xz", "xz-utils");
  rw_check_compressor("xz", c, d);
}

/* zstd's -B sets the size of each worker's job (the default is several MiB). */
Test(realworld, zstd_two_threads_same_bytes_no_report, .timeout = 300)
{
  const char *const c[] = {"zstd", "-T2", "-B1048576", "-q", "-c", NULL};
  const char *const d[] = {"zstd", "-d", "-q", "-c", NULL};

  rw_require("zstd", "zstd");
  rw_check_compressor("zstd", c, d);
}

/* pigz compresses 128 KiB blocks in parallel; read from stdin, its header holds no name and the
 * input file's time, the same for both runs. */
Test(realworld, pigz_two_threads_same_bytes_no_report, .timeout = 300)
{
  const char *const c[] = {"pigz", "-p", "2", "-c", NULL};
  const char *const d[] = {"pigz", "-p", "2", "-d", "-c", NULL};

  rw_require("pigz", "pigz");
  rw_check_compressor("pigz", c, d);
}

/* git grep with two threads over a generated repository of 320 tracked files: one search that
 * matches (status 0) and one that does not (status 1). */
Test(realworld, git_grep_two_threads_same_matches_no_report, .timeout = 300)
{
  const char *const init[] = {"git", "init", "-q", ".", NULL};
  const char *const add[] = {"git", "add", "-A", NULL};
  const char *const grep[] = {"git", "grep", "--threads=2", "-n", "-e", "futex7", "--and", "-e", "lock", NULL};
  const char *const miss[] = {"git", "grep", "--threads=2", "-n", "no such text anywhere", NULL};
  run_result_t scratch;
  rw_outcome_t o;
  char path[PATH_MAX];

  rw_require("git", "git");
  run_init(&scratch);
  o = rw_run(scratch.dir, "init", 0, NULL, init);
  cr_assert_eq(o.status, 0, "git init: %s", o.err.data);
  rw_outcome_free(&o);
  for (int d = 0; d < 8; d++) {
    snprintf(path, sizeof(path), "%s/dir%d", scratch.dir, d);
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
    for (int f = 0; f < 40; f++) {
      snprintf(path, sizeof(path), "%s/dir%d/file%02d.txt", scratch.dir, d, f);
      rw_generate_text(path, 8192 + (size_t)(d * 40 + f) * 64);
    }
  }
  o = rw_run(scratch.dir, "add", 0, NULL, add);
  cr_assert_eq(o.status, 0, "git add: %s", o.err.data);
  rw_outcome_free(&o);

  o = rw_compare(scratch.dir, "grep", NULL, grep, 0);
  cr_expect_gt(text_count_lines(o.out.data, "dir", ":"), 100, "git grep found too little:\n%s", o.out.data);
  rw_outcome_free(&o);
  o = rw_compare(scratch.dir, "grep-miss", NULL, miss, 1);
  cr_expect_eq(o.out.len, 0);
  rw_outcome_free(&o);
  run_cleanup(&scratch);
}

/* The C++ standard library's threads, mutexes and condition variables (tests/corpus). */
Test(realworld, cxx_pipeline_same_output_no_report, .timeout = 300)
{
  const char *const prog[] = {CORPUS_BUILD_DIR "/cxx_pipeline", NULL};
  run_result_t scratch;
  rw_outcome_t o;

  cr_assert_eq(access(prog[0], X_OK), 0, "%s is not built (build the corpus target)", prog[0]);
  run_init(&scratch);
  o = rw_compare(scratch.dir, "cxx_pipeline", NULL, prog, 0);
  cr_expect_not_null(strstr(o.out.data, "cxx_pipeline: items=20000 "), "output:\n%s", o.out.data);
  cr_expect_not_null(strstr(o.out.data, "cxx_pipeline: done\n"), "output:\n%s", o.out.data);
  rw_outcome_free(&o);
  run_cleanup(&scratch);
}
