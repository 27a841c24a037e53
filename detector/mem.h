/* mem.h - lockgraph's own memory, never the program's malloc.
 *
 * The detector runs inside pthread wrappers, so it must not call an allocator that may itself
 * take a pthread lock (a program's malloc replacement, or glibc's malloc from inside fork
 * handlers). Everything the detector keeps comes from here: anonymous mmap, carved by size class.
 *
 * Thread safety: lg_mem_alloc/lg_mem_free are safe to call from any thread (a spinlock of its
 * own, never a pthread mutex), and async-signal-safe except while a fork is in progress.
 * Failure: lg_mem_alloc returns NULL when the kernel refuses memory; callers degrade, never crash.
 */
#ifndef LG_MEM_H
#define LG_MEM_H

#include <stddef.h>

/* Zeroed memory of at least `size` bytes, or NULL. A block of at most a page (4 KiB) is aligned
 * to its size rounded up to a power of two (16 at least); a bigger one to the page. */
void *lg_mem_alloc(size_t size);

/* As lg_mem_alloc, for a block its caller fills a piece at a time (an arena's chunk): above the
 * size classes its pages are made as they are first touched, not all at once. */
void *lg_mem_alloc_arena(size_t size);

/* Gives back memory from lg_mem_alloc/lg_mem_alloc_arena/lg_mem_realloc; `size` is what was asked for. NULL is a no-op. */
void lg_mem_free(void *p, size_t size);

/* Grows (or shrinks) a block; new bytes are zeroed. On failure returns NULL and `p` stays valid. */
void *lg_mem_realloc(void *p, size_t old_size, size_t new_size);

/* Bytes currently mapped for the detector (for the exit summary and the benchmark). */
size_t lg_mem_mapped_bytes(void);

/* Around fork(): prepare takes the allocator's lock so no other thread is inside it when the
 * address space is copied; parent and child release it. Without these, a child forked while
 * another thread allocates must not call lg_mem (the "fork in progress" exception above). */
void lg_mem_fork_prepare(void);
void lg_mem_fork_parent(void);
void lg_mem_fork_child(void);

#endif
