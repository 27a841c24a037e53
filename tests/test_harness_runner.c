/* test_harness_runner.c - the runner on real processes: timeouts kill the whole process group,
 * exit statuses and signals are recorded, logs carry the command and the ending, a missing
 * binary is "not built" without running anything.
 */
#include "runner.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT LG_BUILD_DIR "/test-harness-runner"

static void run_init(harness_run_t *r, const char *name, int timeout_s, const char *script)
{
  memset(r, 0, sizeof *r);
  r->slug = "runner";
  r->detector = HARNESS_DET_ORACLE;
  r->timeout_s = timeout_s;
  snprintf(r->log_path, sizeof r->log_path, "%s/%s.log", OUT, name);
  cr_assert_eq(harness_run_arg(r, 0, "sh"), 0);
  cr_assert_eq(harness_run_arg(r, 0, "-c"), 0);
  cr_assert_eq(harness_run_arg(r, 0, script), 0);
}

/* Not even a zombie: reaped. (A pid is not reused this fast on a system with pid_max.) */
static int process_exists(pid_t pid)
{
  return kill(pid, 0) == 0 || errno != ESRCH;
}

/* A script's own files go to the directory given as its $1 (the command is
 * sh -c <script> sh OUT), never formatted into the script: the script stays the same whatever
 * the length of the checkout's path, and a path with blanks stays one word. */
static void run_arg_out(harness_run_t *r)
{
  cr_assert_eq(harness_run_arg(r, 0, "sh"), 0);
  cr_assert_eq(harness_run_arg(r, 0, OUT), 0);
}

/* Reads the pid a script wrote to OUT/<name>. */
static pid_t pid_file_read(const char *name)
{
  char path[PATH_MAX], *text;
  snprintf(path, sizeof path, "%s/%s", OUT, name);
  cr_assert_eq(harness_file_read(path, &text), 0, "no %s", path);
  pid_t pid = (pid_t)atoi(text);
  free(text);
  cr_assert_gt(pid, 0);
  return pid;
}

Test(harness_runner, timeout_kills_the_whole_process_group, .timeout = 30)
{
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r;
  run_init(&r, "timeout", 1, "sleep 60 & echo $! > \"$1/bg.pid\"; wait");
  run_arg_out(&r);
  cr_assert_eq(harness_runs_execute(&r, 1, 1), 0);
  cr_expect_eq(r.exit.kind, HARNESS_EXIT_TIMEOUT);
  cr_expect_eq(r.exit.code, 1);
  cr_expect_lt(r.wall_s, 10.0);

  pid_t bg = pid_file_read("bg.pid");
  /* The grandchild was killed with the group and reaped by the runner before it returned. */
  cr_expect_not(process_exists(bg), "background child %d survived the timeout", (int)bg);

  char *log;
  cr_assert_eq(harness_file_read(r.log_path, &log), 0);
  cr_expect(strstr(log, "detect: $ sh -c ") == log, "%s", log);
  cr_expect(strstr(log, "detect: timed out after 1 s; killed the process group\n") != NULL, "%s",
            log);
  free(log);
}

Test(harness_runner, exit_codes_signals_and_output_are_logged, .timeout = 30)
{
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r[3];
  run_init(&r[0], "exit3", 10, "echo out; echo err >&2; exit 3");
  run_init(&r[1], "signal", 10, "kill -SEGV $$");
  run_init(&r[2], "two_steps", 10, "echo one");
  cr_assert_eq(harness_run_arg(&r[2], 1, "sh"), 0);
  cr_assert_eq(harness_run_arg(&r[2], 1, "-c"), 0);
  cr_assert_eq(harness_run_arg(&r[2], 1, "echo two"), 0);
  cr_assert_eq(harness_runs_execute(r, 3, 2), 0);

  cr_expect_eq(r[0].exit.kind, HARNESS_EXIT_CODE);
  cr_expect_eq(r[0].exit.code, 3);
  cr_expect_gt(r[0].rss_kib, 0);
  cr_expect_eq(r[1].exit.kind, HARNESS_EXIT_SIGNAL);
  cr_expect_eq(r[1].exit.code, SIGSEGV);

  char *log;
  cr_assert_eq(harness_file_read(r[0].log_path, &log), 0);
  cr_expect(strstr(log, "\nout\n") && strstr(log, "\nerr\n"), "%s", log);
  cr_expect(strstr(log, "detect: exit 3, ") != NULL, "%s", log);
  free(log);

  cr_assert_eq(harness_file_read(r[2].log_path, &log), 0);
  const char *one = strstr(log, "\none\n"), *two = strstr(log, "\ntwo\n");
  cr_expect(one && two && one < two, "steps out of order: %s", log);
  free(log);
}

