/* misuse.c - lock misuse: bad unlocks, destroyed or uninitialized locks, locks initialized or
 * destroyed while held, condition variable misuse. The contract (what, on which paths, what it
 * costs) is in misuse.h.
 *
 * Who holds a lock is read from the threads' held stacks under lg_rt.mu (as the watchdog does:
 * another thread's array is read, never written; arrays it outgrew stay mapped until it exits).
 * Where a lock was LAST taken after it was released is read from the entries just above a
 * held stack's top, which a release leaves in place until the next acquisition overwrites them:
 * free, and exact whenever nothing was taken since.
 *
 * What glibc knows is used where it is exact: a destroyed mutex has __kind == -1 and its calls
 * fail with EINVAL; a locked mutex's destroy fails with EBUSY; a locked rwlock has a writer bit
 * or readers in __readers; a locked spinlock is nonzero. Everything else comes from the
 * detector's own records (held stacks, and records of recent destroys).
 */
#define _GNU_SOURCE
#include "misuse.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

/* glibc's mutex kind bits (pthreadP.h): type, robust, priority inherit and protect, process
 * shared, elision, and the priority ceiling. Anything else is not a mutex glibc made. */
#define LG_MUTEX_KNOWN_BITS (0x3u | 0x10u | 0x20u | 0x40u | 0x80u | 0x100u | 0x200u | 0xfff80000u)
#define LG_MUTEX_FANCY_BITS (0x10u | 0x20u | 0x40u) /* robust, PI, PP: owner checked on unlock */

/* ---- small helpers ---- */

static int lg_mutex_kind_raw(uintptr_t addr) {
  return ((const pthread_mutex_t *)addr)->__data.__kind;
}

static int lg_mutex_kind_valid(int raw) {
  return raw != -1 && ((unsigned)raw & ~LG_MUTEX_KNOWN_BITS) == 0;
}

static const char *lg_mutex_type_word(int raw) {
  if (((unsigned)raw & LG_MUTEX_FANCY_BITS) != 0)
    return ((unsigned)raw & 0x10u) ? "robust mutex" : "priority mutex";
  switch (raw & 3) {
  case PTHREAD_MUTEX_RECURSIVE: return "recursive mutex";
  case PTHREAD_MUTEX_ERRORCHECK: return "errorcheck mutex";
  case PTHREAD_MUTEX_ADAPTIVE_NP: return "adaptive mutex";
  default: return "default mutex";
  }
}

/* A mutex whose unlock glibc performs without asking who the owner is. */
static int lg_mutex_unchecked(int raw) {
  return lg_mutex_kind_valid(raw) && ((unsigned)raw & LG_MUTEX_FANCY_BITS) == 0 &&
         ((raw & 3) == PTHREAD_MUTEX_NORMAL || (raw & 3) == PTHREAD_MUTEX_ADAPTIVE_NP);
}

static const char *lg_kind_word(uint8_t kind) {
  return kind == LG_KIND_RWLOCK ? "rwlock" : kind == LG_KIND_SPIN ? "spinlock" : "mutex";
}

/* The caller's stack (outside lg_rt.mu: the unwinder may allocate). */
static lg_stack_t *lg_misuse_stack_here(void) {
  lg_frame_pcsp_t f[LG_STACK_MAX];
  int n = lg_stack_capture_fast(f, LG_STACK_MAX);
  if (n > (int)lg_rt.opt.stack_depth)
    n = (int)lg_rt.opt.stack_depth;
  uintptr_t pc[LG_STACK_MAX];
  for (int i = 0; i < n; i++)
    pc[i] = f[i].pc;
  return n > 0 ? lg_stack_new(pc, (uint32_t)n) : NULL;
}

/* Up to 1 + LG_HELD_UP return addresses (0-terminated) as a stack. */
static lg_stack_t *lg_misuse_stack_of_pcs(const uintptr_t *pcs, int cap) {
  int n = 0;
  while (n < cap && pcs[n] != 0)
    n++;
  return n > 0 ? lg_stack_new(pcs, (uint32_t)n) : NULL;
}

static lg_stack_t *lg_misuse_stack_of_held(const lg_held_t *h) {
  uintptr_t pcs[1 + LG_HELD_UP] = {h->pc};
  memcpy(pcs + 1, h->up, sizeof h->up);
  return lg_misuse_stack_of_pcs(pcs, 1 + LG_HELD_UP);
}

/* The same frame-pointer walk as lg_held_fill, from the wrapper's frame: the program's call
 * site and its callers, cheap enough for every destroy. */
LG_INLINE void lg_misuse_walk(lg_thread_t *t, uintptr_t pc, uintptr_t wrapper_fp,
                              uintptr_t out[1 + LG_HELD_UP]) {
  memset(out, 0, (1 + LG_HELD_UP) * sizeof(uintptr_t));
  out[0] = pc;
  uintptr_t fp = *(const uintptr_t *)wrapper_fp, lo = wrapper_fp, hi = t->stack_hi;
  for (int k = 0; k < LG_HELD_UP; k++) {
    if (fp < lo || fp + 16 > hi || (fp & 7) != 0)
      break;
    out[1 + k] = ((const uintptr_t *)fp)[1];
    lo = fp + 16;
    fp = ((const uintptr_t *)fp)[0];
  }
}

/* A new report of a misuse kind, naming the lock instance v (slot value) as {L0} when known. */
static lg_report_t *lg_misuse_report_new(int type, uintptr_t addr, uint32_t id, uint32_t ver,
                                         uint8_t kind, uintptr_t first_pc) {
  lg_report_t *r = lg_report_new(type);
  if (r == NULL)
    return NULL;
  r->ends_run = lg_rt.opt.halt_on_error != 0;
  if (id != 0)
    lg_report_add_lock(r, id, ver, addr, kind, first_pc);
  return r;
}

