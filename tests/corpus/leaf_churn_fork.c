/* leaf_churn_fork - forks while another thread is making and destroying request locks.
 *
 * Checks: a worker makes a fresh heap mutex per request under `table` and destroys it, without
 * pause, while main forks 20 children one after the other. Whatever the worker was doing at
 * the moment of a fork (a lock's flag taken, a lock half made or half destroyed, a stack being
 * walked), each child, which has only main's thread, makes and destroys request locks of its
 * own under a lock of its own (the worker may have held `table` at the fork: a child must not
 * touch it) and exits 0: nothing in the child waits for the worker that is not there.
 * Expected verdict: no report; every child exits 0; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 20

static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static int stop;

static int serve_one(pthread_mutex_t *under)
{
  pthread_mutex_t *request = malloc(sizeof(*request));
  if (request == NULL)
    return -1;
  pthread_mutex_init(request, NULL);
  pthread_mutex_lock(under);
  pthread_mutex_lock(request);
  pthread_mutex_unlock(request);
  pthread_mutex_unlock(under);
  pthread_mutex_destroy(request);
  free(request);
  return 0;
}

static int stopped(void)
{
  pthread_mutex_lock(&stop_mu);
  int s = stop;
  pthread_mutex_unlock(&stop_mu);
  return s;
}

static void *worker(void *arg)
{
  (void)arg;
  while (!stopped())
    for (int i = 0; i < 64; i++)
      serve_one(&table);
  return NULL;
}

int main(void)
{
  pthread_t t;
  int failed = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&t, NULL, worker, NULL);
  for (int c = 0; c < CHILDREN; c++) {
    pid_t pid = fork();
    if (pid == 0) {
      pthread_mutex_t own;
      pthread_mutex_init(&own, NULL);
      for (int i = 0; i < 200; i++)
        if (serve_one(&own) != 0)
          _exit(2);
      _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      failed++;
  }
  pthread_mutex_lock(&stop_mu);
  stop = 1;
  pthread_mutex_unlock(&stop_mu);
  pthread_join(t, NULL);
  if (failed) {
    printf("leaf_churn_fork: %d children failed\n", failed);
    return 1;
  }
  printf("leaf_churn_fork: done\n");
  return 0;
}
