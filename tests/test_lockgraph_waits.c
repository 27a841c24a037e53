/* test_lockgraph_waits.c - hangs and stalls that are not lock-order cycles, run for real.
 *
 * Each test runs corpus programs (tests/corpus) under the built lockgraph and holds its report
 * to the program's source: the kind of report (first text line, JSON type, summary count), the
 * threads it names, and the lines its stacks point at (LINE: markers). A run that hangs
 * without the detector must end with the exit code well inside the test's own timeout: the
 * watchdog ended it, not the harness. Each rule is shown with its report and, beside it, the
 * nearest shape that must stay silent.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_corpus.h"

/* The end of a hung run: the exit code, ended by the watchdog (not by the run's timeout, well
 * inside it), and the program's last line never printed. */
static void expect_ended_by_watchdog(const run_result_t *r, const char *program)
{
  char done[128];

  snprintf(done, sizeof done, "%s: done", program);
  cr_expect(!r->timed_out, "%s: killed by the run's timeout; stderr:\n%s", program, r->err);
  cr_expect_eq(r->status, REPORT_EXITCODE, "%s: exit status %d; stderr:\n%s", program, r->status,
               r->err);
  cr_expect_lt(r->seconds, 15.0, "%s: took %.1f s to end", program, r->seconds);
  cr_expect_null(strstr(r->out, done), "%s: the hung program finished", program);
}

/* The first section of a generic report whose label contains `needle`, or NULL. */
static const json_t *section_with(const json_t *rep, const char *needle)
{
  const json_t *secs = json_get(rep, "sections");

  for (size_t i = 0; i < json_len(secs); i++) {
    const char *label = json_str(json_get(json_at(secs, i), "label"));
    if (label != NULL && strstr(label, needle) != NULL)
      return json_at(secs, i);
  }
  return NULL;
}

/* A section labelled with `needle` whose stack starts in `function` at the source's marker. */
static void expect_section(const json_t *rep, const char *needle, const char *function,
                           const char *src, const char *marker)
{
  const json_t *sec = section_with(rep, needle);
  char buf[256];

  cr_assert_not_null(sec, "no section labelled '...%s...' in the report", needle);
  const json_t *stack = json_get(sec, "stack");
  int line = corpus_marker_line(src, marker);
  cr_expect(stack_has(stack, function, 0, src, line), "section '%s': expected %s %s:%d, got %s",
            json_str(json_get(sec, "label")), function, src, line,
            frame_describe(json_at(stack, 0), buf, sizeof buf));
}

/* The one JSON report of `type`; the caller frees set. */
static const json_t *only_report(const run_result_t *r, report_set_t *set, const char *type)
{
  reports_load(r->json, set);
  cr_expect_eq(reports_count(set, type), 1, "%zu '%s' reports; stderr:\n%s",
               reports_count(set, type), type, r->err);
  const json_t *rep = reports_first(set, type);
  cr_assert_not_null(rep, "no '%s' object in the JSON report", type);
  return rep;
}

static void run_mode(const char *program, const char *mode, const char *options, run_result_t *r)
{
  const char *args[] = {mode, NULL};
  run_request_t rq = {.program = program, .args = mode ? args : NULL, .options = options,
                      .timeout_s = 30};

  run_corpus(&rq, r);
}

/* ---- hangs ---- */