/* "mutex {L0}" when the report names the lock, else "mutex 0x..." */
static void lg_misuse_lockref(char *buf, size_t cap, const lg_report_t *r, const char *word,
                              uintptr_t addr) {
  if (r->nlocks > 0)
    snprintf(buf, cap, "%s {L0}", word);
  else
    snprintf(buf, cap, "%s 0x%lx", word, (unsigned long)addr);
}

static void lg_misuse_emit(lg_report_t *r) {
  if (r != NULL)
    lg_report_emit(r);
}

/* ---- one report per kind and call site (under lg_rt.mu) ---- */

#define LG_SEEN_SLOTS 4096
static uint64_t lg_seen[LG_SEEN_SLOTS];
static uint32_t lg_seen_used;

static int lg_misuse_first_time_locked(int type, uintptr_t pc) {
  uint64_t key = ((uint64_t)pc * 0x9e3779b97f4a7c15ull) ^ (uint64_t)type;
  if (key == 0)
    key = 1;
  if (lg_seen_used * 2 >= LG_SEEN_SLOTS)
    return 1; /* full: report every occurrence rather than hide any */
  for (uint32_t i = (uint32_t)(key >> 52) % LG_SEEN_SLOTS;; i = (i + 1) % LG_SEEN_SLOTS) {
    if (lg_seen[i] == key)
      return 0;
    if (lg_seen[i] == 0) {
      lg_seen[i] = key;
      lg_seen_used++;
      return 1;
    }
  }
}

/* ---- who holds a lock (under lg_rt.mu) ---- */

typedef struct lg_holder {
  lg_thread_t *th; /* NULL: nobody */
  lg_tid_t tid;
  lg_held_t h;     /* the entry, copied */
  uint32_t count;  /* holders seen (readers of an rwlock may be several) */
} lg_holder_t;

static int lg_entry_is(const lg_held_t *h, uintptr_t addr, uint64_t v) {
  return h->addr == addr &&
         (v == 0 || (h->id == (uint32_t)v && h->ver == ((uint32_t)(v >> 32) & LG_VER_MASK)));
}

/* The threads other than `skip` whose held stacks have the lock. */
static void lg_holders_find_locked(uintptr_t addr, uint64_t v, const lg_thread_t *skip,
                                   lg_holder_t *out) {
  memset(out, 0, sizeof *out);
  for (lg_thread_t *u = lg_rt.threads; u != NULL; u = u->next) {
    if (u == skip || u->exited)
      continue;
    /* The cap first: an array is stored before its cap, so this cap never exceeds it. */
    uint32_t cap = *(volatile uint32_t *)&u->cap;
    const lg_held_t *held = *(lg_held_t *const volatile *)&u->held;
    uint32_t d = *(volatile uint32_t *)&u->depth;
    if (d > cap)
      d = cap;
    for (uint32_t k = 0; k < d; k++) {
      if (!lg_entry_is(&held[k], addr, v))
        continue;
      if (out->count++ == 0) {
        out->th = u;
        out->tid = u->tid;
        out->h = held[k];
      }
      break;
    }
  }
}

/* Where the lock was last taken by a thread that released it since: an entry just above some
 * thread's top (the caller's own first). */
#define LG_LAST_WINDOW 8

static int lg_last_taken_locked(uintptr_t addr, uint64_t v, const lg_thread_t *self,
                                lg_holder_t *out) {
  memset(out, 0, sizeof *out);
  for (int pass = 0; pass < 2; pass++) {
    for (lg_thread_t *u = lg_rt.threads; u != NULL; u = u->next) {
      if ((pass == 0) != (u == self))
        continue;
      uint32_t cap = *(volatile uint32_t *)&u->cap; /* before the array: see above */
      const lg_held_t *held = *(lg_held_t *const volatile *)&u->held;
      uint32_t d = *(volatile uint32_t *)&u->depth;
      for (uint32_t k = d; k < cap && k < d + LG_LAST_WINDOW; k++)
        if (lg_entry_is(&held[k], addr, v)) {
          out->th = u;
          out->tid = u->tid;
          out->h = held[k];
          out->count = 1;
          return 1;
        }
    }
  }
  return 0;
}

/* The holder's held stack loses the lock the real call released: at its next slow path, so
 * its own thread does it (held stacks are written by their owner only). */
static void lg_foreign_release_locked(lg_thread_t *u, const lg_held_t *h) {
  lg_lock_t *node = lg_lock_at(h->id);
  if (h->kind == LG_KIND_MUTEX && atomic_load_explicit(&node->ver, memory_order_relaxed) == h->ver)
    atomic_fetch_or_explicit(&node->flags, LG_NODE_HANDOFF, memory_order_relaxed);
  uint32_t n = atomic_load_explicit(&u->nforeign, memory_order_relaxed);
  if (n == LG_FOREIGN_MAX)
    return; /* the entry stays: at worst the old behaviour, an order from a lock not held */
  u->foreign[n].id = h->id;
  u->foreign[n].ver = h->ver;
  atomic_store_explicit(&u->nforeign, n + 1, memory_order_relaxed);
}

void lg_misuse_drain_locked(lg_thread_t *t) {
  uint32_t n = atomic_load_explicit(&t->nforeign, memory_order_relaxed);
  for (uint32_t f = 0; f < n && f < LG_FOREIGN_MAX; f++)
    for (uint32_t i = 0; i < t->depth; i++) /* the oldest entry: a newer one is a retake */
      if (t->held[i].id == t->foreign[f].id && t->held[i].ver == t->foreign[f].ver) {
        lg_held_remove_at(t, i);
        break;
      }
  atomic_store_explicit(&t->nforeign, 0, memory_order_relaxed);
}

