/* mem.c - lockgraph's own allocator: anonymous mmap carved into power-of-two size classes.
 *
 * Why not malloc: the detector runs inside pthread wrappers and before main, where the
 * program's allocator may take a lock we are tracing. So every byte comes from mmap.
 *
 * Layout: blocks up to LG_MEM_MAX_SMALL bytes come from per-class chunks, handed out with a
 * bump pointer and recycled through per-class free stacks; bigger blocks are their own
 * mapping (and grow with mremap, which moves pages instead of copying them). No headers:
 * lg_mem_free is told the size, which names the class.
 *
 * Concurrency: the free stacks are pushed lock-free (any thread, any signal handler) and
 * popped only under a tiny spinlock, so there is a single consumer and no ABA. A signal
 * handler that interrupts its own thread inside the spinlock must not spin on it: it maps
 * a fresh page instead (see mem_alloc_reentrant).
 *
 * Under Valgrind, client requests describe each block as a heap block, so memcheck sees
 * overruns, use after free and leaks in the detector's own data structures.
 */
#define _GNU_SOURCE
#include "mem.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define LG_MEM_VALGRIND 1
#endif
#endif
#ifndef LG_MEM_VALGRIND
#define VALGRIND_MALLOCLIKE_BLOCK(p, size, rz, zeroed) ((void)0)
#define VALGRIND_FREELIKE_BLOCK(p, rz) ((void)0)
#define VALGRIND_RESIZEINPLACE_BLOCK(p, old, new, rz) ((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(p, n) ((void)0)
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)0)
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)0)
#endif

#define LG_MEM_MIN_SHIFT 4 /* 16 bytes: room for the free-stack link, and 16-byte alignment */
#define LG_MEM_MAX_SHIFT 16
#define LG_MEM_MAX_SMALL ((size_t)1 << LG_MEM_MAX_SHIFT)
#define LG_MEM_CLASSES (LG_MEM_MAX_SHIFT - LG_MEM_MIN_SHIFT + 1)
#define LG_MEM_CHUNK ((size_t)1 << 20) /* per-class refill; mapped lazily, touched as used */

typedef struct mem_free_block {
  struct mem_free_block *next;
} mem_free_block_t;

typedef struct mem_class {
  _Atomic(mem_free_block_t *) free_top; /* pushed by anyone, popped under mem_lock */
  char *bump;                           /* under mem_lock */
  char *bump_end;
  char *populated;                      /* [chunk, populated) is backed by pages */
} mem_class_t;

static mem_class_t mem_classes[LG_MEM_CLASSES];
static atomic_int mem_lock;
static atomic_size_t mem_mapped;

/* Set while this thread holds mem_lock; a signal handler on the same thread sees it and
 * must not spin. initial-exec: the detector is preloaded, so static TLS is available, and
 * the general-dynamic model could call malloc on first access. */
static __thread volatile int mem_lock_held __attribute__((tls_model("initial-exec")));

static size_t mem_page_size(void) {
  static atomic_size_t cached;
  size_t p = atomic_load_explicit(&cached, memory_order_relaxed);
  if (p == 0) {
    long s = sysconf(_SC_PAGESIZE);
    p = s > 0 ? (size_t)s : 4096;
    atomic_store_explicit(&cached, p, memory_order_relaxed);
  }
  return p;
}

static size_t mem_round_pages(size_t size) {
  size_t page = mem_page_size();
  return (size + page - 1) & ~(page - 1);
}

static void *mem_map(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  atomic_fetch_add_explicit(&mem_mapped, len, memory_order_relaxed);
  return p;
}

/* Pages are taken a window at a time rather than one fault per page: a program learning
 * many locks fills whole chunks, and on a virtual machine each fault costs microseconds. */
#define LG_MEM_POPULATE ((size_t)16 << 10)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static _Atomic int mem_populate_off; /* the kernel has no MADV_POPULATE_WRITE */

static void mem_populate(void *p, size_t len) {
  if (len == 0 || atomic_load_explicit(&mem_populate_off, memory_order_relaxed))
    return;
  if (madvise(p, len, MADV_POPULATE_WRITE) != 0)
    atomic_store_explicit(&mem_populate_off, 1, memory_order_relaxed); /* faults will do */
}

static void mem_unmap(void *p, size_t len) {
  if (munmap(p, len) == 0)
    atomic_fetch_sub_explicit(&mem_mapped, len, memory_order_relaxed);
}

