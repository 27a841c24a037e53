/* report.c - writing reports: text to the log, JSON Lines to the json file, the exit summary.
 *
 * A report is built under the detector lock (plain data: locks, edges, stacks as PCs) and
 * written after it is dropped, under the report lock, so symbolizing never runs while the
 * program could be waiting for the detector. Each report is written the moment it is found,
 * with write(2) on a file descriptor, one write per report and per JSON line: an abort, a kill
 * or a hang later loses nothing. The work of writing a report runs on a stack of the detector's
 * own (see "the report stack"), never on the program's thread stack, which may be small.
 *
 * Locks are named by kind and order of first mention in a printed report (M1, M2, RW1, S1),
 * threads by creation order (T1 is main). Every text line starts with "lockgraph:" or is
 * indented under such a line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "decimal.h"
#include "lockgraph.h"
#include "mem.h"

/* ---- the kinds of report ---- */

typedef struct lg_kind {
  const char *word;      /* first text line: "lockgraph: <word>: ..." (generic layout) */
  const char *json_type; /* "type" of the JSON object */
  const char *supp_type; /* the suppression type that hides it (options.h) */
  const char *noun;      /* summary noun, singular; plural adds an 's' */
  const char *json_key;  /* the summary object's count */
  int counted_as;        /* the kind whose count it adds to (itself, or a twin) */
  int always;            /* listed in the text summary even when 0 */
} lg_kind_t;

static const lg_kind_t lg_kinds[LG_REPORT_KINDS] = {
    [LG_REPORT_POTENTIAL] = {"potential deadlock", "potential-deadlock", "deadlock",
                             "potential deadlock", "potential_deadlocks", LG_REPORT_POTENTIAL, 1},
    [LG_REPORT_DEADLOCK] = {"deadlock (it happened)", "deadlock", "deadlock", "deadlock",
                            "deadlocks", LG_REPORT_DEADLOCK, 1},
    [LG_REPORT_SELF] = {"self-deadlock", "self-deadlock", "deadlock", "self-deadlock",
                        "self_deadlocks", LG_REPORT_SELF, 1},
    [LG_REPORT_FORK] = {"fork", "fork", "fork", "fork hazard", "fork_hazards", LG_REPORT_FORK,
                        0},
    [LG_REPORT_BAD_UNLOCK] = {"bad unlock", "bad-unlock", "unlock", "bad unlock", "bad_unlocks",
                              LG_REPORT_BAD_UNLOCK, 0},
    [LG_REPORT_DESTROY_HELD] = {"destroy of a locked lock", "destroy-locked", "destroy",
                                "held-lock destroy", "held_lock_destroys", LG_REPORT_DESTROY_HELD, 0},
    [LG_REPORT_INVALID] = {"use of an invalid lock", "invalid-lock", "invalid", "invalid lock use",
                           "invalid_lock_uses", LG_REPORT_INVALID, 0},
    [LG_REPORT_INIT_HELD] = {"init of a locked lock", "init-locked", "init", "held-lock init",
                             "held_lock_inits", LG_REPORT_INIT_HELD, 0},
    [LG_REPORT_CONDVAR] = {"condition variable misuse", "condvar-misuse", "condvar",
                           "condvar misuse", "condvar_misuses", LG_REPORT_CONDVAR, 0},
    [LG_REPORT_HANG] = {"hang", "hang", "hang", "hang", "hangs", LG_REPORT_HANG, 0},
    [LG_REPORT_STALL] = {"stall", "stall", "stall", "stall", "stalls", LG_REPORT_STALL, 0},
    [LG_REPORT_LEAK] = {"lock held at thread exit", "lock-held-at-exit", "exit", "lock leak",
                        "lock_leaks", LG_REPORT_LEAK, 0},
    [LG_REPORT_ABANDONED] = {"deadlock (it happened)", "deadlock", "deadlock", "deadlock",
                             "deadlocks", LG_REPORT_DEADLOCK, 1},
};

/* Under lg_rt.report_mu (read without it by the fatal-signal summary). */
static unsigned lg_count[LG_REPORT_KINDS], lg_count_suppressed;
static _Atomic int lg_summary_claimed; /* the summary is written (or being written) */

typedef struct lg_name {
  uint64_t key; /* ver << 32 | id */
  uint8_t kind;
  unsigned num;
} lg_name_t;
static lg_name_t *lg_names;
static size_t lg_nnames, lg_cap_names;
static unsigned lg_name_next[4];

/* ---- building ---- */

lg_report_t *lg_report_new(int type) {
  lg_report_t *r = lg_mem_alloc(sizeof(*r));
  if (r != NULL)
    r->type = type;
  return r;
}

void lg_report_add_section(lg_report_t *r, lg_stack_t *stack, const char *fmt, ...) {
  if (r->nsections == LG_REPORT_SECTIONS) {
    lg_stack_free(stack);
    return;
  }
  lg_rsection_t *sec = &r->sections[r->nsections++];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sec->label, sizeof sec->label, fmt, ap);
  va_end(ap);
  sec->stack = stack;
}

uint32_t lg_report_add_lock(lg_report_t *r, uint32_t id, uint32_t ver, uintptr_t addr, uint8_t kind,
                            uintptr_t first_pc) {
  for (uint32_t i = 0; i < r->nlocks; i++)
    if (r->locks[i].id == id && r->locks[i].ver == ver)
      return i;
  if (r->nlocks == LG_STACK_MAX)
    return LG_STACK_MAX - 1;
  lg_rlock_t *l = &r->locks[r->nlocks];
  l->id = id;
  l->ver = ver;
  l->addr = addr;
  l->kind = kind;
  l->first_pc = first_pc;
  return r->nlocks++;
}

void lg_report_free(lg_report_t *r) {
  if (r == NULL)
    return;
  for (uint32_t i = 0; i < r->nedges; i++) {
    lg_stack_free(r->edges[i].held);
    lg_stack_free(r->edges[i].acq);
  }
  lg_mem_free(r->edges, r->nedges * sizeof(lg_redge_t));
  for (uint32_t i = 0; i < r->nthreads; i++) {
    lg_mem_free(r->threads[i].holds, r->threads[i].nholds * sizeof(uint32_t));
    lg_stack_free(r->threads[i].stack);
  }
  lg_mem_free(r->threads, r->nthreads * sizeof(lg_rthread_t));
  lg_stack_free(r->held_stack);
  lg_stack_free(r->acq_stack);
  for (uint32_t i = 0; i < r->nsections; i++)
    lg_stack_free(r->sections[i].stack);
  lg_mem_free(r, sizeof(*r));
}