/* ---- recent destroys ----
 *
 * What a destroy leaves for a later report: where it was, by whom, of which lock instance.
 * A mutex's record is only ever read when a later call fails with EINVAL (glibc marks a
 * destroyed mutex), so its destroy pays for a store, not for an exchange: it goes into a ring
 * of the destroying thread's own (no other thread writes it, so no flag), and one word in a
 * shared index names the newest destroy of each address hash. An rwlock or spinlock leaves
 * nothing glibc can see, so its record is what tells a later use: those go into a table with
 * per-slot flags, read (and ended) by the acquisition's slow path, and ended by an init. */

typedef struct lg_destroy_rec {
  uintptr_t addr;
  uintptr_t first_pc;
  uint32_t id, ver;
  lg_tid_t tid;
  uint8_t kind;
  uintptr_t pcs[1 + LG_HELD_UP];
} lg_destroy_rec_t;

LG_INLINE void lg_destroy_rec_fill(lg_destroy_rec_t *r, lg_thread_t *t, uintptr_t addr,
                                   uint8_t kind, uint64_t dead, uintptr_t pc, uintptr_t fp) {
  uint32_t id = (uint32_t)dead;
  r->addr = addr;
  r->first_pc = id ? atomic_load_explicit(&lg_lock_at(id)->first_pc, memory_order_relaxed) : 0;
  r->id = id;
  r->ver = (uint32_t)(dead >> 32) & LG_VER_MASK;
  r->tid = t->tid;
  r->kind = kind;
  lg_misuse_walk(t, pc, fp, r->pcs);
}

/* Fibonacci hashing: the top bits of the product (a table of 2^bits slots). */
#define LG_DESTROY_HASH(addr, bits) \
  ((uint32_t)(((uint64_t)(addr) * 0x9e3779b97f4a7c15ull) >> (64 - (bits))))

/* -- mutexes: per-thread rings, and an index of the newest destroy per address hash -- */

#define LG_RING_LEN 256    /* destroys a thread's ring remembers */
#define LG_RINGS_MAX 65536 /* ring ids are 16 bits (0: none) */
#define LG_INDEX_BITS 13   /* 8192 index words */
#define LG_INDEX_N_BITS 48 /* an index word: ring id << 48 | the destroy's number in it */

typedef struct lg_ring_entry {
  /* 2n+1 while the ring's n-th destroy is written into it, 2n+2 once it is complete. */
  _Atomic uint64_t seq;
  lg_destroy_rec_t rec;
} lg_ring_entry_t;

typedef struct lg_ring {
  uint64_t n;      /* destroys written (by the owner only) */
  uint32_t id;     /* its index in lg_rings, for ever */
  int owned;       /* a thread writes it (under lg_rt.mu) */
  struct lg_ring *next_free;
  lg_ring_entry_t e[LG_RING_LEN];
} lg_ring_t;

/* Rings are never freed: an index word or a report may name one whose thread has exited. A
 * ring whose thread exited goes to the next thread that needs one, its entries still readable
 * until that thread's destroys overwrite them. */
static _Atomic(lg_ring_t *) lg_rings[LG_RINGS_MAX];
static uint32_t lg_rings_used;   /* under lg_rt.mu */
static lg_ring_t *lg_rings_free; /* under lg_rt.mu */
static int lg_warned_rings;
static __thread lg_ring_t *lg_ring_self __attribute__((tls_model("initial-exec")));
static __thread int lg_ring_refused __attribute__((tls_model("initial-exec")));
static _Atomic uint64_t lg_index[1u << LG_INDEX_BITS];

static _Atomic uint64_t *lg_index_at(uintptr_t addr) {
  return &lg_index[LG_DESTROY_HASH(addr, LG_INDEX_BITS)];
}

/* The calling thread's ring, taken from the free list or made; NULL when none can be had
 * (then its destroys are not remembered, and it does not ask again). Once per thread. */
__attribute__((noinline, cold)) static lg_ring_t *lg_ring_take(lg_thread_t *t) {
  if (lg_ring_refused)
    return NULL;
  int was = lg_guard_enter(t);
  lg_rt_lock();
  lg_ring_t *r = lg_rings_free;
  if (r != NULL) {
    lg_rings_free = r->next_free;
    r->owned = 1;
  }
  lg_rt_unlock();
  if (r == NULL && (r = lg_mem_alloc(sizeof *r)) != NULL) {
    lg_rt_lock();
    if (lg_rings_used + 1 < LG_RINGS_MAX) {
      r->id = ++lg_rings_used;
      r->owned = 1;
      atomic_store_explicit(&lg_rings[r->id], r, memory_order_release);
    } else {
      lg_mem_free(r, sizeof *r);
      r = NULL;
    }
    lg_rt_unlock();
  }
  if (r == NULL) {
    lg_ring_refused = 1;
    lg_warn_once(&lg_warned_rings, "no memory for a thread's record of destroyed locks; "
                                   "a use after its destroys is reported without the destroy");
  }
  lg_ring_self = r;
  lg_guard_leave(t, was);
  return r;
}

