/* abort_after_report - an inversion is reported, then the program aborts.
 *
 * Checks: the report is written when found, and the exit summary, which normally waits for
 * exit, is written from the SIGABRT that abort() raises; the process still dies of SIGABRT
 * (the detector restores the default action and raises the signal again).
 * Expected verdict: one potential deadlock, a cycle of 2 locks at the LINE: markers, a text
 * summary and a JSON summary object naming signal 6; killed by SIGABRT.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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
  printf("abort_after_report: aborting\n");
  abort();
}