/* ---- a growable text buffer ---- */

typedef struct lg_buf {
  char *p;
  size_t n, cap;
} lg_buf_t;

static void lg_buf_reserve(lg_buf_t *b, size_t more) {
  if (b->n + more + 1 <= b->cap)
    return;
  size_t ncap = b->cap ? b->cap : 4096;
  while (ncap < b->n + more + 1)
    ncap *= 2;
  char *p = lg_mem_realloc(b->p, b->cap, ncap);
  if (p == NULL)
    return;
  b->p = p;
  b->cap = ncap;
}

static void lg_buf_printf(lg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lg_buf_printf(lg_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int need = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (need < 0)
    return;
  lg_buf_reserve(b, (size_t)need);
  if (b->n + (size_t)need + 1 > b->cap)
    return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
  va_end(ap);
  b->n += (size_t)need;
}

/* The length of the well-formed UTF-8 sequence at p (a byte of 0x80 or more), 0 when it is
 * none: JSON is UTF-8, and a file or function name is whatever bytes the program has. The
 * writers put U+FFFD in place of a byte that starts no sequence. Async-signal-safe. */
static size_t lg_utf8_len(const unsigned char *p) {
  unsigned c = p[0];
  size_t n = c >= 0xc2 && c <= 0xdf   ? 2
             : c >= 0xe0 && c <= 0xef ? 3
             : c >= 0xf0 && c <= 0xf4 ? 4
                                      : 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
      (c == 0xf4 && p[1] > 0x8f))
    return 0; /* overlong, a surrogate, or beyond U+10FFFF */
  return n;
}

static void lg_buf_json_str(lg_buf_t *b, const char *s) {
  if (s == NULL) {
    lg_buf_printf(b, "null");
    return;
  }
  lg_buf_printf(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      lg_buf_printf(b, "\\%c", *p);
    else if (*p == '\n')
      lg_buf_printf(b, "\\n");
    else if (*p == '\t')
      lg_buf_printf(b, "\\t");
    else if (*p < 0x20 || *p == 0x7f)
      lg_buf_printf(b, "\\u%04x", *p);
    else if (*p < 0x80)
      lg_buf_printf(b, "%c", *p);
    else {
      size_t n = lg_utf8_len(p);
      if (n == 0)
        lg_buf_printf(b, "\\ufffd");
      else
        lg_buf_printf(b, "%.*s", (int)n, (const char *)p);
      p += n == 0 ? 0 : n - 1;
    }
  }
  lg_buf_printf(b, "\"");
}

static void lg_buf_free(lg_buf_t *b) {
  lg_mem_free(b->p, b->cap);
  b->p = NULL;
  b->n = b->cap = 0;
}

/* ---- names ---- */

static const char *lg_kind_word(uint8_t kind) {
  return kind == LG_KIND_RWLOCK ? "rwlock" : kind == LG_KIND_SPIN ? "spinlock" : "mutex";
}

static const char *lg_kind_prefix(uint8_t kind) {
  return kind == LG_KIND_RWLOCK ? "RW" : kind == LG_KIND_SPIN ? "S" : "M";
}

static unsigned lg_name_of(const lg_rlock_t *l) {
  uint64_t key = (uint64_t)l->ver << 32 | l->id;
  for (size_t i = 0; i < lg_nnames; i++)
    if (lg_names[i].key == key && lg_names[i].kind == l->kind)
      return lg_names[i].num;
  if (lg_nnames == lg_cap_names) {
    size_t ncap = lg_cap_names ? lg_cap_names * 2 : 32;
    lg_name_t *p = lg_mem_realloc(lg_names, lg_cap_names * sizeof(*p), ncap * sizeof(*p));
    if (p == NULL)
      return ++lg_name_next[l->kind & 3];
    lg_names = p;
    lg_cap_names = ncap;
  }
  unsigned num = ++lg_name_next[l->kind & 3];
  lg_names[lg_nnames++] = (lg_name_t){.key = key, .kind = l->kind, .num = num};
  return num;
}

typedef struct lg_lockname {
  char s[24];
} lg_lockname_t;

/* ---- symbolized stacks ---- */

#define LG_VIEW_MAX 512

typedef struct lg_frames {
  lg_symbol_t f[LG_STACK_MAX * 2];
  uintptr_t pc[LG_STACK_MAX * 2];
  int n;
} lg_frames_t;

/* Whether a frame belongs to the C++ runtime's lock wrappers (std::mutex::lock,
 * std::lock_guard, std::unique_lock, condition_variable::wait, __gthread_*, ...). They are
 * compiled into the program from the library's headers, inlined or not depending on the
 * compiler and the -O level, so neither the module nor the frame count tells them apart: their
 * header files and their namespaces do. */
static int lg_frame_is_cxx_runtime(const lg_symbol_t *f) {
  const char *file = f->file, *fn = f->function;
  if (file != NULL && (strstr(file, "/include/c++/") != NULL || strstr(file, "/bits/gthr") != NULL))
    return 1;
  if (fn == NULL)
    return 0;
  if (strncmp(fn, "__gthread_", 10) == 0 || strncmp(fn, "_ZNSt", 5) == 0 ||
      strncmp(fn, "_ZSt", 4) == 0 || strncmp(fn, "_ZN9__gnu_cxx", 13) == 0 ||
      (strncmp(fn, "_ZL", 3) == 0 && strstr(fn, "__gthread_") != NULL))
    return 1;
  /* A demangled name: the qualified name starts after the return type ("void std::lock<...>(")
   * at template depth 0, before the parameter list. */
  const char *name = fn;
  int depth = 0;
  for (const char *p = fn; *p && !(*p == '(' && depth == 0); p++) {
    if (*p == '<')
      depth++;
    else if (*p == '>')
      depth--;
    else if (*p == ' ' && depth == 0)
      name = p + 1;
  }
  return strncmp(name, "std::", 5) == 0 || strncmp(name, "__gnu_cxx::", 11) == 0;
}

/* Symbolized frames of a stack, starting at the program's own frame: the leading frames of the
 * C++ runtime's lock wrappers are dropped (all of them only if nothing else is left). */
