/* closes_stderr - the program closes its stderr before it exits, as xz does.
 *
 * Checks: the exit summary, written after the program is done, still reaches the stderr the
 * run started with (lockgraph writes to a descriptor of its own). The program runs the classic
 * inversion, sequenced in one thread, then closes fd 2 (fclose(stderr)) and exits.
 * Expected verdict: one potential deadlock at the LINE: markers, then the summary line on the
 * original stderr; exit 66.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  pthread_mutex_lock(&lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  printf("closes_stderr: done\n");
  return fclose(stderr) == 0 ? 0 : 1;
}
