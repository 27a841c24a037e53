/* test_lockgraph_robust.c - the detector never harms its host: threads with small stacks,
 * reports that go to lockgraph's own descriptor and never into the program's files, and quiet
 * clean runs. Each test runs a real corpus program under the real lockgraph (lg_corpus.h).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg_corpus.h"

/* ------------------------------------------------------------------------------------------
 * Small stacks: the detector's work fits in a PTHREAD_STACK_MIN thread.
 */

/* The inversion of small_stack_threads in threads of `stack` bytes ("min": PTHREAD_STACK_MIN):
 * reported with both stacks of both edges at the source's lines, the chains of new lock orders
 * learnt on the way, and the program runs to its end. */
static void check_small_stack_inversion(const char *stack)
{
  const char *src = "small_stack_threads.c";
  const char *args[] = {stack, NULL};
  run_request_t rq = {.program = "small_stack_threads", .args = args};
  edge_expect_t expect[2];
  run_result_t r;
  report_set_t set;
  summary_t s;

  run_corpus(&rq, &r);
  cr_assert_neq(r.status, 128 + SIGSEGV, "stacks of %s: the program died of SIGSEGV; stderr:\n%s",
                stack, r.err);
  expect_potential_deadlock(&r, "small_stack_threads", 2);
  summary_parse(r.err, &s);
  /* A, B and two chains of 24 locks, each chain taken under A or B: 50 locks, 48 new edges
   * learnt on the small stacks besides the inversion's two. */
  cr_expect_eq(s.locks, 50, "%u locks", s.locks);
  cr_expect_eq(s.edges, 50, "%u edges", s.edges);
  ab_ba_expect(expect, "worker_ab", "worker_ba");
  reports_load(r.json, &set);
  expect_inversion(reports_first(&set, "potential-deadlock"), src, 2, "mutex", expect, 0);
  expect_text_frame(r.err, "worker_ab", src, corpus_marker_line(src, "ab_first"));
  expect_text_frame(r.err, "worker_ba", src, corpus_marker_line(src, "ba_second"));
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph_robust, inversion_in_pthread_stack_min_threads_is_reported, .timeout = 60)
{
  check_small_stack_inversion("min");
}

Test(lockgraph_robust, inversion_in_16k_and_64k_threads_is_reported, .timeout = 60)
{
  check_small_stack_inversion("16384");
  check_small_stack_inversion("65536");
}

/* A coroutine on a 6 KiB stack of the program's own (makecontext): the capture for its report
 * runs on the unwinder's stack, not on that one (before, it overflowed it into the heap and the
 * program died in malloc afterwards, SIGSEGV or SIGABRT). */
Test(lockgraph_robust, inversion_in_a_coroutine_on_a_small_stack_is_reported, .timeout = 60)
{
  const edge_expect_t expect[] = {
      {"main", "main_first", "main", "main_second"},
      {"coroutine", "co_first", "coroutine", "co_second"},
  };
  check_inversion("coroutine_stack", "coroutine_stack.c", 2, "mutex", expect, 0);
}

/* unshare(CLONE_NEWUSER) after the program's threads are joined: only a process of one thread
 * may, and the watchdog thread made it fail with EINVAL under lockgraph. It gives what it gives
 * natively (ok where unprivileged user namespaces are allowed), and the watchdog, started again
 * afterwards, still ends a real deadlock. */