static void lg_frames_of(const lg_stack_t *s, lg_frames_t *out) {
  out->n = 0;
  if (s == NULL)
    return;
  int leading = 1;
  for (uint32_t i = 0; i < s->n && out->n < LG_STACK_MAX * 2; i++) {
    lg_symbol_t sym[8];
    int k = lg_symbolize(s->pc[i], sym, 8);
    for (int j = 0; j < k && out->n < LG_STACK_MAX * 2; j++) {
      if (leading && lg_frame_is_cxx_runtime(&sym[j]) && !(i + 1 == s->n && j + 1 == k && out->n == 0))
        continue;
      leading = 0;
      out->pc[out->n] = s->pc[i];
      out->f[out->n++] = sym[j];
    }
  }
}

static void lg_text_frame(lg_buf_t *b, const char *indent, int i, uintptr_t pc,
                          const lg_symbol_t *f) {
  char cwd[LG_PATH_MAX];
  const char *file = lg_path_display(f->file, cwd, sizeof cwd);
  lg_buf_printf(b, "%s#%d ", indent, i);
  if (f->function)
    lg_buf_printf(b, "%s", f->function);
  else
    lg_buf_printf(b, "0x%lx", (unsigned long)pc);
  if (file && f->line > 0)
    lg_buf_printf(b, " %s:%d", file, f->line);
  else if (f->module)
    lg_buf_printf(b, " (%s+0x%lx)", f->module, (unsigned long)f->module_off);
  if (f->reused)
    lg_buf_printf(b, " (an address an unloaded library had: the frame may be that one's)");
  lg_buf_printf(b, "\n");
}

static void lg_text_stack(lg_buf_t *b, const char *indent, const lg_stack_t *s) {
  lg_frames_t fr;
  lg_frames_of(s, &fr);
  if (fr.n == 0)
    lg_buf_printf(b, "%s(no stack)\n", indent);
  for (int i = 0; i < fr.n; i++)
    lg_text_frame(b, indent, i, fr.pc[i], &fr.f[i]);
}

static void lg_json_stack(lg_buf_t *b, const lg_stack_t *s) {
  lg_frames_t fr;
  lg_frames_of(s, &fr);
  char cwd[LG_PATH_MAX];
  lg_buf_printf(b, "[");
  for (int i = 0; i < fr.n; i++) {
    const lg_symbol_t *f = &fr.f[i];
    lg_buf_printf(b, "%s{\"pc\":\"0x%lx\",\"function\":", i ? "," : "", (unsigned long)fr.pc[i]);
    lg_buf_json_str(b, f->function);
    lg_buf_printf(b, ",\"file\":");
    lg_buf_json_str(b, lg_path_display(f->file, cwd, sizeof cwd));
    lg_buf_printf(b, ",\"line\":%d,\"module\":", f->line);
    lg_buf_json_str(b, f->module);
    if (f->reused)
      lg_buf_printf(b, ",\"address_of_an_unloaded_library\":true");
    lg_buf_printf(b, "}");
  }
  lg_buf_printf(b, "]");
}

/* The first frame of s below the C++ runtime's lock wrappers; 0 when there is none. */
static int lg_program_frame(const lg_stack_t *s, lg_symbol_t *out, uintptr_t *pc) {
  for (uint32_t i = 0; s != NULL && i < s->n; i++) {
    lg_symbol_t sym[8];
    int k = lg_symbolize(s->pc[i], sym, 8);
    for (int j = 0; j < k; j++) {
      if (!lg_frame_is_cxx_runtime(&sym[j])) {
        *out = sym[j];
        *pc = s->pc[i];
        return 1;
      }
    }
  }
  return 0;
}

/* "first locked at worker_a buggy/x.c:41". When that place is inside the C++ runtime's lock
 * wrappers (a return address is all the first acquisition kept), the program's own frame of
 * `alt`, a stack of this report that acquires the lock, is shown instead. */
static void lg_text_site(lg_buf_t *b, uintptr_t pc, const lg_stack_t *alt) {
  if (pc == 0) {
    lg_buf_printf(b, "an unknown place");
    return;
  }
  lg_symbol_t sym[8];
  lg_symbolize(pc, sym, 8);
  if (lg_frame_is_cxx_runtime(&sym[0]))
    lg_program_frame(alt, &sym[0], &pc);
  char cwd[LG_PATH_MAX];
  const char *file = lg_path_display(sym[0].file, cwd, sizeof cwd);
  if (sym[0].function)
    lg_buf_printf(b, "%s", sym[0].function);
  else
    lg_buf_printf(b, "0x%lx", (unsigned long)pc);
  if (file && sym[0].line > 0)
    lg_buf_printf(b, " %s:%d", file, sym[0].line);
  else if (sym[0].module)
    lg_buf_printf(b, " (%s+0x%lx)", sym[0].module, (unsigned long)sym[0].module_off);
  if (sym[0].reused)
    lg_buf_printf(b, " (an address an unloaded library had)");
}

/* ---- suppressions ---- */

static void lg_views_add(lg_frame_view_t *v, size_t *n, const lg_stack_t *s) {
  lg_frames_t fr;
  lg_frames_of(s, &fr);
  for (int i = 0; i < fr.n && *n < LG_VIEW_MAX; i++) {
    v[*n].function = fr.f[i].function;
    v[*n].file = fr.f[i].file;
    (*n)++;
  }
}

static int lg_report_suppressed(const lg_report_t *r) {
  if (lg_rt.supp == NULL)
    return 0;
  static lg_frame_view_t views[LG_VIEW_MAX]; /* under report_mu */
  size_t n = 0;
  for (uint32_t i = 0; i < r->nedges; i++) {
    lg_views_add(views, &n, r->edges[i].held);
    lg_views_add(views, &n, r->edges[i].acq);
  }
  for (uint32_t i = 0; i < r->nthreads; i++)
    lg_views_add(views, &n, r->threads[i].stack);
  lg_views_add(views, &n, r->held_stack);
  lg_views_add(views, &n, r->acq_stack);
  for (uint32_t i = 0; i < r->nsections; i++)
    lg_views_add(views, &n, r->sections[i].stack);
  return lg_suppressions_match(lg_rt.supp, lg_kinds[r->type].supp_type, views, n) >= 0;
}

/* ---- formatting ---- */

static const char *lg_mode_note(const lg_rlock_t *l, uint8_t mode) {
  if (l->kind != LG_KIND_RWLOCK)
    return "";
  return mode == LG_MODE_READ ? " (read)" : " (write)";
}

