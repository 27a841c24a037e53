/* blocked_in.h - for corpus programs that must act while another of their threads is blocked
 * inside a system call (read(2), a futex wait), not merely about to make it, most often by
 * interrupting it with SIGALRM.
 *
 * corpus_wait_blocked_in(tid, nr) polls /proc/self/task/<tid>/syscall every 10 ms until its
 * first field is system call number nr (SYS_read, SYS_futex), for at most 10 s; returns 0
 * then, -1 on time out (tid 0, a thread that has not said who it is yet, is waited for too).
 * corpus_on_alarm(fn, flags) installs fn as the SIGALRM handler (flags: SA_RESTART or 0);
 * 0, or -1. Uses stdio, nanosleep, sigaction.
 */
#ifndef CORPUS_BLOCKED_IN_H
#define CORPUS_BLOCKED_IN_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

static inline int corpus_blocked_in(pid_t tid, long nr)
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
  return buf[0] >= '0' && buf[0] <= '9' && strtol(buf, NULL, 10) == nr;
}

static inline int corpus_wait_blocked_in(volatile pid_t *tid, long nr)
{
  struct timespec tick = {0, 10 * 1000 * 1000};

  for (int i = 0; i < 1000; i++) {
    if (*tid != 0 && corpus_blocked_in(*tid, nr))
      return 0;
    nanosleep(&tick, NULL);
  }
  return -1;
}

static inline int corpus_on_alarm(void (*fn)(int), int flags)
{
  struct sigaction sa = {.sa_handler = fn, .sa_flags = flags};

  sigemptyset(&sa.sa_mask);
  return sigaction(SIGALRM, &sa, NULL);
}

#endif
