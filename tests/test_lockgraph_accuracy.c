/* test_lockgraph_accuracy.c - every lock-order cycle reported once, none invented: distinct
 * cycles behind one lock helper, gates that do or do not exclude, create/join ordering with
 * many threads, C11 <threads.h>, occurrence-level judging, and the end-to-end randomized test
 * of the whole detector against a brute-force model of its documented rules. Each program
 * runs under the real lockgraph (helpers in lg_corpus.h).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lg_corpus.h"

/* The addresses of a report's locks, sorted, as one comparable string. */
static void report_lock_set(const json_t *rep, char *buf, size_t cap)
{
  const json_t *locks = json_get(rep, "locks");
  size_t n = json_len(locks);
  long long a[64];
  size_t k = 0;
  for (size_t i = 0; i < n && k < 64; i++)
    a[k++] = json_int(json_get(json_at(locks, i), "addr"));
  for (size_t i = 1; i < k; i++)
    for (size_t j = i; j > 0 && a[j - 1] > a[j]; j--) {
      long long x = a[j];
      a[j] = a[j - 1];
      a[j - 1] = x;
    }
  buf[0] = '\0';
  for (size_t i = 0; i < k; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "%llx,", a[i]);
  }
}

/* Runs a program that must report exactly `n` potential deadlocks, cycles of lens[i] locks in
 * that order, over pairwise different sets of locks; loads the JSON reports into set. */
static void run_distinct_cycles(const char *program, size_t n, const size_t *lens,
                                run_result_t *r, report_set_t *set)
{
  run_request_t rq = {.program = program};
  summary_t s;
  char sets[16][512];

  run_corpus(&rq, r);
  cr_expect_eq(r->status, REPORT_EXITCODE, "%s: exit status %d; stderr:\n%s", program, r->status,
               r->err);
  cr_expect_eq(summary_parse(r->err, &s), 1, "expected one summary line; stderr:\n%s", r->err);
  cr_expect_eq(s.potential, n, "summary: %u potential deadlocks, expected %zu; stderr:\n%s",
               s.potential, n, r->err);
  cr_expect_eq(s.reports, n, "summary: %u reports, expected %zu", s.reports, n);
  char done[128];
  snprintf(done, sizeof done, "%s: done", program);
  expect_out_line(r, done);
  reports_load(r->json, set);
  size_t got = 0;
  for (size_t i = 0; i < set->count; i++) {
    const json_t *rep = &set->objects[i];
    if (!json_str_is(json_get(rep, "type"), "potential-deadlock"))
      continue;
    cr_assert_lt(got, n, "more potential-deadlock reports than %zu", n);
    size_t len = json_len(json_get(rep, "cycle"));
    cr_expect_eq(len, lens[got] + 1, "report %zu: a cycle of %zu locks, expected %zu", got + 1,
                 len - 1, lens[got]);
    report_lock_set(rep, sets[got], sizeof sets[got]);
    for (size_t j = 0; j < got; j++)
      cr_expect_str_neq(sets[j], sets[got], "reports %zu and %zu name the same locks", j + 1,
                        got + 1);
    got++;
  }
  cr_expect_eq(got, n, "JSON: %zu potential-deadlock objects, expected %zu", got, n);
}

/* ------------------------------------------------------------------------------------------
 * Distinct cycles are not dropped: one helper for every lock, std::mutex at -O0, a stress
 * table of eight inversions.
 */

Test(lockgraph_accuracy, two_inversions_through_one_helper_are_two_reports, .timeout = 60)
{
  const size_t lens[] = {2, 2};
  const edge_expect_t expect[] = {
      {"accounts_ab", "ab_first", "accounts_ab", "ab_second"},
      {"accounts_ba", "ba_first", "accounts_ba", "ba_second"},
  };
  run_result_t r;
  report_set_t set;

  run_distinct_cycles("one_helper_two_inversions", 2, lens, &r, &set);
  /* The program's own lines are frame #1, under its helper my_lock. */
  expect_inversion(reports_first(&set, "potential-deadlock"), "one_helper_two_inversions.c", 2,
                   "mutex", expect, STACK_ANY_FRAME);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph_accuracy, cxx_two_std_mutex_inversions_at_O0_are_two_reports, .timeout = 60)
{
  const size_t lens[] = {2, 2};
  edge_expect_t expect[2];
  run_result_t r;
  report_set_t set;

  ab_ba_expect(expect, "worker_ab", "worker_ba");
  run_distinct_cycles("cxx_two_inversions", 2, lens, &r, &set);
  expect_inversion(reports_first(&set, "potential-deadlock"), "cxx_two_inversions.cpp", 2,
                   "mutex", expect, STACK_CXX);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph_accuracy, stress_table_of_eight_inversions_is_eight_reports, .timeout = 60)
{
  const size_t lens[] = {2, 3, 4, 2, 2, 2, 2, 2};
  run_result_t r;
  report_set_t set;

  run_distinct_cycles("stress_eight_inversions", 8, lens, &r, &set);
  reports_free(&set);
  run_cleanup(&r);
}