static void lg_text_locks(lg_buf_t *b, const lg_report_t *r, const lg_lockname_t *nm) {
  for (uint32_t i = 0; i < r->nlocks; i++) {
    lg_buf_printf(b, "  %s = %s 0x%lx, first locked at ", nm[i].s, lg_kind_word(r->locks[i].kind),
                  (unsigned long)r->locks[i].addr);
    const lg_stack_t *alt = NULL;
    for (uint32_t e = 0; e < r->nedges && alt == NULL; e++)
      alt = r->edges[e].from == i ? r->edges[e].held : r->edges[e].to == i ? r->edges[e].acq : NULL;
    if (alt == NULL && i == 0)
      alt = r->held_stack ? r->held_stack : r->acq_stack;
    lg_text_site(b, r->locks[i].first_pc, alt);
    lg_buf_printf(b, "\n");
  }
}

static void lg_json_locks(lg_buf_t *b, const lg_report_t *r, const lg_lockname_t *nm) {
  lg_buf_printf(b, "\"locks\":[");
  for (uint32_t i = 0; i < r->nlocks; i++)
    lg_buf_printf(b, "%s{\"name\":\"%s\",\"kind\":\"%s\",\"addr\":\"0x%lx\"}", i ? "," : "",
                  nm[i].s, lg_kind_word(r->locks[i].kind), (unsigned long)r->locks[i].addr);
  lg_buf_printf(b, "]");
}

static void lg_format_potential(lg_buf_t *t, lg_buf_t *j, const lg_report_t *r,
                                const lg_lockname_t *nm, unsigned k) {
  uint32_t n = r->nedges;
  const lg_redge_t *e0 = &r->edges[0];
  lg_buf_printf(t, "lockgraph: potential deadlock: lock-order cycle of %u locks (report %u)\n", n, k);
  lg_buf_printf(t, "  thread T%u acquires %s while holding %s\n", e0->tid, nm[e0->to].s,
                nm[e0->from].s);
  lg_buf_printf(t, "  cycle:");
  for (uint32_t i = 0; i < r->ncycle; i++)
    lg_buf_printf(t, "%s %s", i ? " ->" : "", nm[r->cycle[i]].s);
  lg_buf_printf(t, "\n");
  lg_text_locks(t, r, nm);
  for (uint32_t i = 0; i < n; i++) {
    const lg_redge_t *e = &r->edges[i];
    lg_buf_printf(t, "  edge %s -> %s (thread T%u):\n", nm[e->from].s, nm[e->to].s, e->tid);
    lg_buf_printf(t, "    %s acquired at:\n", nm[e->from].s);
    lg_text_stack(t, "      ", e->held);
    lg_buf_printf(t, "    %s acquired at:\n", nm[e->to].s);
    lg_text_stack(t, "      ", e->acq);
  }
  lg_buf_printf(t, "  scenario:\n");
  int same_thread = 0;
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t x = i + 1; x < n; x++)
      same_thread |= r->edges[i].tid == r->edges[x].tid;
  for (uint32_t i = 0; i < n; i++) {
    const lg_redge_t *e = &r->edges[i];
    lg_buf_printf(t, "    thread T%u holds %s%s and wants %s%s\n", e->tid, nm[e->from].s,
                  lg_mode_note(&r->locks[e->from], e->from_mode), nm[e->to].s,
                  lg_mode_note(&r->locks[e->to], e->to_mode));
  }
  if (same_thread)
    lg_buf_printf(t, "    (one thread took more than one of these orders; two threads taking them "
                     "at once deadlock)\n");
  lg_buf_printf(t, "    -> each waits for the %s forever\n", n == 2 ? "other" : "next");

  lg_buf_printf(j, "{\"type\":\"potential-deadlock\",\"report\":%u,", k);
  lg_json_locks(j, r, nm);
  lg_buf_printf(j, ",\"cycle\":[");
  for (uint32_t i = 0; i < r->ncycle; i++)
    lg_buf_printf(j, "%s\"%s\"", i ? "," : "", nm[r->cycle[i]].s);
  lg_buf_printf(j, "],\"edges\":[");
  for (uint32_t i = 0; i < n; i++) {
    const lg_redge_t *e = &r->edges[i];
    lg_buf_printf(j, "%s{\"from\":\"%s\",\"to\":\"%s\",\"thread\":\"T%u\",\"held_stack\":",
                  i ? "," : "", nm[e->from].s, nm[e->to].s, e->tid);
    lg_json_stack(j, e->held);
    lg_buf_printf(j, ",\"acquire_stack\":");
    lg_json_stack(j, e->acq);
    lg_buf_printf(j, "}");
  }
  lg_buf_printf(j, "],\"scenario\":[");
  for (uint32_t i = 0; i < n; i++) {
    const lg_redge_t *e = &r->edges[i];
    char line[160];
    snprintf(line, sizeof line, "thread T%u holds %s%s and wants %s%s", e->tid, nm[e->from].s,
             lg_mode_note(&r->locks[e->from], e->from_mode), nm[e->to].s,
             lg_mode_note(&r->locks[e->to], e->to_mode));
    lg_buf_printf(j, "%s", i ? "," : "");
    lg_buf_json_str(j, line);
  }
  lg_buf_printf(j, ",\"each waits for the %s forever\"]}\n", n == 2 ? "other" : "next");
}

static void lg_format_self(lg_buf_t *t, lg_buf_t *j, const lg_report_t *r, const lg_lockname_t *nm,
                           unsigned k) {
  const char *name = nm[0].s;
  const char *word = lg_kind_word(r->locks[0].kind);
  if (r->ends_run) {
    lg_buf_printf(t, "lockgraph: self-deadlock: %s %s relocked by its owner T%u; ending the run "
                     "(report %u)\n", word, name, r->tid, k);
  } else {
    lg_buf_printf(t, "lockgraph: self-deadlock: %s%s %s relocked by its owner T%u (report %u)\n",
                  r->errorcheck ? "errorcheck " : "", word, name, r->tid, k);
  }
  lg_text_locks(t, r, nm);
  if (r->held_stack) {
    lg_buf_printf(t, "  %s acquired at:\n", name);
    lg_text_stack(t, "    ", r->held_stack);
  }
  lg_buf_printf(t, "  %s relocked at:\n", name);
  lg_text_stack(t, "    ", r->acq_stack);

  lg_buf_printf(j, "{\"type\":\"self-deadlock\",\"report\":%u,\"ends_run\":%s,", k,
                r->ends_run ? "true" : "false");
  lg_json_locks(j, r, nm);
  lg_buf_printf(j, ",\"cycle\":[\"%s\",\"%s\"],\"edges\":[{\"from\":\"%s\",\"to\":\"%s\","
                   "\"thread\":\"T%u\",\"held_stack\":", name, name, name, name, r->tid);
  lg_json_stack(j, r->held_stack);
  lg_buf_printf(j, ",\"acquire_stack\":");
  lg_json_stack(j, r->acq_stack);
  lg_buf_printf(j, "}],\"threads\":[{\"name\":\"T%u\",\"waits_for\":\"%s\",\"holds\":[\"%s\"],"
                   "\"stack\":", r->tid, name, name);
  lg_json_stack(j, r->acq_stack);
  lg_buf_printf(j, "}],\"scenario\":[\"thread T%u holds %s and wants it again\"]}\n", r->tid, name);
}