Test(waits, cond_wait_holding_the_lock_its_signaller_needs_is_a_hang, .timeout = 60)
{
  const char *src = "hang_cond_holding_lock.c";
  run_result_t r;
  report_set_t set;
  summary_t s;

  run_mode("hang_cond_holding_lock", NULL, NULL, &r);
  expect_ended_by_watchdog(&r, "hang_cond_holding_lock");
  expect_out_line(&r, "hang_cond_holding_lock: worker holds the table");
  char *first = text_find_line(r.err, "lockgraph:", "(report ");
  cr_assert_not_null(first, "no report; stderr:\n%s", r.err);
  cr_expect(strncmp(first, "lockgraph: hang: no progress: all 2 threads have been blocked for ",
                    66) == 0 &&
                strstr(first, " ms in waits that only another thread of the program could end; "
                              "ending the run (report 1)") != NULL,
            "first report line: '%s'", first);
  free(first);
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
  cr_expect_eq(summary_kind(&s, "hang"), 1, "summary: %u hangs", summary_kind(&s, "hang"));
  cr_expect_eq(summary_kind(&s, "stall"), 0, "a hang in the making is not a stall");

  const json_t *rep = only_report(&r, &set, "hang");
  cr_expect(json_get(rep, "ends_run") != NULL && json_get(rep, "ends_run")->number == 1);
  expect_section(rep, "thread T2 waits on condition variable", "worker", src, "cond_wait");
  expect_section(rep, "thread T1 waits for M1, held by thread T2", "main", src, "main_wants_table");
  cr_expect_not_null(section_with(rep, "holding M1"), "the worker's section says it holds M1");
  cr_expect_not_null(section_with(rep, "chain: thread T2 waits on condition variable"),
                     "no chain line explaining the hang");
  reports_free(&set);
  run_cleanup(&r);
}

Test(waits, join_of_a_thread_waiting_for_the_joiners_lock_is_a_hang, .timeout = 60)
{
  const char *src = "hang_join_holding_lock.c";
  run_result_t r;
  report_set_t set;
  summary_t s;

  run_mode("hang_join_holding_lock", NULL, NULL, &r);
  expect_ended_by_watchdog(&r, "hang_join_holding_lock");
  char *line = text_find_line(r.err, "lockgraph: hang: 2 threads wait for each other through "
                                     "joins and locks: ", "; ending the run (report 1)");
  cr_expect_not_null(line, "no join/lock cycle line; stderr:\n%s", r.err);
  free(line);
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
  cr_expect_eq(summary_kind(&s, "hang"), 1);
  cr_expect_eq(s.deadlocks, 0, "a join is not a lock: not the lock-cycle report");

  const json_t *rep = only_report(&r, &set, "hang");
  expect_section(rep, "thread T1 joins thread T3, holding M1", "main", src, "main_joins");
  expect_section(rep, "thread T3 waits for M1, held by thread T1", "worker", src,
                 "worker_wants_state");
  reports_free(&set);
  run_cleanup(&r);
}

/* The same with a timed join (pthread_timedjoin_np): it ends by itself, so there is no hang
 * (before, the join counted in the cycle as a blocking one and the run was ended after a
 * second); main holding the lock across it while the worker waits is a stall. */
Test(waits, timed_join_of_a_thread_waiting_for_the_joiners_lock_is_no_hang, .timeout = 60)
{
  run_result_t r;
  summary_t s;
  run_mode("hang_join_holding_lock", "timed", NULL, &r);
  expect_out_line(&r, "hang_join_holding_lock: done");
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line; stderr:\n%s", r.err);
  cr_expect_eq(summary_kind(&s, "hang"), 0, "a timed join was called a hang:\n%s", r.err);
  cr_expect_eq(summary_kind(&s, "stall"), 1, "no stall for the lock held across the join:\n%s",
               r.err);
  run_cleanup(&r);
}

/* A finished run of `program` in `mode` holds the no-progress hang of its two threads: ended by
 * the watchdog, the hang line, and the JSON report's sections for the worker's wait (`label`,
 * its stack at `function`, src's `marker`) and main's join (LINE:main_joins). */
static void expect_no_progress_hang(const run_result_t *r, const char *program, const char *mode,
                                    const char *src, const char *label, const char *function,
                                    const char *marker)
{
  report_set_t set;

  expect_ended_by_watchdog(r, program);
  char *line = text_find_line(r->err, "lockgraph: hang: no progress: all 2 threads", "");
  cr_expect_not_null(line, "%s: no hang line; stderr:\n%s", mode, r->err);
  free(line);
  const json_t *rep = only_report(r, &set, "hang");
  expect_section(rep, label, function, src, marker);
  expect_section(rep, "thread T1 joins thread T2", "main", src, "main_joins");
  reports_free(&set);
}

