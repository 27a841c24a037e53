/* fuzz_expectations.c - libFuzzer target for the expectations file parser
 * (harness_expectations_parse, harness/expectations.c).
 *
 * Input: one byte choosing the message buffer's size, then the file's text. Checked beyond
 * what ASan and UBSan see:
 *   - the result is 0 with a table, or a negative errno with no table and a non-empty
 *     one-line message inside its buffer;
 *   - an accepted table has slugs that are non-empty lower-case names, each one once, and
 *     every (slug, detector) cell answers CAUGHT or MISS with a reason (fixed: CLEAN), while a
 *     slug the table does not have answers NONE.
 */
#include <stddef.h>
#include <stdint.h>

#include "expectations.h"
#include "fuzz_check.h"

static const size_t caps[] = {0, 1, 2, 16, 80, 512, 512, 512};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  harness_expectations_t *e = NULL;
  size_t cap;
  char *text, *err;
  int rc;

  if (size == 0)
    return 0;
  cap = caps[data[0] % (sizeof caps / sizeof caps[0])];
  text = fuzz_cstring(data + 1, size - 1);
  err = cap != 0 ? malloc(cap) : NULL;

  rc = harness_expectations_parse(text, "fuzz.tsv", &e, err, cap);
  FUZZ_CHECK(rc <= 0, "returned %d", rc);
  FUZZ_CHECK((rc == 0) == (e != NULL), "returned %d with table %p", rc, (void *)e);
  if (err != NULL && rc != 0)
    fuzz_check_message(err, cap);
  if (e != NULL) {
    size_t n = harness_expectations_slug_count(e);
    for (size_t i = 0; i < n; i++) {
      const char *slug = harness_expectations_slug(e, i);
      FUZZ_CHECK(slug != NULL && slug[0] != '\0', "slug %zu is empty", i);
      for (const char *c = slug; *c != '\0'; c++)
        FUZZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_', "slug '%s'", slug);
      for (size_t j = 0; j < i; j++)
        FUZZ_CHECK(strcmp(slug, harness_expectations_slug(e, j)) != 0, "slug '%s' twice", slug);
      for (int d = 0; d < HARNESS_DET_COUNT; d++) {
        const char *reason = NULL;
        harness_expect_t x = harness_expectations_get(e, slug, 0, (harness_detector_t)d, &reason);
        FUZZ_CHECK(x == HARNESS_EXPECT_CAUGHT || x == HARNESS_EXPECT_MISS, "%s/%d: %d", slug, d, (int)x);
        FUZZ_CHECK(reason != NULL, "%s/%d: no reason", slug, d);
        FUZZ_CHECK(x != HARNESS_EXPECT_MISS || reason[0] != '\0', "%s/%d: a miss without a reason", slug, d);
        x = harness_expectations_get(e, slug, 1, (harness_detector_t)d, NULL);
        FUZZ_CHECK(x == HARNESS_EXPECT_CLEAN, "%s/%d fixed: %d", slug, d, (int)x);
      }
    }
    FUZZ_CHECK(harness_expectations_get(e, "NOT A SLUG", 0, (harness_detector_t)0, NULL) == HARNESS_EXPECT_NONE,
               "a slug that cannot be in the table has an expectation");
    harness_expectations_free(e);
  }
  free(err);
  free(text);
  return 0;
}
