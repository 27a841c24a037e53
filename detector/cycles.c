/* cycles.c - judging a lock-order cycle and searching for the cycles a new occurrence closes
 * (cycles.h states the contract).
 *
 * The search marks what is reachable from the new edge's head, bounded by the graph's order
 * (lg_cycle_possible), takes distances back to its tail, then walks every simple path over
 * the marked locks depth first, without recursion. Its marks live in a visited set of its
 * own (lg_seen), not in the locks' records. Each cycle found is judged on one
 * occurrence per edge (lg_cycle_judge, backtracking) and reported once per set of locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "cycles.h"
#include "edges.h"
#include "lockgraph.h"
#include "mem.h"
#include "visit.h"

#define LG_SEARCH_BUDGET 200000 /* edge visits per cycle search; past that, warn and stop */

/* Cycles already judged reportable, by the set of their lock instances (id, ver), and the
 * reported ones by the set of their lock addresses: a distinct cycle is a distinct set of
 * locks, and new instances of the same locks (a mutex destroyed and initialized again) are
 * the same finding, counted as a duplicate. Both are order-free sums of mixed keys. */
typedef struct lg_sigset {
  uint64_t *v;
  size_t n, cap;
} lg_sigset_t;
static lg_sigset_t lg_judged, lg_reported;
static size_t lg_duplicates;

static int lg_warned_search;

/* A search's marks, per lock it reached (value 0), kept in a visited set rather than in every
 * lock's record: a search touches few of the program's locks. A lock with a distance to the
 * search's target has LG_SEEN_DIST and the distance in the low bits; LG_SEEN_ONPATH while it
 * is on the path being walked. */
static lg_visit_t lg_seen;
#define LG_SEEN_DIST 0x80000000u
#define LG_SEEN_ONPATH 0x40000000u
#define LG_SEEN_DIST_MASK 0x3fffffffu

size_t lg_cycles_duplicate_count(void) {
  return lg_duplicates;
}

/* ---- judging a cycle ----
 *
 * A cycle L0 -> L1 -> ... -> L(k-1) -> L0 of edges e[i] (Li -> Li+1) is a potential deadlock
 * when one occurrence o[i] of each edge can be chosen such that all of them could be in
 * progress at once, each thread holding Li and waiting for Li+1:
 *  - waits: o[i] requests Li+1 and o[i+1] holds it; a read request does not wait for a read
 *    hold (glibc's default rwlocks prefer readers), so not both may be reads;
 *  - no gate: no two of them hold one lock (the held end of an edge included) unless both
 *    hold it for reading;
 *  - timing: no two of them are ordered by create/join (their segments are concurrent).
 */

static uint64_t lg_lock_ref(uint32_t id) {
  return (uint64_t)atomic_load_explicit(&lg_lock_at(id)->ver, memory_order_relaxed) << 32 | id;
}

/* Nonzero when occurrences a (of edge ea) and b (of eb) can be in progress together. */
static int lg_occ_compatible(const lg_edge_t *ea, const lg_occ_t *a, const lg_edge_t *eb,
                             const lg_occ_t *b) {
  uint64_t ha[LG_GATE_MAX + 1], hb[LG_GATE_MAX + 1];
  uint32_t na = a->nheld, nb = b->nheld;
  memcpy(ha, a->held, na * sizeof(ha[0]));
  memcpy(hb, b->held, nb * sizeof(hb[0]));
  ha[na++] = lg_lock_ref(ea->from) | (a->from_mode == LG_MODE_READ ? LG_HELD_READ : 0);
  hb[nb++] = lg_lock_ref(eb->from) | (b->from_mode == LG_MODE_READ ? LG_HELD_READ : 0);
  for (uint32_t i = 0; i < na; i++)
    for (uint32_t j = 0; j < nb; j++)
      if ((ha[i] & ~LG_HELD_READ) == (hb[j] & ~LG_HELD_READ) &&
          !((ha[i] & hb[j]) & LG_HELD_READ))
        return 0; /* a gate: both hold it, one of them exclusively */
  if (lg_hb_before(a->seg, b->seg) || lg_hb_before(b->seg, a->seg))
    return 0;
  return 1;
}

/* Where the judge writes out a compact occurrence it picks, one per position of the cycle
 * (under lg_rt.mu, like every search; too big for the program's stack). */
static lg_occ_t lg_judge_compact[LG_STACK_MAX];