void lg_misuse_mutex_destroyed(lg_thread_t *t, uintptr_t addr, uint64_t dead, uintptr_t pc,
                               uintptr_t fp) {
  lg_ring_t *r = lg_ring_self;
  if (LG_UNLIKELY(r == NULL) && (r = lg_ring_take(t)) == NULL) {
    /* Not remembered: the index must not name an older destroy of this address instead. */
    atomic_store_explicit(lg_index_at(addr), 0, memory_order_relaxed);
    return;
  }
  uint64_t n = r->n;
  lg_ring_entry_t *e = &r->e[n % LG_RING_LEN];
  atomic_store_explicit(&e->seq, 2 * n + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release); /* a reader sees the odd seq before new fields */
  lg_destroy_rec_fill(&e->rec, t, addr, LG_KIND_MUTEX, dead, pc, fp);
  atomic_store_explicit(&e->seq, 2 * n + 2, memory_order_release);
  r->n = n + 1;
  atomic_store_explicit(lg_index_at(addr), (uint64_t)r->id << LG_INDEX_N_BITS | n,
                        memory_order_release);
}

/* The newest destroy of the mutex at addr, if the index still names it and its ring has not
 * overwritten it since (a seqlock read: the owner may be writing that very entry). */
static int lg_ring_find(uintptr_t addr, lg_destroy_rec_t *out) {
  uint64_t w = atomic_load_explicit(lg_index_at(addr), memory_order_acquire);
  lg_ring_t *r = w ? atomic_load_explicit(&lg_rings[w >> LG_INDEX_N_BITS], memory_order_acquire)
                   : NULL;
  if (r == NULL)
    return 0;
  uint64_t n = w & ((1ull << LG_INDEX_N_BITS) - 1);
  const lg_ring_entry_t *e = &r->e[n % LG_RING_LEN];
  if (atomic_load_explicit(&e->seq, memory_order_acquire) != 2 * n + 2)
    return 0;
  memcpy(out, &e->rec, sizeof *out);
  atomic_thread_fence(memory_order_acquire);
  return atomic_load_explicit(&e->seq, memory_order_relaxed) == 2 * n + 2 && out->addr == addr;
}

void lg_misuse_thread_exit_locked(void) {
  lg_ring_t *r = lg_ring_self;
  if (r == NULL)
    return;
  r->owned = 0;
  r->next_free = lg_rings_free;
  lg_rings_free = r;
  lg_ring_self = NULL;
}

/* Fork child: rings of threads that do not exist here go to the free list, their entries
 * kept (the child's memory has the mutexes they destroyed). One written at the fork keeps an
 * odd seq, so no reader takes it. */
static void lg_rings_after_fork_child(void) {
  for (uint32_t id = 1; id <= lg_rings_used; id++) {
    lg_ring_t *r = atomic_load_explicit(&lg_rings[id], memory_order_relaxed);
    if (r != NULL && r->owned && r != lg_ring_self) {
      r->owned = 0;
      r->next_free = lg_rings_free;
      lg_rings_free = r;
    }
  }
}

/* -- rwlocks and spinlocks: a direct-mapped table, one slot per address hash -- */

#define LG_DESTROYED_BITS 12 /* 4096 slots */
#define LG_DESTROYED_SLOTS (1u << LG_DESTROYED_BITS)

typedef struct lg_destroyed {
  _Atomic int busy;
  lg_destroy_rec_t rec; /* rec.addr 0: empty */
} lg_destroyed_t;

static lg_destroyed_t lg_destroyed[LG_DESTROYED_SLOTS];
/* Records in the table: a use after the destroy is only seen by looking here. */
_Atomic uint32_t lg_misuse_destroyed_unverified;
#define lg_destroyed_unverified lg_misuse_destroyed_unverified

static lg_destroyed_t *lg_destroyed_at(uintptr_t addr) {
  return &lg_destroyed[LG_DESTROY_HASH(addr, LG_DESTROYED_BITS)];
}

/* The slot of addr, its flag taken. */
static lg_destroyed_t *lg_destroyed_slot(uintptr_t addr) {
  lg_destroyed_t *s = lg_destroyed_at(addr);
  while (atomic_exchange_explicit(&s->busy, 1, memory_order_acquire))
    __builtin_ia32_pause();
  return s;
}

static void lg_destroyed_unlock(lg_destroyed_t *s) {
  atomic_store_explicit(&s->busy, 0, memory_order_release);
}

static void lg_destroyed_clear(lg_destroyed_t *s) {
  if (s->rec.addr != 0)
    atomic_fetch_sub_explicit(&lg_destroyed_unverified, 1, memory_order_relaxed);
  __atomic_store_n(&s->rec.addr, 0, __ATOMIC_RELAXED); /* read without the flag by forget */
}

/* Takes the record of addr into *out (the table forgets it); 0 when there is none. */
static int lg_destroyed_take(uintptr_t addr, lg_destroy_rec_t *out) {
  lg_destroyed_t *s = lg_destroyed_slot(addr);
  int found = s->rec.addr == addr;
  if (found) {
    *out = s->rec;
    lg_destroyed_clear(s);
  }
  lg_destroyed_unlock(s);
  return found;
}

static void lg_destroyed_put(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint64_t dead,
                             uintptr_t pc, uintptr_t fp) {
  /* One on the thread's own stack is left out: the next call's locals reuse the place and may
   * make a lock there with an initializer, which no wrapper sees. */
  if (t->stack_hi != 0 && addr < t->stack_hi && addr >= (uintptr_t)__builtin_frame_address(0))
    return;
  lg_destroy_rec_t rec;
  lg_destroy_rec_fill(&rec, t, addr, kind, dead, pc, fp);
  lg_destroyed_t *s = lg_destroyed_slot(addr);
  lg_destroyed_clear(s);
  s->rec = rec;
  atomic_fetch_add_explicit(&lg_destroyed_unverified, 1, memory_order_relaxed);
  lg_destroyed_unlock(s);
}