static void mem_lock_acquire(void) {
  /* Raised before trying, lowered after releasing: a signal arriving anywhere in between
   * takes the reentrant path instead of waiting for a lock its own thread may hold. */
  mem_lock_held = 1;
  atomic_signal_fence(memory_order_seq_cst);
  unsigned spins = 0;
  for (;;) {
    if (atomic_load_explicit(&mem_lock, memory_order_relaxed) == 0 &&
        atomic_exchange_explicit(&mem_lock, 1, memory_order_acquire) == 0)
      break;
    if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      /* The holder may be descheduled (2 cores, many threads): let it run. */
      sched_yield();
      spins = 0;
    }
  }
}

static void mem_lock_release(void) {
  atomic_store_explicit(&mem_lock, 0, memory_order_release);
  atomic_signal_fence(memory_order_seq_cst);
  mem_lock_held = 0;
}

/* Class index for a small size (size <= LG_MEM_MAX_SMALL). */
static unsigned mem_class_of(size_t size) {
  if (size <= ((size_t)1 << LG_MEM_MIN_SHIFT))
    return 0;
  unsigned bits = (unsigned)(sizeof(unsigned long) * 8) - (unsigned)__builtin_clzl(size - 1);
  return bits - LG_MEM_MIN_SHIFT;
}

static size_t mem_class_size(unsigned c) {
  return (size_t)1 << (c + LG_MEM_MIN_SHIFT);
}

/* Pushes the chain first..last (already linked) onto a class's free stack; lock-free. */
static void mem_push_chain(mem_class_t *mc, mem_free_block_t *first, mem_free_block_t *last) {
  mem_free_block_t *top = atomic_load_explicit(&mc->free_top, memory_order_relaxed);
  do {
    last->next = top;
  } while (!atomic_compare_exchange_weak_explicit(&mc->free_top, &top, first,
                                                  memory_order_release, memory_order_relaxed));
}

/* A signal handler interrupted this thread while it held mem_lock: spinning would never end.
 * Map fresh memory, keep one block, and give the rest of the mapping to the free stack
 * (pushing is lock-free), so nothing is wasted. */
static void *mem_alloc_reentrant(unsigned c) {
  size_t bs = mem_class_size(c);
  size_t len = mem_round_pages(bs);
  char *base = mem_map(len);
  if (base == NULL)
    return NULL;
  VALGRIND_MAKE_MEM_NOACCESS(base, len);
  size_t n = len / bs;
  if (n > 1) {
    for (size_t i = 1; i < n; i++) {
      mem_free_block_t *b = (mem_free_block_t *)(base + i * bs);
      VALGRIND_MAKE_MEM_UNDEFINED(b, sizeof *b);
      b->next = i + 1 < n ? (mem_free_block_t *)(base + (i + 1) * bs) : NULL;
    }
    mem_push_chain(&mem_classes[c], (mem_free_block_t *)(base + bs),
                   (mem_free_block_t *)(base + (n - 1) * bs));
  }
  return base;
}

/* A block of class c, not yet zeroed when it comes from the free stack (*dirty set). */
static void *mem_alloc_small(unsigned c, int *dirty) {
  mem_class_t *mc = &mem_classes[c];
  size_t bs = mem_class_size(c);
  void *p = NULL;

  if (mem_lock_held)
    return mem_alloc_reentrant(c);
  mem_lock_acquire();
  mem_free_block_t *top = atomic_load_explicit(&mc->free_top, memory_order_acquire);
  while (top != NULL) {
    /* Only this (locked) consumer pops, so top cannot be popped and pushed back meanwhile. */
    mem_free_block_t *next = top->next;
    if (atomic_compare_exchange_weak_explicit(&mc->free_top, &top, next, memory_order_acquire,
                                              memory_order_acquire)) {
      p = top;
      *dirty = 1;
      break;
    }
  }
  if (p == NULL) {
    if (mc->bump == NULL || (size_t)(mc->bump_end - mc->bump) < bs) {
      size_t len = LG_MEM_CHUNK;
      char *chunk = mem_map(len);
      if (chunk == NULL) {
        mem_lock_release();
        return NULL;
      }
      VALGRIND_MAKE_MEM_NOACCESS(chunk, len);
      /* The old chunk's tail is smaller than a block of this class; it stays unused. */
      mc->bump = chunk;
      mc->bump_end = chunk + len;
      mc->populated = chunk;
    }
    p = mc->bump;
    mc->bump += bs;
    if (mc->bump > mc->populated) {
      size_t ahead = (size_t)(mc->bump_end - mc->populated);
      size_t want = (size_t)(mc->bump - mc->populated) + LG_MEM_POPULATE;
      want = (want + LG_MEM_POPULATE - 1) & ~(LG_MEM_POPULATE - 1);
      if (want > ahead)
        want = ahead;
      mem_populate(mc->populated, want);
      mc->populated += want;
    }
    *dirty = 0;
  }
  mem_lock_release();
  return p;
}