/* ------------------------------------------------------------------------------------------
 * Gates: only a lock held exclusively by one side serializes.
 */

Test(lockgraph_accuracy, rwlock_read_by_both_sides_is_not_a_gate, .timeout = 60)
{
  check_ab_ba_inversion("rwlock_read_gate", "rwlock_read_gate.c", "thread_ab", "thread_ba",
                        "mutex", 0);
}

Test(lockgraph_accuracy, gates_held_exclusively_by_one_side_still_serialize, .timeout = 60)
{
  check_clean("gate_modes", NULL);
}

/* ------------------------------------------------------------------------------------------
 * Create/join ordering, exact with any number of threads.
 */

static void check_sequential_threads(const char *n)
{
  const char *const args[] = {n, NULL};
  const char *const flags[] = {"--verbosity", "3", NULL}; /* 3: the detector memory line */
  run_request_t rq = {.program = "sequential_threads", .args = args, .cli_flags = flags,
                      .timeout_s = 300};
  run_result_t r;

  run_corpus(&rq, &r);
  expect_clean(&r, "sequential_threads");
  /* Memory: the detector's mappings stay far below a per-thread-pair cost (N^2). */
  char *mem = text_find_line(r.err, "  detector memory:", "");
  cr_assert_not_null(mem, "no detector memory line; stderr:\n%s", r.err);
  unsigned long long bytes = 0;
  cr_assert_eq(sscanf(mem, "  detector memory: %llu", &bytes), 1);
  unsigned long long threads = strtoull(n, NULL, 10);
  cr_expect_lt(bytes, (64ull << 20) + threads * 1024,
               "detector memory %llu bytes for %llu threads", bytes, threads);
  free(mem);
  run_cleanup(&r);
}

Test(lockgraph_accuracy, thousand_sequential_threads_are_ordered, .timeout = 120)
{
  check_sequential_threads("1000");
}

Test(lockgraph_accuracy, ten_thousand_sequential_threads_are_ordered, .timeout = 300)
{
  check_sequential_threads("10000");
}

Test(lockgraph_accuracy, hundred_thousand_sequential_threads_are_ordered, .timeout = 600)
{
  check_sequential_threads("100000");
}

/* ------------------------------------------------------------------------------------------
 * C11 <threads.h>: the same rules as the pthread twins.
 */

Test(lockgraph_accuracy, c11_mtx_inversion_is_caught, .timeout = 60)
{
  run_request_t rq = {.program = "c11_inversion"};
  run_result_t r;

  check_ab_ba_inversion("c11_inversion", "c11_inversion.c", "worker_ab", "worker_ba", "mutex", 0);
  /* thrd_join reads back each thread's int result, as without the detector. */
  run_corpus(&rq, &r);
  expect_out_line(&r, "c11_inversion: results 7 9");
  run_cleanup(&r);
}

Test(lockgraph_accuracy, c11_clean_program_is_silent_and_its_locks_are_seen, .timeout = 60)
{
  const char *const flags[] = {"--verbosity", "2", NULL}; /* the summary of a clean run */
  run_request_t rq = {.program = "c11_clean", .cli_flags = flags};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  expect_clean(&r, "c11_clean");
  summary_parse(r.err, &s);
  /* Silent because the rules hold, not because the C11 calls went unseen. */
  cr_expect_eq(s.locks, 6, "summary: %u locks, expected the program's 6 mtx_t", s.locks);
  cr_expect_eq(s.threads, 2, "summary: %u threads, expected main and the thrd_create one", s.threads);
  run_cleanup(&r);
}

/* ------------------------------------------------------------------------------------------
 * The three bookkeeping shapes: a ring behind an order set aside, occurrences judged apart,
 * read-after-read per arc.
 */

Test(lockgraph_accuracy, ring_through_an_order_set_aside_is_found, .timeout = 60)
{
  const size_t lens[] = {3};
  run_result_t r;
  report_set_t set;

  run_distinct_cycles("ring_behind_set_aside_order", 1, lens, &r, &set);
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph_accuracy, each_occurrence_is_judged_with_its_own_gates_and_timing, .timeout = 60)
{
  check_clean("occurrences_judged_apart", NULL);
}

Test(lockgraph_accuracy, read_request_against_read_hold_does_not_close_a_cycle, .timeout = 60)
{
  check_clean("rwlock_read_waits_for_no_reader", NULL);
}

