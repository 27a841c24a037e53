/* reports_then_daemon - an inversion is reported, then the program becomes a daemon
 * (daemon(3)), and the daemon reports an inversion of its own.
 *
 * daemon() forks and its parent _exits at once: that parent is the process lockgraph started,
 * so its end is the run's, and a gate reads its status. The daemon (chdir and descriptors kept:
 * daemon(1, 1)) goes on as the program, takes two other locks in both orders, prints
 * "reports_then_daemon: daemon done" and returns 0.
 * Expected verdict: the parent ends with exit 66 and a summary of 1 report (ab_ba.h's
 * inversion); the daemon reports its own inversion (daemon_invert) and, at its end, writes its
 * summary (1 report) and the SARIF log again with both.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ab_ba.h"

static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_d = PTHREAD_MUTEX_INITIALIZER;

static void take_in_order(pthread_mutex_t *first, pthread_mutex_t *second)
{
  pthread_mutex_lock(first);
  pthread_mutex_lock(second);
  pthread_mutex_unlock(second);
  pthread_mutex_unlock(first);
}

static void daemon_invert(void)
{
  take_in_order(&lock_c, &lock_d);
  take_in_order(&lock_d, &lock_c);
}

int main(void)
{
  setvbuf(stdout, NULL, _IONBF, 0);
  corpus_ab_ba();
  if (daemon(1, 1) != 0) {
    perror("reports_then_daemon: daemon");
    return 2;
  }
  daemon_invert();
  printf("reports_then_daemon: daemon done\n");
  return 0;
}