static void lg_format_deadlock(lg_buf_t *t, lg_buf_t *j, const lg_report_t *r,
                               const lg_lockname_t *nm, unsigned k) {
  lg_buf_printf(t, "lockgraph: deadlock (it happened): %u threads blocked in a cycle (report %u)\n",
                r->nthreads, k);
  lg_buf_printf(t, "  cycle:");
  for (uint32_t i = 0; i < r->nthreads; i++)
    lg_buf_printf(t, " T%u -> %s ->", r->threads[i].tid, nm[r->threads[i].waits_for].s);
  lg_buf_printf(t, " T%u\n", r->threads[0].tid);
  lg_text_locks(t, r, nm);
  for (uint32_t i = 0; i < r->nthreads; i++) {
    const lg_rthread_t *th = &r->threads[i];
    lg_buf_printf(t, "  thread T%u waits for %s%s, holds", th->tid, nm[th->waits_for].s,
                  lg_mode_note(&r->locks[th->waits_for], th->wait_mode));
    if (th->nholds == 0)
      lg_buf_printf(t, " nothing");
    for (uint32_t x = 0; x < th->nholds; x++)
      lg_buf_printf(t, "%s %s", x ? "," : "", nm[th->holds[x]].s);
    lg_buf_printf(t, ":\n");
    lg_text_stack(t, "    ", th->stack);
  }
  lg_buf_printf(t, "  scenario:\n");
  for (uint32_t i = 0; i < r->nthreads; i++) {
    const lg_rthread_t *th = &r->threads[i];
    const lg_rthread_t *nx = &r->threads[(i + 1) % r->nthreads];
    lg_buf_printf(t, "    thread T%u waits for %s, held by thread T%u\n", th->tid,
                  nm[th->waits_for].s, nx->tid);
  }
  lg_buf_printf(t, "    -> none of them can ever go on\n");

  lg_buf_printf(j, "{\"type\":\"deadlock\",\"report\":%u,", k);
  lg_json_locks(j, r, nm);
  lg_buf_printf(j, ",\"cycle\":[");
  for (uint32_t i = 0; i <= r->nthreads; i++)
    lg_buf_printf(j, "%s\"%s\"", i ? "," : "", nm[r->threads[i % r->nthreads].waits_for].s);
  lg_buf_printf(j, "],\"edges\":[],\"threads\":[");
  for (uint32_t i = 0; i < r->nthreads; i++) {
    const lg_rthread_t *th = &r->threads[i];
    lg_buf_printf(j, "%s{\"name\":\"T%u\",\"waits_for\":\"%s\",\"holds\":[", i ? "," : "", th->tid,
                  nm[th->waits_for].s);
    for (uint32_t x = 0; x < th->nholds; x++)
      lg_buf_printf(j, "%s\"%s\"", x ? "," : "", nm[th->holds[x]].s);
    lg_buf_printf(j, "],\"stack\":");
    lg_json_stack(j, th->stack);
    lg_buf_printf(j, "}");
  }
  lg_buf_printf(j, "],\"scenario\":[");
  for (uint32_t i = 0; i < r->nthreads; i++) {
    const lg_rthread_t *th = &r->threads[i];
    const lg_rthread_t *nx = &r->threads[(i + 1) % r->nthreads];
    char line[160];
    snprintf(line, sizeof line, "thread T%u waits for %s, held by thread T%u", th->tid,
             nm[th->waits_for].s, nx->tid);
    lg_buf_printf(j, "%s", i ? "," : "");
    lg_buf_json_str(j, line);
  }
  lg_buf_printf(j, "]}\n");
}

/* `text` with every "{L<i>}" replaced by the name of locks[i]. */
static void lg_buf_names(lg_buf_t *b, const char *text, const lg_report_t *r,
                         const lg_lockname_t *nm) {
  for (const char *p = text; *p;) {
    char *end;
    if (p[0] == '{' && p[1] == 'L' && p[2] >= '0' && p[2] <= '9') {
      unsigned long i = strtoul(p + 2, &end, 10);
      if (*end == '}' && i < r->nlocks) {
        lg_buf_printf(b, "%s", nm[i].s);
        p = end + 1;
        continue;
      }
    }
    lg_buf_printf(b, "%c", *p++);
  }
}

static void lg_json_names(lg_buf_t *j, const char *text, const lg_report_t *r,
                          const lg_lockname_t *nm) {
  lg_buf_t plain = {0};
  lg_buf_names(&plain, text, r, nm);
  lg_buf_json_str(j, plain.p ? plain.p : "");
  lg_buf_free(&plain);
}

/* The generic layout: "lockgraph: <word>: <message> (report k)", the locks, then each
 * labelled section with its stack. */
static void lg_format_generic(lg_buf_t *t, lg_buf_t *j, const lg_report_t *r,
                              const lg_lockname_t *nm, unsigned k) {
  const lg_kind_t *kind = &lg_kinds[r->type];
  lg_buf_printf(t, "lockgraph: %s: ", kind->word);
  lg_buf_names(t, r->message, r, nm);
  lg_buf_printf(t, "%s (report %u)\n", r->ends_run ? "; ending the run" : "", k);
  lg_text_locks(t, r, nm);
  for (uint32_t i = 0; i < r->nsections; i++) {
    const lg_rsection_t *sec = &r->sections[i];
    lg_buf_printf(t, "  ");
    lg_buf_names(t, sec->label, r, nm);
    lg_buf_printf(t, "%s\n", sec->stack ? ":" : "");
    if (sec->stack)
      lg_text_stack(t, "    ", sec->stack);
  }

  lg_buf_printf(j, "{\"type\":\"%s\",\"report\":%u,\"ends_run\":%s,\"message\":",
                kind->json_type, k, r->ends_run ? "true" : "false");
  lg_json_names(j, r->message, r, nm);
  lg_buf_printf(j, ",");
  lg_json_locks(j, r, nm);
  lg_buf_printf(j, ",\"sections\":[");
  for (uint32_t i = 0; i < r->nsections; i++) {
    lg_buf_printf(j, "%s{\"label\":", i ? "," : "");
    lg_json_names(j, r->sections[i].label, r, nm);
    lg_buf_printf(j, ",\"stack\":");
    lg_json_stack(j, r->sections[i].stack);
    lg_buf_printf(j, "}");
  }
  lg_buf_printf(j, "]}\n");
}