/* ------------------------------------------------------------------------------------------
 * The end-to-end randomized test: random lock programs (tests/corpus/lockprog.c runs them)
 * judged by a brute-force model of the rules docs/lockgraph.md states, against what the real
 * detector reports.
 *
 * The model: every acquisition by lock, timed lock or rdlock/wrlock of lock L while holding H
 * is, for each h in H, an occurrence of the order h -> L, with h's mode, L's mode, the other
 * locks held (and their modes) and the thread's happens-before clock (vector clocks cut at
 * create and join). Trylocks add no order into the lock they take. A cycle of locks L0 ->
 * L1 -> ... -> L0 is a potential deadlock when one occurrence per order can be chosen so that:
 * no read request meets a read hold at a lock of the cycle; no two occurrences hold a common
 * lock (held ends included) unless both hold it for reading; no two are ordered by create and
 * join. A destroyed lock's orders go with it (its memory holds a new lock), so a cycle's
 * occurrences must all come while every lock of it lives. The verdict is the set of lock
 * sets (by address) with such a cycle, which must equal the set the detector reported, and
 * the number of further sets of lock instances over an address set already reported, which
 * must equal the summary's duplicate count.
 */

#define RP_LOCKS 6
#define RP_THREADS 6
#define RP_OPS 48
#define RP_OCC 4096

typedef struct rp_rng {
  unsigned long long s;
} rp_rng_t;

static unsigned rp_next(rp_rng_t *r, unsigned n)
{
  r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
  return (unsigned)((r->s >> 33) % n);
}

/* Locks are destroyed and initialized again ("reinit"): each life of a lock is an instance,
 * a node of the model numbered lock * RP_LIVES + life. */
#define RP_LIVES 4
#define RP_NODES (RP_LOCKS * RP_LIVES)

typedef struct rp_occ {
  int from, to;            /* nodes */
  char from_mode, to_mode; /* 'w' exclusive, 'r' read */
  unsigned held;           /* other nodes held */
  unsigned held_read;      /* of those, held for reading */
  unsigned seq;            /* when (one clock with the reinits) */
  int tid;
  unsigned vc[RP_THREADS + 1];
} rp_occ_t;

typedef struct rp_model {
  int nlocks;
  char kinds[RP_LOCKS + 1];
  int life[RP_LOCKS];
  unsigned ended[RP_NODES]; /* when the instance was destroyed; 0 while it lives */
  unsigned clock;
  unsigned vc[RP_THREADS + 1][RP_THREADS + 1];
  rp_occ_t occ[RP_OCC];
  int nocc;
  unsigned inst_sets[256]; /* reportable cycles by their set of instances */
  int ninst;
} rp_model_t;

/* The model's verdict: the bit of every reportable set of locks (by address), and how many
 * reportable sets of instances repeat a set of locks (the summary's duplicates). */
typedef struct rp_verdict {
  unsigned sets[1u << RP_LOCKS >> 5];
  unsigned duplicates;
} rp_verdict_t;

static char rp_held_mode(char m)
{
  return m == 'r' || m == 'u' ? 'r' : 'w';
}

static int rp_node(const rp_model_t *m, int lock)
{
  return lock * RP_LIVES + m->life[lock];
}

/* Runs one actor's operations through the model. */
static void rp_model_ops(rp_model_t *m, int tid, const char *ops)
{
  int held[RP_LOCKS], nheld = 0;
  char mode[RP_LOCKS];
  const char *p = ops;
  while (*p) {
    while (*p == ' ')
      p++;
    if (!*p)
      break;
    char op = *p++;
    int i = (int)strtol(p, (char **)&p, 10);
    if (op == '-') {
      for (int k = 0; k < nheld; k++)
        if (held[k] == i) {
          memmove(&held[k], &held[k + 1], (size_t)(nheld - k - 1) * sizeof held[0]);
          memmove(&mode[k], &mode[k + 1], (size_t)(nheld - k - 1));
          nheld--;
          break;
        }
      continue;
    }
    char md = *p++;
    if (md != 't' && md != 'u') {
      for (int k = 0; k < nheld; k++) {
        cr_assert_lt(m->nocc, RP_OCC);
        rp_occ_t *o = &m->occ[m->nocc++];
        o->from = rp_node(m, held[k]);
        o->to = rp_node(m, i);
        o->from_mode = mode[k];
        o->to_mode = rp_held_mode(md);
        o->held = o->held_read = 0;
        for (int j = 0; j < nheld; j++) {
          if (j == k)
            continue;
          o->held |= 1u << rp_node(m, held[j]);
          if (mode[j] == 'r')
            o->held_read |= 1u << rp_node(m, held[j]);
        }
        o->seq = ++m->clock;
        o->tid = tid;
        memcpy(o->vc, m->vc[tid], sizeof o->vc);
      }
    }
    held[nheld] = i;
    mode[nheld] = rp_held_mode(md);
    nheld++;
  }
}

