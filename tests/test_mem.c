/* test_mem.c - lockgraph's mmap allocator: zeroing, realloc, threads, signal handlers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

static int all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0)
      return 0;
  return 1;
}

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(seed + i * 7);
}

static int check(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(seed + i * 7))
      return 0;
  return 1;
}

Test(mem, every_size_is_zeroed_even_when_reused) {
  static const size_t sizes[] = {1, 8, 15, 16, 17, 100, 1000, 4096, 4097, 65535, 65536, 65537,
                                 200000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    for (int round = 0; round < 3; round++) {
      unsigned char *p = lg_mem_alloc(n);
      cr_assert_not_null(p, "size %zu", n);
      cr_assert(all_zero(p, n), "size %zu round %d not zeroed", n, round);
      cr_assert_eq((uintptr_t)p % 16, 0, "size %zu not 16-byte aligned", n);
      memset(p, 0xa5, n); /* dirty it for the next round, which may get it back */
      lg_mem_free(p, n);
    }
  }
}

/* A block of up to a page is aligned to its power-of-two size class: the edge table keeps a 64-byte
 * record's address shifted right by 6 (edges.c). Fresh, reused and mixed with other sizes. */
Test(mem, small_blocks_are_aligned_to_their_class) {
  enum { N = 200 };
  static void *blocks[N];
  for (size_t size = 16; size <= 4096; size *= 2) {
    for (unsigned i = 0; i < N; i++) {
      size_t n = i % 3 ? size : size / 2 + 1; /* same class: (size/2, size] */
      blocks[i] = lg_mem_alloc(n);
      cr_assert_not_null(blocks[i]);
      cr_assert_eq((uintptr_t)blocks[i] % size, 0, "a %zu-byte block at %p", n, blocks[i]);
    }
    for (unsigned i = 0; i < N; i += 2) /* half go back and come out again */
      lg_mem_free(blocks[i], i % 3 ? size : size / 2 + 1);
    for (unsigned i = 0; i < N; i += 2) {
      blocks[i] = lg_mem_alloc(size);
      cr_assert_eq((uintptr_t)blocks[i] % size, 0, "a reused %zu-byte block at %p", size, blocks[i]);
    }
    for (unsigned i = 0; i < N; i++)
      lg_mem_free(blocks[i], i % 2 == 0 || i % 3 ? size : size / 2 + 1);
  }
}

Test(mem, distinct_blocks_do_not_overlap) {
  enum { N = 3000 };
  static unsigned char *blocks[N];
  for (unsigned i = 0; i < N; i++) {
    size_t n = 1 + (i * 37) % 3000;
    blocks[i] = lg_mem_alloc(n);
    cr_assert_not_null(blocks[i]);
    fill(blocks[i], n, i);
  }
  for (unsigned i = 0; i < N; i++) {
    size_t n = 1 + (i * 37) % 3000;
    cr_assert(check(blocks[i], n, i), "block %u was overwritten", i);
    lg_mem_free(blocks[i], n);
  }
}

Test(mem, realloc_keeps_contents_and_zeroes_new_bytes) {
  size_t n = 8;
  unsigned char *p = lg_mem_alloc(n);
  fill(p, n, 3);
  /* Small to small, across classes, into large, large to large (mremap). */
  while (n < (4u << 20)) {
    size_t m = n * 3 + 5;
    unsigned char *q = lg_mem_realloc(p, n, m);
    cr_assert_not_null(q, "%zu -> %zu", n, m);
    cr_assert(check(q, n, 3), "contents lost growing %zu -> %zu", n, m);
    cr_assert(all_zero(q + n, m - n), "new bytes not zeroed growing %zu -> %zu", n, m);
    fill(q, m, 3);
    p = q;
    n = m;
  }
  /* Shrinking keeps the prefix; growing again must not bring back the old tail. */
  size_t sizes[] = {3000000, 70000, 50000, 100, 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t m = sizes[i];
    unsigned char *q = lg_mem_realloc(p, n, m);
    cr_assert_not_null(q);
    cr_assert(check(q, m, 3), "contents lost shrinking %zu -> %zu", n, m);
    size_t grown = m + m / 2 + 1;
    unsigned char *r = lg_mem_realloc(q, m, grown);
    cr_assert_not_null(r);
    cr_assert(check(r, m, 3));
    cr_assert(all_zero(r + m, grown - m), "stale bytes after shrink %zu then grow to %zu", m,
              grown);
    p = lg_mem_realloc(r, grown, m);
    n = m;
  }
  lg_mem_free(p, n);
}

Test(mem, realloc_of_null_allocates_and_free_of_null_is_harmless) {
  unsigned char *p = lg_mem_realloc(NULL, 0, 40);
  cr_assert_not_null(p);
  cr_expect(all_zero(p, 40));
  lg_mem_free(p, 40);
  lg_mem_free(NULL, 123);
}

Test(mem, large_blocks_are_mapped_and_unmapped) {
  size_t before = lg_mem_mapped_bytes();
  size_t n = 8u << 20;
  unsigned char *p = lg_mem_alloc(n);
  cr_assert_not_null(p);
  cr_expect_geq(lg_mem_mapped_bytes(), before + n);
  p[n - 1] = 1;
  lg_mem_free(p, n);
  cr_expect_eq(lg_mem_mapped_bytes(), before, "a large block goes straight back to the kernel");
}