Test(waits, every_thread_blocked_with_nobody_to_wake_it_is_a_hang, .timeout = 120)
{
  static const struct {
    const char *mode, *label, *function, *marker;
  } cases[] = {
      {"cond", "thread T2 waits on condition variable", "cond_worker", "cond_wait"},
      {"sem", "thread T2 waits on semaphore", "sem_worker", "sem_wait"},
      {"pipe", "thread T2 blocks in read(fd ", "pipe_worker", "pipe_read"},
  };
  const char *src = "hang_no_progress.c";

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    run_result_t r;

    run_mode("hang_no_progress", cases[i].mode, NULL, &r);
    expect_no_progress_hang(&r, "hang_no_progress", cases[i].mode, src, cases[i].label,
                            cases[i].function, cases[i].marker);
    run_cleanup(&r);
  }

  /* The same lost wakeup in C11 <threads.h>, whose functions glibc implements past the
   * pthread ones. */
  const char *c11 = "hang_c11_lost_wakeup.c";
  run_result_t r;
  report_set_t set;
  run_mode("hang_c11_lost_wakeup", NULL, NULL, &r);
  expect_ended_by_watchdog(&r, "hang_c11_lost_wakeup");
  const json_t *rep = only_report(&r, &set, "hang");
  expect_section(rep, "thread T2 waits on condition variable", "worker", c11, "cnd_wait");
  expect_section(rep, "thread T1 joins thread T2", "main", c11, "thrd_join");
  reports_free(&set);
  run_cleanup(&r);
}

/* A signal handler that takes a lock, or writes to a pipe (the self-pipe trick), while its
 * thread is blocked in a read: the thread is blocked in the same read after the handler, and
 * the hang is found as without the signal. */
Test(waits, a_handler_that_ran_during_a_blocked_read_leaves_its_hang_found, .timeout = 120)
{
  static const char *const modes[] = {"lock", "write"};
  const char *src = "hang_after_handler.c";

  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    run_result_t r;
    char ran[128];

    run_mode("hang_after_handler", modes[i], NULL, &r);
    snprintf(ran, sizeof ran, "hang_after_handler: the handler ran (%s) while the worker read; "
                              "joining it", modes[i]);
    expect_out_line(&r, ran);
    expect_no_progress_hang(&r, "hang_after_handler", modes[i], src,
                            "thread T2 blocks in read(fd ", "pipe_worker", "pipe_read");
    run_cleanup(&r);
  }
}

/* A thread that leaves a blocking read before it returns (cancelled, its C cleanup handler
 * entered by longjmp; a signal handler's siglongjmp or setcontext) and then computes for
 * longer than the watchdog period while main joins it: running, not hung. Or, after the
 * siglongjmp, blocks in another read, one the outside ends (deeper): blocked, not hung. */
Test(waits, a_thread_that_left_its_read_early_and_runs_is_not_hung, .timeout = 120)
{
  static const char *const modes[] = {"cancel", "longjmp", "setcontext", "deeper"};

  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    run_result_t r;
    char left[128];

    run_mode("wait_left_early", modes[i], NULL, &r);
    snprintf(left, sizeof left, "wait_left_early: the worker left its read (%s); joining it",
             modes[i]);
    expect_out_line(&r, left);
    expect_clean(&r, "wait_left_early");
    run_cleanup(&r);
  }
}

/* A thread that left a blocked pthread_mutex_lock from a signal handler (siglongjmp) and runs
 * on: main joining it while holding the lock is no join/lock cycle, and main waiting for a lock
 * the thread still holds is no deadlock (its record still says it waits; the kernel says it
 * runs). The inversion of the cycle mode is a potential deadlock all the same. */