/* An init, or a mutex destroy, at addr: the memory holds another lock now. */
static void lg_destroyed_forget(uintptr_t addr) {
  if (__atomic_load_n(&lg_destroyed_at(addr)->rec.addr, __ATOMIC_RELAXED) != addr)
    return; /* the usual case: no record of this address */
  lg_destroyed_t *s = lg_destroyed_slot(addr);
  if (s->rec.addr == addr)
    lg_destroyed_clear(s);
  lg_destroyed_unlock(s);
}

/* ---- bad unlocks ---- */

void lg_misuse_release(lg_thread_t *t, uintptr_t addr, uint8_t kind, int rc, const char *op,
                       uintptr_t pc) {
  if (rc == 0 && lg_held_pop_slow(t, addr))
    return; /* an out-of-order release */
  lg_misuse_unlock(t, addr, kind, rc, op, pc);
}

void lg_misuse_unlock(lg_thread_t *t, uintptr_t addr, uint8_t kind, int rc, const char *op,
                      uintptr_t pc) {
  if (rc == EINVAL && kind == LG_KIND_MUTEX) {
    lg_misuse_lock_failed(t, addr, kind, rc, op, pc);
    return;
  }
  if (rc != 0 && rc != EPERM)
    return;
  int saved_errno = errno;
  int was = lg_guard_enter(t);
  int raw = kind == LG_KIND_MUTEX ? lg_mutex_kind_raw(addr) : 0;

  /* Who holds it, and the held-set fix-up, on every such unlock; the report once per site. */
  lg_rt_lock();
  uint64_t v = lg_lock_current_locked(addr);
  lg_holder_t holder, last;
  lg_holders_find_locked(addr, v, t, &holder);
  int have_last = holder.th == NULL && lg_last_taken_locked(addr, v, t, &last);
  if (rc == 0 && holder.th != NULL)
    lg_foreign_release_locked(holder.th, &holder.h);
  uintptr_t first_pc =
      v ? atomic_load_explicit(&lg_lock_at((uint32_t)v)->first_pc, memory_order_relaxed) : 0;
  int first = lg_misuse_first_time_locked(LG_REPORT_BAD_UNLOCK, pc);
  lg_rt_unlock();

  lg_report_t *r = NULL;
  if (first)
    r = lg_misuse_report_new(LG_REPORT_BAD_UNLOCK, addr, (uint32_t)v,
                             (uint32_t)(v >> 32) & LG_VER_MASK, kind, first_pc);
  if (r != NULL) {
    char lock[96];
    lg_misuse_lockref(lock, sizeof lock, r,
                      kind == LG_KIND_MUTEX ? lg_mutex_type_word(raw) : lg_kind_word(kind), addr);
    char *msg = r->message;
    size_t cap = sizeof r->message;
    const char *returned = rc == EPERM ? "; the call returned EPERM" : "";
    if (holder.th != NULL) {
      const char *mode = kind == LG_KIND_RWLOCK
                             ? (holder.h.mode == LG_MODE_READ ? " for reading" : " for writing")
                             : "";
      const char *why = rc == EPERM ? returned
                        : kind == LG_KIND_MUTEX
                            ? "; glibc lets it go all the same, POSIX leaves it undefined"
                            : "; the call released it all the same";
      snprintf(msg, cap, "%s unlocked by T%u, which does not hold it: T%u holds it%s%s", lock,
               t->tid, holder.tid, mode, why);
    } else if (kind == LG_KIND_MUTEX && (raw & 3) == PTHREAD_MUTEX_RECURSIVE && have_last &&
               last.th == t) {
      snprintf(msg, cap, "%s unlocked once more than it was locked by T%u%s", lock, t->tid,
               returned);
    } else if (kind == LG_KIND_RWLOCK) {
      snprintf(msg, cap,
               "%s unlocked by T%u, which holds it neither for reading nor for writing%s", lock,
               t->tid, returned);
    } else {
      snprintf(msg, cap, "%s unlocked by T%u, but it was not locked%s", lock, t->tid, returned);
    }
    lg_report_add_section(r, lg_misuse_stack_here(), "unlocked by T%u at", t->tid);
    if (holder.th != NULL)
      lg_report_add_section(r, lg_misuse_stack_of_held(&holder.h), "%s locked by T%u at",
                            r->nlocks ? "{L0}" : "it", holder.tid);
    else if (have_last)
      lg_report_add_section(r, lg_misuse_stack_of_held(&last.h),
                            "%s last locked by T%u (and released since) at",
                            r->nlocks ? "{L0}" : "it", last.tid);
  }
  lg_misuse_emit(r);
  lg_guard_leave(t, was);
  errno = saved_errno;
}

/* ---- destroyed and uninitialized locks ---- */

enum { LG_INVALID_DESTROYED, LG_INVALID_UNINIT, LG_INVALID_AFTER_DESTROY };

/* Reports a use (op) of the lock at addr that is destroyed or was never initialized; rec is
 * its destroy when known. `raw`: the mutex's kind word (LG_INVALID_UNINIT). */