/* a happens before b: b's clock knows a's segment (and they are not the same segment). */
static int rp_before(const rp_occ_t *a, const rp_occ_t *b)
{
  if (a->tid == b->tid && a->vc[a->tid] == b->vc[b->tid])
    return 0;
  return b->vc[a->tid] >= a->vc[a->tid];
}

static int rp_compatible(const rp_occ_t *a, const rp_occ_t *b)
{
  unsigned ha = a->held | 1u << a->from, hb = b->held | 1u << b->from;
  unsigned ra = a->held_read | (a->from_mode == 'r' ? 1u << a->from : 0);
  unsigned rb = b->held_read | (b->from_mode == 'r' ? 1u << b->from : 0);
  unsigned common = ha & hb;
  if (common & ~(ra & rb))
    return 0;
  return !rp_before(a, b) && !rp_before(b, a);
}

/* One occurrence per order of the cycle, all taken while every instance of the cycle lived
 * (a destroyed lock's orders are gone: `until` is the first end of one of them). */
static int rp_pick(const rp_model_t *m, const int *cyc, int k, int i, unsigned until,
                   const rp_occ_t **pick)
{
  if (i == k)
    return !(pick[k - 1]->to_mode == 'r' && pick[0]->from_mode == 'r');
  for (int c = 0; c < m->nocc; c++) {
    const rp_occ_t *o = &m->occ[c];
    if (o->from != cyc[i] || o->to != cyc[(i + 1) % k] || o->seq >= until)
      continue;
    if (i > 0 && pick[i - 1]->to_mode == 'r' && o->from_mode == 'r')
      continue;
    int ok = 1;
    for (int p = 0; p < i && ok; p++)
      ok = rp_compatible(pick[p], o);
    if (!ok)
      continue;
    pick[i] = o;
    if (rp_pick(m, cyc, k, i + 1, until, pick))
      return 1;
  }
  return 0;
}

static int rp_has_edge(const rp_model_t *m, int a, int b)
{
  for (int c = 0; c < m->nocc; c++)
    if (m->occ[c].from == a && m->occ[c].to == b)
      return 1;
  return 0;
}

/* Every simple cycle of instances (of distinct locks) whose smallest node is cyc[0]. */
static void rp_cycles(rp_model_t *m, int *cyc, int k)
{
  int last = cyc[k - 1];
  if (k >= 2 && rp_has_edge(m, last, cyc[0])) {
    const rp_occ_t *pick[RP_LOCKS];
    unsigned inst = 0, until = UINT32_MAX;
    for (int i = 0; i < k; i++) {
      inst |= 1u << cyc[i];
      if (m->ended[cyc[i]] != 0 && m->ended[cyc[i]] < until)
        until = m->ended[cyc[i]];
    }
    int known = 0;
    for (int i = 0; i < m->ninst && !known; i++)
      known = m->inst_sets[i] == inst;
    if (!known && m->ninst < 256 && rp_pick(m, cyc, k, 0, until, pick))
      m->inst_sets[m->ninst++] = inst;
  }
  for (int n = cyc[0] + 1; n < m->nlocks * RP_LIVES; n++) {
    int used = 0;
    for (int i = 0; i < k && !used; i++)
      used = cyc[i] / RP_LIVES == n / RP_LIVES;
    if (used || !rp_has_edge(m, last, n))
      continue;
    cyc[k] = n;
    rp_cycles(m, cyc, k + 1);
  }
}

static void rp_model_verdict(const char *desc, rp_verdict_t *v)
{
  static rp_model_t m;
  memset(&m, 0, sizeof m);
  memset(v, 0, sizeof *v);
  char *copy = strdup(desc), *save = NULL;
  const char *thread_ops[RP_THREADS + 1] = {0};
  m.vc[0][0] = 1; /* main is thread 0 here */
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "locks ", 6) == 0) {
      m.nlocks = (int)strlen(line + 6);
      memcpy(m.kinds, line + 6, (size_t)m.nlocks);
    } else if (strncmp(line, "thread ", 7) == 0) {
      int t = atoi(line + 7);
      thread_ops[t] = strchr(line + 7, ' ') + 1;
    } else if (strncmp(line, "main ", 5) == 0) {
      rp_model_ops(&m, 0, line + 5);
    } else if (strncmp(line, "create ", 7) == 0) {
      int t = atoi(line + 7);
      memcpy(m.vc[t], m.vc[0], sizeof m.vc[t]);
      m.vc[t][t] = 1;
      m.vc[0][0]++;
      rp_model_ops(&m, t, thread_ops[t]);
    } else if (strncmp(line, "join ", 5) == 0) {
      int t = atoi(line + 5);
      for (int x = 0; x <= RP_THREADS; x++)
        if (m.vc[t][x] > m.vc[0][x])
          m.vc[0][x] = m.vc[t][x];
      m.vc[0][0]++;
    } else if (strncmp(line, "reinit ", 7) == 0) {
      int i = atoi(line + 7);
      m.ended[rp_node(&m, i)] = ++m.clock;
      m.life[i]++;
    }
  }
  int cyc[RP_LOCKS];
  for (int s = 0; s < m.nlocks * RP_LIVES; s++) {
    cyc[0] = s;
    rp_cycles(&m, cyc, 1);
  }
  for (int i = 0; i < m.ninst; i++) {
    unsigned locks = 0;
    for (int n = 0; n < RP_NODES; n++)
      if (m.inst_sets[i] & (1u << n))
        locks |= 1u << (n / RP_LIVES);
    if (v->sets[locks / 32] & (1u << (locks % 32)))
      v->duplicates++;
    v->sets[locks / 32] |= 1u << (locks % 32);
  }
  free(copy);
}