Test(waits, a_thread_that_left_its_lock_wait_early_is_neither_hung_nor_deadlocked, .timeout = 60)
{
  run_result_t r;
  summary_t s;

  run_mode("lock_left_early", "join", NULL, &r);
  expect_out_line(&r, "lock_left_early: the worker left its lock of B (join)");
  expect_clean(&r, "lock_left_early");
  run_cleanup(&r);

  run_mode("lock_left_early", "cycle", NULL, &r);
  expect_out_line(&r, "lock_left_early: done");
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line; stderr:\n%s", r.err);
  cr_expect_eq(s.potential, 1, "summary: %u potential deadlocks", s.potential);
  cr_expect_eq(s.deadlocks, 0, "summary: %u deadlocks; stderr:\n%s", s.deadlocks, r.err);
  run_cleanup(&r);
}

Test(waits, threads_that_wait_while_another_can_still_wake_them_stay_silent, .timeout = 120)
{
  static const char *const modes[] = {"consumer",    "pool",       "server",
                                      "slow",        "daemon",     "daemon_sysv",
                                      "daemon_iso",  "daemon_bsd", "daemon_sigset"};

  /* Every wait in these runs lasts several watchdog periods. */
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    run_result_t r;

    run_mode("quiet_waits", modes[i], "watchdog_ms=200", &r);
    expect_clean(&r, "quiet_waits");
    run_cleanup(&r);
  }
  /* The same waits with nobody left to end them are a hang at the same watchdog_ms. */
  run_result_t r;
  run_mode("hang_no_progress", "cond", "watchdog_ms=200", &r);
  expect_ended_by_watchdog(&r, "hang_no_progress");
  run_cleanup(&r);
  run_mode("quiet_waits", "consumer", "watchdog_ms=200", &r);
  expect_out_line(&r, "quiet_waits: consumer took 3 items");
  run_cleanup(&r);
  run_mode("quiet_waits", "server", "watchdog_ms=200", &r);
  expect_out_line(&r, "quiet_waits: client exit status 0");
  run_cleanup(&r);
  run_mode("quiet_waits", "daemon", "watchdog_ms=200", &r);
  expect_out_line(&r, "quiet_waits: stopped by SIGTERM");
  run_cleanup(&r);
}

/* ---- stalls ---- */

Test(waits, lock_held_across_a_blocking_call_while_another_waits_is_a_stall, .timeout = 120)
{
  static const struct {
    const char *mode, *call, *marker;
  } cases[] = {
      {"sleep", "sleep", "holder_sleeps"},
      {"read", "read", "holder_reads"},
      {"recvmsg", "recvmsg", "holder_receives"},
  };
  const char *src = "stall_lock_across_call.c";

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    run_result_t r;
    report_set_t set;
    summary_t s;
    char want[160];

    run_mode("stall_lock_across_call", cases[i].mode, NULL, &r);
    /* Not a hang: the run goes on to its end, and the status says something was reported. */
    cr_expect_eq(r.status, REPORT_EXITCODE, "%s: exit status %d; stderr:\n%s", cases[i].mode,
                 r.status, r.err);
    expect_out_line(&r, "stall_lock_across_call: done");
    snprintf(want, sizeof want, "held by thread T%d while it blocks in %s (report 1)",
             i == 0 ? 2 : 3, cases[i].call);
    char *line = text_find_line(r.err, "lockgraph: stall: thread T1 has waited ", want);
    cr_expect_not_null(line, "%s: no stall line ending '%s'; stderr:\n%s", cases[i].mode, want,
                       r.err);
    free(line);
    cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
    /* sleep stalls twice from the same two lines: one report. */
    cr_expect_eq(summary_kind(&s, "stall"), 1, "%s: reported once per call-site pair",
                 cases[i].mode);
    const json_t *rep = only_report(&r, &set, "stall");
    expect_section(rep, "M1 taken by thread", "hold_once", src, "holder_takes");
    snprintf(want, sizeof want, "blocks in %s holding M1", cases[i].call);
    expect_section(rep, want, "hold_once", src, cases[i].marker);
    expect_section(rep, "thread T1 waits for M1", "main", src, "main_waits");
    reports_free(&set);
    run_cleanup(&r);
  }
}

