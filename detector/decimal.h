/* decimal.h - an unsigned number in decimal digits, for writers that may run in a signal
 * handler (header-only).
 *
 * report.c's summary (written from a fatal signal's handler too) and sarif.c's log (written
 * from the exit path and that handler) each format into a buffer of their own with write(2)
 * behind it; neither may call snprintf (stdio, locale, possibly malloc). This is their one
 * digit loop: async-signal-safe (no allocation, no locks, no errno, no global state),
 * reentrant, O(digits).
 */
#ifndef LG_DECIMAL_H
#define LG_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define LG_DECIMAL_MAX 20 /* digits of UINT64_MAX */

/* Writes v's decimal digits, most significant first, into out (LG_DECIMAL_MAX bytes, no NUL)
 * and returns how many (1 for zero). */
static inline size_t lg_decimal_of(char out[LG_DECIMAL_MAX], uint64_t v) {
  char d[LG_DECIMAL_MAX];
  size_t k = 0;
  do {
    d[k++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < k; i++)
    out[i] = d[k - 1 - i];
  return k;
}

#endif
