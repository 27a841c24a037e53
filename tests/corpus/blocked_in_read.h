/* blocked_in_read.h - for corpus programs that must act while another of their threads is
 * blocked inside read(2), not merely about to call it.
 *
 * corpus_wait_blocked_in_read(tid) polls /proc/self/task/<tid>/syscall every 10 ms until its
 * first field is read's number, for at most 10 s; returns 0 then, -1 on time out (tid 0, a
 * thread that has not said who it is yet, is waited for too). Uses stdio, nanosleep.
 */
#ifndef CORPUS_BLOCKED_IN_READ_H
#define CORPUS_BLOCKED_IN_READ_H

#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

static int corpus_blocked_in_read(pid_t tid)
{
  char path[64], buf[64] = "";
  FILE *f;

  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  f = fopen(path, "r");
  if (f == NULL)
    return 0;
  if (fgets(buf, sizeof buf, f) == NULL)
    buf[0] = '\0';
  fclose(f);
  return strncmp(buf, "0 ", 2) == 0; /* SYS_read on x86-64 */
}

static int corpus_wait_blocked_in_read(volatile pid_t *tid)
{
  struct timespec tick = {0, 10 * 1000 * 1000};

  for (int i = 0; i < 1000; i++) {
    if (*tid != 0 && corpus_blocked_in_read(*tid))
      return 0;
    nanosleep(&tick, NULL);
  }
  return -1;
}

#endif
