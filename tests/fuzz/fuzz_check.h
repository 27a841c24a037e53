/* fuzz_check.h - what every fuzz target checks of a parser's error message, and how it fails.
 *
 * A broken invariant aborts with one line saying which, so libFuzzer keeps the input as a
 * crash artifact, the same as for a fault AddressSanitizer or UBSan finds.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                                                      \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz invariant broken at %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* After a failed parse, the message buffer of `cap` bytes holds one terminated line within
 * its bounds, non-empty when there is room for a byte. (After a success the parsers promise
 * nothing about the buffer.) */
static inline void fuzz_check_message(const char *err, size_t cap)
{
  if (cap == 0)
    return;
  size_t len = strnlen(err, cap);
  FUZZ_CHECK(len < cap, "message not terminated within its %zu bytes", cap);
  FUZZ_CHECK(memchr(err, '\n', len) == NULL, "message is more than one line: %s", err);
  FUZZ_CHECK(cap == 1 || len > 0, "failed without a message");
}

/* A copy of the input as a C string, in a block of its own size (ASan sees a read past it). */
static inline char *fuzz_cstring(const unsigned char *data, size_t size)
{
  char *s = malloc(size + 1);
  if (s == NULL)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

#endif