Test(harness_runner, missing_binary_is_not_built_and_not_run, .timeout = 30)
{
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r;
  run_init(&r, "missing", 10, "echo should not run");
  snprintf(r.missing, sizeof r.missing, "%s", OUT "/no_such_program");
  cr_assert_eq(harness_runs_execute(&r, 1, 1), 0);
  cr_expect_eq(r.exit.kind, HARNESS_EXIT_NOT_RUN);
  char *log;
  cr_assert_eq(harness_file_read(r.log_path, &log), 0);
  /* Only the logged command mentions it: the command itself never ran. */
  const char *first = strstr(log, "should not run");
  cr_expect(first && !strstr(first + 1, "should not run"), "%s", log);
  cr_expect(strstr(log, "detect: not built: " OUT "/no_such_program does not exist\n") != NULL,
            "%s", log);
  free(log);
}

Test(harness_runner, tsan_memory_mapping_failure_is_rerun_under_setarch, .timeout = 30)
{
  /* Stands in for a TSan binary on a high-entropy ASLR kernel: it fails the way TSan does
   * unless address randomization is off (ADDR_NO_RANDOMIZE, 0x0040000, in its personality). */
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r;
  run_init(&r, "setarch", 10,
           "case $(cat /proc/self/personality) in *4[0-9][0-9][0-9][0-9]) "
           "echo randomization off; exit 0;; esac; "
           "echo 'FATAL: ThreadSanitizer: unexpected memory mapping 0x1-0x2'; exit 66");
  r.tsan = 1;
  cr_assert_eq(harness_runs_execute(&r, 1, 1), 0);
  cr_expect(r.reran_setarch);
  cr_expect_eq(r.exit.kind, HARNESS_EXIT_CODE);
  cr_expect_eq(r.exit.code, 0);
  char *log;
  cr_assert_eq(harness_file_read(r.log_path, &log), 0);
  cr_expect(strstr(log, "detect: $ setarch ") == log, "%s", log);
  cr_expect(strstr(log, " -R sh -c ") != NULL, "%s", log);
  cr_expect(strstr(log, "\ndetect: TSan reported \"unexpected memory mapping\"; reran under "
                        "setarch -R\n") != NULL, "%s", log);
  cr_expect(strstr(log, "\nrandomization off\n") != NULL, "%s", log);
  free(log);
}

Test(harness_runner, tsan_signal_death_before_any_output_is_rerun_under_setarch, .timeout = 30)
{
  /* On the same kernels a TSan binary sometimes dies of SIGSEGV before its runtime prints a
   * word (seen with vm.mmap_rnd_bits=32); the stand-in does that unless randomization is off. */
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r;
  run_init(&r, "setarch-signal", 10,
           "case $(cat /proc/self/personality) in *4[0-9][0-9][0-9][0-9]) "
           "echo randomization off; exit 0;; esac; kill -SEGV $$");
  r.tsan = 1;
  cr_assert_eq(harness_runs_execute(&r, 1, 1), 0);
  cr_expect_eq(r.reran_setarch, 2);
  cr_expect_eq(r.exit.kind, HARNESS_EXIT_CODE);
  cr_expect_eq(r.exit.code, 0);
  char *log;
  cr_assert_eq(harness_file_read(r.log_path, &log), 0);
  cr_expect(strstr(log, "\ndetect: the TSan program died of a signal before TSan printed "
                        "anything") != NULL, "%s", log);
  cr_expect(strstr(log, "\nrandomization off\n") != NULL, "%s", log);
  free(log);
}

