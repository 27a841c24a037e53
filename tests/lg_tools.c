/* lg_tools.c - running tools from tests and validating SARIF; see lg_tools.h. */
#define _GNU_SOURCE
#include "lg_tools.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOOL_MAX_DIRS 8
static char tool_dirs[TOOL_MAX_DIRS][PATH_MAX];

static int tool_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path) == 0 ? 0 : 0;
}

static void tool_dirs_remove(void)
{
  for (int i = 0; i < TOOL_MAX_DIRS; i++)
    if (tool_dirs[i][0])
      nftw(tool_dirs[i], tool_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void tool_tempdir(char *out, size_t cap, const char *name)
{
  static int registered;
  const char *tmp = getenv("TMPDIR");
  snprintf(out, cap, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
  cr_assert_not_null(mkdtemp(out), "mkdtemp %s: %s", out, strerror(errno));
  if (!registered)
    registered = atexit(tool_dirs_remove) == 0;
  for (int i = 0; i < TOOL_MAX_DIRS; i++)
    if (!tool_dirs[i][0]) {
      snprintf(tool_dirs[i], sizeof tool_dirs[i], "%s", out);
      break;
    }
}

static char *tool_read_all(int fd)
{
  size_t n = 0, cap = 4096;
  char *buf = malloc(cap);
  cr_assert_not_null(buf);
  for (;;) {
    if (n + 1 == cap) {
      buf = realloc(buf, cap *= 2);
      cr_assert_not_null(buf);
    }
    ssize_t k = pread(fd, buf + n, cap - n - 1, (off_t)n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    n += (size_t)k;
  }
  buf[n] = '\0';
  return buf;
}

int tool_run(const char *const *argv, const char *const *env, unsigned timeout_s, char **output)
{
  char secs[16];
  const char *full[64];
  size_t n = 0;
  snprintf(secs, sizeof secs, "%u", timeout_s);
  full[n++] = "timeout";
  full[n++] = "-k";
  full[n++] = "5";
  full[n++] = secs;
  for (size_t i = 0; argv[i] && n < 63; i++)
    full[n++] = argv[i];
  full[n] = NULL;

  FILE *out = tmpfile();
  cr_assert_not_null(out, "tmpfile: %s", strerror(errno));
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(fileno(out), 1) < 0 || dup2(fileno(out), 2) < 0)
      _exit(127);
    for (size_t i = 0; env && env[i]; i++)
      putenv((char *)env[i]);
    execvp(full[0], (char *const *)full);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
  *output = tool_read_all(fileno(out));
  fclose(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int sarif_validate(const char *path, char **output)
{
  cr_assert_eq(access(SARIF_VALIDATOR, X_OK), 0,
               "the SARIF validator is not installed (%s): run scripts/deps.sh test "
               "(make test does; it downloads it from the npm registry)", SARIF_VALIDATOR);
  char report[PATH_MAX];
  snprintf(report, sizeof report, "%s.validation.sarif", path);
  const char *argv[] = {SARIF_VALIDATOR, "validate", path, "--output", report, "--log",
                        "ForceOverwrite", NULL};
  /* Without ICU, .NET runs in its invariant mode instead of refusing to start. */
  const char *env[] = {"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1", NULL};
  int status = tool_run(argv, env, 300, output);
  cr_assert_eq(status, 0, "the SARIF validator exited with %d:\n%s", status, *output);
  cr_assert(strstr(*output, "Analysis completed successfully") != NULL,
            "the SARIF validator did not complete:\n%s", *output);
  /* Its lines: "<file>(line,col): error <rule>: <text>". */
  int errors = 0;
  for (const char *p = *output; (p = strstr(p, "): error ")) != NULL; p++)
    errors++;
  return errors;
}
