/* hz_args.h - the command line every hazard and bench program shares.
 *
 *   -n N     main size: increments, ids, items or tasks (what N counts is the program's choice)
 *   -t T     threads or workers
 *   -x X     scale: the program works on N * X (the harness runs -x 1 and -x 4 and compares
 *            peak memory, so a program's memory must follow the scaled size, nothing else)
 *   -s S     only for a program that parses with hz_args_parse_spaced: bytes between its
 *            objects (a bench workload's layout, e.g. a lock per object of S bytes)
 *   --hang   only where the program accepts it: a variant that really hangs
 *   -h       usage on stdout, exit 0
 *
 * A bad option or value is one line on stderr naming it and the accepted options, and exit
 * status 2 (through hz_args_parse_or_exit); hz_args_parse itself only returns the error.
 * Not thread-safe: call it from main before starting threads.
 */
#ifndef HZ_ARGS_H
#define HZ_ARGS_H

#include <stdbool.h>

typedef struct hz_args_spec {
  const char *what_n;   /* one line of help: what -n counts, e.g. "increments per thread" */
  long n_default;       /* default for -n, >= 1 */
  long t_default;       /* default for -t, >= 1 */
  bool accepts_hang;    /* whether --hang is an accepted option */
} hz_args_spec_t;

typedef struct hz_args {
  long n;        /* -n as given (or the default) */
  long threads;  /* -t */
  long scale;    /* -x */
  long size;     /* n * scale: the size the program actually works on */
  bool hang;     /* --hang */
  long spacing;  /* -s (hz_args_parse_spaced; else 0) */
} hz_args_t;

/* What -s means to a program that accepts it, its smallest value and its default. */
typedef struct hz_args_spacing {
  const char *what_s;
  long s_min, s_default;
} hz_args_spacing_t;

/* Positive result of hz_args_parse: -h was given and the usage was printed on stdout. */
#define HZ_ARGS_HELP 1

/* Parses argv into *out. Returns 0, HZ_ARGS_HELP, or -EINVAL after printing one line on
 * stderr that names the bad option and lists the accepted ones. Numbers must be whole,
 * positive and small enough that n * scale fits in a long. */
int hz_args_parse(hz_args_t *out, int argc, char **argv, const hz_args_spec_t *spec);

/* hz_args_parse for main: exits 0 after -h and 2 after a bad option. */
void hz_args_parse_or_exit(hz_args_t *out, int argc, char **argv, const hz_args_spec_t *spec);

/* hz_args_parse_or_exit that also accepts -s S (at least sp->s_min) into out->spacing. */
void hz_args_parse_spaced_or_exit(hz_args_t *out, int argc, char **argv,
                                  const hz_args_spec_t *spec, const hz_args_spacing_t *sp);

#endif