Test(harness_runner, tsan_report_of_a_crash_is_not_rerun, .timeout = 30)
{
  /* A crash TSan itself reported is the program's own: classify it, do not retry it. */
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r;
  run_init(&r, "tsan-crash", 10, "echo 'ThreadSanitizer: SEGV on unknown address'; kill -SEGV $$");
  r.tsan = 1;
  cr_assert_eq(harness_runs_execute(&r, 1, 1), 0);
  cr_expect_eq(r.reran_setarch, 0);
  cr_expect_eq(r.exit.kind, HARNESS_EXIT_SIGNAL);
}

Test(harness_runner, children_a_program_leaves_behind_are_killed_and_reaped, .timeout = 30)
{
  /* The program exits at once and leaves two generations running in its group (a child and
   * the child's own child); both are orphans the moment their parents die. */
  cr_assert_eq(harness_mkdirs(OUT), 0);
  harness_run_t r;
  unlink(OUT "/grandchild.pid");
  run_init(&r, "orphans", 10,
           "sh -c 'sleep 60 & echo $! > \"$1/grandchild.pid\"; wait' sh \"$1\" & "
           "echo $! > \"$1/child.pid\"; while [ ! -s \"$1/grandchild.pid\" ]; do :; done; exit 0");
  run_arg_out(&r);
  cr_assert_eq(harness_runs_execute(&r, 1, 1), 0);
  cr_expect_eq(r.exit.kind, HARNESS_EXIT_CODE);
  cr_expect_eq(r.exit.code, 0);
  pid_t child = pid_file_read("child.pid"), grandchild = pid_file_read("grandchild.pid");
  /* Gone, not zombies waiting for init: the runner reaped them before it returned. */
  cr_expect_not(process_exists(child), "child %d outlived the run", (int)child);
  cr_expect_not(process_exists(grandchild), "grandchild %d outlived the run", (int)grandchild);
  /* And nothing else of the run is left for this process to reap. */
  cr_expect_eq(waitpid(-1, NULL, WNOHANG), -1);
  cr_expect_eq(errno, ECHILD);
}

Test(harness_runner, a_step_over_the_wall_limit_is_the_last_one, .timeout = 30)
{
  /* The budget's rule: a run blocked longer than its limit at -x 1 is not repeated at -x 4.
   * Only blocked time counts (every thread asleep): a step that computes for as long is not
   * over the limit, however loaded the machine. */
  cr_assert_eq(harness_mkdirs(OUT), 0);
  static const char *const first[3] = {
      "sleep 0.4; echo one", "sleep 0.4; echo one",
      "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo one"};
  static const char *const name[3] = {"over_wall_limit", "under_wall_limit", "busy_not_blocked"};
  static const double limit[3] = {0.1, 5.0, 0.1};
  harness_run_t r[3];
  for (int i = 0; i < 3; i++) {
    run_init(&r[i], name[i], 20, first[i]);
    cr_assert_eq(harness_run_arg(&r[i], 1, "sh"), 0);
    cr_assert_eq(harness_run_arg(&r[i], 1, "-c"), 0);
    cr_assert_eq(harness_run_arg(&r[i], 1, "echo two"), 0);
    r[i].wall_limit_s = limit[i];
  }
  cr_assert_eq(harness_runs_execute(r, 3, 3), 0);
  char *log;
  double blocked = -1;
  cr_assert_eq(harness_file_read(r[0].log_path, &log), 0);
  cr_expect(strstr(log, "\none\n") && !strstr(log, "\ntwo\n"), "second step ran: %s", log);
  const char *b = strstr(log, "detect: blocked ");
  cr_expect(b != NULL && sscanf(b, "detect: blocked %lf s", &blocked) == 1 && blocked >= 0.3,
            "a sleep of 0.4 s is blocked time: %s", log);
  free(log);
  cr_assert_eq(harness_file_read(r[1].log_path, &log), 0);
  cr_expect(strstr(log, "\none\n") && strstr(log, "\ntwo\n"), "second step missing: %s", log);
  free(log);
  cr_assert_eq(harness_file_read(r[2].log_path, &log), 0);
  cr_expect(strstr(log, "\none\n") && strstr(log, "\ntwo\n"),
            "a busy step is not blocked, yet the second step did not run: %s", log);
  free(log);
}