/* One actor's operations: random acquisitions (no lock twice) and releases, all released at
 * the end. */
static void rp_gen_ops(rp_rng_t *g, const char *kinds, int nlocks, char *out, size_t cap)
{
  int held[RP_LOCKS], nheld = 0, steps = 2 + (int)rp_next(g, 7);
  size_t n = 0;
  out[0] = '\0';
  for (int s = 0; s < steps; s++) {
    int acquire = nheld == 0 || (nheld < 4 && nheld < nlocks && rp_next(g, 3) != 0);
    if (acquire) {
      int i;
      int taken;
      do {
        i = (int)rp_next(g, (unsigned)nlocks);
        taken = 0;
        for (int k = 0; k < nheld; k++)
          taken |= held[k] == i;
      } while (taken);
      const char *modes = kinds[i] == 'm' ? "wwwwwttd" : kinds[i] == 'r' ? "wwrrrtud" : "wwwt";
      char md = modes[rp_next(g, (unsigned)strlen(modes))];
      n += (size_t)snprintf(out + n, cap - n, "+%d%c ", i, md);
      held[nheld++] = i;
    } else {
      int k = (int)rp_next(g, (unsigned)nheld); /* any order, not only the last taken */
      n += (size_t)snprintf(out + n, cap - n, "-%d ", held[k]);
      held[k] = held[--nheld];
    }
  }
  while (nheld > 0)
    n += (size_t)snprintf(out + n, cap - n, "-%d ", held[--nheld]);
}

/* A random description: locks, threads with their operations, and main's script of its own
 * operations, creates and joins (every thread joined by the end, some late). */
static void rp_generate(unsigned long long seed, char *desc, size_t cap)
{
  rp_rng_t g = {seed * 0x9E3779B97F4A7C15ull + 1};
  char kinds[RP_LOCKS + 1], ops[RP_OPS * 8];
  int nlocks = 2 + (int)rp_next(&g, RP_LOCKS - 1);
  int rw = rp_next(&g, 2); /* half the programs use rwlocks */
  for (int i = 0; i < nlocks; i++) {
    unsigned x = rp_next(&g, 10);
    kinds[i] = rw && x < 4 ? 'r' : x == 9 ? 's' : 'm';
  }
  kinds[nlocks] = '\0';
  int nthreads = 1 + (int)rp_next(&g, RP_THREADS - 1);
  size_t n = (size_t)snprintf(desc, cap, "locks %s\n", kinds);
  for (int t = 1; t <= nthreads; t++) {
    rp_gen_ops(&g, kinds, nlocks, ops, sizeof ops);
    n += (size_t)snprintf(desc + n, cap - n, "thread %d %s\n", t, ops);
  }
  int created = 0, joined[RP_THREADS + 1] = {0}, lives[RP_LOCKS] = {0};
  int reinit = rp_next(&g, 3) == 0; /* a third of the programs destroy and reinit locks */
  while (created < nthreads || rp_next(&g, 3) == 0) {
    unsigned what = rp_next(&g, 4);
    if (reinit && rp_next(&g, 3) == 0) {
      int i = (int)rp_next(&g, (unsigned)nlocks);
      if (lives[i] + 1 < RP_LIVES) {
        lives[i]++;
        n += (size_t)snprintf(desc + n, cap - n, "reinit %d\n", i);
      }
    }
    if (what == 0) {
      rp_gen_ops(&g, kinds, nlocks, ops, sizeof ops);
      n += (size_t)snprintf(desc + n, cap - n, "main %s\n", ops);
    } else if (what == 1 && created > 0) {
      int t = 1 + (int)rp_next(&g, (unsigned)created);
      if (!joined[t]) {
        joined[t] = 1;
        n += (size_t)snprintf(desc + n, cap - n, "join %d\n", t);
      }
    } else if (created < nthreads) {
      n += (size_t)snprintf(desc + n, cap - n, "create %d\n", ++created);
    } else {
      break;
    }
  }
  for (int t = 1; t <= nthreads; t++)
    if (!joined[t])
      n += (size_t)snprintf(desc + n, cap - n, "join %d\n", t);
  if (rp_next(&g, 2) == 0) {
    rp_gen_ops(&g, kinds, nlocks, ops, sizeof ops);
    n += (size_t)snprintf(desc + n, cap - n, "main %s\n", ops);
  }
}

