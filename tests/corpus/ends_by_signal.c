/* ends_by_signal - an inversion is reported, then a signal whose default action ends the
 * process ends it.
 *
 *   ends_by_signal PIPE        a write to a pipe whose reader is gone (SIGPIPE)
 *   ends_by_signal ALRM        an alarm(2) the program set and does not handle
 *   ends_by_signal USR1|QUIT   the program raises it
 *   ends_by_signal reraise     the program's own SIGTERM handler sets the default action back
 *                              and raises the signal again (the usual clean-up idiom)
 *   ends_by_signal unignored   the program ignores SIGINT for a while, sets it back to the
 *                              default and raises it
 *   ends_by_signal pipe_clean  no inversion; the SIGPIPE of `prog | head`
 * Expected verdict: one potential deadlock (ab_ba.h's), then the "terminated by" line and the
 * summary (text and JSON, naming the signal), and death by that signal (status 128 + n).
 * pipe_clean: nothing printed, status 141.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ab_ba.h"

static void clean_up_and_reraise(int sig)
{
  signal(sig, SIG_DFL);
  raise(sig);
}

static void write_to_a_closed_pipe(void)
{
  int fds[2];
  if (pipe(fds) != 0)
    return;
  close(fds[0]);
  (void)!write(fds[1], "x", 1);
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  setvbuf(stdout, NULL, _IONBF, 0);
  if (strcmp(mode, "pipe_clean") == 0) {
    write_to_a_closed_pipe();
    return 2;
  }
  corpus_ab_ba();
  if (strcmp(mode, "PIPE") == 0) {
    write_to_a_closed_pipe();
  } else if (strcmp(mode, "ALRM") == 0) {
    alarm(1);
    for (;;)
      pause();
  } else if (strcmp(mode, "USR1") == 0) {
    raise(SIGUSR1);
  } else if (strcmp(mode, "QUIT") == 0) {
    raise(SIGQUIT);
  } else if (strcmp(mode, "reraise") == 0) {
    signal(SIGTERM, clean_up_and_reraise);
    raise(SIGTERM);
  } else if (strcmp(mode, "unignored") == 0) {
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = SIG_IGN;
    sigaction(SIGINT, &act, NULL);
    raise(SIGINT); /* ignored */
    act.sa_handler = SIG_DFL;
    sigaction(SIGINT, &act, NULL);
    raise(SIGINT);
  } else {
    fprintf(stderr, "usage: ends_by_signal PIPE|ALRM|USR1|QUIT|reraise|unignored|pipe_clean\n");
  }
  return 2; /* not reached but for a bad mode */
}
