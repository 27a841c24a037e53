/* exit_holding_lock - a thread ends while holding a lock; a later thread waits for it.
 *
 *   exit_holding_lock return  the worker takes `journal` (LINE:worker_takes) and returns
 *                             without releasing it
 *   exit_holding_lock exit    the same, ending with pthread_exit
 *   exit_holding_lock cancel  the same, cancelled by main while it reads a pipe (a
 *                             cancellation point) holding the lock, with no cleanup handler
 *   exit_holding_lock unlock  the worker releases it first: the normal case
 * Main joins the worker, then takes `journal` itself (LINE:main_takes).
 * Expected verdict: return, exit, cancel: a "lock held at thread exit" report naming the worker and
 * where it took the lock, then main's wait is reported as a deadlock that happened (instead
 * of hanging), exit 66, "done" never printed. unlock: no report, "done", exit 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;
static const char *mode;
static sem_t holding;
static int fds[2];

static void *worker(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&journal); /* LINE:worker_takes */
  if (strcmp(mode, "unlock") == 0)
    pthread_mutex_unlock(&journal);
  else if (strcmp(mode, "exit") == 0)
    pthread_exit(NULL);
  else if (strcmp(mode, "cancel") == 0) {
    char c;
    sem_post(&holding);
    if (read(fds[0], &c, 1) < 0) /* nobody writes: main cancels the thread here */
      perror("read");
  }
  return NULL;
}

int main(int argc, char **argv)
{
  pthread_t t;

  mode = argc > 1 ? argv[1] : "return";
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&holding, 0, 0);
  if (pipe(fds) != 0)
    return 1;
  pthread_create(&t, NULL, worker, NULL);
  if (strcmp(mode, "cancel") == 0) {
    sem_wait(&holding);
    pthread_cancel(t);
  }
  pthread_join(t, NULL);
  printf("exit_holding_lock: worker ended\n");
  pthread_mutex_lock(&journal); /* LINE:main_takes */
  pthread_mutex_unlock(&journal);
  printf("exit_holding_lock: done\n");
  return 0;
}