/* ---- output ---- */

int lg_reports_total(void) {
  unsigned total = 0;
  for (int i = 1; i < LG_REPORT_KINDS; i++)
    total += lg_count[i];
  return (int)total;
}

size_t lg_reports_counts(unsigned *out, size_t cap) {
  size_t n = 0;
  unsigned any = lg_count_suppressed;
  for (int i = 1; i < LG_REPORT_KINDS && n < cap; i++) {
    out[n++] = lg_count[i];
    any |= lg_count[i];
  }
  if (n < cap)
    out[n++] = lg_count_suppressed;
  return any ? n : 0;
}

void lg_reports_adopt(const unsigned *counts, size_t n) {
  size_t k = 0;
  for (int i = 1; i < LG_REPORT_KINDS && k + 1 < n; i++)
    lg_count[i] += counts[k++];
  if (k < n)
    lg_count_suppressed += counts[n - 1];
}

/* The summary is written before an exec into an image without the library: the exit status
 * will be that program's, not the exit code. */
static int lg_summary_exec_away;

int lg_report_summary_exec_away(void) {
  lg_summary_exec_away = 1;
  return lg_report_summary_ending();
}

void lg_report_summary_reopen(void) {
  lg_summary_exec_away = 0;
  atomic_store(&lg_summary_claimed, 0);
}

void lg_reports_after_fork_child(void) {
  memset(lg_count, 0, sizeof lg_count);
  lg_count_suppressed = 0;
  atomic_store(&lg_summary_claimed, 0);
}

/* stdout and stderr flushed if nobody holds them (a thread blocked while holding a stream's
 * lock must not make the end of the run hang too). */
static void lg_flush_stdio(void) {
  FILE *fs[2] = {stdout, stderr};
  for (int i = 0; i < 2; i++) {
    if (ftrylockfile(fs[i]) == 0) {
      fflush_unlocked(fs[i]);
      funlockfile(fs[i]);
    }
  }
}

/* ---- the summary: also written from a fatal signal's handler ----
 *
 * So it is formatted without malloc, stdio or locks the interrupted code may hold: into a
 * fixed buffer that is written out with write(2) whenever it fills. */

typedef struct lg_sbuf {
  int fd;
  size_t n;
  char b[2048];
} lg_sbuf_t;

static void lg_sbuf_flush(lg_sbuf_t *w) {
  if (w->fd >= 0 && w->n > 0)
    lg_write_all(w->fd, w->b, w->n);
  w->n = 0;
}

static void lg_sbuf_char(lg_sbuf_t *w, char c) {
  if (w->n == sizeof w->b)
    lg_sbuf_flush(w);
  w->b[w->n++] = c;
}

static void lg_sbuf_str(lg_sbuf_t *w, const char *s) {
  while (*s)
    lg_sbuf_char(w, *s++);
}

static void lg_sbuf_uint(lg_sbuf_t *w, uint64_t v) {
  char d[LG_DECIMAL_MAX];
  size_t k = lg_decimal_of(d, v);
  for (size_t i = 0; i < k; i++)
    lg_sbuf_char(w, d[i]);
}

static void lg_sbuf_int(lg_sbuf_t *w, int64_t v) {
  if (v < 0) {
    lg_sbuf_char(w, '-');
    lg_sbuf_uint(w, (uint64_t)0 - (uint64_t)v);
  } else {
    lg_sbuf_uint(w, (uint64_t)v);
  }
}

static void lg_sbuf_json_str(lg_sbuf_t *w, const char *s) {
  static const char hex[] = "0123456789abcdef";
  lg_sbuf_char(w, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      lg_sbuf_char(w, '\\');
      lg_sbuf_char(w, (char)c);
    } else if (c < 0x20) {
      lg_sbuf_str(w, "\\u00");
      lg_sbuf_char(w, hex[c >> 4]);
      lg_sbuf_char(w, hex[c & 15]);
    } else if (c < 0x80) {
      lg_sbuf_char(w, (char)c);
    } else {
      size_t n = lg_utf8_len((const unsigned char *)s);
      if (n == 0)
        lg_sbuf_str(w, "\\ufffd");
      for (size_t i = 0; i < n; i++)
        lg_sbuf_char(w, s[i]);
      s += n == 0 ? 0 : n - 1;
    }
  }
  lg_sbuf_char(w, '"');
}

/* "<n> <noun>" with the noun in the plural unless n is 1, then `after`. */
static void lg_sbuf_count(lg_sbuf_t *w, uint64_t n, const char *noun, const char *after) {
  lg_sbuf_uint(w, n);
  lg_sbuf_str(w, noun);
  if (n != 1)
    lg_sbuf_char(w, 's');
  lg_sbuf_str(w, after);
}

/* Writes the summary once per process: whoever claims it first (the exit path, the end of a
 * run, or a fatal signal) writes it. `sig` is the signal ending the run, 0 for a normal end.
 * The counters are read without the report lock: a handler cannot wait for it, and a count
 * one report short is better than no summary. */
