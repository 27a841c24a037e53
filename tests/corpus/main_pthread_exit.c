/* main_pthread_exit - main ends with pthread_exit; the process ends with its last thread.
 *
 * Checks: glibc ends the process when the last thread exits, with status 0. The detector's
 * own watchdog thread must not keep the process alive after every program thread is gone
 * (it did: the run never ended), and the summary must still be printed at the end.
 * Expected verdict: no report, a summary line (asked for with --verbosity 2); exit 0, well
 * within the test's timeout.
 */
#include <pthread.h>
#include <stdio.h>

#define WORKERS 4

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static int finished;

static void *worker(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&a);
  pthread_mutex_lock(&b);
  int last = ++finished == WORKERS;
  pthread_mutex_unlock(&b);
  pthread_mutex_unlock(&a);
  if (last) {
    printf("main_pthread_exit: done\n");
    fflush(stdout);
  }
  return NULL;
}

int main(void)
{
  pthread_t t[WORKERS];
  for (int i = 0; i < WORKERS; i++)
    if (pthread_create(&t[i], NULL, worker, NULL) != 0)
      return 2;
  for (int i = 0; i < WORKERS; i++)
    pthread_detach(t[i]);
  pthread_exit(NULL); /* the process ends when the last worker does, with status 0 */
}