Test(waits, a_stall_needs_a_waiter_and_a_blocking_call, .timeout = 120)
{
  static const char *const modes[] = {"lone", "compute"};

  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    run_result_t r;

    run_mode("stall_lock_across_call", modes[i], NULL, &r);
    expect_clean(&r, "stall_lock_across_call");
    run_cleanup(&r);
  }
  /* The same program with both a waiter and a blocking call is a stall. */
  run_result_t r;
  summary_t s;
  run_mode("stall_lock_across_call", "sleep", NULL, &r);
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
  cr_expect_eq(summary_kind(&s, "stall"), 1, "waiter and blocking call: no stall; stderr:\n%s",
               r.err);
  run_cleanup(&r);
}

Test(waits, stall_suppression_hides_only_stalls, .timeout = 60)
{
  run_result_t r;
  summary_t s;
  char path[PATH_MAX + 32];
  const char *flags[] = {"--suppressions", path, NULL};

  run_init(&r);
  snprintf(path, sizeof path, "%s/lg.supp", r.dir);
  file_write_all(path,
                 "# sleeping under the log lock is known\nstall:hold_once\ndeadlock:hold_once\n");
  run_request_t rq = {.program = "stall_lock_across_call", .args = (const char *[]){"sleep", NULL},
                      .cli_flags = flags, .timeout_s = 30};
  run_program(&rq, &r);
  cr_expect_eq(r.status, 0, "a suppressed stall does not count; stderr:\n%s", r.err);
  expect_no_report_line(&r);
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
  cr_expect_eq(s.suppressed, 1, "%u suppressed", s.suppressed);
  char *hit = text_find_line(r.err, "  suppression stall:hold_once: 1 hit", "");
  cr_expect_not_null(hit, "the stall suppression has no hit; stderr:\n%s", r.err);
  free(hit);
  run_cleanup(&r);
}

/* ---- fork ---- */

Test(waits, forked_child_needing_a_lock_held_at_fork_is_reported_with_the_holder, .timeout = 120)
{
  static const struct {
    const char *mode, *first, *holder_marker, *child_marker, *lock;
  } cases[] = {
      {"lock", "lockgraph: fork: thread T1 waits for M1 in the forked child; thread T2 held it "
               "at the fork and does not exist here; ending the run (report 1)",
       "holder_takes", "child_locks", "M1"},
      {"wrlock", "lockgraph: fork: thread T1 waits for RW1 in the forked child; thread T2 held "
                 "it at the fork and does not exist here; ending the run (report 1)",
       "holder_reads", "child_wrlocks", "RW1"},
      {"trylock", "lockgraph: fork: a trylock or timed lock of M1 fails in the forked child: "
                  "thread T2 held it at the fork and does not exist here, so it never will "
                  "succeed (report 1)",
       "holder_takes", "child_trylocks", "M1"},
      {"timedlock", "lockgraph: fork: a trylock or timed lock of M1 fails in the forked child: "
                    "thread T2 held it at the fork and does not exist here, so it never will "
                    "succeed (report 1)",
       "holder_takes", "child_timedlocks", "M1"},
  };
  const char *src = "fork_child_needs_lock.c";

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    run_result_t r;
    report_set_t set;
    char label[64];

    run_mode("fork_child_needs_lock", cases[i].mode, NULL, &r);
    cr_expect(!r.timed_out, "%s: the child hung", cases[i].mode);
    /* The child reported and exited with the exit code; the parent found nothing. */
    expect_out_line(&r, "fork_child_needs_lock: child exit status 66");
    expect_out_line(&r, "fork_child_needs_lock: done");
    cr_expect_eq(r.status, 0, "%s: parent exit status %d", cases[i].mode, r.status);
    expect_first_report_line(&r, cases[i].first);
    cr_expect_eq(text_count_lines(r.err, "lockgraph: fork: ", ""), 1, "%s: one fork report",
                 cases[i].mode);
    const json_t *rep = only_report(&r, &set, "fork");
    snprintf(label, sizeof label, "%s taken by thread T2 (before the fork)", cases[i].lock);
    expect_section(rep, label, "holder", src, cases[i].holder_marker);
    expect_section(rep, "thread T2 at the fork, blocked in pthread_cond_wait", "holder", src,
                   "holder_blocked");
    expect_section(rep, "thread T1 ", "child", src, cases[i].child_marker);
    reports_free(&set);
    run_cleanup(&r);
  }
}

