/* file_multi_writer - processes that read-modify-write one file (lesson section 26: "JSON file
 * multi-writer: avoid; use SQLite/database").
 *
 * The case file is a JSON array, one record a line. Each writer process (-t, default 2) adds
 * its n records one at a time: add_record() reads the whole file, puts one record before the
 * closing bracket and writes the file back in place (line 92, marked BUG). Writers that all
 * read before any of them writes each write back their own version: the last one wins and
 * the others' records are lost.
 *
 * What makes it certain: after reading, a writer waits until every writer has read (a round
 * that the parent keeps through pipes, line 86): the worst case of unsynchronized writers,
 * on every run. A writer that holds the update lock skips that wait, since nobody else can be
 * reading then. Every round also ends when all writers have written, so that nobody reads a
 * file another writer is still rewriting. The processes share no memory: only the file.
 *
 * The fix (fixed/, lines 82-84, 95-96, 101-103): every update holds an exclusive flock(2) on a
 * lock file beside the case file (not on the case file: rename replaces that inode, and a
 * lock on a replaced inode guards nothing) and writes the new version to a temporary file
 * that rename(2) puts in place at once: a reader sees the old file or the new one, never
 * half of one.
 *
 * Oracle: once every writer has exited, the parent counts the records: fewer than writers * n
 * is a HAZARD (exit 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hz_args.h"

static char dir[] = "/tmp/file_multi_writer.XXXXXX", case_path[64], lock_path[64];
static int up_fd, down_fd; /* a writer's pipes: to the parent, from the parent */

/* A writer tells the parent 'r' (read), 'w' (written) or 'x' (failed); the parent tells the
 * writers 'R' (all have read) and 'N' (all have written: next round). */
static void tell(int fd, char c)
{
  if (write(fd, &c, 1) != 1)
    perror("file_multi_writer: pipe");
}

/* Waits for byte c from the parent, skipping the 'R's a writer holding the lock never needs. */
static int await(char c)
{
  char got;

  while (read(down_fd, &got, 1) == 1)
    if (got == c)
      return 0;
  return -1;
}

/* Whether some writer holds the update lock right now. */
static bool update_locked(void)
{
  int fd = open(lock_path, O_RDONLY | O_CREAT, 0600);
  bool locked = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;

  if (fd >= 0)
    close(fd);
  return locked;
}

static ssize_t cases_load(char *text, size_t cap)
{
  int fd = open(case_path, O_RDONLY);
  ssize_t len = fd < 0 ? -1 : read(fd, text, cap);

  if (fd >= 0)
    close(fd);
  return len;
}

static int add_record(long writer, long k)
{
  char text[1 << 16], tmp_path[96];
  int lock = open(lock_path, O_RDWR | O_CREAT, 0600);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) /* FIX: one update at a time, read to write */
    return -1;
  ssize_t len = cases_load(text, sizeof text - 128);
  int fd, rc = -1;

  tell(up_fd, 'r');
  if (len < 3 || (!update_locked() && await('R') < 0))
    return -1;
  char *end = text + len - 3; /* the "\n]\n" that closes the array */
  if (end > text + 1)
    end += sprintf(end, ",");
  len = end - text + sprintf(end, "\n{\"writer\": %ld, \"case\": %ld}\n]\n", writer, k);
  snprintf(tmp_path, sizeof tmp_path, "%s.%ld", case_path, writer);
  fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* FIX: the new version, aside */
  if (fd >= 0 && write(fd, text, (size_t)len) == len)
    rc = 0;
  if (fd >= 0)
    close(fd);
  if (rc == 0 && rename(tmp_path, case_path) != 0) /* FIX: swapped in whole, at once */
    rc = -1;
  close(lock); /* FIX: the next writer may read */
  tell(up_fd, 'w');
  return rc < 0 ? rc : await('N');
}

/* The parent's side of the rounds. Returns 0, or -1 when a writer failed or died. */
static int rounds_run(long rounds, long writers, int up, const int *down)
{
  for (long r = 0; r < rounds; r++) {
    long have_read = 0, have_written = 0;
    char c;
    while (have_written < writers) {
      if (read(up, &c, 1) != 1 || c == 'x')
        return -1;
      have_written += c == 'w';
      if (c == 'r' && ++have_read == writers)
        for (long i = 0; i < writers; i++)
          tell(down[i], 'R');
    }
    for (long i = 0; i < writers; i++)
      tell(down[i], 'N');
  }
  return 0;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"records each writer adds", 20, 2, false};
  hz_args_t a;
  int up[2], down[64], p[2], status, failed = 0;
  long records = 0, want;
  char text[1 << 16];

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  if (a.threads > 64 || a.size > 1000 / a.threads) {
    fprintf(stderr, "file_multi_writer: %ld writers of %ld records is too many (at most 64 "
            "writers and 1000 records in all)\n", a.threads, a.size);
    return 2;
  }
  if (!mkdtemp(dir) || pipe(up) != 0) {
    perror("file_multi_writer: cannot make a directory under /tmp and a pipe");
    return 2;
  }
  want = a.size * a.threads;
  snprintf(case_path, sizeof case_path, "%s/cases.json", dir);
  snprintf(lock_path, sizeof lock_path, "%s/cases.lock", dir);
  int fd = open(case_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, "[\n]\n", 4) != 4 || close(fd) != 0)
    return 2;
  for (long i = 0; i < a.threads; i++) {
    pid_t pid = pipe(p) == 0 ? fork() : -1;
    if (pid < 0)
      return 2;
    if (pid == 0) { /* writer i */
      up_fd = up[1];
      down_fd = p[0];
      for (long k = 0; k < a.size; k++)
        if (add_record(i, k) != 0) {
          tell(up_fd, 'x');
          _exit(2);
        }
      _exit(0);
    }
    close(p[0]);
    down[i] = p[1];
  }
  close(up[1]);
  failed = rounds_run(a.size, a.threads, up[0], down) != 0;
  for (long i = 0; i < a.threads; i++)
    close(down[i]); /* a writer still waiting reads end-of-file and stops */
  while (wait(&status) > 0)
    failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;

  ssize_t len = cases_load(text, sizeof text);
  for (ssize_t i = 0; i < len; i++)
    records += text[i] == '{';
  unlink(case_path);
  unlink(lock_path);
  rmdir(dir);
  if (failed || len < 0) {
    fprintf(stderr, "file_multi_writer: a writer failed\n");
    return 2;
  }
  if (records != want) {
    printf("file_multi_writer: HAZARD %ld of %ld records in the file (%ld lost)\n", records,
           want, want - records);
    return 1;
  }
  printf("file_multi_writer: OK %ld of %ld records in the file\n", records, want);
  return 0;
}
