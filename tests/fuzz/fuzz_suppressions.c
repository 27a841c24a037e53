/* fuzz_suppressions.c - libFuzzer target for the suppressions parser (lg_suppressions_parse)
 * and the matcher that uses what it built (lg_suppressions_match).
 *
 * Input: one byte choosing the message buffer's size, then the file's text. Checked beyond
 * what ASan and UBSan see, without assuming which suppression types the syntax has:
 *   - NULL comes with a non-empty one-line message inside its buffer;
 *   - the table has no more entries than the text has lines, every pattern is a terminated
 *     single line no longer than the text, and every entry's type is one of lg_supp_types;
 *   - matching frames made of the input's own lines, for each type, returns -1 or the index
 *     of an entry of that type, and that entry's hit count grows by exactly one.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"
#include "options.h"

static const size_t caps[] = {0, 1, 2, 16, 80, 512, 512, 512};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  lg_suppressions_t *s;
  size_t cap, lines = 1, len, n;
  char *text, *err;

  if (size == 0)
    return 0;
  cap = caps[data[0] % (sizeof caps / sizeof caps[0])];
  text = fuzz_cstring(data + 1, size - 1);
  err = cap != 0 ? malloc(cap) : NULL;
  len = strlen(text);
  for (size_t i = 0; i < len; i++)
    lines += text[i] == '\n';

  s = lg_suppressions_parse(text, "fuzz.supp", err, cap);
  if (err != NULL && s == NULL)
    fuzz_check_message(err, cap);
  if (s != NULL) {
    n = lg_suppressions_count(s);
    FUZZ_CHECK(n <= lines, "%zu entries from %zu lines", n, lines);
    for (size_t i = 0; i < n; i++) {
      const char *p = lg_suppressions_pattern(s, i);
      FUZZ_CHECK(p != NULL, "entry %zu has no pattern", i);
      FUZZ_CHECK(strlen(p) <= len && strchr(p, '\n') == NULL, "entry %zu: bad pattern", i);
      FUZZ_CHECK(lg_suppressions_hits(s, i) == 0, "entry %zu hit before any match", i);
      FUZZ_CHECK(lg_supp_type_index(lg_suppressions_type(s, i)) >= 0, "entry %zu has no known type", i);
    }
    FUZZ_CHECK(lg_suppressions_pattern(s, n) == NULL, "a pattern past the end");

    /* Frames from the text itself: a function, a path and its base name per line. */
    lg_frame_view_t frames[4] = {{NULL, NULL}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}};
    char *copy = fuzz_cstring((const uint8_t *)text, len), *line = copy;
    for (size_t f = 0; f < 4 && line != NULL; f++) {
      char *nl = strchr(line, '\n');
      if (nl != NULL)
        *nl = '\0';
      frames[f].function = f % 2 ? NULL : line;
      frames[f].file = line;
      line = nl != NULL ? nl + 1 : NULL;
    }
    for (int t = 0; lg_supp_types[t] != NULL; t++) {
      int hit = lg_suppressions_match(s, lg_supp_types[t], frames, 4);
      FUZZ_CHECK(hit >= -1 && hit < (int)n, "match returned %d of %zu entries", hit, n);
      if (hit < 0)
        continue;
      FUZZ_CHECK(strcmp(lg_suppressions_type(s, (size_t)hit), lg_supp_types[t]) == 0,
                 "a %s report matched entry %d of type %s", lg_supp_types[t], hit,
                 lg_suppressions_type(s, (size_t)hit));
      FUZZ_CHECK(lg_suppressions_hits(s, (size_t)hit) == 1, "hit not counted once");
    }
    free(copy);
    lg_suppressions_free(s);
  }
  free(err);
  free(text);
  return 0;
}