/* A child that only reads the lock, execs, or makes the lock anew by assigning the static
 * initializer (the last was a fork report before: glibc's own state, free, was not looked at). */
Test(waits, forked_child_that_reads_or_execs_stays_silent, .timeout = 60)
{
  static const char *const modes[] = {"rdlock", "exec", "lock_anew", "wrlock_anew"};

  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    run_result_t r;

    run_mode("fork_child_needs_lock", modes[i], NULL, &r);
    cr_expect_eq(r.status, 0, "%s: exit status %d; stderr:\n%s", modes[i], r.status, r.err);
    expect_out_line(&r, "fork_child_needs_lock: child exit status 0");
    expect_out_line(&r, "fork_child_needs_lock: done");
    expect_no_report_line(&r);
    expect_no_json_findings(&r);
    run_cleanup(&r);
  }
}

/* ---- thread exit ---- */

/* A thread is not gone while its key (or C11 tss) destructors run: one that works for longer
 * than the watchdog's period while main joins is no hang, and a lock its destructor releases is
 * not held at thread exit (before: a hang after a second, or a "lock held at thread exit"). */
Test(waits, key_destructors_run_before_the_thread_is_gone, .timeout = 60)
{
  static const char *const modes[] = {"join", "unlock", "tss"};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    run_result_t r;
    run_mode("key_destructors", modes[i], NULL, &r);
    expect_clean(&r, "key_destructors");
    run_cleanup(&r);
  }
}

Test(waits, thread_ending_with_a_lock_is_reported_and_its_next_waiter_does_not_hang, .timeout = 60)
{
  static const char *const modes[] = {"return", "exit", "cancel"};
  const char *src = "exit_holding_lock.c";

  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    run_result_t r;
    report_set_t set;
    summary_t s;

    run_mode("exit_holding_lock", modes[i], NULL, &r);
    expect_ended_by_watchdog(&r, "exit_holding_lock");
    expect_out_line(&r, "exit_holding_lock: worker ended");
    expect_first_report_line(&r, "lockgraph: lock held at thread exit: thread T2 ended holding "
                                 "M1: a thread that later waits for it blocks forever (report 1)");
    char *line = text_find_line(r.err, "lockgraph: deadlock (it happened): thread T1 waits for "
                                       "M1, held by thread T2, which exited without releasing "
                                       "it; ending the run (report 2)", "");
    cr_expect_not_null(line, "%s: no deadlock line for the waiter; stderr:\n%s", modes[i], r.err);
    free(line);
    cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
    cr_expect_eq(summary_kind(&s, "lock leak"), 1);
    cr_expect_eq(s.deadlocks, 1);
    const json_t *rep = only_report(&r, &set, "lock-held-at-exit");
    expect_section(rep, "M1 acquired at", "worker", src, "worker_takes");
    const json_t *dl = reports_first(&set, "deadlock");
    cr_assert_not_null(dl, "no deadlock object for the waiter");
    expect_section(dl, "M1 taken by thread T2", "worker", src, "worker_takes");
    expect_section(dl, "thread T1 waits for M1", "main", src, "main_takes");
    reports_free(&set);
    run_cleanup(&r);
  }
  run_result_t r;
  run_mode("exit_holding_lock", "unlock", NULL, &r);
  expect_clean(&r, "exit_holding_lock");
  run_cleanup(&r);
}

