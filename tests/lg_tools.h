/* lg_tools.h - running the other tools a test needs (cmake, man, detect, the SARIF validator)
 * and checking SARIF logs with a real validator.
 *
 * A tool runs under coreutils' timeout(1) (killed after its time, never waited on forever),
 * with stdin from /dev/null and stdout and stderr together in one file that the caller gets
 * back as a string. The SARIF validator is Microsoft's SARIF multitool, installed into
 * <build>/tools by `scripts/deps.sh test` (make test runs it); a test that needs it and does
 * not find it fails, saying how to install it.
 */
#ifndef LG_TOOLS_H
#define LG_TOOLS_H

#include <stddef.h>

#define SARIF_VALIDATOR \
  LG_BUILD_DIR "/tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"

/* Runs argv (argv[0] looked up on PATH) with `env` (NAME=value strings, NULL-terminated, added
 * to ours; may be NULL) under a timeout of timeout_s seconds. Returns the exit status (124
 * after the timeout, 128 + n when killed by signal n); *output gets stdout and stderr, to be
 * freed by the caller. */
int tool_run(const char *const *argv, const char *const *env, unsigned timeout_s, char **output);

/* Validates one SARIF file with the SARIF multitool. Returns the number of errors it found
 * (its "error" lines, schema and SARIF rules both); *output gets what it printed (to free).
 * Fails the test when the validator is missing or did not complete its analysis. */
int sarif_validate(const char *path, char **output);

/* A directory of its own under $TMPDIR (or /tmp), removed with everything in it at exit. */
void tool_tempdir(char *out, size_t cap, const char *name);

#endif
