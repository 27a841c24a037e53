/* hang_no_progress - every thread waits, with no lock held anywhere, and nobody will wake it.
 *
 *   hang_no_progress cond   a lost wakeup: main signals `go` before the worker waits, with no
 *                           flag to remember it; the worker then waits on `go` forever
 *                           (LINE:cond_wait)
 *   hang_no_progress sem    a missing sentinel: the consumer takes items from a semaphore
 *                           (LINE:sem_wait); the producer posts three and no STOP
 *   hang_no_progress pipe   a peer that never answers: the worker reads a pipe the program made
 *                           (LINE:pipe_read) that nobody ever writes
 * In each, main joins the worker (LINE:main_joins).
 * Expected verdict: a hang report ("no progress"), with the worker's wait and main's join;
 * "done" never printed; exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static sem_t items;
static int fds[2];

static void *cond_worker(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&mu);
  pthread_cond_wait(&go, &mu); /* LINE:cond_wait */
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *sem_worker(void *arg)
{
  int taken = 0;

  (void)arg;
  for (;;) {
    sem_wait(&items); /* LINE:sem_wait */
    if (++taken == 4) /* the fourth would be the STOP that never comes */
      break;
  }
  return NULL;
}

static void *pipe_worker(void *arg)
{
  char c;

  (void)arg;
  if (read(fds[0], &c, 1) < 0) /* LINE:pipe_read */
    perror("read");
  return NULL;
}

int main(int argc, char **argv)
{
  pthread_t t;
  const char *mode = argc > 1 ? argv[1] : "cond";
  void *(*fn)(void *) = cond_worker;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "cond") == 0) {
    pthread_mutex_lock(&mu);
    pthread_cond_signal(&go); /* nobody waits yet: the wakeup is lost */
    pthread_mutex_unlock(&mu);
  } else if (strcmp(mode, "sem") == 0) {
    sem_init(&items, 0, 0);
    for (int i = 0; i < 3; i++)
      sem_post(&items);
    fn = sem_worker;
  } else {
    if (pipe(fds) != 0)
      return 1;
    fn = pipe_worker;
  }
  pthread_create(&t, NULL, fn, NULL);
  printf("hang_no_progress: joining the worker (%s)\n", mode);
  pthread_join(t, NULL); /* LINE:main_joins */
  printf("hang_no_progress: done\n");
  return 0;
}