/* Runs a description under the real detector; returns 0 on agreement with the model, else
 * writes what disagreed into why. */
static int rp_check(const char *desc, char *why, size_t cap)
{
  char path[] = "/tmp/lockprog-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs(desc, f);
  fclose(f);
  const char *const args[] = {path, NULL};
  const char *const flags[] = {"--verbosity", "2", NULL}; /* the summary line, clean runs too */
  run_request_t rq = {.program = "lockprog", .args = args, .cli_flags = flags};
  run_result_t r;
  run_corpus(&rq, &r);
  unlink(path);

  rp_verdict_t verdict;
  unsigned *want = verdict.sets, got[1u << RP_LOCKS >> 5];
  rp_model_verdict(desc, &verdict);
  memset(got, 0, sizeof got);
  int bad = 0;
  why[0] = '\0';
  char *done = text_find_line(r.out, "lockprog: done", "");
  if (done == NULL) {
    snprintf(why, cap, "the program did not finish (status %d): %s", r.status, r.err);
    bad = 1;
  }
  free(done);
  char *summary = text_find_line(r.err, "lockgraph: summary:", "");
  if (summary == NULL && !bad) {
    snprintf(why, cap, "no summary line: the detector did not run (status %d): %s", r.status, r.err);
    bad = 1;
  }
  free(summary);
  long long addr[RP_LOCKS];
  int nlocks = 0;
  for (const char *p = r.out; (p = strstr(p, "lockprog: lock ")) != NULL; p++) {
    int i;
    void *a;
    if (sscanf(p, "lockprog: lock %d %p", &i, &a) == 2 && i >= 0 && i < RP_LOCKS) {
      addr[i] = (long long)(uintptr_t)a;
      if (i + 1 > nlocks)
        nlocks = i + 1;
    }
  }
  report_set_t set;
  reports_load(r.json, &set);
  for (size_t i = 0; i < set.count && !bad; i++) {
    const json_t *rep = &set.objects[i];
    if (json_str_is(json_get(rep, "type"), "summary")) {
      long long d = json_int(json_get(rep, "duplicate_cycles"));
      if (d != (long long)verdict.duplicates) {
        snprintf(why, cap, "%lld duplicate cycles, the model says %u", d, verdict.duplicates);
        bad = 1;
      }
      continue;
    }
    if (!json_str_is(json_get(rep, "type"), "potential-deadlock")) {
      snprintf(why, cap, "a report of type %s", json_str(json_get(rep, "type")));
      bad = 1;
      break;
    }
    const json_t *locks = json_get(rep, "locks");
    unsigned mask = 0;
    for (size_t j = 0; j < json_len(locks); j++) {
      long long a = json_int(json_get(json_at(locks, j), "addr"));
      for (int k = 0; k < nlocks; k++)
        if (addr[k] == a)
          mask |= 1u << k;
    }
    if (got[mask / 32] & (1u << (mask % 32))) {
      snprintf(why, cap, "lock set 0x%x reported twice", mask);
      bad = 1;
    }
    got[mask / 32] |= 1u << (mask % 32);
  }
  for (unsigned mask = 0; mask < (1u << RP_LOCKS) && !bad; mask++) {
    int w = (want[mask / 32] >> (mask % 32)) & 1, g = (got[mask / 32] >> (mask % 32)) & 1;
    if (w != g) {
      snprintf(why, cap, "lock set 0x%x: the model says %s, the detector %s", mask,
               w ? "potential deadlock" : "no cycle", g ? "reported it" : "did not");
      bad = 1;
    }
  }
  reports_free(&set);
  run_cleanup(&r);
  return bad;
}

#define RP_CASES_DIR LG_SOURCE_DIR "/tests/corpus/lockprog_cases"
/* New disagreements are written to the build tree, never into the checkout a test runs from;
 * the failure message says where, and copying the file to RP_CASES_DIR keeps it for good. */
#define RP_FOUND_DIR LG_BUILD_DIR "/tests/lockprog_found"