static int lg_summary_write(int sig, size_t locks, size_t edges) {
  int total = lg_reports_total();
  if (atomic_exchange(&lg_summary_claimed, 1))
    return total;
  if (lg_rt.fork_child && total == 0)
    return 0; /* a forked child that found nothing stays quiet */
  unsigned threads = lg_rt.nthreads_total;
  size_t ns = lg_suppressions_count(lg_rt.supp);
  /* Static, not on the stack: the summary may be written from a signal handler on a thread
   * with little stack left, and only the one claimer ever writes it. */
  static lg_sbuf_t w;
  w.n = 0;
  /* At the default verbosity a clean run says nothing, as TSan: a process tree run through
   * lockgraph (a script, its shell, its tools) would print one line per process. */
  unsigned v = lg_rt.opt.verbosity;
  /* A clean run that a signal ended stays quiet unless the signal is a crash (one whose
   * default action dumps core: an abort, a fault, QUIT): TERM, INT, HUP and PIPE are how
   * scripts end the programs they run (`timeout`, a pool's shutdown, `prog | head`), and a
   * line per such child is noise. The JSON summary names the signal either way. */
  int crash = 0;
  const char *signame = sig != 0 ? lg_signal_name(sig, &crash) : NULL;
  int say = v >= 2 || (v == 1 && (total > 0 || lg_count_suppressed > 0 || crash));
  w.fd = say ? lg_rt.log_fd : -1;
  if (sig != 0) {
    lg_sbuf_str(&w, "lockgraph: the program was terminated by ");
    lg_sbuf_str(&w, signame);
    lg_sbuf_str(&w, " (signal ");
    lg_sbuf_int(&w, sig);
    lg_sbuf_str(&w, ")\n");
  }
  if (lg_summary_exec_away)
    lg_sbuf_str(&w, "lockgraph: the program executes another without lockgraph (its environment "
                    "does not preload it): the exit status will be that program's\n");
  lg_sbuf_str(&w, "lockgraph: summary: ");
  lg_sbuf_count(&w, (uint64_t)total, " report", "");
  lg_sbuf_str(&w, " (");
  const char *sep = "";
  for (int i = 1; i < LG_REPORT_KINDS; i++) {
    if (lg_kinds[i].counted_as != i || (!lg_kinds[i].always && lg_count[i] == 0))
      continue;
    lg_sbuf_str(&w, sep);
    lg_sbuf_uint(&w, lg_count[i]);
    lg_sbuf_char(&w, ' ');
    lg_sbuf_str(&w, lg_kinds[i].noun);
    if (lg_count[i] != 1)
      lg_sbuf_char(&w, 's');
    sep = ", ";
  }
  lg_sbuf_str(&w, "), ");
  lg_sbuf_uint(&w, lg_count_suppressed);
  lg_sbuf_str(&w, " suppressed; ");
  lg_sbuf_count(&w, locks, " lock", ", ");
  lg_sbuf_count(&w, edges, " edge", ", ");
  lg_sbuf_count(&w, threads, " thread", "\n");
  size_t dups = lg_cycles_duplicate_count();
  if (dups > 0) { /* folded into earlier reports, never dropped silently */
    lg_sbuf_str(&w, "  duplicates: ");
    lg_sbuf_count(&w, dups, " more lock-order cycle", "");
    lg_sbuf_str(&w, " over locks an earlier report names (new instances at the same addresses, or another order of the same locks)\n");
  }
  for (size_t i = 0; i < ns; i++) {
    lg_sbuf_str(&w, "  suppression ");
    lg_sbuf_str(&w, lg_suppressions_type(lg_rt.supp, i));
    lg_sbuf_char(&w, ':');
    lg_sbuf_str(&w, lg_suppressions_pattern(lg_rt.supp, i));
    lg_sbuf_str(&w, ": ");
    lg_sbuf_count(&w, lg_suppressions_hits(lg_rt.supp, i), " hit", "\n");
  }
  if (v >= 3) {
    lg_sbuf_str(&w, "  detector memory: ");
    lg_sbuf_uint(&w, lg_mem_mapped_bytes());
    lg_sbuf_str(&w, " bytes mapped\n");
  }
  lg_sbuf_flush(&w);

  w.fd = lg_rt.json_fd;
  if (w.fd < 0)
    return total;
  lg_sbuf_str(&w, "{\"type\":\"summary\",\"reports\":");
  lg_sbuf_int(&w, total);
  for (int i = 1; i < LG_REPORT_KINDS; i++) {
    if (lg_kinds[i].counted_as != i)
      continue;
    lg_sbuf_str(&w, ",\"");
    lg_sbuf_str(&w, lg_kinds[i].json_key);
    lg_sbuf_str(&w, "\":");
    lg_sbuf_uint(&w, lg_count[i]);
  }
  lg_sbuf_str(&w, ",\"suppressed\":");
  lg_sbuf_uint(&w, lg_count_suppressed);
  lg_sbuf_str(&w, ",\"duplicate_cycles\":");
  lg_sbuf_uint(&w, dups);
  lg_sbuf_str(&w, ",\"locks\":");
  lg_sbuf_uint(&w, locks);
  lg_sbuf_str(&w, ",\"edges\":");
  lg_sbuf_uint(&w, edges);
  lg_sbuf_str(&w, ",\"threads\":");
  lg_sbuf_uint(&w, threads);
  /* Ended by a signal, the process exits by that signal, not with our exit code. */
  lg_sbuf_str(&w, ",\"exitcode\":");
  lg_sbuf_int(&w, total && sig == 0 && !lg_summary_exec_away ? lg_rt.opt.exitcode : -1);
  if (sig != 0) {
    lg_sbuf_str(&w, ",\"signal\":");
    lg_sbuf_int(&w, sig);
    lg_sbuf_str(&w, ",\"signal_name\":");
    lg_sbuf_json_str(&w, signame);
  }
  lg_sbuf_str(&w, ",\"suppressions\":[");
  for (size_t i = 0; i < ns; i++) {
    lg_sbuf_str(&w, i ? ",{\"type\":" : "{\"type\":");
    lg_sbuf_json_str(&w, lg_suppressions_type(lg_rt.supp, i));
    lg_sbuf_str(&w, ",\"pattern\":");
    lg_sbuf_json_str(&w, lg_suppressions_pattern(lg_rt.supp, i));
    lg_sbuf_str(&w, ",\"hits\":");
    lg_sbuf_uint(&w, lg_suppressions_hits(lg_rt.supp, i));
    lg_sbuf_char(&w, '}');
  }
  lg_sbuf_str(&w, "]}\n");
  lg_sbuf_flush(&w);
  lg_sarif_write_at_end();
  return total;
}

/* Under report_mu. */
static int lg_summary_locked(void) {
  if (atomic_load(&lg_summary_claimed))
    return lg_reports_total();
  lg_real.mutex_lock(&lg_rt.mu);
  size_t locks = lg_locks_count(1), edges = lg_edges_count(1);
  lg_real.mutex_unlock(&lg_rt.mu);
  return lg_summary_write(0, locks, edges);
}


