/* exec.c - the reports of a process that execs count in the end of its run.
 *
 * An exec keeps the process but starts the runtime afresh in the new image: a program that
 * reported an inversion and then exec'd another (a wrapper that execs the real program, a
 * daemon that re-execs itself, a test runner) ended with the new program's status and a
 * summary of the new image's reports alone, so a gate passed it. The exec wrappers pass the
 * counts on in the environment of the new image, as
 *     LOCKGRAPH_CARRIED=<pid>:<count of kind 1>,...,<count of the last kind>,<suppressed>
 * (only when anything was reported or suppressed), and the new image's runtime adds them to its
 * own at start-up when <pid> is its own (an exec of this very process, not an environment a
 * child inherited), then removes the variable, so that no program it runs sees it. Any
 * LOCKGRAPH_CARRIED already in the environment passed on is dropped first.
 *
 * Wrapped: execve, execvpe and fexecve, and execv, execvp, execl, execlp and execle on top of
 * them (glibc's own call execve internally, past any wrapper). A vfork child's exec is passed
 * straight on: its memory is its parent's, and its new image is another program. The new
 * environment is built in memory mapped for it (an environment may be far larger than a
 * thread's stack) and unmapped when the exec fails; errno is the exec's. Nothing here
 * allocates from the heap or formats with stdio: execve may be called from a signal handler.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decimal.h"
#include "lockgraph.h"

#define LG_CARRIED "LOCKGRAPH_CARRIED="
#define LG_CARRIED_LEN (sizeof LG_CARRIED - 1)
#define LG_CARRIED_MAX (LG_REPORT_KINDS + 1) /* counts: kinds 1.., then the suppressed */

extern char **environ;

/* The real exec, resolving it first if a wrapper runs before the constructor. */
#define LG_CALL_REAL_EXEC(field, ...)                                                        \
  (lg_real_resolve(), lg_real.field != NULL ? lg_real.field(__VA_ARGS__) : (errno = ENOSYS, -1))

static int lg_is_carried(const char *entry) {
  return strncmp(entry, LG_CARRIED, LG_CARRIED_LEN) == 0;
}

/* Appends v's digits at *p. */
static void lg_put_decimal(char **p, uint64_t v) {
  *p += lg_decimal_of(*p, v);
}

/* A mapping of size bytes, NULL when there is none to be had. */
static void *lg_exec_map(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* Whether envp preloads this library into the new image (an LD_PRELOAD naming it). */
static int lg_exec_env_preloads(char *const envp[]) {
  for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
    if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0 && strstr(envp[i], "liblockgraph") != NULL)
      return 1;
  return 0;
}

/* envp without LOCKGRAPH_CARRIED and, when this process reported, with its counts: in a
 * mapping of *size bytes (to unmap after a failed exec), or envp itself when there is nothing
 * to change, or no memory for it (*size 0). An environment that does not preload the library
 * (a program that cleans its children's) gives the new image no runtime to carry the counts
 * to: this image's summaries and SARIF log are written now (*away set), as at an exit. */
static char *const *lg_exec_env(char *const envp[], size_t *size, int *away) {
  *size = 0;
  *away = 0;
  if (atomic_load_explicit(&lg_rt.state, memory_order_acquire) != 2)
    return envp;
  if (lg_rt.pid != (pid_t)syscall(SYS_getpid)) {
    /* A vfork child, in its parent's memory: the program it becomes inherits the parent's
     * pipes (waits.c), which the parent must now know. Nothing else is touched. */
    lg_waits_after_fork();
    return envp;
  }
  if (!lg_exec_env_preloads(envp)) {
    *away = 1;
    lg_runtime_exec_away();
    return envp;
  }
  unsigned counts[LG_CARRIED_MAX];
  size_t nc = lg_reports_counts(counts, LG_CARRIED_MAX), n = 0, stale = 0;
  for (; envp != NULL && envp[n] != NULL; n++)
    stale += (size_t)lg_is_carried(envp[n]);
  if (nc == 0 && stale == 0)
    return envp;
  size_t text = LG_CARRIED_LEN + (1 + nc) * (LG_DECIMAL_MAX + 1) + 1;
  size_t want = (n + 2) * sizeof(char *) + text;
  char **out = lg_exec_map(want);
  if (out == NULL)
    return envp;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!lg_is_carried(envp[i]))
      out[k++] = envp[i];
  if (nc > 0) {
    char *m = (char *)(out + n + 2), *p = m;
    memcpy(p, LG_CARRIED, LG_CARRIED_LEN);
    p += LG_CARRIED_LEN;
    lg_put_decimal(&p, (uint64_t)lg_rt.pid);
    for (size_t i = 0; i < nc; i++) {
      *p++ = i == 0 ? ':' : ',';
      lg_put_decimal(&p, counts[i]);
    }
    *p = '\0';
    out[k++] = m;
  }
  out[k] = NULL;
  *size = want;
  return out;
}

