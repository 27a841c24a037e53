/* runner.h - run many commands in parallel, each in its own process group, under a timeout.
 *
 * One harness_run_t is one matrix cell: up to HARNESS_STEPS_MAX commands run one after the
 * other (the budget column measures -x 1, then -x 4), all appended to one log file:
 *
 *   detect: $ TSAN_OPTIONS='...' build/hazards/tsan-gcc/buggy/lost_update      <- exact command
 *   ...stdout and stderr of the command...
 *   detect: exit 66, 1.25 s, peak RSS 10240 KiB                                  <- how it ended
 *
 * A step that times out gets SIGKILL sent to its whole process group (a tool's helpers and a
 * program's children included) and ends the cell. When a step ends in any way, whatever is
 * left of its group is killed and reaped: the runner is the child subreaper while runs are in
 * flight, so a program's forgotten children are reaped by detect, never left running or to
 * init. (A process that leaves its group with setpgid/setsid escapes the kill; none of the
 * programs does.) Peak RSS is ru_maxrss from wait4.
 * For runs with a wall_limit_s, the runner samples the step's process tree about every 10 ms
 * (/proc/<pid>/task/<tid>/stat and .../children) and counts the time in which no thread of it
 * was running, runnable or in an uninterruptible wait: time the program was blocked.
 * TSan steps that die with "unexpected memory mapping" (high-entropy ASLR kernels) are rerun
 * once under `setarch <machine> -R`, and the log says so.
 *
 * Runs start longest-timeout first (Valgrind before TSan before native), at most `jobs` at a
 * time. The runner uses fork/exec and SIGCHLD; it is not thread-safe and must be the only
 * code in the process reaping children while it runs.
 */
#ifndef HARNESS_RUNNER_H
#define HARNESS_RUNNER_H

#include "classify.h"

#include <limits.h>
#include <sys/types.h>

#define HARNESS_STEPS_MAX 2
#define HARNESS_ARGV_MAX 32
#define HARNESS_ARENA 4096

typedef struct harness_step {
  int argc;
  char *argv[HARNESS_ARGV_MAX + 1];  /* NULL-terminated, points into the run's arena */
} harness_step_t;

typedef struct harness_run {
  /* What to run (filled by the caller, kept across repeats). */
  const char *slug;
  int fixed;                        /* 0 = buggy program, 1 = fixed program */
  harness_detector_t detector;
  char log_path[PATH_MAX];
  int timeout_s;                    /* per step */
  int nsteps;
  harness_step_t steps[HARNESS_STEPS_MAX];
  char env[256];                    /* one NAME=value for every step, or "" */
  int tsan;                         /* rerun under setarch -R on "unexpected memory mapping" */
  /* > 0: the budget's limit on the time a step spends blocked (every thread of its process
   * tree asleep, none running or waiting for a CPU); a step over it is the last one run, and
   * the log says how long each step was blocked ("detect: blocked 2.00 s ..."). Time spent
   * waiting for a CPU on a loaded machine is not counted: it is not the program's doing. */
  double wall_limit_s;
  char missing[PATH_MAX];           /* non-empty: this file is not built; nothing runs */
  int missing_tool;                 /* `missing` is a tool not found on PATH, not a file */
  char arena[HARNESS_ARENA];
  size_t arena_used;

  /* What happened (filled by harness_runs_execute). */
  harness_exit_t exit;
  double wall_s;                    /* sum over steps */
  long rss_kib;                     /* max over steps, -1 when nothing ran */
  /* TSan could not start on this kernel's address layout, so the run was redone under
   * `setarch -R`: 1 after "unexpected memory mapping", 2 after a signal death with no
   * ThreadSanitizer output at all (the runtime died before it could say anything). */
  int reran_setarch;
  harness_finding_t finding;        /* filled by the caller's classification */

  /* Runner state. */
  int step;
  pid_t pid;
  int killed;
  double started, deadline;
  double blocked_s, sampled_at;     /* this step's blocked time, and when it was last sampled */
} harness_run_t;

/* Appends one argument to step `step` of r (copied into r's arena). Returns 0, or -E2BIG when
 * the arena or the argument vector is full. */
int harness_run_arg(harness_run_t *r, int step, const char *arg);

/* Runs every run (skipping and logging the ones with `missing` set), at most `jobs` at once.
 * Returns 0 when every run was started or logged, or the first negative errno (e.g. a log
 * file that cannot be created); runs that could not start get a tool-error exit. SIGINT,
 * SIGTERM and SIGHUP kill and reap every running group, then the signal is raised again with
 * the caller's mask and disposition back in place; -EINTR if the caller's disposition let
 * the process live. */
int harness_runs_execute(harness_run_t *runs, size_t n, unsigned jobs);

/* Reads a whole file into a new NUL-terminated buffer (*text, free() it). Returns 0 or -errno. */
int harness_file_read(const char *path, char **text);

/* Creates a directory and its parents (mode 0755). Returns 0 or -errno. */
int harness_mkdirs(const char *path);

#endif