Test(lockgraph_robust, entering_a_user_namespace_works_as_natively, .timeout = 60)
{
  char native[128] = "";
  FILE *p = popen(CORPUS_BUILD_DIR "/user_namespace", "r");
  cr_assert_not_null(p);
  cr_assert_not_null(fgets(native, sizeof native, p), "no output from the program natively");
  pclose(p);
  native[strcspn(native, "\n")] = '\0';

  run_result_t r;
  run_corpus(&(run_request_t){.program = "user_namespace"}, &r);
  expect_clean(&r, "user_namespace");
  expect_out_line(&r, native);
  run_cleanup(&r);

  static const char *const args[] = {"deadlock", NULL};
  run_corpus(&(run_request_t){.program = "user_namespace", .args = args}, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  cr_expect_not_null(strstr(r.err, "lockgraph: deadlock (it happened)"), "no deadlock report:\n%s",
                     r.err);
  run_cleanup(&r);
}

Test(lockgraph_robust, deadlock_in_pthread_stack_min_threads_is_reported_by_the_watchdog,
     .timeout = 30)
{
  const char *src = "small_stack_threads.c";
  const char *args[] = {"min", "--hang", NULL};
  run_request_t rq = {.program = "small_stack_threads", .args = args, .timeout_s = 20};
  run_result_t r;
  report_set_t set;
  char *line;

  run_corpus(&rq, &r);
  cr_assert_neq(r.status, 128 + SIGSEGV, "the program died of SIGSEGV; stderr:\n%s", r.err);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  cr_expect_null(strstr(r.out, "small_stack_threads: done"), "the deadlocked threads finished");
  line = text_find_line(r.err, "lockgraph: deadlock (it happened): 2 threads blocked in a cycle",
                        "");
  cr_expect_not_null(line, "no 'deadlock (it happened)' line; stderr:\n%s", r.err);
  free(line);
  /* Each blocked thread's own stack, captured by itself on its small stack. */
  expect_text_frame(r.err, "worker_ab", src, corpus_marker_line(src, "ab_second"));
  expect_text_frame(r.err, "worker_ba", src, corpus_marker_line(src, "ba_second"));
  reports_load(r.json, &set);
  cr_expect_eq(reports_count(&set, "deadlock"), 1, "JSON deadlock reports: %zu",
               reports_count(&set, "deadlock"));
  reports_free(&set);
  run_cleanup(&r);
}

/* ------------------------------------------------------------------------------------------
 * Fork: a child of a threaded parent never calls into libunwind, whose locks another thread of
 * the parent may have held at the fork (the child would hang in them for good).
 */

Test(lockgraph_robust, fork_child_of_threaded_parent_captures_stacks_without_libunwind,
     .timeout = 60)
{
  run_request_t rq = {.program = "fork_child_unwinds"};
  run_result_t r;
  report_set_t set;
  long parent = -1;

  run_corpus(&rq, &r);
  cr_assert_eq(r.timed_out, 0, "the run timed out; stderr:\n%s", r.err);
  expect_out_line(&r, "fork_child_unwinds: done");
  /* The child reported: its _exit(0) ends with the exit code, as its exit(0) would. */
  char child[64];
  snprintf(child, sizeof child, "child exit status %d", REPORT_EXITCODE);
  expect_out_line(&r, child);
  /* The counting wrappers see the detector's calls, or the child's 0 would prove nothing. */
  const char *p = strstr(r.out, "parent libunwind calls: ");
  cr_assert_not_null(p, "no parent count; stdout:\n%s", r.out);
  cr_assert_eq(sscanf(p, "parent libunwind calls: %ld", &parent), 1);
  cr_expect_gt(parent, 0, "the parent's stack captures did not reach the wrappers");
  expect_out_line(&r, "child libunwind calls: 0");
  /* The child still reports its inversion, with frame-pointer stacks: both processes' reports. */
  reports_load(r.json, &set);
  cr_expect_eq(reports_count(&set, "potential-deadlock"), 2, "potential deadlocks: %zu; stderr:\n%s",
               reports_count(&set, "potential-deadlock"), r.err);
  reports_free(&set);
  expect_text_frame(r.err, "child_take_in_order", "fork_child_unwinds.c",
                    corpus_marker_line("fork_child_unwinds.c", "child_second"));
  run_cleanup(&r);
}

/* ------------------------------------------------------------------------------------------
 * Lockgraph's own descriptor: reports reach the stderr the run started with, never the
 * program's files.
 */

/* stderr_reused in `mode`: the program's file holds only its own line, the text report and the
 * summary are on the original stderr, and the JSON report and the SARIF log made from it
 * (whose descriptors the closefrom mode also takes over) are complete. */
static void check_stderr_reused(const char *mode)
{
  const char *src = "stderr_reused.c";
  char file[PATH_MAX], sarif[PATH_MAX];
  const char *args[] = {mode, file, NULL};
  const char *flags[] = {"--sarif", sarif, NULL};
  run_request_t rq = {.program = "stderr_reused", .args = args, .cli_flags = flags};
  edge_expect_t expect[2];
  run_result_t r;
  report_set_t set;
  char *own;

  run_init(&r);
  snprintf(file, sizeof file, "%s/program.log", r.dir);
  snprintf(sarif, sizeof sarif, "%s/r.sarif", r.dir);
  run_program(&rq, &r);
  expect_potential_deadlock(&r, "stderr_reused", 2);
  own = file_read_all(file);
  cr_assert_not_null(own, "%s: the program's file %s is missing", mode, file);
  cr_expect_str_eq(own, "stderr_reused: the program's own line\n",
                   "%s: the program's own file got more than its line:\n%s", mode, own);
  free(own);
  ab_ba_expect(expect, "inversion", "inversion");
  reports_load(r.json, &set);
  expect_inversion(reports_first(&set, "potential-deadlock"), src, 2, "mutex", expect, 0);
  cr_expect_eq(reports_count(&set, "summary"), 1, "%s: JSON summary objects: %zu", mode,
               reports_count(&set, "summary"));
  reports_free(&set);
  char *log = file_read_all(sarif);
  json_t doc;
  cr_expect(log != NULL && json_parse(log, strlen(log), &doc) == 0,
            "%s: the SARIF log does not parse:\n%s", mode, log ? log : "(none)");
  if (log != NULL && json_parse(log, strlen(log), &doc) == 0) {
    size_t n = json_len(json_get(json_at(json_get(&doc, "runs"), 0), "results"));
    cr_expect_eq(n, 1, "%s: the SARIF log has %zu results", mode, n);
    json_free(&doc);
  }
  free(log);
  run_cleanup(&r);
}

Test(lockgraph_robust, program_file_on_fd_2_gets_no_report, .timeout = 60)
{
  check_stderr_reused("reuse");
}

Test(lockgraph_robust, daemon_closing_every_descriptor_gets_no_report_in_its_file, .timeout = 60)
{
  check_stderr_reused("closefrom");
}

/* A report leaves the detector's files open (libunwind's pipe, libdwfl's ELF and debug files):
 * on descriptors of its own, close-on-exec, never the program's next numbers nor inherited by
 * what it runs (before: five low numbers taken, three of them inherited). */
Test(lockgraph_robust, a_report_takes_no_descriptor_the_program_would_get, .timeout = 60)
{
  run_request_t rq = {.program = "fds_after_report"};
  run_result_t r;
  int before = -1, after = -2, inheritable = -1;

  run_corpus(&rq, &r);
  expect_potential_deadlock(&r, "fds_after_report", 2);
  const char *p = strstr(r.out, "lowest free before ");
  cr_assert_not_null(p, "stdout:\n%s", r.out);
  cr_assert_eq(sscanf(p, "lowest free before %d, after %d", &before, &after), 2);
  cr_expect_eq(before, after, "the program's next descriptor was %d, %d after the report", before,
               after);
  p = strstr(r.out, "new inheritable descriptors: ");
  cr_assert_not_null(p, "stdout:\n%s", r.out);
  cr_assert_eq(sscanf(p, "new inheritable descriptors: %d", &inheritable), 1);
  cr_expect_eq(inheritable, 0, "%d descriptors the report left would be inherited", inheritable);
  run_cleanup(&r);
}

Test(lockgraph_robust, stderr_closed_before_exit_still_gets_the_summary, .timeout = 60)
{
  run_request_t rq = {.program = "closes_stderr"};
  run_result_t r;

  run_corpus(&rq, &r);
  /* One report line and one summary line on the stderr the run started with. */
  expect_potential_deadlock(&r, "closes_stderr", 2);
  run_cleanup(&r);
}

/* A signal sent to the whole process goes to a thread that does not block it: the detector's
 * own thread must block every signal, or the program's handler runs there (all 300 did, and
 * a handler that siglongjmps then jumps into another thread's stack). */
Test(lockgraph_robust, signals_sent_to_the_process_reach_the_programs_thread, .timeout = 60)
{
  check_clean("signals_to_the_process",
              "signals_to_the_process: 300 of 300 signals handled on the receiver, 0 elsewhere");
}

/* The exception ABI's functions the process sees are libgcc_s's, not those libunwind.so (the
 * detector's stack walker) also defines: libgcc_s's personality routine looks them up through
 * the process's search order when a cancellation or an exception runs C cleanups. */
Test(lockgraph_robust, exception_abi_functions_come_from_libgcc_s, .timeout = 60)
{
  check_clean("unwind_abi_owner",
              "unwind_abi_owner: _Unwind_GetLanguageSpecificData from libgcc_s.so.1");
}

/* The lockgraph front end on the corpus program `program` (with `log`, --log FILE), its stderr
 * a pipe: the pipe's read end is closed before the program starts (`reader_gone`), or read
 * only once the program has printed the line `ready` on stdout (at once when NULL); `fsize`,
 * when not 0, is the program's RLIMIT_FSIZE. Fills *status, stdout into out and what stderr
 * carried into err (both cut to their size). */
typedef struct {
  const char *program, *log;
  int reader_gone;
  const char *ready;
  long fsize;
} stderr_run_t;

static void run_with_stderr_pipe(const stderr_run_t *how, int *status, char *out, size_t outcap,
                                 char *err, size_t errcap)
{
  int p[2], o[2];
  char program[512];

  snprintf(program, sizeof program, "%s/%s", CORPUS_BUILD_DIR, how->program);
  out[0] = '\0';
  cr_assert_eq(pipe(p), 0);
  cr_assert_eq(pipe(o), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    sigset_t raised;
    sigemptyset(&raised);
    sigaddset(&raised, SIGPIPE);
    sigaddset(&raised, SIGXFSZ);
    sigprocmask(SIG_UNBLOCK, &raised, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    if (how->fsize != 0) {
      struct rlimit rl = {(rlim_t)how->fsize, (rlim_t)how->fsize};
      setrlimit(RLIMIT_FSIZE, &rl);
    }
    dup2(p[1], 2);
    dup2(o[1], 1);
    close(p[0]);
    close(p[1]);
    close(o[0]);
    close(o[1]);
    if (how->log != NULL)
      execl(LOCKGRAPH_CLI, "lockgraph", "--log", how->log, "--", program, (char *)NULL);
    else
      execl(LOCKGRAPH_CLI, "lockgraph", "--", program, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  close(o[1]);
  size_t n = 0, m = 0;
  ssize_t k;
  if (how->reader_gone)
    close(p[0]);
  else if (how->ready != NULL) /* stdout up to that line; its pipe has room for the rest */
    while (strstr(out, how->ready) == NULL && n < outcap - 1 &&
           (k = read(o[0], out + n, outcap - 1 - n)) > 0) {
      n += (size_t)k;
      out[n] = '\0';
    }
  if (!how->reader_gone) {
    /* Drained first, to its end (the program's exit): stdout's few lines wait in their pipe.
     * Only the tail matters: keep the last errcap - 1 bytes of what the pipe carried. */
    char chunk[8192];
    while ((k = read(p[0], chunk, sizeof chunk)) > 0) {
      size_t c = (size_t)k < errcap - 1 ? (size_t)k : errcap - 1;
      if (m + c > errcap - 1) {
        size_t drop = m + c - (errcap - 1);
        memmove(err, err + drop, m - drop);
        m -= drop;
      }
      memcpy(err + m, chunk + (size_t)k - c, c);
      m += c;
    }
    close(p[0]);
  }
  while (n < outcap - 1 && (k = read(o[0], out + n, outcap - 1 - n)) > 0)
    n += (size_t)k;
  out[n] = '\0';
  close(o[0]);
  err[m] = '\0';
  cr_assert_eq(waitpid(pid, status, 0), pid);
}

/* A run whose stderr is a pipe nobody reads any more (`prog 2>&1 | head -1`, a log collector
 * that went away): the report is lost, the program is not. Natively it never writes to its
 * stderr; before, lockgraph's report write raised SIGPIPE and the run died of it (status 141). */
Test(lockgraph_robust, report_to_a_pipe_nobody_reads_does_not_kill_the_program, .timeout = 60)
{
  stderr_run_t how = {.program = "one_thread_inversion", .reader_gone = 1};
  char out[4096], err[16];
  int status = 0;

  run_with_stderr_pipe(&how, &status, out, sizeof out, err, sizeof err);
  cr_expect(!WIFSIGNALED(status), "the run died of signal %d", WTERMSIG(status));
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 66,
            "exit status %d, expected 66 (a report, lost in the pipe)", WEXITSTATUS(status));
  cr_expect_not_null(strstr(out, "one_thread_inversion: done"), "stdout:\n%s", out);
}

/* A --log file past the program's RLIMIT_FSIZE: the rest of the report is lost, the program
 * is not (before, SIGXFSZ ended it, status 153). */
Test(lockgraph_robust, log_past_the_file_size_limit_does_not_kill_the_program, .timeout = 60)
{
  char log[] = "/tmp/lockgraph-fsize-XXXXXX";
  int fd = mkstemp(log);
  cr_assert_geq(fd, 0);
  close(fd);
  stderr_run_t how = {.program = "one_thread_inversion", .log = log, .fsize = 1024};
  char out[4096], err[4096];
  int status = 0;

  run_with_stderr_pipe(&how, &status, out, sizeof out, err, sizeof err);
  struct stat st;
  int have = stat(log, &st) == 0;
  unlink(log);
  cr_expect(!WIFSIGNALED(status), "the run died of signal %d", WTERMSIG(status));
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 66, "exit status %d",
            WEXITSTATUS(status));
  cr_expect_not_null(strstr(out, "one_thread_inversion: done"), "stdout:\n%s", out);
  cr_expect(have && st.st_size == 1024, "the log holds %lld bytes, expected the 1024 allowed",
            have ? (long long)st.st_size : -1LL);
}

/* A stderr the program made non-blocking and filled before its reader started: the report
 * waits for room instead of being dropped at the first EAGAIN (before: not a line of it). */
Test(lockgraph_robust, report_to_a_full_nonblocking_stderr_waits_for_room, .timeout = 60)
{
  stderr_run_t how = {.program = "stderr_full_nonblocking",
                      .ready = "stderr_full_nonblocking: stderr is full\n"};
  char out[4096], err[8192];
  int status = 0;

  run_with_stderr_pipe(&how, &status, out, sizeof out, err, sizeof err);
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 66, "exit status %d",
            WEXITSTATUS(status));
  cr_expect_not_null(strstr(out, "stderr_full_nonblocking: done"), "stdout:\n%s", out);
  cr_expect_not_null(strstr(err, "lockgraph: potential deadlock: lock-order cycle of 2 locks"),
                     "the report is missing; the end of stderr:\n%s", err);
  cr_expect_not_null(strstr(err, "lockgraph: summary: 1 report"),
                     "the summary is missing; the end of stderr:\n%s", err);
}

/* ------------------------------------------------------------------------------------------
 * Quiet clean runs: at the default verbosity a run with nothing to report prints nothing; a
 * report brings one summary line per process that reported.
 */

Test(lockgraph_robust, clean_process_tree_prints_nothing_by_default, .timeout = 60)
{
  run_request_t rq = {.program = "process_tree"};
  run_result_t r;
  report_set_t set;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, 0, "exit status %d; stderr:\n%s", r.status, r.err);
  expect_out_line(&r, "process_tree: level 0 done");
  expect_out_line(&r, "process_tree: done");
  cr_expect_eq(text_count_lines(r.err, "lockgraph:", ""), 0,
               "five clean processes, yet lockgraph printed:\n%s", r.err);
  /* The JSON summary is machine output: every process still writes its own. */
  reports_load(r.json, &set);
  cr_expect_eq(reports_count_findings(&set), 0);
  cr_expect_eq(reports_count(&set, "summary"), 5, "JSON summaries: %zu, one per process",
               reports_count(&set, "summary"));
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph_robust, process_tree_with_one_report_prints_one_summary, .timeout = 60)
{
  const char *args[] = {"--leaf-inversion", NULL};
  run_request_t rq = {.program = "process_tree", .args = args};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  expect_potential_deadlock(&r, "process_tree", 2); /* one summary line: the leaf's */
  summary_parse(r.err, &s);
  cr_expect_eq(s.locks, 2, "summary: %u locks", s.locks);
  run_cleanup(&r);
}