/* ---- the wrappers themselves ---- */

Test(waits, wrapped_blocking_calls_return_what_libc_returns_and_stay_cancellation_points,
     .timeout = 60)
{
  run_result_t r;

  report_set_t set;
  summary_t s;

  run_mode("wait_wrappers_transparent", NULL, NULL, &r);
  expect_out_line(&r, "wait_wrappers_transparent: all calls as libc");
  expect_out_line(&r, "wait_wrappers_transparent: cancelled: 2");
  /* The cancelled threads' cleanup handlers released `mu` (no lock held at exit) and were
   * tracked: each handler's order against main's is a potential deadlock. Then the hang the
   * program ends in on purpose, seen through the read wrapper. */
  expect_ended_by_watchdog(&r, "wait_wrappers_transparent");
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
  cr_expect_eq(s.potential, 2, "%u potential deadlocks; stderr:\n%s", s.potential, r.err);
  cr_expect_eq(summary_kind(&s, "lock leak"), 0, "a cancelled thread's unlock was lost");
  cr_expect_eq(s.reports, 3, "%u reports; stderr:\n%s", s.reports, r.err);
  const json_t *rep = only_report(&r, &set, "hang");
  /* Each cleanup handler's edge, at its lines: the one cancelled in read, the one in
   * pthread_cond_wait. */
  static const char *const handlers[2][3] = {
      {"reader_cleanup", "cleanup_first", "cleanup_second"},
      {"waiter_cleanup", "waiter_cleanup_first", "waiter_cleanup_second"},
  };
  const char *src = "wait_wrappers_transparent.c";
  for (int h = 0; h < 2; h++) {
    int first = corpus_marker_line(src, handlers[h][1]);
    int second = corpus_marker_line(src, handlers[h][2]);
    size_t found = 0;
    for (size_t i = 0; i < set.count; i++) {
      const json_t *edges = json_get(&set.objects[i], "edges");
      for (size_t e = 0; e < json_len(edges); e++) {
        const json_t *edge = json_at(edges, e);
        found += stack_has(json_get(edge, "held_stack"), handlers[h][0], 0, src, first) &&
                 stack_has(json_get(edge, "acquire_stack"), handlers[h][0], 0, src, second);
      }
    }
    cr_expect_eq(found, 1, "%s: %zu edges from the cleanup handler", handlers[h][0], found);
  }
  expect_section(rep, "blocks in read(fd ", "last_reader", "wait_wrappers_transparent.c",
                 "last_read");
  reports_free(&set);
  run_cleanup(&r);
}

/* A pipe a child made without fork(2) writes (posix_spawn, posix_spawnp, vfork and exec) can
 * be ended from outside: a thread reading it while every other thread waits is no hang (before,
 * the run was ended as hung after a second). */
Test(lockgraph_waits, reading_a_child_made_without_fork_is_no_hang, .timeout = 120)
{
  static const char *const modes[] = {"posix_spawn", "posix_spawnp", "vfork"};
  for (size_t i = 0; i < 3; i++) {
    const char *args[] = {modes[i], NULL};
    run_request_t rq = {.program = "reads_a_spawned_child", .args = args, .timeout_s = 30};
    run_result_t r;
    run_corpus(&rq, &r);
    expect_clean(&r, "reads_a_spawned_child");
    expect_out_line(&r, "reads_a_spawned_child: got hi");
    run_cleanup(&r);
  }
}

/* Every thread blocked on what a POSIX timer the program armed will end (its signal's handler
 * posts, or its own thread does) is no hang while the timer has yet to fire (before: ended as
 * hung after a second); one whose timer fired without waking anybody still is. alarm and
 * setitimer are not counted (the hazard programs bound themselves with alarm and must still be
 * seen hung): a documented limit, pinned here. */