void lg_report_summary_on_signal(int sig) {
  int saved = errno;
  /* The live counts need the detector lock: tried, never waited for (the signal may have
   * interrupted its holder); without it, only ended threads' locks and edges are counted. */
  size_t locks, edges;
  if (!lg_mutex_owned_by((uintptr_t)&lg_rt.mu, (pid_t)syscall(SYS_gettid)) &&
      lg_real.mutex_trylock(&lg_rt.mu) == 0) {
    locks = lg_locks_count(1);
    edges = lg_edges_count(1);
    lg_real.mutex_unlock(&lg_rt.mu);
  } else {
    locks = lg_locks_count(0);
    edges = lg_edges_count(0);
  }
  lg_summary_write(sig, locks, edges);
  errno = saved;
}

int lg_report_summary(void) {
  lg_real.mutex_lock(&lg_rt.report_mu);
  int total = lg_summary_locked();
  lg_real.mutex_unlock(&lg_rt.report_mu);
  return total;
}

int lg_report_summary_ending(void) {
  /* Another thread's report is finished first (the process ends with this call, and would
   * cut it short); this thread's own, interrupted by a handler that ends the process, cannot
   * be waited for: the summary is then written as from a fatal signal. */
  pid_t self = (pid_t)syscall(SYS_gettid);
  if (lg_mutex_owned_by((uintptr_t)&lg_rt.report_mu, self) ||
      lg_mutex_owned_by((uintptr_t)&lg_rt.mu, self)) {
    int saved = errno;
    int total = lg_summary_write(0, lg_locks_count(0), lg_edges_count(0));
    errno = saved;
    return total;
  }
  return lg_report_summary();
}

/* With report_mu held: it is never released, so no other report interleaves. */
static void lg_end_run_locked(void) __attribute__((noreturn));
static void lg_end_run_locked(void) {
  atomic_store(&lg_rt.ending, 1);
  lg_summary_locked();
  lg_flush_stdio();
  lg_process_exit(lg_rt.opt.exitcode);
}

/* ---- the report stack ----
 *
 * Symbolizing (libdw's line tables and DWARF scopes) and formatting take far more stack than
 * a program's thread may have: servers and runtimes make threads of 16 to 128 KiB, and a report
 * written on one of them overflowed it. So the work of a report runs on a stack of the
 * detector's own, switched to on the reporting thread itself: nothing changes hands, a report
 * that ends the run still _exits from here, and the report is written before the program's
 * thread goes on (an abort right after loses nothing). One stack serves every thread because it
 * is only used under report_mu. It is mapped on first use, with a guard page below it, and only
 * the pages touched are ever backed; a fork child inherits it with the rest of the memory. */

#define LG_REPORT_STACK_SIZE (8u << 20)

static char *lg_report_stack;                 /* under report_mu; MAP_FAILED: could not map */
static ucontext_t lg_report_ctx, lg_report_back; /* under report_mu */
static void (*lg_report_job)(lg_report_t *);
static lg_report_t *lg_report_job_arg;

static void lg_report_stack_entry(void) {
  lg_report_job(lg_report_job_arg);
}

/* Runs job(r) on the report stack (on the current one when that stack cannot be had). With
 * report_mu held. */
static void lg_on_report_stack(void (*job)(lg_report_t *), lg_report_t *r) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (lg_report_stack == NULL) {
    void *p = mmap(NULL, LG_REPORT_STACK_SIZE + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p != MAP_FAILED && mprotect(p, page, PROT_NONE) != 0) {
      munmap(p, LG_REPORT_STACK_SIZE + page);
      p = MAP_FAILED;
    }
    lg_report_stack = p;
  }
  if (lg_report_stack == MAP_FAILED || getcontext(&lg_report_ctx) != 0) {
    job(r);
    return;
  }
  lg_report_ctx.uc_stack.ss_sp = lg_report_stack + page;
  lg_report_ctx.uc_stack.ss_size = LG_REPORT_STACK_SIZE;
  lg_report_ctx.uc_link = &lg_report_back; /* where the job returns to */
  lg_report_job = job;
  lg_report_job_arg = r;
  makecontext(&lg_report_ctx, lg_report_stack_entry, 0);
  if (swapcontext(&lg_report_back, &lg_report_ctx) != 0)
    job(r);
}

/* Symbolizes, filters, formats and writes one report, then frees it; ends the run if the
 * report says so. On the report stack, with report_mu held. */
static void lg_report_write_locked(lg_report_t *r) {
  int ends = r->ends_run || r->type == LG_REPORT_DEADLOCK;
  lg_symbols_refresh();
  if (lg_report_suppressed(r)) {
    lg_count_suppressed++;
  } else {
    lg_lockname_t nm[LG_STACK_MAX];
    for (uint32_t i = 0; i < r->nlocks; i++)
      snprintf(nm[i].s, sizeof nm[i].s, "%s%u", lg_kind_prefix(r->locks[i].kind),
               lg_name_of(&r->locks[i]));
    unsigned k = (unsigned)lg_reports_total() + 1;
    lg_buf_t t = {0}, j = {0};
    lg_count[lg_kinds[r->type].counted_as]++;
    if (r->type == LG_REPORT_POTENTIAL)
      lg_format_potential(&t, &j, r, nm, k);
    else if (r->type == LG_REPORT_DEADLOCK)
      lg_format_deadlock(&t, &j, r, nm, k);
    else if (r->type == LG_REPORT_SELF)
      lg_format_self(&t, &j, r, nm, k);
    else
      lg_format_generic(&t, &j, r, nm, k);
    if (t.p)
      lg_write_all(lg_rt.log_fd, t.p, t.n);
    if (lg_rt.json_fd >= 0 && j.p)
      lg_write_all(lg_rt.json_fd, j.p, j.n);
    lg_buf_free(&t);
    lg_buf_free(&j);
  }
  lg_report_free(r);
  if (ends)
    lg_end_run_locked();
}

void lg_report_emit(lg_report_t *r) {
  lg_thread_t *self = lg_tls_self;
  int was = self ? lg_guard_enter(self) : 0;
  int saved_errno = errno;
  /* write(2) is a cancellation point: a cancel there would unwind across the stack switch
   * with report_mu held. */
  int cancel;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
  lg_real.mutex_lock(&lg_rt.report_mu);
  lg_on_report_stack(lg_report_write_locked, r);
  lg_real.mutex_unlock(&lg_rt.report_mu);
  pthread_setcancelstate(cancel, NULL);
  errno = saved_errno;
  if (self)
    lg_guard_leave(self, was);
}
