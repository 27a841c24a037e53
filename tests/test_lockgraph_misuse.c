/* test_lockgraph_misuse.c - lock misuse (detector/misuse.h): each kind of misuse reported on
 * its own, with the stacks that explain it, without ending the run; and the legal look-alikes
 * left alone. Every program runs under the real lockgraph (lg_corpus.h); its report is read
 * back from the JSON and the text, and its expected lines from the LINE: markers of its
 * source.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_corpus.h"

/* One labelled stack a report must have: the label contains `label`, and frame #0 is in
 * `function` at the source's LINE:`marker`. */
typedef struct section_expect {
  const char *label;
  const char *function;
  const char *marker;
} section_expect_t;

typedef struct misuse_expect {
  const char *program;
  const char *arg;        /* the program's one argument, or NULL */
  const char *json_type;  /* the report's JSON type */
  const char *word;       /* the first text line: "lockgraph: <word>: ..." */
  const char *noun;       /* the summary's count, singular */
  const char *says[4];    /* substrings of the message */
  section_expect_t sections[3];
} misuse_expect_t;

static const json_t *section_find(const json_t *rep, const char *label)
{
  const json_t *secs = json_get(rep, "sections");

  for (size_t i = 0; i < json_len(secs); i++) {
    const char *l = json_str(json_get(json_at(secs, i), "label"));
    if (l != NULL && strstr(l, label) != NULL)
      return json_at(secs, i);
  }
  return NULL;
}

/* Checks the run's (first) summary and its one report: of the expected kind, saying what it
 * must, with each expected stack. */
static void expect_misuse_report(const misuse_expect_t *e, const run_result_t *r)
{
  char src[128], first[160];
  report_set_t set;
  summary_t s;

  snprintf(src, sizeof(src), "%s.c", e->program);
  cr_assert_geq(summary_parse(r->err, &s), 1, "no summary line; stderr:\n%s", r->err);
  cr_expect_eq(s.reports, 1, "summary counts %u reports; stderr:\n%s", s.reports, r->err);
  cr_expect_eq(summary_kind(&s, e->noun), 1, "summary has no '1 %s'; stderr:\n%s", e->noun, r->err);
  cr_expect_eq(s.potential + s.deadlocks + s.self, 0, "a deadlock report besides the misuse");

  snprintf(first, sizeof(first), "lockgraph: %s: ", e->word);
  char *line = text_find_line(r->err, first, "(report 1)");
  cr_expect_not_null(line, "no text line '%s... (report 1)'; stderr:\n%s", first, r->err);
  free(line);

  reports_load(r->json, &set);
  cr_expect_eq(reports_count_findings(&set), 1, "the JSON report has %zu findings",
               reports_count_findings(&set));
  const json_t *rep = reports_first(&set, e->json_type);
  cr_assert_not_null(rep, "no JSON report of type %s; JSON:\n%s", e->json_type, r->json);
  cr_expect(json_get(rep, "ends_run") != NULL && json_get(rep, "ends_run")->number == 0,
            "the report says it ends the run");
  const char *msg = json_str(json_get(rep, "message"));
  cr_assert_not_null(msg, "the report has no message");
  for (int i = 0; i < 4 && e->says[i] != NULL; i++)
    cr_expect(strstr(msg, e->says[i]) != NULL, "the message '%s' does not say '%s'", msg,
              e->says[i]);
  for (int i = 0; i < 3 && e->sections[i].label != NULL; i++) {
    const section_expect_t *x = &e->sections[i];
    const json_t *sec = section_find(rep, x->label);
    int line_no = corpus_marker_line(src, x->marker);
    char buf[256];

    cr_expect_not_null(sec, "no section labelled '...%s...'; JSON:\n%s", x->label, r->json);
    if (sec == NULL)
      continue;
    const json_t *stack = json_get(sec, "stack");
    cr_expect(stack_has(stack, x->function, 0, src, line_no),
              "section '%s': frame #0 is %s, expected %s %s:%d", x->label,
              frame_describe(json_at(stack, 0), buf, sizeof(buf)), x->function, src, line_no);
    expect_text_frame(r->err, x->function, src, line_no);
  }
  /* The JSON summary counts the kind under its own key. */
  const json_t *sum = reports_first(&set, "summary");
  cr_expect(sum != NULL && json_int(json_get(sum, "reports")) == 1, "JSON summary: reports != 1");
  reports_free(&set);
}