Test(lockgraph_waits, a_posix_timer_yet_to_fire_is_no_hang, .timeout = 120)
{
  static const char *const clean[] = {"posix_signal", "posix_thread"};
  for (size_t i = 0; i < 2; i++) {
    const char *args[] = {clean[i], NULL};
    run_request_t rq = {.program = "woken_by_a_timer", .args = args, .timeout_s = 30};
    run_result_t r;
    run_corpus(&rq, &r);
    expect_clean(&r, "woken_by_a_timer");
    run_cleanup(&r);
  }
  static const char *const hung[] = {"posix_never", "alarm"};
  for (size_t i = 0; i < 2; i++) {
    const char *args[] = {hung[i], NULL};
    run_request_t rq = {.program = "woken_by_a_timer", .args = args, .timeout_s = 30};
    run_result_t r;
    run_corpus(&rq, &r);
    cr_expect_eq(r.status, REPORT_EXITCODE, "%s: exit status %d; stderr:\n%s", hung[i], r.status,
                 r.err);
    cr_expect_not_null(strstr(r.err, "lockgraph: hang: no progress"), "%s: stderr:\n%s", hung[i],
                       r.err);
    if (i == 0)
      cr_expect_gt(r.seconds, 1.5, "posix_never: ended after %.2f s, before its timer", r.seconds);
    run_cleanup(&r);
  }
}

/* Every thread blocked on what a message queue's notification (mq_notify) or an asynchronous
 * read (aio_read) will end, from glibc's own thread or a signal's handler, is no hang while the
 * notification has yet to come (before: ended as hung after a second); one that came without
 * waking anybody still leaves a hang to report, once what it woke had the watchdog's period to
 * run. */
Test(lockgraph_waits, a_notification_yet_to_come_is_no_hang, .timeout = 120)
{
  static const char *const clean[] = {"mq_thread", "mq_signal", "aio_thread", "aio_signal"};
  for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++) {
    const char *args[] = {clean[i], NULL};
    run_request_t rq = {.program = "woken_by_a_notification", .args = args, .timeout_s = 30};
    run_result_t r;
    run_corpus(&rq, &r);
    expect_clean(&r, "woken_by_a_notification");
    run_cleanup(&r);
  }
  static const char *const hung[] = {"mq_never", "aio_never"};
  for (size_t i = 0; i < sizeof hung / sizeof hung[0]; i++) {
    const char *args[] = {hung[i], NULL};
    run_request_t rq = {.program = "woken_by_a_notification", .args = args, .timeout_s = 30};
    run_result_t r;
    run_corpus(&rq, &r);
    cr_expect_eq(r.status, REPORT_EXITCODE, "%s: exit status %d; stderr:\n%s", hung[i],
                 r.status, r.err);
    cr_expect_not_null(strstr(r.err, "lockgraph: hang: no progress"), "%s: stderr:\n%s",
                       hung[i], r.err);
    cr_expect_gt(r.seconds, 2.5, "%s: ended after %.2f s, before its notification came and had "
                 "a period to run", hung[i], r.seconds);
    run_cleanup(&r);
  }
}

/* Waits another process ends, seen through what the wrappers used to miss: a descriptor number
 * closed without the close wrapper (fclose, close_range) and reused for a FIFO, a child made by
 * _Fork, a SIGCHLD handler that posts, a process-shared mutex a parent's thread held at fork
 * (the child waits for the parent, not for a thread that is gone), and a pipe's write end sent
 * to another process over a socket (SCM_RIGHTS). Each was ended as a hang or a fork hazard
 * before. */
Test(lockgraph_waits, waits_other_processes_end_are_no_hang, .timeout = 120)
{
  static const char *const modes[] = {"fclose_reuse", "close_range", "_Fork", "sigchld",
                                      "pshared", "scm_rights"};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    const char *args[] = {modes[i], NULL};
    run_request_t rq = {.program = "waits_ended_elsewhere", .args = args, .timeout_s = 30};
    run_result_t r;
    run_corpus(&rq, &r);
    expect_clean(&r, "waits_ended_elsewhere");
    run_cleanup(&r);
  }
}
