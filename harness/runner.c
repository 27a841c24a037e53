/* runner.c - fork/exec the detector runs, with timeouts, process groups and peak RSS.
 *
 * SIGCHLD stays blocked while runs are in flight and is waited for with sigtimedwait, so the
 * loop sleeps until a child ends or the nearest deadline passes, with no polling interval and
 * no threads. SIGINT, SIGTERM and SIGHUP are waited for the same way: the runs live in their
 * own process groups, out of reach of the terminal's Ctrl-C, so detect kills and reaps them
 * itself and then dies of the same signal.
 *
 * Programs fork too (a child process is part of some hazards), and tools fork helpers. While
 * runs are in flight the runner is the child subreaper (PR_SET_CHILD_SUBREAPER): a process
 * whose parent died is handed to the runner, not to init. So when a step ends (or times out,
 * or detect is interrupted) its whole group is killed and every member reaped here, the
 * leader's forgotten children included; none outlives the cell that started it.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int harness_run_arg(harness_run_t *r, int step, const char *arg)
{
  harness_step_t *s = &r->steps[step];
  size_t n = strlen(arg) + 1;
  if (s->argc >= HARNESS_ARGV_MAX || r->arena_used + n > sizeof r->arena)
    return -E2BIG;
  char *dst = r->arena + r->arena_used;
  memcpy(dst, arg, n);
  r->arena_used += n;
  s->argv[s->argc++] = dst;
  s->argv[s->argc] = NULL;
  if (step + 1 > r->nsteps)
    r->nsteps = step + 1;
  return 0;
}

int harness_mkdirs(const char *path)
{
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return -ENAMETOOLONG;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
      return -errno;
    *p = '/';
  }
  if (mkdir(buf, 0755) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

int harness_file_read(const char *path, char **text)
{
  *text = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  size_t cap = 16384, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (len + 1 == cap) {
      char *b = realloc(buf, cap * 2);
      if (!b) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = b;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int rc = -errno;
      free(buf);
      close(fd);
      return rc;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  if (!buf)
    return -ENOMEM;
  buf[len] = '\0';
  *text = buf;
  return 0;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes an argument so that the logged command can be pasted into a shell. */