typedef struct lg_judge {
  lg_edge_t *const *e;
  uint32_t k;
  const lg_occ_t *pick[LG_STACK_MAX];
  uint64_t steps;
} lg_judge_t;

/* Whether the arc through lock `via` waits: the thread of `in` asks for it, the thread of
 * `out` holds it. A read request does not wait for a read hold (glibc's rwlocks prefer readers
 * by default), unless the rwlock prefers writers: then it waits behind any queued writer. */
static int lg_arc_waits(uint32_t via, const lg_occ_t *in, const lg_occ_t *out) {
  return in->to_mode != LG_MODE_READ || out->from_mode != LG_MODE_READ || lg_lock_at(via)->wpref;
}

/* Chooses o[1..k-1] given o[0], backtracking without recursion (the slow path runs on the
 * program's stack); nonzero when a whole choice was found. */
static int lg_judge_search(lg_judge_t *j) {
  uint32_t next[LG_STACK_MAX]; /* per position, the next candidate occurrence to try */
  uint32_t i = 1;
  next[1] = 0;
  while (i > 0) {
    if (i == j->k) {
      if (lg_arc_waits(j->e[0]->from, j->pick[i - 1], j->pick[0]))
        return 1;
      i--; /* the closing arc does not wait: try the next choice before it */
      continue;
    }
    const lg_edge_t *e = j->e[i];
    int advanced = 0;
    while (next[i] < e->nocc) {
      const lg_occ_t *o = lg_edge_occ(e, next[i]++, &lg_judge_compact[i]);
      if (++j->steps > LG_SEARCH_BUDGET)
        return 0;
      if (!lg_arc_waits(e->from, j->pick[i - 1], o))
        continue;
      int ok = 1;
      for (uint32_t p = 0; p < i && ok; p++)
        ok = lg_occ_compatible(j->e[p], j->pick[p], e, o);
      if (!ok)
        continue;
      j->pick[i] = o;
      advanced = 1;
      break;
    }
    if (advanced) {
      if (++i < j->k)
        next[i] = 0;
    } else {
      i--;
    }
  }
  return 0;
}

/* Nonzero when the cycle e[0..k-1] is a potential deadlock with e[0]'s occurrence x; the
 * chosen occurrences are left in j->pick. */
static int lg_cycle_judge(lg_judge_t *j, lg_edge_t *const *e, uint32_t k, const lg_occ_t *x) {
  j->e = e;
  j->k = k;
  j->steps = 0;
  j->pick[0] = x;
  int found = lg_judge_search(j);
  if (!found && j->steps > LG_SEARCH_BUDGET)
    lg_warn_once(&lg_warned_search,
                 "a lock-order cycle has too many ways to be taken to judge them all; some "
                 "potential deadlocks may go unreported");
  return found;
}

static void lg_report_list_add(lg_report_list_t *l, lg_report_t *r) {
  if (l->n < LG_REPORT_LIST_MAX)
    l->r[l->n++] = r;
  else
    lg_report_free(r);
}

static int lg_sigset_has(const lg_sigset_t *s, uint64_t sig) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] == sig)
      return 1;
  return 0;
}

static void lg_sigset_add(lg_sigset_t *s, uint64_t sig) {
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 16;
    uint64_t *p = lg_mem_realloc(s->v, s->cap * sizeof(*p), ncap * sizeof(*p));
    if (p == NULL)
      return;
    s->v = p;
    s->cap = ncap;
  }
  s->v[s->n++] = sig;
}

static uint64_t lg_cycle_sig_instances(lg_edge_t *const *e, uint32_t k) {
  uint64_t sig = 0;
  for (uint32_t i = 0; i < k; i++) {
    uint64_t r = lg_lock_ref(e[i]->from);
    sig += lg_chain_mix(k, (uint32_t)r, (uint32_t)(r >> 32), 1);
  }
  return sig;
}

static uint64_t lg_cycle_sig_addresses(lg_edge_t *const *e, uint32_t k) {
  uint64_t sig = 0;
  for (uint32_t i = 0; i < k; i++) {
    const lg_lock_t *n = lg_lock_at(e[i]->from);
    uintptr_t a = atomic_load_explicit(&n->addr, memory_order_relaxed);
    sig += lg_chain_mix(k, (uint32_t)a, (uint32_t)((uint64_t)a >> 32), n->kind);
  }
  return sig;
}

/* The report of a cycle judged a potential deadlock on the occurrences pick[], starting at
 * its oldest edge. */