/* Pages of [p, p + n) the kernel has made (mincore). */
static size_t resident_pages(const void *p, size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = (n + page - 1) / page, count = 0;
  unsigned char vec[512];
  cr_assert_leq(pages, sizeof vec);
  cr_assert_eq(mincore((void *)p, n, vec), 0, "mincore: %s", strerror(errno));
  for (size_t i = 0; i < pages; i++)
    count += vec[i] & 1;
  return count;
}

Test(mem, a_table_is_made_whole_and_an_arena_as_it_is_touched) {
  size_t n = 1u << 20, page = (size_t)sysconf(_SC_PAGESIZE);
  unsigned char *table = lg_mem_alloc(n), *arena = lg_mem_alloc_arena(n);
  cr_assert_not_null(table);
  cr_assert_not_null(arena);
  if (!RUNNING_ON_VALGRIND) /* the kernel may lack MADV_POPULATE_WRITE: then neither is */
    cr_expect(resident_pages(table, n) == n / page || resident_pages(table, n) == 0);
  cr_expect_eq(resident_pages(arena, n), 0, "an arena's chunk is not made before it is used");
  arena[3 * page] = 1;
  cr_expect_eq(resident_pages(arena, n), 1);
  cr_expect(all_zero(arena, 3 * page) && all_zero(arena + 3 * page + 1, n - 3 * page - 1));
  lg_mem_free(table, n);
  lg_mem_free(arena, n);
  unsigned char *small = lg_mem_alloc_arena(100); /* within the classes: lg_mem_alloc's */
  cr_assert_not_null(small);
  cr_expect(all_zero(small, 100));
  lg_mem_free(small, 100);
}

/* ---- threads ---- */

typedef struct worker_arg {
  unsigned id;
  int ok;
} worker_arg_t;

static void *worker_churn(void *argp) {
  worker_arg_t *arg = argp;
  enum { LIVE = 64 };
  unsigned char *live[LIVE] = {0};
  size_t size[LIVE] = {0};
  uint32_t x = arg->id * 2654435761u + 1;
  arg->ok = 1;
  for (int i = 0; i < 40000; i++) {
    x = x * 1664525u + 1013904223u;
    unsigned slot = (x >> 8) % LIVE;
    if (live[slot] != NULL) {
      if (!check(live[slot], size[slot], arg->id + slot))
        arg->ok = 0;
      lg_mem_free(live[slot], size[slot]);
    }
    size[slot] = 1 + (x >> 16) % ((x & 1) ? 200 : 5000);
    live[slot] = lg_mem_alloc(size[slot]);
    if (live[slot] == NULL || !all_zero(live[slot], size[slot])) {
      arg->ok = 0;
      size[slot] = 0;
      continue;
    }
    fill(live[slot], size[slot], arg->id + slot);
  }
  for (unsigned s = 0; s < LIVE; s++)
    lg_mem_free(live[s], size[s]);
  return NULL;
}

Test(mem, threads_allocate_and_free_concurrently, .timeout = 60) {
  enum { T = 4 };
  pthread_t th[T];
  worker_arg_t args[T];
  for (unsigned i = 0; i < T; i++) {
    args[i] = (worker_arg_t){i + 1, 0};
    cr_assert_eq(pthread_create(&th[i], NULL, worker_churn, &args[i]), 0);
  }
  for (unsigned i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    cr_expect(args[i].ok, "thread %u saw a block it did not write, or unzeroed memory", i);
  }
}

/* ---- signal handlers ---- */

static atomic_int handled;
static sem_t handled_sem; /* sem_post is async-signal-safe: the handler's "done" */
static atomic_int handler_bad;
static atomic_int churn_stop;

static void on_signal(int sig) {
  (void)sig;
  unsigned char *p = lg_mem_alloc(48);
  if (p == NULL || !all_zero(p, 48))
    atomic_store(&handler_bad, 1);
  if (p != NULL) {
    memset(p, 0x5a, 48);
    lg_mem_free(p, 48);
  }
  atomic_fetch_add(&handled, 1);
  sem_post(&handled_sem);
}

static void *worker_alloc_loop(void *unused) {
  (void)unused;
  while (!atomic_load(&churn_stop)) {
    void *p = lg_mem_alloc(48);
    lg_mem_free(p, 48);
  }
  return NULL;
}

Test(mem, signal_handler_may_allocate_while_its_thread_is_inside, .timeout = 30) {
  /* Signals land at random points of a thread that does nothing but allocate, so many land
   * while it holds the allocator's lock. Spinning there would hang (the timeout fails it). */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
  cr_assert_eq(sem_init(&handled_sem, 0, 0), 0);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, worker_alloc_loop, NULL), 0);
  /* Valgrind delivers signals slowly; fewer still land inside the lock many times. */
  const int signals = RUNNING_ON_VALGRIND ? 40 : 3000;
  for (int i = 0; i < signals; i++) {
    cr_assert_eq(pthread_kill(th, SIGUSR1), 0);
    while (sem_wait(&handled_sem) != 0)
      cr_assert_eq(errno, EINTR);
  }
  atomic_store(&churn_stop, 1);
  pthread_join(th, NULL);
  cr_expect_not(atomic_load(&handler_bad), "a handler got unzeroed memory or none");
  cr_expect_eq(atomic_load(&handled), signals);
}