static void shell_quote(FILE *f, const char *s)
{
  int plain = *s != '\0';
  for (const char *p = s; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./,:=+@%", *p))
      plain = 0;
  if (plain) {
    fputs(s, f);
    return;
  }
  fputc('\'', f);
  for (const char *p = s; *p; p++) {
    if (*p == '\'')
      fputs("'\\''", f);
    else
      fputc(*p, f);
  }
  fputc('\'', f);
}

/* The argv of the current step, with the setarch prefix when the run was switched to it. */
static void step_argv(const harness_run_t *r, char **argv, size_t cap, char *machine)
{
  const harness_step_t *s = &r->steps[r->step];
  size_t n = 0;
  if (r->reran_setarch) {
    argv[n++] = "setarch";
    argv[n++] = machine;
    argv[n++] = "-R";
  }
  for (int i = 0; i < s->argc && n + 1 < cap; i++)
    argv[n++] = s->argv[i];
  argv[n] = NULL;
}

static int log_append(const harness_run_t *r, int truncate, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static int log_append(const harness_run_t *r, int truncate, const char *fmt, ...)
{
  FILE *f = fopen(r->log_path, truncate ? "w" : "a");
  if (!f)
    return -errno;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  return fclose(f) == 0 ? 0 : -errno;
}

static int log_header(const harness_run_t *r, int truncate, char **argv)
{
  FILE *f = fopen(r->log_path, truncate ? "w" : "a");
  if (!f)
    return -errno;
  fputs("detect: $", f);
  if (r->env[0]) {
    const char *eq = strchr(r->env, '=');
    fputc(' ', f);
    fwrite(r->env, 1, (size_t)(eq - r->env) + 1, f);
    shell_quote(f, eq + 1);
  }
  for (char **a = argv; *a; a++) {
    fputc(' ', f);
    shell_quote(f, *a);
  }
  fputc('\n', f);
  return fclose(f) == 0 ? 0 : -errno;
}

static int step_start(harness_run_t *r, int truncate, const sigset_t *old_mask)
{
  char machine[65] = "x86_64";
  struct utsname u;
  if (uname(&u) == 0)
    snprintf(machine, sizeof machine, "%s", u.machine);
  char *argv[HARNESS_ARGV_MAX + 4];
  step_argv(r, argv, sizeof argv / sizeof argv[0], machine);
  int rc = log_header(r, truncate, argv);
  if (rc < 0)
    return rc;
  if (r->reran_setarch == 1 && r->step == 0)
    log_append(r, 0,
               "detect: TSan reported \"unexpected memory mapping\"; reran under setarch -R\n");
  else if (r->reran_setarch == 2 && r->step == 0)
    log_append(r, 0, "detect: the TSan program died of a signal before TSan printed anything "
                     "(a start-up failure on this address layout); reran under setarch -R\n");

  fflush(NULL);
  r->started = now_s();
  r->deadline = r->started + r->timeout_s;
  r->killed = 0;
  r->blocked_s = 0;
  r->sampled_at = r->started;
  pid_t pid = fork();
  if (pid < 0)
    return -errno;
  if (pid == 0) {
    /* Own process group, so a timeout can kill the tool and everything it started. */
    setpgid(0, 0);
    sigprocmask(SIG_SETMASK, old_mask, NULL);
    signal(SIGCHLD, SIG_DFL);
    int in = open("/dev/null", O_RDONLY);
    int out = open(r->log_path, O_WRONLY | O_APPEND);
    if (in < 0 || out < 0)
      _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (r->env[0])
      putenv((char *)r->env);
    execvp(argv[0], argv);
    dprintf(2, "detect: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);  /* also in the parent: no window where a kill(-pid) misses */
  r->pid = pid;
  return 0;
}

/* Whether a thread of process pid, or of a descendant, is running or runnable (state R) or in
 * an uninterruptible wait (D): then the tree is working, or waiting for a CPU or a disk, not
 * blocked. A process that is gone counts as not busy. */
static int tree_busy(pid_t pid, int depth)
{
  char path[96], buf[512];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (d == NULL)
    return 0;
  int busy = 0;
  for (struct dirent *de; !busy && (de = readdir(d)) != NULL;) {
    if (de->d_name[0] < '0' || de->d_name[0] > '9')
      continue;
    snprintf(path, sizeof path, "/proc/%d/task/%.16s/stat", (int)pid, de->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
      close(fd);
    if (n > 0) {
      buf[n] = '\0';
      const char *paren = strrchr(buf, ')'); /* the command name may hold anything */
      if (paren != NULL && paren[1] == ' ' && (paren[2] == 'R' || paren[2] == 'D'))
        busy = 1;
    }
    if (busy || depth >= 8)
      continue;
    snprintf(path, sizeof path, "/proc/%d/task/%.16s/children", (int)pid, de->d_name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
      close(fd);
    if (n <= 0)
      continue;
    buf[n] = '\0';
    for (char *p = buf, *end; !busy && *p;) {
      long child = strtol(p, &end, 10);
      if (end == p)
        break;
      busy = tree_busy((pid_t)child, depth + 1);
      p = end;
    }
  }
  closedir(d);
  return busy;
}

/* Adds the time since the last sample to the step's blocked time when its tree is blocked. */
static void blocked_sample(harness_run_t *r, double now)
{
  if (!tree_busy(r->pid, 0))
    r->blocked_s += now - r->sampled_at;
  r->sampled_at = now;
}

static int log_mentions(const char *path, const char *needle)
{
  char *text;
  if (harness_file_read(path, &text) < 0)
    return 0;
  int found = strstr(text, needle) != NULL;
  free(text);
  return found;
}

/* Kills process group `pgid` and reaps every member that is our child. With the runner as
 * subreaper that is every member once its parent is gone: a member's children are handed to
 * us before the member itself can be reaped, so the loop ends only when the group is empty
 * (ECHILD). Members are SIGKILLed, so the wait is short. */
static void group_kill_reap(pid_t pgid)
{
  kill(-pgid, SIGKILL);
  for (;;) {
    pid_t got = waitpid(-pgid, NULL, 0);
    if (got > 0 || (got < 0 && errno == EINTR))
      continue;
    break;
  }
}

/* A step ended. Returns 1 when the run goes on (another step or a rerun was started). */
static int step_finish(harness_run_t *r, int status, const struct rusage *ru,
                       const sigset_t *old_mask)
{
  double wall = now_s() - r->started;
  /* Helpers and children left behind in the group would keep writing to the log. */
  group_kill_reap(r->pid);
  r->pid = 0;
  r->wall_s += wall;
  if (ru->ru_maxrss > r->rss_kib)
    r->rss_kib = ru->ru_maxrss;
  if (r->killed) {
    r->exit.kind = HARNESS_EXIT_TIMEOUT;
    r->exit.code = r->timeout_s;
  } else if (WIFSIGNALED(status)) {
    r->exit.kind = HARNESS_EXIT_SIGNAL;
    r->exit.code = WTERMSIG(status);
  } else {
    r->exit.kind = HARNESS_EXIT_CODE;
    r->exit.code = WEXITSTATUS(status);
  }
  int tsan_failed_to_start = 0;
  if (r->tsan && !r->reran_setarch) {
    if (r->exit.kind == HARNESS_EXIT_CODE && log_mentions(r->log_path, "unexpected memory mapping"))
      tsan_failed_to_start = 1;
    /* TSan turns a program's own crash into a report; a bare signal death means it never ran. */
    else if (r->exit.kind == HARNESS_EXIT_SIGNAL && !log_mentions(r->log_path, "ThreadSanitizer"))
      tsan_failed_to_start = 2;
  }
  if (tsan_failed_to_start) {
    r->reran_setarch = tsan_failed_to_start;
    r->step = 0;
    r->wall_s = 0;
    r->rss_kib = -1;
    if (step_start(r, 1, old_mask) == 0)
      return 1;
  }
  char line[HARNESS_LINE_MAX];
  harness_exit_format(&r->exit, wall, (long)ru->ru_maxrss, line, sizeof line);
  if (r->wall_limit_s > 0)
    log_append(r, 0, "detect: blocked %.2f s (every thread of the process tree asleep)\n",
               r->blocked_s);
  log_append(r, 0, "%s\n", line);
  /* Later steps measure a larger input; after a hang, a crash or a step over the wall-time
   * limit they add nothing (a larger input would only take longer). */
  int over = r->wall_limit_s > 0 && r->blocked_s > r->wall_limit_s;
  if (r->exit.kind == HARNESS_EXIT_CODE && !over && r->step + 1 < r->nsteps) {
    r->step++;
    if (step_start(r, 0, old_mask) == 0)
      return 1;
  }
  return 0;
}

static void run_not_built(harness_run_t *r)
{
  char machine[] = "x86_64";
  char *argv[HARNESS_ARGV_MAX + 4];
  r->step = 0;
  step_argv(r, argv, sizeof argv / sizeof argv[0], machine);
  log_header(r, 1, argv);
  r->exit.kind = HARNESS_EXIT_NOT_RUN;
  r->exit.code = 0;
  char line[HARNESS_LINE_MAX];
  harness_exit_format(&r->exit, 0, 0, line, sizeof line);
  if (r->missing_tool)
    log_append(r, 0, "detect: not built: %s not found on PATH\n%s\n", r->missing, line);
  else
    log_append(r, 0, "detect: not built: %s does not exist\n%s\n", r->missing, line);
}

static void on_sigchld(int sig)
{
  (void)sig;
}

/* Interrupted: no run may outlive detect, so every group is killed and reaped. */
static void runs_abort(harness_run_t *runs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (runs[i].pid > 0)
      kill(-runs[i].pid, SIGKILL);
  for (size_t i = 0; i < n; i++) {
    if (runs[i].pid <= 0)
      continue;
    while (waitpid(runs[i].pid, NULL, 0) < 0 && errno == EINTR)
      ;
    group_kill_reap(runs[i].pid);
    runs[i].pid = 0;
  }
}

/* Start order: longest timeout first (stable), so slow Valgrind runs do not end up last. */
static int order_cmp(const void *a, const void *b)
{
  const harness_run_t *x = *(harness_run_t *const *)a, *y = *(harness_run_t *const *)b;
  if (x->timeout_s != y->timeout_s)
    return y->timeout_s - x->timeout_s;
  return x < y ? -1 : x > y;
}

int harness_runs_execute(harness_run_t *runs, size_t n, unsigned jobs)
{
  if (jobs == 0)
    jobs = 1;
  harness_run_t **order = malloc((n ? n : 1) * sizeof *order);
  if (!order)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    order[i] = &runs[i];
    runs[i].step = 0;
    runs[i].pid = 0;
    runs[i].wall_s = 0;
    runs[i].rss_kib = -1;
    runs[i].reran_setarch = 0;
    runs[i].exit.kind = HARNESS_EXIT_NOT_RUN;
    runs[i].exit.code = 0;
  }
  qsort(order, n, sizeof *order, order_cmp);

  sigset_t chld, old_mask;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  /* An ignored signal stays ignored (nohup, a background job's SIGINT): detect goes on. */
  static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
    struct sigaction cur;
    if (sigaction(stops[i], NULL, &cur) == 0 && cur.sa_handler != SIG_IGN)
      sigaddset(&chld, stops[i]);
  }
  struct sigaction sa, old_sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sigaction(SIGCHLD, &sa, &old_sa);
  sigprocmask(SIG_BLOCK, &chld, &old_mask);
  /* Orphans of the runs come to us (and are reaped), not to init. */
  int old_subreaper = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &old_subreaper, 0, 0, 0);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  int first_err = 0;
  size_t next = 0, running = 0;
  while (next < n || running > 0) {
    while (running < jobs && next < n) {
      harness_run_t *r = order[next++];
      if (r->missing[0]) {
        run_not_built(r);
        continue;
      }
      int rc = step_start(r, 1, &old_mask);
      if (rc < 0) {
        if (!first_err)
          first_err = rc;
        r->exit.kind = HARNESS_EXIT_CODE;
        r->exit.code = 127;
        continue;
      }
      running++;
    }
    if (running == 0)
      continue;

    double now = now_s(), wake = now + 3600;
    for (size_t i = 0; i < n; i++) {
      if (runs[i].pid > 0 && !runs[i].killed && runs[i].deadline < wake)
        wake = runs[i].deadline;
      if (runs[i].pid > 0 && runs[i].wall_limit_s > 0 && now + 0.01 < wake)
        wake = now + 0.01; /* the blocked time's sampling interval */
    }
    double wait = wake > now ? wake - now : 0;
    struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    int sig = sigtimedwait(&chld, NULL, &ts);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      runs_abort(runs, n);
      prctl(PR_SET_CHILD_SUBREAPER, old_subreaper, 0, 0, 0);
      sigprocmask(SIG_SETMASK, &old_mask, NULL);
      sigaction(SIGCHLD, &old_sa, NULL);
      free(order);
      /* Die of the same signal, so the caller (a shell, make) sees why detect stopped. */
      raise(sig);
      return -EINTR;
    }

    now = now_s();
    for (size_t i = 0; i < n; i++)
      if (runs[i].pid > 0 && runs[i].wall_limit_s > 0 && !runs[i].killed)
        blocked_sample(&runs[i], now);

    int status;
    struct rusage ru;
    pid_t pid;
    while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
      for (size_t i = 0; i < n; i++) {
        if (runs[i].pid == pid) {
          if (!step_finish(&runs[i], status, &ru, &old_mask))
            running--;
          break;
        }
      }
    }
    now = now_s();
    for (size_t i = 0; i < n; i++) {
      if (runs[i].pid > 0 && !runs[i].killed && now >= runs[i].deadline) {
        kill(-runs[i].pid, SIGKILL);
        runs[i].killed = 1;
      }
    }
  }

  prctl(PR_SET_CHILD_SUBREAPER, old_subreaper, 0, 0, 0);
  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  sigaction(SIGCHLD, &old_sa, NULL);
  free(order);
  return first_err;
}