static void lg_misuse_invalid_report(lg_thread_t *t, uintptr_t addr, uint8_t kind, int flavor,
                                     const lg_destroy_rec_t *rec, const char *op, int raw,
                                     uintptr_t pc) {
  lg_stack_t *here = lg_misuse_stack_here();
  lg_report_t *r = NULL;
  lg_rt_lock();
  if (lg_misuse_first_time_locked(LG_REPORT_INVALID, pc))
    r = lg_misuse_report_new(LG_REPORT_INVALID, addr, rec ? rec->id : 0, rec ? rec->ver : 0, kind,
                             rec ? rec->first_pc : 0);
  if (r != NULL) {
    char lock[96];
    lg_misuse_lockref(lock, sizeof lock, r, lg_kind_word(kind), addr);
    if (flavor == LG_INVALID_DESTROYED)
      snprintf(r->message, sizeof r->message,
               "%s on %s by T%u, destroyed by T%u; the call returned EINVAL", op, lock, t->tid,
               rec->tid);
    else if (flavor == LG_INVALID_UNINIT)
      snprintf(r->message, sizeof r->message,
               "%s on %s by T%u, which is not an initialized mutex%s; the call returned EINVAL",
               op, lock, t->tid, raw == -1 ? " (destroyed, or never initialized)" : "");
    else
      snprintf(r->message, sizeof r->message,
               "%s locked by T%u after T%u destroyed it and before any init (glibc lets it work, "
               "POSIX leaves it undefined)", lock, t->tid, rec->tid);
    lg_report_add_section(r, here, "used by T%u at", t->tid);
    here = NULL;
    if (rec != NULL)
      lg_report_add_section(r, lg_misuse_stack_of_pcs(rec->pcs, 1 + LG_HELD_UP),
                            "%s destroyed by T%u at", r->nlocks ? "{L0}" : "it", rec->tid);
  }
  lg_rt_unlock();
  if (here != NULL)
    lg_stack_free(here);
  lg_misuse_emit(r);
}

void lg_misuse_lock_failed(lg_thread_t *t, uintptr_t addr, uint8_t kind, int rc, const char *op,
                           uintptr_t pc) {
  if (rc != EINVAL || kind != LG_KIND_MUTEX)
    return;
  int raw = lg_mutex_kind_raw(addr);
  if (lg_mutex_kind_valid(raw))
    return; /* a mutex all right: the EINVAL is about something else (a timeout out of range) */
  int saved_errno = errno;
  int was = lg_guard_enter(t);
  lg_destroy_rec_t rec;
  int known = raw == -1 && lg_ring_find(addr, &rec);
  lg_misuse_invalid_report(t, addr, kind, known ? LG_INVALID_DESTROYED : LG_INVALID_UNINIT,
                           known ? &rec : NULL, op, raw, pc);
  lg_guard_leave(t, was);
  errno = saved_errno;
}

void lg_misuse_acquire_destroyed(lg_thread_t *t, uintptr_t addr, uint8_t kind, uintptr_t pc) {
  if (kind == LG_KIND_MUTEX)
    return;
  lg_destroy_rec_t rec;
  if (!lg_destroyed_take(addr, &rec))
    return;
  if (rec.kind != kind)
    return; /* the memory holds another kind of lock now: it was made anew */
  int saved_errno = errno;
  int was = lg_guard_enter(t);
  lg_misuse_invalid_report(t, addr, kind, LG_INVALID_AFTER_DESTROY, &rec, "", 0, pc);
  lg_guard_leave(t, was);
  errno = saved_errno;
}

/* ---- init and destroy of a held lock ---- */

/* Reports an init or destroy (name) of the lock at addr while some thread holds it. `locked`:
 * glibc says it is locked even if no tracked thread holds it. `dead`: the instance the real
 * call ended (0: look it up, it still lives). */
static void lg_misuse_report_held(lg_thread_t *t, uintptr_t addr, uint8_t kind, int op,
                                  const char *name, int rc, int locked, uint64_t dead,
                                  uintptr_t pc) {
  int type = op == LG_MISUSE_INIT ? LG_REPORT_INIT_HELD : LG_REPORT_DESTROY_HELD;
  lg_stack_t *here = lg_misuse_stack_here();
  lg_report_t *r = NULL;
  lg_rt_lock();
  uint64_t v = dead != 0 ? dead : lg_lock_current_locked(addr);
  lg_holder_t holder;
  lg_holders_find_locked(addr, v, NULL, &holder);
  if ((holder.th != NULL || locked) && lg_misuse_first_time_locked(type, pc)) {
    lg_lock_t *n = v ? lg_lock_at((uint32_t)v) : NULL;
    r = lg_misuse_report_new(type, addr, (uint32_t)v, (uint32_t)(v >> 32) & LG_VER_MASK, kind,
                             n ? atomic_load_explicit(&n->first_pc, memory_order_relaxed) : 0);
  }
  if (r != NULL) {
    char lock[96], who[64] = "", tail[96] = "";
    lg_misuse_lockref(lock, sizeof lock, r, lg_kind_word(kind), addr);
    if (holder.th != NULL)
      snprintf(who, sizeof who, " while T%u holds it%s", holder.tid,
               kind != LG_KIND_RWLOCK      ? ""
               : holder.h.mode == LG_MODE_READ ? " for reading"
                                               : " for writing");
    else
      snprintf(who, sizeof who, " while it is locked");
    if (rc == EBUSY)
      snprintf(tail, sizeof tail, "; the call returned EBUSY");
    else if (op == LG_MISUSE_DESTROY)
      snprintf(tail, sizeof tail, "; glibc destroys it all the same");
    else
      snprintf(tail, sizeof tail, "; the holder's lock state is lost");
    snprintf(r->message, sizeof r->message, "%s on %s by T%u%s%s", name, lock, t->tid, who, tail);
    lg_report_add_section(r, here, "%s by T%u at",
                          op == LG_MISUSE_INIT ? "initialized" : "destroyed", t->tid);
    here = NULL;
    if (holder.th != NULL)
      lg_report_add_section(r, lg_misuse_stack_of_held(&holder.h), "%s locked by T%u at",
                            r->nlocks ? "{L0}" : "it", holder.tid);
  }
  lg_rt_unlock();
  if (here != NULL)
    lg_stack_free(here);
  lg_misuse_emit(r);
}

