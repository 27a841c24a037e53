/* sigterm_own_handler - the program handles SIGTERM itself, after the detector started.
 *
 * Checks: the detector's fatal-signal handling stays out of the program's way: sigaction
 * reports the disposition the program would see without the detector (SIG_DFL), the
 * program's own handler runs instead of ending the run, and the run ends normally.
 * Expected verdict: no report (a clean run prints no summary line by default); exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
  (void)sig;
  got_term = 1;
}

int main(void)
{
  struct sigaction act, old;

  setvbuf(stdout, NULL, _IOLBF, 0);
  memset(&act, 0, sizeof(act));
  act.sa_handler = on_term;
  sigemptyset(&act.sa_mask);
  if (sigaction(SIGTERM, &act, &old) != 0 || old.sa_handler != SIG_DFL) {
    printf("sigterm_own_handler: previous disposition was not SIG_DFL\n");
    return 1;
  }
  if (signal(SIGINT, SIG_IGN) != SIG_DFL) {
    printf("sigterm_own_handler: previous SIGINT disposition was not SIG_DFL\n");
    return 1;
  }
  raise(SIGTERM);
  raise(SIGINT);
  if (!got_term) {
    printf("sigterm_own_handler: the handler did not run\n");
    return 1;
  }
  printf("sigterm_own_handler: done\n");
  return 0;
}