/* Runs `count` random programs from `first`; writes every disagreement as a case file. */
static void rp_run(unsigned long long first, unsigned count)
{
  char desc[16384], why[1024];
  unsigned disagreements = 0, with_cycles = 0, with_reinit = 0, with_duplicates = 0;
  for (unsigned long long seed = first; seed < first + count; seed++) {
    rp_generate(seed, desc, sizeof desc);
    rp_verdict_t verdict;
    rp_model_verdict(desc, &verdict);
    int any = 0;
    for (size_t i = 0; i < sizeof verdict.sets / sizeof verdict.sets[0]; i++)
      any |= verdict.sets[i] != 0;
    with_reinit += strstr(desc, "\nreinit ") != NULL;
    with_duplicates += verdict.duplicates > 0;
    with_cycles += any;
    if (rp_check(desc, why, sizeof why) == 0)
      continue;
    disagreements++;
    char path[512];
    mkdir(RP_FOUND_DIR, 0755);
    snprintf(path, sizeof path, "%s/seed-%llu.lp", RP_FOUND_DIR, seed);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
      fprintf(f, "# found by the randomized test (seed %llu): %s\n%s", seed, why, desc);
      fclose(f);
    }
    cr_expect_fail("seed %llu: %s (written to %s; copy it to tests/corpus/lockprog_cases/ to keep "
                   "it)\n%s", seed, why, path, desc);
  }
  fprintf(stderr, "randomized lock programs: %u run from seed %llu, %u with a potential deadlock "
                  "in the model, %u destroying and reinitializing locks, %u with duplicate cycles, "
                  "%u disagreements\n",
          count, first, with_cycles, with_reinit, with_duplicates, disagreements);
}

/* A fixed seed set every run; LOCKGRAPH_RANDOM_SEED=<first>[:<count>] runs others. */
Test(lockgraph_accuracy, random_lock_programs_agree_with_the_model, .timeout = 1800)
{
  unsigned long long first = 1;
  unsigned count = 300;
  const char *env = getenv("LOCKGRAPH_RANDOM_SEED");
  if (env != NULL && *env) {
    char *end;
    first = strtoull(env, &end, 10);
    if (*end == ':')
      count = (unsigned)strtoul(end + 1, NULL, 10);
  }
  rp_run(first, count);
}

/* Every disagreement the randomized test ever found, kept as a case file: each must agree now. */
Test(lockgraph_accuracy, kept_random_cases_agree_with_the_model, .timeout = 600)
{
  DIR *d = opendir(RP_CASES_DIR);
  cr_assert_not_null(d, "cannot open %s", RP_CASES_DIR);
  struct dirent *de;
  unsigned cases = 0, bad = 0;
  char why[1024];
  while ((de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);
    if (len < 4 || strcmp(de->d_name + len - 3, ".lp") != 0)
      continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", RP_CASES_DIR, de->d_name);
    char *desc = file_read_all(path);
    cr_assert_not_null(desc, "cannot read %s", path);
    cases++;
    if (rp_check(desc, why, sizeof why) != 0) {
      bad++;
      cr_expect_fail("%s: %s", de->d_name, why);
    }
    free(desc);
  }
  closedir(d);
  cr_expect_gt(cases, 0, "no kept cases in %s", RP_CASES_DIR);
  fprintf(stderr, "kept random cases: %u run, %u disagreements\n", cases, bad);
}

/* ------------------------------------------------------------------------------------------
 * Readable C++ and stable names.
 */

Test(lockgraph_accuracy, cxx_frames_are_demangled_without_libstdcxx, .timeout = 60)
{
  run_request_t rq = {.program = "cxx_mangled_frames"};
  run_result_t r;
  report_set_t set;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  cr_expect_eq(text_count_lines(r.err, "      #0 ledger::move_funds(int) ", ""), 2,
               "frames of move_funds are not demangled; stderr:\n%s", r.err);
  cr_expect_eq(text_count_lines(r.err, "      #0 ledger::Account::audit(long) ", ""), 2,
               "frames of Account::audit are not demangled; stderr:\n%s", r.err);
  cr_expect_null(strstr(r.err, "_ZN6ledger"), "a mangled name is printed; stderr:\n%s", r.err);
  reports_load(r.json, &set);
  const json_t *rep = reports_first(&set, "potential-deadlock");
  cr_assert_not_null(rep, "no potential-deadlock report");
  const json_t *frame = json_at(json_get(json_at(json_get(rep, "edges"), 0), "held_stack"), 0);
  cr_expect(json_str_is(json_get(frame, "function"), "ledger::move_funds(int)") ||
                json_str_is(json_get(frame, "function"), "ledger::Account::audit(long)"),
            "JSON frame function '%s'", json_str(json_get(frame, "function")));
  reports_free(&set);
  run_cleanup(&r);
}