/* A block above the size classes: a mapping of its own, its pages made at once (tables and
 * arrays, used whole) or as they are first touched (an arena's chunk, filled a piece at a
 * time: a process that never needs most of it never pays for it). */
static void *mem_alloc_large(size_t size, int populate) {
  if (size > SIZE_MAX - mem_page_size())
    return NULL;
  void *p = mem_map(mem_round_pages(size));
  if (p != NULL) {
    if (populate)
      mem_populate(p, mem_round_pages(size));
    VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, 1);
  }
  return p;
}

void *lg_mem_alloc_arena(size_t size) {
  return size > LG_MEM_MAX_SMALL ? mem_alloc_large(size, 0) : lg_mem_alloc(size);
}

void *lg_mem_alloc(size_t size) {
  if (size == 0)
    size = 1;
  if (size > LG_MEM_MAX_SMALL)
    return mem_alloc_large(size, 1);
  int dirty = 0;
  void *p = mem_alloc_small(mem_class_of(size), &dirty);
  if (p == NULL)
    return NULL;
  VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, !dirty);
  if (dirty)
    memset(p, 0, size);
  return p;
}

void lg_mem_free(void *p, size_t size) {
  if (p == NULL)
    return;
  if (size == 0)
    size = 1;
  VALGRIND_FREELIKE_BLOCK(p, 0);
  if (size > LG_MEM_MAX_SMALL) {
    mem_unmap(p, mem_round_pages(size));
    return;
  }
  mem_free_block_t *b = p;
  VALGRIND_MAKE_MEM_UNDEFINED(b, sizeof *b);
  mem_push_chain(&mem_classes[mem_class_of(size)], b, b);
}

void *lg_mem_realloc(void *p, size_t old_size, size_t new_size) {
  if (p == NULL)
    return lg_mem_alloc(new_size);
  if (old_size == 0)
    old_size = 1;
  if (new_size == 0)
    new_size = 1;

  int old_small = old_size <= LG_MEM_MAX_SMALL;
  int new_small = new_size <= LG_MEM_MAX_SMALL;
  if ((old_small && new_small && mem_class_of(old_size) == mem_class_of(new_size)) ||
      (!old_small && !new_small && mem_round_pages(old_size) == mem_round_pages(new_size))) {
    VALGRIND_RESIZEINPLACE_BLOCK(p, old_size, new_size, 0);
    if (new_size > old_size)
      memset((char *)p + old_size, 0, new_size - old_size);
    return p;
  }
  if (!old_small && !new_small) {
    if (new_size > SIZE_MAX - mem_page_size())
      return NULL;
    size_t old_len = mem_round_pages(old_size), new_len = mem_round_pages(new_size);
    /* Valgrind tracks the heap block by address: retire it before the pages move. */
    VALGRIND_FREELIKE_BLOCK(p, 0);
    void *q = mremap(p, old_len, new_len, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) {
      VALGRIND_MALLOCLIKE_BLOCK(p, old_size, 0, 1);
      return NULL;
    }
    if (new_len > old_len) {
      atomic_fetch_add_explicit(&mem_mapped, new_len - old_len, memory_order_relaxed);
      mem_populate((char *)q + old_len, new_len - old_len);
    }
    else
      atomic_fetch_sub_explicit(&mem_mapped, old_len - new_len, memory_order_relaxed);
    VALGRIND_MALLOCLIKE_BLOCK(q, new_size, 0, 1);
    /* Pages past old_len are fresh zeroes; the old last page may hold bytes from before a
     * shrink. */
    if (new_size > old_size)
      memset((char *)q + old_size, 0, (new_len < old_len ? new_len : old_len) - old_size);
    return q;
  }
  void *q = lg_mem_alloc(new_size);
  if (q == NULL)
    return NULL;
  memcpy(q, p, old_size < new_size ? old_size : new_size);
  lg_mem_free(p, old_size);
  return q;
}

size_t lg_mem_mapped_bytes(void) {
  return atomic_load_explicit(&mem_mapped, memory_order_relaxed);
}

void lg_mem_fork_prepare(void) {
  mem_lock_acquire();
}

void lg_mem_fork_parent(void) {
  mem_lock_release();
}

void lg_mem_fork_child(void) {
  mem_lock_release();
}