static lg_report_t *lg_cycle_report(lg_edge_t *const *e, const lg_occ_t *const *pick, uint32_t k) {
  uint32_t first = 0;
  for (uint32_t i = 1; i < k; i++)
    if (e[i]->seq < e[first]->seq)
      first = i;
  lg_report_t *r = lg_report_new(LG_REPORT_POTENTIAL);
  if (r == NULL)
    return NULL;
  r->edges = lg_mem_alloc(k * sizeof(lg_redge_t));
  if (r->edges == NULL) {
    lg_report_free(r);
    return NULL;
  }
  for (uint32_t i = 0; i < k; i++) {
    const lg_edge_t *x = e[(first + i) % k];
    lg_lock_t *n = lg_lock_at(x->from);
    lg_report_add_lock(r, x->from, atomic_load_explicit(&n->ver, memory_order_relaxed),
                       atomic_load_explicit(&n->addr, memory_order_relaxed), n->kind,
                       atomic_load_explicit(&n->first_pc, memory_order_relaxed));
  }
  for (uint32_t i = 0; i < k; i++) {
    const lg_edge_t *x = e[(first + i) % k];
    const lg_occ_t *o = pick[(first + i) % k];
    r->cycle[i] = i;
    lg_redge_t *re = &r->edges[i];
    re->from = i;
    re->to = (i + 1) % k;
    re->tid = o->tid;
    re->from_mode = o->from_mode;
    re->to_mode = o->to_mode;
    int own = o->hstack != NULL && o->astack != NULL;
    re->held = lg_stack_dup(own ? o->hstack : x->held);
    re->acq = lg_stack_dup(own ? o->astack : x->acq);
  }
  r->cycle[k] = 0;
  r->ncycle = k + 1;
  r->nedges = k;
  return r;
}

/* A cycle through the occurrence x of e[0]: judge it unless its locks were judged before,
 * then report it, or count it as a duplicate of an earlier report over the same locks. */
static void lg_cycle_consider(lg_edge_t *const *e, uint32_t k, const lg_occ_t *x,
                              lg_report_list_t *out) {
  uint64_t inst = lg_cycle_sig_instances(e, k);
  if (lg_sigset_has(&lg_judged, inst) || out->n == LG_REPORT_LIST_MAX)
    return; /* (a full list: left unjudged, so a later occurrence finds it again) */
  lg_judge_t j;
  if (!lg_cycle_judge(&j, e, k, x))
    return;
  lg_sigset_add(&lg_judged, inst);
  uint64_t addrs = lg_cycle_sig_addresses(e, k);
  if (lg_sigset_has(&lg_reported, addrs)) {
    lg_duplicates++;
    return;
  }
  lg_sigset_add(&lg_reported, addrs);
  lg_report_t *r = lg_cycle_report(e, j.pick, k);
  if (r != NULL)
    lg_report_list_add(out, r);
}

static uint32_t *lg_search_stack;
static size_t lg_search_cap;

static int lg_search_push(size_t n, uint32_t v) {
  if (n == lg_search_cap) {
    size_t ncap = lg_search_cap ? lg_search_cap * 2 : 256;
    uint32_t *p = lg_mem_realloc(lg_search_stack, lg_search_cap * sizeof(*p), ncap * sizeof(*p));
    if (p == NULL)
      return -ENOMEM;
    lg_search_stack = p;
    lg_search_cap = ncap;
  }
  lg_search_stack[n] = v;
  return 0;
}

/* A lock's place in the graph's order of accepted edges (any sign); INT64_MIN for a lock the
 * graph does not hold (an edge it could not take): never pruned on its account. */
static int64_t lg_order_of(uint32_t id) {
  int64_t o = lg_graph_order(lg_rt.graph, id);
  return o != 0 ? o : INT64_MIN;
}

/* Starts a new search in lg_seen and puts in it the locks reachable from `start` over every
 * edge, refused ones included, placed no higher than `bound`; nonzero when `target` is among
 * the locks reached. Counts its work in *steps. Without memory it cannot tell, and says 1:
 * the enumeration then decides over what was reached. */
