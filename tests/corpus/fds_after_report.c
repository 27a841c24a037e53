/* fds_after_report - which descriptors a report leaves open in the program.
 *
 * Writing a report unwinds and symbolizes stacks: libunwind keeps a pipe and libdwfl keeps the
 * program's and its libraries' ELF and debug files open for later reports. The program opens
 * /dev/null before and after the report (ab_ba.h's inversion): it must get the same number both
 * times (nothing of lockgraph's took the lowest free one), and no descriptor that appeared meanwhile
 * may be inherited by a program it execs (close-on-exec).
 * Prints "fds_after_report: lowest free before N, after M" and "fds_after_report: new
 * inheritable descriptors: K", then "fds_after_report: done".
 * Expected verdict: one potential deadlock; N equal to M and K 0; exit 66.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ab_ba.h"

#define FDS 1024

/* Marks the open descriptors below FDS in open[]. */
static void open_fds(char open[FDS])
{
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  for (int i = 0; i < FDS; i++)
    open[i] = 0;
  while (d != NULL && (e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] != '.' && fd >= 0 && fd < FDS && fd != dirfd(d))
      open[fd] = 1;
  }
  if (d != NULL)
    closedir(d);
}

static int lowest_free(void)
{
  int fd = open("/dev/null", O_RDONLY);
  if (fd >= 0)
    close(fd);
  return fd;
}

int main(void)
{
  static char before[FDS], after[FDS];
  setvbuf(stdout, NULL, _IONBF, 0);
  open_fds(before);
  int low_before = lowest_free();
  corpus_ab_ba();
  int low_after = lowest_free();
  open_fds(after);
  int inheritable = 0;
  for (int fd = 0; fd < FDS; fd++)
    if (after[fd] && !before[fd] && !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
      inheritable++;
  printf("fds_after_report: lowest free before %d, after %d\n", low_before, low_after);
  printf("fds_after_report: new inheritable descriptors: %d\n", inheritable);
  printf("fds_after_report: done\n");
  return 0;
}