static void run_misuse(const misuse_expect_t *e, run_result_t *r)
{
  const char *args[] = {e->arg, NULL};
  run_request_t rq = {.program = e->program, .args = e->arg ? args : NULL, .timeout_s = 30};
  char done[128];

  run_corpus(&rq, r);
  snprintf(done, sizeof(done), "%s: done", e->program);
  expect_out_line(r, done); /* a misuse report does not end the run */
}

/* Runs the program and checks: exit 66, it ran to its end (and printed `out`, unless NULL),
 * exactly one report, of the expected kind, saying what it must, with each expected stack. */
static void check_misuse(const misuse_expect_t *e, const char *out)
{
  run_result_t r;

  run_misuse(e, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "%s %s: exit status %d; stderr:\n%s", e->program,
               e->arg ? e->arg : "", r.status, r.err);
  if (out != NULL)
    expect_out_line(&r, out);
  expect_misuse_report(e, &r);
  run_cleanup(&r);
}

/* ---- bad unlocks ---- */

Test(lockgraph_misuse, unlock_of_an_unlocked_mutex_names_where_it_was_last_taken, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_unlock", "not_locked", "bad-unlock", "bad unlock", "bad unlock",
      {"default mutex", "unlocked by T1, but it was not locked"},
      {{"unlocked by T1 at", "main", "not_locked_unlock"},
       {"last locked by T1", "main", "not_locked_lock"}}};
  check_misuse(&e, "misuse_unlock: errno kept");
}