static int lg_reach_mark(uint32_t start, uint32_t target, int64_t bound, uint64_t *steps) {
  size_t n = 0;
  int found = 0, added;
  lg_visit_begin(&lg_seen);
  if (lg_visit_put(&lg_seen, start, &added) == NULL || lg_search_push(n++, start) != 0)
    return 1;
  while (n > 0 && *steps <= LG_SEARCH_BUDGET) {
    uint32_t v = lg_search_stack[--n];
    const lg_lock_aux_t *x = lg_aux_at(v);
    for (uint32_t i = 0; i < lg_edge_vec_len(&x->out); i++) {
      uint32_t w = lg_edge_vec_items(&x->out)[i]->to;
      (*steps)++;
      if (w == target)
        found = 1;
      if (lg_order_of(w) > bound)
        continue;
      if (lg_visit_put(&lg_seen, w, &added) == NULL)
        return 1;
      if (added && lg_search_push(n++, w) != 0)
        return 1;
    }
  }
  return found;
}

/* Whether a path to ~> from can exist, from the graph's order alone; *bound gets the highest
 * place a lock on such a path can have (INT64_MAX when some lock has no place).
 * Accepted edges go up the order, so a path to ~> from either is all accepted (then `to` is
 * placed below `from`) or takes a refused edge: it climbs from `to` to the tail of its first
 * one, and from the head of its last one up to `from`. From a lock placed above `from` and
 * every refused tail, a path could only climb further. O(refused edges). */
int lg_cycle_possible(uint32_t from, uint32_t to, int64_t *bound) {
  int64_t tails = INT64_MIN, heads = INT64_MAX;
  int known = 1; /* every lock involved has a place (the graph took all its edges) */
  *bound = INT64_MAX;
  if (lg_aux_at(to)->out.w == 0)
    return 0; /* no path leaves `to` */
  for (size_t i = 0; i < lg_refused_live && known; i++) {
    int64_t t = lg_graph_order(lg_rt.graph, lg_refused[i]->from);
    int64_t h = lg_graph_order(lg_rt.graph, lg_refused[i]->to);
    known = t != 0 && h != 0;
    if (t > tails)
      tails = t;
    if (h < heads)
      heads = h;
  }
  int64_t ord_from = lg_graph_order(lg_rt.graph, from), ord_to = lg_graph_order(lg_rt.graph, to);
  if (!known || ord_from == 0 || ord_to == 0)
    return 1;
  if (!(ord_to < ord_from) && !(ord_to <= tails && heads <= ord_from))
    return 0;
  *bound = ord_from > tails ? ord_from : tails;
  return 1;
}

/* Puts a new edge into the graph's order, or leaves it outside: an edge into a lock that has
 * never had an edge out (a lock taken innermost, such as a lock per object) cannot be on a
 * cycle, so it costs the order nothing until that lock takes an edge out. Then the lock is
 * placed above every other, which puts its edges in into the order at once, all agreeing
 * with it (none can close a cycle: nothing left it yet), and its first edge out is ordered.
 * Every edge of a cycle leads into a lock with an edge out, so when a cycle's last edge
 * arrives all its edges are in the order and the graph refuses that one, as if nothing had
 * been left outside. A lock destroyed while still innermost never touches the graph. The
 * graph reads the edges where edges.c keeps them (lg_edges_view); each is ordered once, when
 * it is new. An edge the graph refuses, or cannot order for want of memory, goes into the
 * refused list, outside the order: the cycle searches run through refused edges, so one that
 * could not be ordered is still checked, by the slower search. Under lg_rt.mu, with e already
 * in its ends' vectors. */
int lg_graph_learn(lg_edge_t *e) {
  int rc = LG_GRAPH_ADDED;
  if (lg_graph_place(lg_rt.graph, e->from) != 0) /* nothing when it is placed already */
    rc = -ENOMEM;
  else if (lg_graph_order(lg_rt.graph, e->to) != 0) /* else left outside */
    rc = lg_graph_order_edge(lg_rt.graph, e->from, e->to);
  if (rc == LG_GRAPH_ADDED)
    return 0;
  lg_refused_add(e);
  if (rc < 0)
    lg_warn_once(&lg_warned_mem, "out of memory in the lock-order graph; some edges are checked by "
                                 "a slower search");
  return rc == LG_GRAPH_CYCLE;
}

/* Walks the simple paths to ~> from over the locks lg_seen gives a distance to `from`, depth
 * first, never deeper than a report can show, and considers the cycle each closes with
 * `closing` (taken as occurrence x). shortest: only steps that bring the distance down by one,
 * so only the shortest paths. Counts its edge visits in *steps; -1 when it ran out of the
 * search budget (warned once), else 0. */