void lg_misuse_lifecycle_slow(lg_thread_t *t, uintptr_t addr, uint8_t kind, int op, int rc,
                              uint64_t dead, const char *name, uintptr_t pc, uintptr_t fp) {
  int tabled = atomic_load_explicit(&lg_destroyed_unverified, memory_order_relaxed) != 0;
  int was = lg_guard_enter(t);
  if (op == LG_MISUSE_INIT) {
    if (dead != 0) /* a live lock initialized again: reported if some thread holds it */
      lg_misuse_report_held(t, addr, kind, op, name, rc, 0, dead, pc);
    if (rc == 0 && tabled)
      lg_destroyed_forget(addr);
  } else {
    /* EBUSY with the lock word free is no held lock: glibc's count of users went wrong with
     * an earlier unlock of an unlocked mutex, which was reported then. An rwlock's or
     * spinlock's memory is read only when it held a live lock (glibc's destroy does not touch
     * it, nor would it fault on a pointer the program got wrong). */
    int locked = (kind == LG_KIND_MUTEX ? rc == EBUSY : rc == 0 && dead != 0) &&
                 lg_lock_word_busy(addr, kind);
    if (locked)
      lg_misuse_report_held(t, addr, kind, op, name, rc, 1, dead, pc);
    if (rc == 0 && kind == LG_KIND_MUTEX) {
      lg_misuse_mutex_destroyed(t, addr, dead, pc, fp);
      if (tabled)
        lg_destroyed_forget(addr); /* an rwlock's or spinlock's record there is history */
    } else if (rc == 0) {
      lg_destroyed_put(t, addr, kind, dead, pc, fp);
    }
  }
  lg_guard_leave(t, was);
}

/* ---- condition variables ---- */

int lg_misuse_cond_unheld(lg_thread_t *t, uintptr_t cond, uintptr_t m, const char *op,
                          uintptr_t pc) {
  int saved_errno = errno;
  int was = lg_guard_enter(t);
  int raw = lg_mutex_kind_raw(m);
  lg_destroy_rec_t rec;
  int known = raw == -1 && lg_ring_find(m, &rec);

  /* What it is and who holds it, and the held-set fix-up, on every such wait; the report once
   * per site. */
  lg_rt_lock();
  uint64_t v = lg_lock_current_locked(m);
  uint8_t vkind = (uint8_t)((v >> 56) & 0xf);
  int not_mutex = v != 0 && vkind != LG_KIND_MUTEX; /* an rwlock or spinlock passed as one */
  int valid = !not_mutex && lg_mutex_kind_valid(raw);
  int retake = valid && lg_mutex_unchecked(raw);
  lg_holder_t holder = {0};
  if (valid)
    lg_holders_find_locked(m, v, t, &holder);
  if (retake && holder.th != NULL) /* glibc's wait releases it: the holder does not hold it */
    lg_foreign_release_locked(holder.th, &holder.h);
  uintptr_t first_pc =
      v ? atomic_load_explicit(&lg_lock_at((uint32_t)v)->first_pc, memory_order_relaxed) : 0;
  int first = lg_misuse_first_time_locked(LG_REPORT_CONDVAR, pc);
  lg_rt_unlock();

  lg_report_t *r = NULL;
  if (first && not_mutex) {
    r = lg_misuse_report_new(LG_REPORT_CONDVAR, m, (uint32_t)v, (uint32_t)(v >> 32) & LG_VER_MASK,
                             vkind, first_pc);
    if (r != NULL) {
      snprintf(r->message, sizeof r->message,
               "%s on condition variable 0x%lx by T%u with %s {L0}, which is not a mutex", op,
               (unsigned long)cond, t->tid, lg_kind_word(vkind));
      lg_report_add_section(r, lg_misuse_stack_here(), "waited by T%u at", t->tid);
    }
  } else if (first && !valid) {
    r = lg_misuse_report_new(LG_REPORT_CONDVAR, m, known ? rec.id : 0, known ? rec.ver : 0,
                             LG_KIND_MUTEX, known ? rec.first_pc : 0);
    if (r != NULL) {
      char lock[96];
      lg_misuse_lockref(lock, sizeof lock, r, "mutex", m);
      snprintf(r->message, sizeof r->message,
               "%s on condition variable 0x%lx by T%u with %s, which is not an initialized mutex%s",
               op, (unsigned long)cond, t->tid, lock,
               known ? " (destroyed)" : raw == -1 ? " (destroyed, or never initialized)" : "");
      lg_report_add_section(r, lg_misuse_stack_here(), "waited by T%u at", t->tid);
      if (known)
        lg_report_add_section(r, lg_misuse_stack_of_pcs(rec.pcs, 1 + LG_HELD_UP),
                              "%s destroyed by T%u at", r->nlocks ? "{L0}" : "it", rec.tid);
    }
  } else if (first) {
    r = lg_misuse_report_new(LG_REPORT_CONDVAR, m, (uint32_t)v, (uint32_t)(v >> 32) & LG_VER_MASK,
                             LG_KIND_MUTEX, first_pc);
    if (r != NULL) {
      char lock[96], who[48] = "";
      lg_misuse_lockref(lock, sizeof lock, r, lg_mutex_type_word(raw), m);
      if (holder.th != NULL)
        snprintf(who, sizeof who, ": T%u does", holder.tid);
      snprintf(r->message, sizeof r->message,
               "%s on condition variable 0x%lx by T%u with %s, which T%u does not hold%s%s", op,
               (unsigned long)cond, t->tid, lock, t->tid, who,
               retake ? "; glibc releases it all the same and gives it to the waiter"
                      : "; the call returns EPERM");
      lg_report_add_section(r, lg_misuse_stack_here(), "waited by T%u at", t->tid);
      if (holder.th != NULL)
        lg_report_add_section(r, lg_misuse_stack_of_held(&holder.h), "%s locked by T%u at",
                              r->nlocks ? "{L0}" : "it", holder.tid);
    }
  }
  lg_misuse_emit(r);
  lg_guard_leave(t, was);
  errno = saved_errno;
  return retake;
}

