/* user_namespace - a program that has had threads enters a user namespace of its own.
 *
 * Main starts a thread and joins it (so the detector's watchdog thread has started), then calls
 * unshare(CLONE_NEWUSER), which only a process of one thread may do, and prints what it gave.
 * A joined thread can still be on its way out in the kernel for a moment (pthread_join returns
 * when it has left user space), so EINVAL is tried again, for a second at most.
 *   user_namespace            then "user_namespace: done"
 *   user_namespace deadlock   then two threads take two locks in opposite orders and each
 *                             waits for the other: a real deadlock, for the watchdog, started
 *                             again after the unshare, to end
 * Expected verdict: as natively ("unshare: ok" where the system lets unprivileged users make
 * user namespaces, the error otherwise); clean, exit 0. deadlock: a deadlock report ends the
 * run, exit 66.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static sem_t both_hold;

static void *nothing(void *arg)
{
  return arg;
}

static void *takes_b_then_a(void *arg)
{
  pthread_mutex_lock(&b);
  sem_post(&both_hold);
  pthread_mutex_lock(&a);
  return arg;
}

int main(int argc, char **argv)
{
  pthread_t t;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0)
    return 2;
  struct timespec ten_ms = {0, 10 * 1000 * 1000};
  int rc;
  for (int i = 0; (rc = unshare(CLONE_NEWUSER)) != 0 && errno == EINVAL && i < 100; i++)
    nanosleep(&ten_ms, NULL);
  if (rc == 0)
    printf("user_namespace: unshare: ok\n");
  else
    printf("user_namespace: unshare: %s\n", strerror(errno));
  if (argc > 1 && strcmp(argv[1], "deadlock") == 0) {
    sem_init(&both_hold, 0, 0);
    pthread_mutex_lock(&a);
    pthread_create(&t, NULL, takes_b_then_a, NULL);
    sem_wait(&both_hold);
    pthread_mutex_lock(&b); /* each waits for the other from here on */
    return 1;
  }
  printf("user_namespace: done\n");
  return 0;
}