static int lg_paths_walk(lg_edge_t *closing, const lg_occ_t *x, lg_report_list_t *out,
                         uint32_t to, uint32_t from, uint32_t *td, int shortest,
                         uint64_t *steps) {
  lg_edge_t *e[LG_STACK_MAX];
  uint32_t idx[LG_STACK_MAX], node[LG_STACK_MAX], *seen[LG_STACK_MAX];
  uint32_t depth = 0;
  e[0] = closing;
  node[0] = to;
  seen[0] = td;
  idx[0] = 0;
  *td |= LG_SEEN_ONPATH;
  for (;;) {
    uint32_t v = node[depth];
    if (v == from) {
      lg_cycle_consider(e, depth + 1, x, out);
      *seen[depth] &= ~LG_SEEN_ONPATH;
      if (depth-- == 0)
        break;
      continue;
    }
    const lg_lock_aux_t *vx = lg_aux_at(v);
    uint32_t vd = *seen[depth] & LG_SEEN_DIST_MASK;
    int pushed = 0;
    while (idx[depth] < lg_edge_vec_len(&vx->out)) {
      lg_edge_t *ne = lg_edge_vec_items(&vx->out)[idx[depth]++];
      if (++*steps > LG_SEARCH_BUDGET) {
        lg_warn_once(&lg_warned_search,
                     "the lock-order graph has too many cycles through one order to search them "
                     "all; some potential deadlocks may go unreported");
        return -1;
      }
      uint32_t *wd = lg_visit_find(&lg_seen, ne->to);
      if (wd == NULL || !(*wd & LG_SEEN_DIST) || (*wd & LG_SEEN_ONPATH) ||
          depth + 2 + (*wd & LG_SEEN_DIST_MASK) > LG_STACK_MAX ||
          (shortest && (*wd & LG_SEEN_DIST_MASK) + 1 != vd))
        continue;
      depth++;
      e[depth] = ne;
      node[depth] = ne->to;
      seen[depth] = wd;
      idx[depth] = 0;
      *wd |= LG_SEEN_ONPATH;
      pushed = 1;
      break;
    }
    if (pushed)
      continue;
    *seen[depth] &= ~LG_SEEN_ONPATH;
    if (depth-- == 0)
      break;
  }
  return 0;
}

/* Every simple cycle through the edge `closing` taken as occurrence x: every simple path
 * closing->to ~> closing->from over all edges (refused ones included: an order set aside
 * because its first cycle was explained must not hide another cycle through it). */
void lg_cycles_through(lg_edge_t *closing, const lg_occ_t *x, lg_report_list_t *out) {
  uint32_t from = closing->from, to = closing->to;
  uint64_t steps = 0;
  int64_t bound;
  if (!lg_cycle_possible(from, to, &bound))
    return;
  if (!lg_reach_mark(to, from, bound, &steps))
    return;
  /* Distances to `from` over the locks reached only, breadth first backwards. From here on
   * nothing is added to lg_seen, so its values stay where they are. */
  size_t head = 0, tail = 0;
  int added;
  uint32_t *d = lg_visit_put(&lg_seen, from, &added);
  if (d == NULL || lg_search_push(tail++, from) != 0)
    return;
  *d = LG_SEEN_DIST;
  while (head < tail) {
    uint32_t v = lg_search_stack[head++];
    const lg_lock_aux_t *vx = lg_aux_at(v);
    uint32_t vd = *lg_visit_find(&lg_seen, v) & LG_SEEN_DIST_MASK;
    if (vd + 2 >= LG_STACK_MAX)
      continue;
    for (uint32_t i = 0; i < lg_edge_vec_len(&vx->in); i++) {
      uint32_t u = lg_edge_vec_items(&vx->in)[i]->from;
      uint32_t *ud = lg_visit_find(&lg_seen, u);
      if (ud == NULL || (*ud & LG_SEEN_DIST))
        continue; /* not reachable from `to`, or already given a distance */
      *ud = LG_SEEN_DIST | (vd + 1);
      if (lg_search_push(tail++, u) != 0)
        return;
    }
  }
  uint32_t *td = lg_visit_find(&lg_seen, to);
  if (td == NULL || !(*td & LG_SEEN_DIST))
    return;
  /* The shortest paths first, then all of them: a search that runs out of its budget among
   * the many long paths of a set of nested locks has judged the short cycles already (a
   * two-lock inversion among twenty locks taken in order was lost to the budget). A cycle met
   * again in the second walk was judged in the first and is skipped there. */
  if (lg_paths_walk(closing, x, out, to, from, td, 1, &steps) == 0)
    (void)lg_paths_walk(closing, x, out, to, from, td, 0, &steps);
}