/* Waited condition variables: the mutex their waiters use, while any wait. Direct-mapped; a
 * condition variable whose slot another one uses at that moment is not checked. */
#define LG_CV_SLOTS 1024

typedef struct lg_cv_slot {
  _Atomic int busy;
  uintptr_t cond, mutex;
  uint32_t waiters;
  lg_tid_t tid;                  /* a thread waiting with `mutex` */
  uintptr_t pcs[1 + LG_HELD_UP]; /* and where */
} lg_cv_slot_t;

static lg_cv_slot_t lg_cv[LG_CV_SLOTS];

static lg_cv_slot_t *lg_cv_lock(uintptr_t cond) {
  uint64_t x = (uint64_t)cond >> 4;
  x ^= x >> 17;
  x *= 0x9e3779b97f4a7c15ull;
  lg_cv_slot_t *s = &lg_cv[(x >> 40) % LG_CV_SLOTS];
  while (atomic_exchange_explicit(&s->busy, 1, memory_order_acquire))
    __builtin_ia32_pause();
  return s;
}

static void lg_cv_unlock(lg_cv_slot_t *s) {
  atomic_store_explicit(&s->busy, 0, memory_order_release);
}

int lg_misuse_cond_enter(lg_thread_t *t, uintptr_t cond, uintptr_t m, const char *op, uintptr_t pc,
                         uintptr_t cfa, uintptr_t fp) {
  (void)cfa;
  lg_cv_slot_t *s = lg_cv_lock(cond);
  if (s->waiters == 0 || s->cond == cond) {
    if (s->waiters == 0 || s->mutex == m) {
      if (s->waiters++ == 0) {
        s->cond = cond;
        s->mutex = m;
        s->tid = t->tid;
        lg_misuse_walk(t, pc, fp, s->pcs);
      }
      lg_cv_unlock(s);
      return 1;
    }
    /* Another mutex while others wait: report, and leave the slot to them. */
    uintptr_t other = s->mutex, pcs[1 + LG_HELD_UP];
    lg_tid_t other_tid = s->tid;
    memcpy(pcs, s->pcs, sizeof pcs);
    lg_cv_unlock(s);
    int saved_errno = errno;
    int was = lg_guard_enter(t);
    lg_stack_t *here = lg_misuse_stack_here();
    lg_report_t *r = NULL;
    lg_rt_lock();
    if (lg_misuse_first_time_locked(LG_REPORT_CONDVAR, pc)) {
      uint64_t v = lg_lock_current_locked(m), w = lg_lock_current_locked(other);
      r = lg_report_new(LG_REPORT_CONDVAR);
      if (r != NULL) {
        r->ends_run = lg_rt.opt.halt_on_error != 0;
        char mine[48], theirs[48];
        if (v != 0) {
          lg_report_add_lock(r, (uint32_t)v, (uint32_t)(v >> 32) & LG_VER_MASK, m, LG_KIND_MUTEX,
                             atomic_load_explicit(&lg_lock_at((uint32_t)v)->first_pc,
                                                  memory_order_relaxed));
          snprintf(mine, sizeof mine, "{L%u}", r->nlocks - 1);
        } else {
          snprintf(mine, sizeof mine, "0x%lx", (unsigned long)m);
        }
        if (w != 0) {
          lg_report_add_lock(r, (uint32_t)w, (uint32_t)(w >> 32) & LG_VER_MASK, other,
                             LG_KIND_MUTEX,
                             atomic_load_explicit(&lg_lock_at((uint32_t)w)->first_pc,
                                                  memory_order_relaxed));
          snprintf(theirs, sizeof theirs, "{L%u}", r->nlocks - 1);
        } else {
          snprintf(theirs, sizeof theirs, "0x%lx", (unsigned long)other);
        }
        snprintf(r->message, sizeof r->message,
                 "%s on condition variable 0x%lx by T%u with mutex %s, while T%u waits on it with "
                 "mutex %s (one condition variable, one mutex at a time)",
                 op, (unsigned long)cond, t->tid, mine, other_tid, theirs);
        lg_report_add_section(r, here, "T%u waits with mutex %s at", t->tid, mine);
        here = NULL;
        lg_report_add_section(r, lg_misuse_stack_of_pcs(pcs, 1 + LG_HELD_UP),
                              "T%u waits with mutex %s at", other_tid, theirs);
      }
    }
    lg_rt_unlock();
    if (here != NULL)
      lg_stack_free(here);
    lg_misuse_emit(r);
    lg_guard_leave(t, was);
    errno = saved_errno;
    return 0;
  }
  lg_cv_unlock(s); /* the slot serves another condition variable now */
  return 0;
}

void lg_misuse_cond_leave(uintptr_t cond, int token) {
  if (!token)
    return;
  lg_cv_slot_t *s = lg_cv_lock(cond);
  if (s->cond == cond && s->waiters > 0)
    s->waiters--;
  lg_cv_unlock(s);
}

void lg_misuse_after_fork_child(void) {
  for (size_t i = 0; i < LG_DESTROYED_SLOTS; i++)
    atomic_store_explicit(&lg_destroyed[i].busy, 0, memory_order_relaxed);
  lg_rings_after_fork_child();
  memset(lg_cv, 0, sizeof lg_cv);
}
