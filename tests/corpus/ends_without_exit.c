/* ends_without_exit - an inversion is reported, then the process ends without exit(3), so no
 * destructor runs.
 *
 *   ends_without_exit _exit        main calls _exit(0)
 *   ends_without_exit _Exit        main calls _Exit(0)
 *   ends_without_exit quick_exit   main calls quick_exit(0), whose handler prints a line
 *   ends_without_exit thread       a second thread calls _exit(0) while main waits to join it
 *   ends_without_exit handler      a SIGALRM handler calls _exit(0)
 *   ends_without_exit children     a fork child and a vfork child end with _exit(7) and
 *                                  _exit(9); main prints what their parent saw, then _exit(0)
 *   ends_without_exit clean        no inversion; main calls _exit(3)
 * Daemons, forked workers and programs that skip their atexit work end this way.
 * Expected verdict: one potential deadlock (ab_ba.h's cycle of 2 locks), the
 * text and JSON summaries, and the exit code, as for a return from main: exit 66. children:
 * the same, and "children: 7 9" (the children's own statuses, a vfork child's untouched).
 * clean: nothing reported, exit 3.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_ba.h"
#include "blocked_in.h"

static void said_at_quick_exit(void)
{
  static const char line[] = "ends_without_exit: quick_exit handler\n";
  if (write(1, line, sizeof line - 1) < 0)
    abort();
}

static void *ends_the_process(void *arg)
{
  (void)arg;
  _exit(0);
}

static void on_alarm(int sig)
{
  (void)sig;
  _exit(0);
}

/* The status a child ended with, -1 when it did not exit normally. */
static int child_status(pid_t pid)
{
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
    return -1;
  return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  setvbuf(stdout, NULL, _IONBF, 0);
  if (strcmp(mode, "clean") == 0)
    _exit(3);
  corpus_ab_ba();
  if (strcmp(mode, "_exit") == 0)
    _exit(0);
  if (strcmp(mode, "_Exit") == 0)
    _Exit(0);
  if (strcmp(mode, "quick_exit") == 0) {
    at_quick_exit(said_at_quick_exit);
    quick_exit(0);
  }
  if (strcmp(mode, "thread") == 0) {
    pthread_t th;
    if (pthread_create(&th, NULL, ends_the_process, NULL) != 0)
      return 2;
    pthread_join(th, NULL);
    return 2; /* not reached: the thread ended the process */
  }
  if (strcmp(mode, "handler") == 0) {
    if (corpus_on_alarm(on_alarm, 0) != 0)
      return 2;
    alarm(1);
    for (;;)
      pause();
  }
  if (strcmp(mode, "children") == 0) {
    pid_t forked = fork();
    if (forked == 0)
      _exit(7);
    int forked_status = child_status(forked);
    pid_t vforked = vfork();
    if (vforked == 0)
      _exit(9);
    printf("children: %d %d\n", forked_status, child_status(vforked));
    _exit(0);
  }
  fprintf(stderr, "usage: ends_without_exit _exit|_Exit|quick_exit|thread|handler|children|clean\n");
  return 2;
}