/* verbosity=N on a clean run: how many summary and memory lines stderr holds. */
static void check_clean_verbosity(const char *verbosity, size_t summaries, size_t memory)
{
  const char *flags[] = {"--verbosity", verbosity, NULL};
  run_request_t rq = {.program = "gate_lock", .cli_flags = flags};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  expect_clean(&r, "gate_lock");
  cr_expect_eq(text_count_lines(r.err, "lockgraph: summary:", ""), summaries,
               "verbosity %s: summary lines in:\n%s", verbosity, r.err);
  cr_expect_eq(text_count_lines(r.err, "  detector memory: ", " bytes mapped"), memory,
               "verbosity %s: memory lines in:\n%s", verbosity, r.err);
  if (summaries > 0) {
    summary_parse(r.err, &s);
    cr_expect_eq(s.locks, 3, "verbosity %s: summary: %u locks", verbosity, s.locks);
  }
  run_cleanup(&r);
}

Test(lockgraph_robust, verbosity_says_when_a_clean_run_prints_its_summary, .timeout = 60)
{
  check_clean_verbosity("0", 0, 0);
  check_clean_verbosity("1", 0, 0);
  check_clean_verbosity("2", 1, 0);
  check_clean_verbosity("3", 1, 1);
}

Test(lockgraph_robust, verbosity_0_keeps_reports_and_drops_the_summary, .timeout = 60)
{
  const char *flags[] = {"--verbosity", "0", NULL};
  run_request_t rq = {.program = "two_thread_inversion", .cli_flags = flags};
  run_result_t r;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d", r.status);
  expect_first_report_line(&r,
                           "lockgraph: potential deadlock: lock-order cycle of 2 locks (report 1)");
  cr_expect_eq(text_count_lines(r.err, "lockgraph: summary:", ""), 0, "stderr:\n%s", r.err);
  run_cleanup(&r);
}