Test(lockgraph_misuse, default_mutex_unlocked_by_another_thread_names_the_holder, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_unlock", "other_thread", "bad-unlock", "bad unlock", "bad unlock",
      {"default mutex", "unlocked by T2, which does not hold it: T1 holds it",
       "POSIX leaves it undefined"},
      {{"unlocked by T2 at", "unlock_m", "other_unlock"},
       {"locked by T1 at", "main", "other_lock"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, errorcheck_mutex_unlocked_by_another_thread_says_eperm, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_unlock", "errorcheck", "bad-unlock", "bad unlock", "bad unlock",
      {"errorcheck mutex", "which does not hold it: T1 holds it", "returned EPERM"},
      {{"unlocked by T2 at", "unlock_m", "other_unlock"},
       {"locked by T1 at", "main", "errorcheck_lock"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, recursive_mutex_unlocked_once_too_often, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_unlock", "recursive", "bad-unlock", "bad unlock", "bad unlock",
      {"recursive mutex", "unlocked once more than it was locked by T1", "returned EPERM"},
      {{"unlocked by T1 at", "main", "recursive_unlock"},
       {"last locked by T1", "main", "recursive_lock"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, rwlock_unlocked_by_a_thread_not_holding_it, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_unlock", "rwlock", "bad-unlock", "bad unlock", "bad unlock",
      {"rwlock", "unlocked by T2, which does not hold it: T1 holds it for reading"},
      {{"unlocked by T2 at", "unlock_rw", "rwlock_unlock"},
       {"locked by T1 at", "main", "rwlock_lock"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, spinlock_unlocked_while_not_locked, .timeout = 60)
{
  misuse_expect_t e = {"misuse_unlock", "spin", "bad-unlock", "bad unlock", "bad unlock",
                       {"spinlock", "but it was not locked"},
                       {{"unlocked by T1 at", "main", "spin_unlock"}}};
  check_misuse(&e, NULL);
}

/* The hand-off of issue shape "thread B unlocks what A locked, then A takes other locks": the
 * held sets follow who really holds what, so no cycle through the released lock is made up. */
Test(lockgraph_misuse, handoff_drops_the_lock_from_the_lockers_held_set, .timeout = 60)
{
  misuse_expect_t e = {"handoff_then_order", NULL, "bad-unlock", "bad unlock", "bad unlock",
                       {"unlocked by T3, which does not hold it: T1 holds it"},
                       {{"unlocked by T3 at", "releaser", "handoff"},
                        {"locked by T1 at", "main", "lock"}}};
  check_misuse(&e, NULL);
}

/* A mutex used as a binary semaphore, 20000 hand-offs among four threads: one report (one
 * site), the locker's relocks wait for the next hand-off (no self-deadlock once a hand-off was
 * seen), and no order from the released lock makes a cycle. */
Test(lockgraph_misuse, mutex_handed_off_many_times_is_one_report_and_no_deadlock, .timeout = 60)
{
  misuse_expect_t e = {"handoff_many", NULL, "bad-unlock", "bad unlock", "bad unlock",
                       {"which does not hold it: T1 holds it"},
                       {{"unlocked by T", "releaser", "handoff"}, {"locked by T1 at", "main", "lock"}}};
  check_misuse(&e, "handoff_many: 20000 hand-offs");
}

/* ---- destroy of a locked lock ---- */

Test(lockgraph_misuse, destroy_of_a_locked_mutex_says_ebusy_and_who_holds_it, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_destroy", "locked_mutex", "destroy-locked", "destroy of a locked lock",
      "held-lock destroy",
      {"pthread_mutex_destroy on mutex", "while T1 holds it", "returned EBUSY"},
      {{"destroyed by T1 at", "main", "destroy_mutex"}, {"locked by T1 at", "main", "lock_mutex"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, destroy_of_a_read_locked_rwlock, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_destroy", "locked_rwlock", "destroy-locked", "destroy of a locked lock",
      "held-lock destroy",
      {"pthread_rwlock_destroy on rwlock", "while T1 holds it for reading"},
      {{"destroyed by T1 at", "main", "destroy_rwlock"}, {"locked by T1 at", "main", "lock_rwlock"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, destroy_of_a_locked_spinlock, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_destroy", "locked_spin", "destroy-locked", "destroy of a locked lock",
      "held-lock destroy",
      {"pthread_spin_destroy on spinlock", "while T1 holds it"},
      {{"destroyed by T1 at", "main", "destroy_spin"}, {"locked by T1 at", "main", "lock_spin"}}};
  check_misuse(&e, NULL);
}

/* ---- destroyed and uninitialized locks ---- */

Test(lockgraph_misuse, lock_of_a_destroyed_mutex_shows_the_destroy, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_destroy", "lock_mutex", "invalid-lock", "use of an invalid lock", "invalid lock use",
      {"pthread_mutex_lock on mutex", "destroyed by T1", "returned EINVAL"},
      {{"used by T1 at", "main", "use_lock"}, {"destroyed by T1 at", "main", "destroy_m"}}};
  check_misuse(&e, "misuse_destroy: errno kept");
}

Test(lockgraph_misuse, trylock_of_a_destroyed_mutex_shows_the_destroy, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_destroy", "trylock_mutex", "invalid-lock", "use of an invalid lock",
      "invalid lock use",
      {"pthread_mutex_trylock on mutex", "destroyed by T1", "returned EINVAL"},
      {{"used by T1 at", "main", "use_trylock"}, {"destroyed by T1 at", "main", "destroy_m"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, unlock_of_a_destroyed_mutex_shows_the_destroy, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_destroy", "unlock_mutex", "invalid-lock", "use of an invalid lock",
      "invalid lock use",
      {"pthread_mutex_unlock on mutex", "destroyed by T1", "returned EINVAL"},
      {{"used by T1 at", "main", "use_unlock"}, {"destroyed by T1 at", "main", "destroy_m"}}};
  check_misuse(&e, NULL);
}

/* misuse_destroyer_gone in `mode`: main (T1) locks the mutex T2 destroyed, at LINE:use_<mode>. */
static misuse_expect_t destroyer_gone_expect(const char *mode)
{
  static char marker[32];
  misuse_expect_t e = {
      "misuse_destroyer_gone", mode, "invalid-lock", "use of an invalid lock",
      "invalid lock use", {"pthread_mutex_lock on mutex", "by T1, destroyed by T2", "EINVAL"},
      {{"used by T1 at", "main", marker}, {"destroyed by T2 at", "destroyer", "destroy"}}};

  snprintf(marker, sizeof marker, "use_%s", mode);
  return e;
}

/* The destroying thread has exited, and the thread started after it has destroyed mutexes of
 * its own since: the destroy is still shown. */
Test(lockgraph_misuse, lock_of_a_mutex_destroyed_by_an_exited_thread_shows_the_destroy,
     .timeout = 60)
{
  misuse_expect_t e = destroyer_gone_expect("exited");

  check_misuse(&e, "misuse_destroyer_gone: exited returned Invalid argument");
}

/* A fork child, which has only the forking thread, uses a mutex another thread of the parent
 * destroyed: the destroy is still shown (the child reports, the parent finds nothing). */
Test(lockgraph_misuse, lock_in_a_fork_child_of_a_mutex_destroyed_by_a_thread_not_there,
     .timeout = 60)
{
  misuse_expect_t e = destroyer_gone_expect("fork_child");
  run_result_t r;

  run_misuse(&e, &r);
  cr_expect_eq(r.status, 0, "the parent's exit status %d; stderr:\n%s", r.status, r.err);
  expect_out_line(&r, "misuse_destroyer_gone: child's lock returned Invalid argument");
  expect_out_line(&r, "misuse_destroyer_gone: child exit status 66");
  expect_misuse_report(&e, &r);
  run_cleanup(&r);
}

Test(lockgraph_misuse, rwlock_locked_after_its_destroy, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_destroy", "lock_rwlock", "invalid-lock", "use of an invalid lock",
      "invalid lock use", {"rwlock", "after T1 destroyed it and before any init"},
      {{"used by T1 at", "main", "use_rwlock"}, {"destroyed by T1 at", "main", "destroy_rw"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, spinlock_locked_after_its_destroy, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_destroy", "lock_spin", "invalid-lock", "use of an invalid lock", "invalid lock use",
      {"spinlock", "after T1 destroyed it and before any init"},
      {{"used by T1 at", "main", "use_spin"}, {"destroyed by T1 at", "main", "destroy_s"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, lock_of_memory_that_is_no_mutex, .timeout = 60)
{
  misuse_expect_t e = {"misuse_destroy", "uninit_mutex", "invalid-lock", "use of an invalid lock",
                       "invalid lock use",
                       {"pthread_mutex_lock on mutex 0x", "not an initialized mutex",
                        "returned EINVAL"},
                       {{"used by T1 at", "main", "use_uninit"}}};
  check_misuse(&e, NULL);
}

/* ---- init of a locked lock ---- */

Test(lockgraph_misuse, init_of_a_mutex_another_thread_holds, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_init_locked", "mutex", "init-locked", "init of a locked lock", "held-lock init",
      {"pthread_mutex_init on mutex", "by T1 while T2 holds it"},
      {{"initialized by T1 at", "main", "init_mutex"}, {"locked by T2 at", "holder", "lock_mutex"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, init_of_a_write_locked_rwlock, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_init_locked", "rwlock", "init-locked", "init of a locked lock", "held-lock init",
      {"pthread_rwlock_init on rwlock", "while T1 holds it for writing"},
      {{"initialized by T1 at", "main", "init_rwlock"}, {"locked by T1 at", "main", "lock_rwlock"}}};
  check_misuse(&e, NULL);
}

/* A lock initialized again right after its last holder released it is no held lock: the
 * holder's entry outlives glibc's release by a few instructions, and the init's check took that
 * entry for a holder (a false "init of a locked lock" in most runs of the mutex and rwlock
 * modes). The check now trusts a holder only when the lock word said locked before the init. */
Test(lockgraph_misuse, init_right_after_the_holders_release_is_no_misuse, .timeout = 120)
{
  static const char *const modes[] = {"mutex", "rwlock", "c11"};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    const char *args[] = {modes[i], NULL};
    run_result_t r;
    run_corpus(&(run_request_t){.program = "init_after_unlock", .args = args, .timeout_s = 60},
               &r);
    expect_clean(&r, "init_after_unlock");
    run_cleanup(&r);
  }
}

/* ---- condition variables ---- */

Test(lockgraph_misuse, cond_wait_with_a_mutex_not_held, .timeout = 60)
{
  misuse_expect_t e = {"misuse_condvar", "unheld", "condvar-misuse", "condition variable misuse",
                       "condvar misuse",
                       {"pthread_cond_timedwait on condition variable", "which T1 does not hold",
                        "glibc releases it all the same"},
                       {{"waited by T1 at", "main", "wait_unheld"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, cond_wait_with_an_errorcheck_mutex_another_thread_holds, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_condvar", "other", "condvar-misuse", "condition variable misuse", "condvar misuse",
      {"errorcheck mutex", "which T1 does not hold: T2 does", "EPERM"},
      {{"waited by T1 at", "main", "wait_other"}, {"locked by T2 at", "ec_holder", "lock_other"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, cond_wait_with_a_destroyed_mutex, .timeout = 60)
{
  misuse_expect_t e = {
      "misuse_condvar", "destroyed", "condvar-misuse", "condition variable misuse",
      "condvar misuse", {"not an initialized mutex (destroyed)"},
      {{"waited by T1 at", "main", "wait_destroyed"}, {"destroyed by T1 at", "main", "destroy"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, cond_wait_with_an_rwlock_for_a_mutex, .timeout = 60)
{
  misuse_expect_t e = {"misuse_condvar", "rwlock", "condvar-misuse", "condition variable misuse",
                       "condvar misuse", {"with rwlock RW", "which is not a mutex"},
                       {{"waited by T1 at", "main", "wait_rwlock"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, one_condvar_waited_with_two_mutexes, .timeout = 60)
{
  misuse_expect_t e = {"misuse_condvar", "two_mutexes", "condvar-misuse",
                       "condition variable misuse", "condvar misuse",
                       {"while T2 waits on it with mutex", "one condition variable, one mutex"},
                       {{"T1 waits with mutex", "main", "wait_two_mutexes"},
                        {"T2 waits with mutex", "first_waiter", "wait_first"}}};
  check_misuse(&e, NULL);
}

/* ---- what must stay silent ---- */

/* ---- C11 <threads.h>: the same misuse through mtx_t and cnd_t ---- */

/* glibc's mtx_* and cnd_* call its pthread functions internally, past the pthread wrappers:
 * each misuse above, made with C11 calls, is reported the same way, named by its C11 call. */
Test(lockgraph_misuse, c11_misuse_is_reported_as_pthread_misuse_is, .timeout = 120)
{
  const misuse_expect_t cases[] = {
      {"misuse_c11", "unlock_unlocked", "bad-unlock", "bad unlock", "bad unlock",
       {"default mutex", "but it was not locked"},
       {{"unlocked by T1 at", "main", "unlock_unlocked"}}},
      {"misuse_c11", "unlock_other", "bad-unlock", "bad unlock", "bad unlock",
       {"unlocked by T2, which does not hold it: T1 holds it"},
       {{"unlocked by T2 at", "unlock_m", "other_unlock"}, {"locked by T1 at", "main", "other_lock"}}},
      {"misuse_c11", "destroy_held", "destroy-locked", "destroy of a locked lock",
       "held-lock destroy", {"mtx_destroy on mutex", "while T1 holds it"},
       {{"destroyed by T1 at", "main", "destroy_held"}, {"locked by T1 at", "main", "held_lock"}}},
      {"misuse_c11", "lock_destroyed", "invalid-lock", "use of an invalid lock", "invalid lock use",
       {"mtx_lock on mutex", "destroyed by T1"},
       {{"used by T1 at", "main", "lock_destroyed"}, {"destroyed by T1 at", "main", "destroy"}}},
      {"misuse_c11", "init_held", "init-locked", "init of a locked lock", "held-lock init",
       {"mtx_init on mutex", "while T1 holds it"},
       {{"initialized by T1 at", "main", "init_held"},
        {"locked by T1 at", "main", "held_lock_init"}}},
      {"misuse_c11", "wait_unheld", "condvar-misuse", "condition variable misuse", "condvar misuse",
       {"cnd_timedwait on condition variable", "which T1 does not hold"},
       {{"waited by T1 at", "main", "wait_unheld"}}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_misuse(&cases[i], NULL);
}

/* A C11 hand-off takes the mtx off its locker's held stack, as a pthread one does: no order
 * from the released mtx, no cycle with the thread that takes N then M afterwards. */
Test(lockgraph_misuse, c11_handoff_drops_the_mtx_from_the_lockers_held_set, .timeout = 60)
{
  misuse_expect_t e = {"misuse_c11", "handoff", "bad-unlock", "bad unlock", "bad unlock",
                       {"unlocked by T2, which does not hold it: T1 holds it"},
                       {{"unlocked by T2 at", "hand_off", "handoff"},
                        {"locked by T1 at", "main", "handoff_lock"}}};
  check_misuse(&e, NULL);
}

Test(lockgraph_misuse, legal_lookalikes_are_not_reported, .timeout = 60)
{
  run_request_t rq = {.program = "misuse_lookalikes", .timeout_s = 30};
  run_result_t r;

  run_corpus(&rq, &r);
  expect_clean(&r, "misuse_lookalikes");
  expect_out_line(&r, "misuse_lookalikes: robust lock returned EOWNERDEAD");
  expect_out_line(&r, "misuse_lookalikes: trylock of a held mutex returned EBUSY");
  run_cleanup(&r);
}

/* ---- options: halt_on_error and suppressions ---- */

Test(lockgraph_misuse, halt_on_error_ends_the_run_at_the_first_misuse, .timeout = 60)
{
  const char *args[] = {"not_locked", NULL};
  run_request_t rq = {.program = "misuse_unlock", .args = args, .options = "halt_on_error=1"};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  char *line = text_find_line(r.err, "lockgraph: bad unlock: ", "; ending the run (report 1)");
  cr_expect_not_null(line, "no 'ending the run' report line; stderr:\n%s", r.err);
  free(line);
  char *done = text_find_line(r.out, "misuse_unlock: done", "");
  cr_expect_null(done, "the program went on after the report");
  free(done);
  cr_expect_eq(summary_parse(r.err, &s), 1, "no summary line; stderr:\n%s", r.err);
  cr_expect_eq(summary_kind(&s, "bad unlock"), 1);
  run_cleanup(&r);
}

Test(lockgraph_misuse, halt_on_error_takes_only_0_or_1, .timeout = 60)
{
  const char *flags[] = {"--halt-on-error", "2", NULL};
  run_request_t rq = {.program = "misuse_unlock", .cli_flags = flags, .no_json = 1};
  run_result_t r;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, 2, "exit status %d; stderr:\n%s", r.status, r.err);
  cr_expect(strstr(r.err, "halt_on_error=2") != NULL && strstr(r.err, "out of range") != NULL,
            "no one-line error naming halt_on_error; stderr:\n%s", r.err);
  run_cleanup(&r);
}

Test(lockgraph_misuse, unlock_suppression_hides_the_bad_unlock_and_counts_it, .timeout = 60)
{
  char supp[PATH_MAX];
  const char *flags[] = {"--suppressions", supp, NULL};
  const char *args[] = {"other_thread", NULL};
  run_request_t rq = {.program = "misuse_unlock", .args = args, .cli_flags = flags};
  run_result_t r;
  summary_t s;

  run_init(&r);
  snprintf(supp, sizeof(supp), "%s/suppressions.txt", r.dir);
  /* A deadlock suppression of the same function must not hide it: the type is part of it. */
  file_write_all(supp, "deadlock:unlock_m\nunlock:unlock_m\n");
  run_program(&rq, &r);
  cr_expect_eq(r.status, 0, "exit status %d; stderr:\n%s", r.status, r.err);
  expect_out_line(&r, "misuse_unlock: done");
  expect_no_report_line(&r);
  cr_assert_eq(summary_parse(r.err, &s), 1, "no summary line; stderr:\n%s", r.err);
  cr_expect_eq(s.reports, 0);
  cr_expect_eq(s.suppressed, 1, "summary: %u suppressed", s.suppressed);
  cr_expect(strstr(r.err, "suppression unlock:unlock_m: 1 hit") != NULL,
            "no hit counted for unlock:unlock_m; stderr:\n%s", r.err);
  cr_expect(strstr(r.err, "suppression deadlock:unlock_m: 0 hits") != NULL,
            "the deadlock suppression matched a bad unlock; stderr:\n%s", r.err);
  run_cleanup(&r);
}
