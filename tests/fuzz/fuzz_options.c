/* fuzz_options.c - libFuzzer target for the LOCKGRAPH_OPTIONS parser (lg_options_parse).
 *
 * Input: one byte choosing the message buffer's size (none, 1, 2, 16, 80 or 512 bytes), then
 * the option string. Checked beyond what ASan and UBSan see:
 *   - the result is 0 or -EINVAL; a refusal's message is one terminated line inside its
 *     buffer, starting with "LOCKGRAPH_OPTIONS: " when it has room;
 *   - a refused string leaves the options exactly as they were (all or nothing);
 *   - an accepted one leaves every path terminated and every number in its documented range,
 *     and parsing it again over its own result changes nothing (a repeated key takes its last
 *     value, so the string says the same thing twice).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"
#include "options.h"

static const size_t caps[] = {0, 1, 2, 16, 80, 512, 512, 512};

static void check_paths(const lg_options_t *o)
{
  FUZZ_CHECK(memchr(o->json_path, '\0', LG_PATH_MAX) != NULL, "json path not terminated");
  FUZZ_CHECK(memchr(o->log_path, '\0', LG_PATH_MAX) != NULL, "log path not terminated");
  FUZZ_CHECK(memchr(o->suppressions_path, '\0', LG_PATH_MAX) != NULL, "suppressions path not terminated");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static lg_options_t o, before, again;
  size_t cap;
  char *spec, *err;
  int rc;

  if (size == 0)
    return 0;
  cap = caps[data[0] % (sizeof caps / sizeof caps[0])];
  spec = fuzz_cstring(data + 1, size - 1);
  err = cap != 0 ? malloc(cap) : NULL;

  lg_options_defaults(&o);
  before = o;
  rc = lg_options_parse(&o, spec, err, cap);
  FUZZ_CHECK(rc == 0 || rc == -EINVAL, "returned %d", rc);
  if (err != NULL && rc != 0) {
    fuzz_check_message(err, cap);
    if (cap > 19)
      FUZZ_CHECK(strncmp(err, "LOCKGRAPH_OPTIONS: ", strnlen(err, 19)) == 0, "message: %s", err);
  }
  if (rc != 0) {
    FUZZ_CHECK(memcmp(&o, &before, sizeof o) == 0, "a refused string changed the options");
  } else {
    check_paths(&o);
    FUZZ_CHECK(o.exitcode >= 0 && o.exitcode <= 255, "exitcode %d", o.exitcode);
    FUZZ_CHECK(o.stack_depth >= 1 && o.stack_depth <= 64, "stack_depth %u", o.stack_depth);
    FUZZ_CHECK(o.watchdog_ms <= 86400000u, "watchdog_ms %u", o.watchdog_ms);
    again = o;
    FUZZ_CHECK(lg_options_parse(&again, spec, NULL, 0) == 0, "accepted once, refused the second time");
    FUZZ_CHECK(memcmp(&again, &o, sizeof o) == 0, "parsing the same string twice changed the result");
  }
  free(err);
  free(spec);
  return 0;
}