/* After an exec that failed (it returned): the environment built for it goes, and a summary
 * written for an exec away is taken back (the run goes on: its end writes it again); rc and
 * errno are the exec's. */
static int lg_exec_failed(int rc, char *const *env, size_t size, int away) {
  int e = errno;
  if (size != 0)
    munmap((void *)env, size);
  if (away)
    lg_runtime_exec_failed();
  errno = e;
  return rc;
}

LG_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  size_t size;
  int away;
  char *const *env = lg_exec_env(envp, &size, &away);
  return lg_exec_failed(LG_CALL_REAL_EXEC(execve, path, argv, env), env, size, away);
}

LG_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  size_t size;
  int away;
  char *const *env = lg_exec_env(envp, &size, &away);
  return lg_exec_failed(LG_CALL_REAL_EXEC(execvpe, file, argv, env), env, size, away);
}

LG_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  size_t size;
  int away;
  char *const *env = lg_exec_env(envp, &size, &away);
  return lg_exec_failed(LG_CALL_REAL_EXEC(fexecve, fd, argv, env), env, size, away);
}

LG_EXPORT int execv(const char *path, char *const argv[]) {
  return execve(path, argv, environ);
}

LG_EXPORT int execvp(const char *file, char *const argv[]) {
  return execvpe(file, argv, environ);
}

/* execl, execlp, execle: the arguments up to the NULL as an argv, on the stack when they are
 * few (a vfork child's mapping would stay in its parent), else in a mapping of their own. */
#define LG_EXEC_STACK_ARGS 256
#define LG_EXEC_LIST(arg0, last, call)                                                    \
  do {                                                                                   \
    va_list ap_;                                                                         \
    size_t n_ = 1;                                                                       \
    va_start(ap_, arg0);                                                                 \
    while (va_arg(ap_, const char *) != NULL)                                            \
      n_++;                                                                              \
    va_end(ap_);                                                                         \
    char *few_[LG_EXEC_STACK_ARGS + 1];                                                  \
    size_t size_ = n_ <= LG_EXEC_STACK_ARGS ? 0 : (n_ + 1) * sizeof(char *);             \
    char **argv = size_ == 0 ? few_ : lg_exec_map(size_);                                \
    if (argv == NULL) {                                                                  \
      errno = ENOMEM;                                                                    \
      return -1;                                                                         \
    }                                                                                    \
    va_start(ap_, arg0);                                                                 \
    argv[0] = (char *)(arg0);                                                            \
    for (size_t i_ = 1; i_ <= n_; i_++)                                                  \
      argv[i_] = va_arg(ap_, char *); /* the last one is the NULL */                     \
    last;                                                                                \
    va_end(ap_);                                                                         \
    return lg_exec_failed((call), argv, size_, 0);                                       \
  } while (0)

LG_EXPORT int execl(const char *path, const char *arg, ...) {
  LG_EXEC_LIST(arg, (void)0, execve(path, argv, environ));
}

LG_EXPORT int execlp(const char *file, const char *arg, ...) {
  LG_EXEC_LIST(arg, (void)0, execvpe(file, argv, environ));
}

LG_EXPORT int execle(const char *path, const char *arg, ...) {
  char *const *envp;
  LG_EXEC_LIST(arg, envp = va_arg(ap_, char *const *), execve(path, argv, envp));
}

/* Parses "<pid>:<n>,<n>,..." into counts; returns how many, 0 when malformed. */
static size_t lg_carried_parse(const char *s, pid_t *pid, unsigned *counts, size_t cap) {
  char *end;
  long p = strtol(s, &end, 10);
  if (end == s || *end != ':')
    return 0;
  *pid = (pid_t)p;
  size_t n = 0;
  for (s = end + 1; n < cap; s = end + 1) {
    unsigned long v = strtoul(s, &end, 10);
    if (end == s)
      return 0;
    counts[n++] = (unsigned)v;
    if (*end != ',')
      break;
  }
  return *end == '\0' ? n : 0;
}

void lg_exec_adopt(void) {
  const char *v = getenv("LOCKGRAPH_CARRIED");
  if (v == NULL)
    return;
  unsigned counts[LG_CARRIED_MAX];
  pid_t pid = 0;
  size_t n = lg_carried_parse(v, &pid, counts, LG_CARRIED_MAX);
  if (n > 0 && pid == lg_rt.pid)
    lg_reports_adopt(counts, n);
  unsetenv("LOCKGRAPH_CARRIED");
}
