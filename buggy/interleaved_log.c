/* interleaved_log - one log line written in several write() calls (lesson section 30).
 *
 * Every worker logs "worker=W case_id=N event=case_processed" for each of its cases, one
 * field at a time: log_case() writes each field with its own write(2) as soon as it is
 * formatted (line 55, marked BUG), as a logger does that writes a prefix, then the message,
 * then the newline. All workers share one log file. One write(2) lands whole; a line made of
 * three does not: another worker's field lands in the middle of it and the line is torn.
 *
 * The workers format their fields in turns (a ring of semaphores, lines 52 and 58): the
 * scheduler's worst case, made certain, so lines tear on every run instead of now and then.
 * No lock is held around a write, so nothing here is "I/O under a lock".
 *
 * The fix (fixed/, lines 58-59): build the whole line in a buffer and write it with one
 * write(2): one write per line. The turns stay; the lines no longer tear.
 *
 * Oracle: read the log back after the joins: threads * n lines, each one whole record; a torn
 * line is a HAZARD (exit 1).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hz_args.h"

#define FIELDS 3

static sem_t *turn;  /* turn[i]: worker i may format its next field */
static long workers_n, cases;
static int log_fd;   /* the shared log */

/* Formats field k of a record; returns its length. */
static int field_format(char *buf, size_t cap, int k, long worker, long case_id)
{
  if (k == 0)
    return snprintf(buf, cap, "worker=%ld ", worker);
  if (k == 1)
    return snprintf(buf, cap, "case_id=%ld ", case_id);
  return snprintf(buf, cap, "event=case_processed\n");
}

static int log_case(long me, long case_id)
{
  char line[128];
  int len = 0, rc = 0;

  for (int k = 0; k < FIELDS; k++) {
    while (sem_wait(&turn[me]) != 0 && errno == EINTR)
      continue;
    int flen = field_format(line + len, sizeof line - (size_t)len, k, me, case_id);
    if (write(log_fd, line + len, (size_t)flen) != flen) /* BUG: a field, not a line */
      rc = -1;
    len += flen;
    sem_post(&turn[(me + 1) % workers_n]); /* the next worker's turn */
  }
  return rc;
}

/* Logs this worker's cases; returns non-NULL when a write failed. */
static void *worker_run(void *arg)
{
  intptr_t failed = 0;

  for (long c = 0; c < cases; c++)
    failed |= log_case((long)(intptr_t)arg, c) != 0;
  return (void *)failed;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"cases each worker logs", 50, 4, false};
  hz_args_t a;
  pthread_t *workers;
  FILE *log;
  char line[256];
  long whole = 0, torn = 0;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  workers_n = a.threads;
  cases = a.size;
  workers = calloc((size_t)a.threads, sizeof *workers);
  turn = calloc((size_t)a.threads, sizeof *turn);
  log = tmpfile();
  if (!workers || !turn || !log) {
    fprintf(stderr, "interleaved_log: cannot set up %ld workers and a log file\n", a.threads);
    return 2;
  }
  log_fd = fileno(log);
  for (long t = 0; t < a.threads; t++)
    sem_init(&turn[t], 0, t == 0);
  for (long t = 0; t < a.threads; t++)
    if (pthread_create(&workers[t], NULL, worker_run, (void *)(intptr_t)t) != 0) {
      fprintf(stderr, "interleaved_log: cannot create worker %ld\n", t);
      return 2;
    }
  for (long t = 0; t < a.threads; t++) {
    void *failed;
    if (pthread_join(workers[t], &failed) != 0 || failed) {
      fprintf(stderr, "interleaved_log: worker %ld could not write the log\n", t);
      return 2;
    }
  }

  rewind(log);
  while (fgets(line, sizeof line, log)) {
    long w, c;
    char want[128];
    int ok = sscanf(line, "worker=%ld case_id=%ld", &w, &c) == 2;
    ok = ok && snprintf(want, sizeof want, "worker=%ld case_id=%ld event=case_processed\n", w,
                        c) > 0 && strcmp(line, want) == 0;
    whole += ok;
    torn += !ok;
  }
  fclose(log);
  for (long t = 0; t < a.threads; t++)
    sem_destroy(&turn[t]);
  free(turn);
  free(workers);
  if (torn > 0 || whole != a.threads * cases) {
    printf("interleaved_log: HAZARD %ld torn lines, %ld whole, of %ld records logged\n", torn,
           whole, a.threads * cases);
    return 1;
  }
  printf("interleaved_log: OK %ld whole lines, one per record\n", whole);
  return 0;
}
