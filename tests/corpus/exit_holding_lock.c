/* exit_holding_lock - a thread ends while holding a lock; a later thread waits for it.
 *
 *   exit_holding_lock return  the worker takes `journal` (LINE:worker_takes) and returns
 *                             without releasing it
 *   exit_holding_lock exit    the same, ending with pthread_exit
 *   exit_holding_lock unlock  the worker releases it first: the normal case
 * Main joins the worker, then takes `journal` itself (LINE:main_takes).
 * Expected verdict: return, exit: a "lock held at thread exit" report naming the worker and
 * where it took the lock, then main's wait is reported as a deadlock that happened (instead
 * of hanging), exit 66, "done" never printed. unlock: no report, "done", exit 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;
static const char *mode;

static void *worker(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&journal); /* LINE:worker_takes */
  if (strcmp(mode, "unlock") == 0)
    pthread_mutex_unlock(&journal);
  else if (strcmp(mode, "exit") == 0)
    pthread_exit(NULL);
  return NULL;
}

int main(int argc, char **argv)
{
  pthread_t t;

  mode = argc > 1 ? argv[1] : "return";
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  printf("exit_holding_lock: worker ended\n");
  pthread_mutex_lock(&journal); /* LINE:main_takes */
  pthread_mutex_unlock(&journal);
  printf("exit_holding_lock: done\n");
  return 0;
}