Test(lockgraph_accuracy, a_lock_keeps_its_name_across_reports, .timeout = 60)
{
  run_request_t rq = {.program = "shortest_cycle"};
  run_result_t r;
  report_set_t set;
  char names[64][16];
  long long addrs[64];
  size_t n = 0, shared = 0;

  run_corpus(&rq, &r);
  reports_load(r.json, &set);
  cr_assert_eq(reports_count(&set, "potential-deadlock"), 2);
  for (size_t i = 0; i < set.count; i++) {
    const json_t *locks = json_get(&set.objects[i], "locks");
    for (size_t j = 0; j < json_len(locks); j++) {
      const char *name = json_str(json_get(json_at(locks, j), "name"));
      long long a = json_int(json_get(json_at(locks, j), "addr"));
      int seen = 0;
      for (size_t k = 0; k < n; k++) {
        if (addrs[k] == a) {
          seen = 1;
          shared++;
          cr_expect_str_eq(names[k], name, "lock %llx is %s in one report and %s in another",
                           a, names[k], name);
        } else {
          cr_expect_str_neq(names[k], name, "%s names two locks", name);
        }
      }
      if (!seen && n < 64) {
        snprintf(names[n], sizeof names[n], "%s", name);
        addrs[n++] = a;
      }
    }
  }
  cr_expect_eq(shared, 2, "the two reports share %zu locks, expected 2", shared);
  reports_free(&set);
  run_cleanup(&r);
}

/* New instances of the same locks are the same finding, counted, never dropped silently. */
Test(lockgraph_accuracy, repeated_cycles_over_the_same_locks_are_counted_as_duplicates, .timeout = 60)
{
  const size_t lens[] = {2};
  run_result_t r;
  report_set_t set;

  run_distinct_cycles("reinit_same_inversion", 1, lens, &r, &set);
  cr_expect_eq(text_count_lines(r.err, "  duplicates: 2 more lock-order cycles over locks an earlier report names", ""), 1,
               "no duplicates line for the two later rounds; stderr:\n%s", r.err);
  const json_t *summary = reports_first(&set, "summary");
  cr_assert_not_null(summary);
  cr_expect_eq(json_int(json_get(summary, "duplicate_cycles")), 2, "JSON summary: duplicate_cycles %lld",
               json_int(json_get(summary, "duplicate_cycles")));
  reports_free(&set);
  run_cleanup(&r);
}

/* A C11 deadlock that happens is ended by the watchdog like a pthread one. */
/* A held stack deeper than the direct scan, with locks held twice in it: one edge from each
 * lock, whatever its depth and however often it is held, and the inversion against it. */
/* A program of the corpus with one potential deadlock of two locks, and the locks and edges
 * its summary must count: an edge dropped, or learned twice, shows in the count. */
static void expect_inversion_counting(const char *program, unsigned locks, unsigned edges)
{
  run_request_t rq = {.program = program};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  expect_potential_deadlock(&r, program, 2);
  summary_parse(r.err, &s);
  cr_expect_eq(s.locks, locks, "%s: summary: %u locks, expected %u", program, s.locks, locks);
  cr_expect_eq(s.edges, edges, "%s: summary: %u edges, expected %u", program, s.edges, edges);
  run_cleanup(&r);
}

Test(lockgraph_accuracy, deep_held_stack_gives_one_edge_per_held_lock, .timeout = 60)
{
  expect_inversion_counting("deep_held_stack", 21, 190 + 20 + 1);
}

/* Locks with many edges each way: their vectors grow past the point where edges start to be
 * indexed, a second thread finds every edge again (none learned twice), a destroyed lock's
 * edges go, and a cycle through two of them is reported. */
Test(lockgraph_accuracy, big_vectors_find_every_edge_again, .timeout = 60)
{
  expect_inversion_counting("big_vectors", 24 + 24 + 2 + 1, 576 + 2 + 24 + 1);
}

Test(lockgraph_accuracy, c11_real_deadlock_is_ended_by_the_watchdog, .timeout = 30)
{
  const char *src = "c11_real_deadlock.c";
  run_request_t rq = {.program = "c11_real_deadlock", .timeout_s = 20};
  run_result_t r;
  summary_t s;

  run_corpus(&rq, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  cr_expect_null(strstr(r.out, "c11_real_deadlock: done"), "the deadlocked threads finished");
  char *line = text_find_line(r.err, "lockgraph: deadlock (it happened): 2 threads blocked in a cycle (report ", "");
  cr_expect_not_null(line, "no 'deadlock (it happened)' line; stderr:\n%s", r.err);
  free(line);
  expect_text_frame(r.err, "worker_ab", src, corpus_marker_line(src, "ab_second"));
  expect_text_frame(r.err, "worker_ba", src, corpus_marker_line(src, "ba_second"));
  cr_expect_geq(summary_parse(r.err, &s), 1, "no summary line");
  cr_expect_eq(s.deadlocks, 1);
  run_cleanup(&r);
}
