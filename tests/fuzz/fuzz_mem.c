/* fuzz_mem.c - lg_mem on malloc, for the fuzz targets only.
 *
 * The detector's own allocator (detector/mem.c) carves mmap'd chunks by size class, so a
 * parser that wrote past its block would land in the next block of the chunk, where
 * AddressSanitizer sees nothing. Here every lg_mem block is its own malloc block with red
 * zones on both sides, and lg_mem_free checks that the caller gives back the size it asked
 * for (what mem.c relies on to find the size class): under ASan, malloc_usable_size is the
 * size asked for, exactly. Everything else of the parsers under test is the real code.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

void *lg_mem_alloc(size_t size)
{
  return calloc(1, size != 0 ? size : 1);
}

void lg_mem_free(void *p, size_t size)
{
  if (p == NULL)
    return;
  if (malloc_usable_size(p) != (size != 0 ? size : 1)) {
    fprintf(stderr, "lg_mem_free: block of %zu bytes given back as %zu bytes\n", malloc_usable_size(p),
            size);
    abort();
  }
  free(p);
}

void *lg_mem_realloc(void *p, size_t old_size, size_t new_size)
{
  void *q = lg_mem_alloc(new_size);

  if (q == NULL)
    return NULL;
  if (p != NULL)
    memcpy(q, p, old_size < new_size ? old_size : new_size);
  lg_mem_free(p, old_size);
  return q;
}

size_t lg_mem_mapped_bytes(void)
{
  return 0;
}

void lg_mem_fork_prepare(void) {}
void lg_mem_fork_parent(void) {}
void lg_mem_fork_child(void) {}
