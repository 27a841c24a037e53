/* hz_args.c - strict parsing of the shared hazard-program options (see hz_args.h).
 *
 * Hand-rolled rather than getopt: getopt prints its own messages in its own words, and the
 * harness relies on exactly one line that names the option and what is accepted. */
#include "hz_args.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound on any count, so that n * scale and per-item arrays stay reasonable. */
#define HZ_ARGS_MAX 1000000000L

static const char *hz_args_prog(char **argv)
{
  const char *slash = argv[0] ? strrchr(argv[0], '/') : NULL;
  return slash ? slash + 1 : (argv[0] ? argv[0] : "program");
}

static void hz_args_accepted(const hz_args_spec_t *spec, const hz_args_spacing_t *sp, char *buf,
                             size_t len)
{
  snprintf(buf, len, "accepted: -n N, -t T, -x X%s%s, -h", sp ? ", -s S" : "",
           spec->accepts_hang ? ", --hang" : "");
}

static int hz_args_number(const char *s, long *out)
{
  char *end;
  long v;

  if (!s || !*s)
    return -EINVAL;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || *end || v < 1 || v > HZ_ARGS_MAX)
    return -EINVAL;
  *out = v;
  return 0;
}

/* hz_args_parse, with -s accepted when sp is not NULL. */
static int hz_args_parse_with(hz_args_t *out, int argc, char **argv, const hz_args_spec_t *spec,
                              const hz_args_spacing_t *sp)
{
  const char *prog = hz_args_prog(argv);
  char accepted[80];
  int i;

  hz_args_accepted(spec, sp, accepted, sizeof accepted);
  out->n = spec->n_default;
  out->threads = spec->t_default;
  out->scale = 1;
  out->hang = false;
  out->spacing = sp ? sp->s_default : 0;

  for (i = 1; i < argc; i++) {
    const char *opt = argv[i];
    long *slot = NULL;

    if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
      printf("usage: %s [-n N] [-t T] [-x X]%s%s\n"
             "  -n N    %s (default %ld)\n"
             "  -t T    threads (default %ld)\n"
             "  -x X    scale: work on N*X (default 1)\n",
             prog, sp ? " [-s S]" : "", spec->accepts_hang ? " [--hang]" : "", spec->what_n,
             spec->n_default, spec->t_default);
      if (sp)
        printf("  -s S    %s (at least %ld, default %ld)\n", sp->what_s, sp->s_min,
               sp->s_default);
      if (spec->accepts_hang)
        printf("  --hang  really deadlock (ended by a watchdog)\n");
      return HZ_ARGS_HELP;
    }
    if (spec->accepts_hang && strcmp(opt, "--hang") == 0) {
      out->hang = true;
      continue;
    }
    if (strcmp(opt, "-n") == 0)
      slot = &out->n;
    else if (strcmp(opt, "-t") == 0)
      slot = &out->threads;
    else if (strcmp(opt, "-x") == 0)
      slot = &out->scale;
    else if (sp && strcmp(opt, "-s") == 0)
      slot = &out->spacing;
    if (!slot) {
      fprintf(stderr, "%s: unknown option '%s' (%s)\n", prog, opt, accepted);
      return -EINVAL;
    }
    if (i + 1 >= argc || hz_args_number(argv[i + 1], slot) < 0) {
      fprintf(stderr, "%s: option %s needs a whole number from 1 to %ld (%s)\n", prog, opt,
              HZ_ARGS_MAX, accepted);
      return -EINVAL;
    }
    i++;
  }
  if (sp && out->spacing < sp->s_min) {
    fprintf(stderr, "%s: -s %ld is too small (at least %ld: %s)\n", prog, out->spacing,
            sp->s_min, sp->what_s);
    return -EINVAL;
  }
  if (out->n > HZ_ARGS_MAX / out->scale) {
    fprintf(stderr, "%s: -n %ld times -x %ld is too large (at most %ld)\n", prog, out->n,
            out->scale, HZ_ARGS_MAX);
    return -EINVAL;
  }
  out->size = out->n * out->scale;
  return 0;
}

int hz_args_parse(hz_args_t *out, int argc, char **argv, const hz_args_spec_t *spec)
{
  return hz_args_parse_with(out, argc, argv, spec, NULL);
}

static void hz_args_exit_on(int rc)
{
  if (rc == HZ_ARGS_HELP)
    exit(0);
  if (rc < 0)
    exit(2);
}

void hz_args_parse_or_exit(hz_args_t *out, int argc, char **argv, const hz_args_spec_t *spec)
{
  hz_args_exit_on(hz_args_parse_with(out, argc, argv, spec, NULL));
}

void hz_args_parse_spaced_or_exit(hz_args_t *out, int argc, char **argv,
                                  const hz_args_spec_t *spec, const hz_args_spacing_t *sp)
{
  hz_args_exit_on(hz_args_parse_with(out, argc, argv, spec, sp));
}
