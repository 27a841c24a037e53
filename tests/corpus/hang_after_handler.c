/* hang_after_handler - a signal handler runs while its thread is blocked, and the thread stays
 * blocked after it.
 *
 *   hang_after_handler lock    the handler takes and releases a mutex
 *   hang_after_handler write   the handler writes a byte to a pipe of its own (the self-pipe
 *                              trick), which nobody reads
 * The worker reads a pipe the program made (LINE:pipe_read) that nobody ever writes. Once the
 * worker is inside the read (its /proc syscall file says so: blocked_in.h), main sends it
 * SIGALRM; the handler is installed with SA_RESTART, so the kernel restarts the read after it
 * and the worker is blocked again, in the same call. main waits for the handler to have run, then joins the
 * worker (LINE:main_joins). SIGALRM is the program's own timer, not a request from another
 * process: nothing outside can end the read.
 * Expected verdict: a hang report ("no progress"), with the worker's read and main's join, as
 * without the signal; "done" never printed; exit 66.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blocked_in.h"

static int fds[2], handler_fds[2];
static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;
static int handler_writes;
static sem_t handled;
static volatile pid_t worker_tid;

static void on_alarm(int sig)
{
  (void)sig;
  if (handler_writes) {
    char c = 'x';
    if (write(handler_fds[1], &c, 1) != 1)
      abort();
  } else {
    pthread_mutex_lock(&handler_lock);
    pthread_mutex_unlock(&handler_lock);
  }
  sem_post(&handled);
}

static void *pipe_worker(void *arg)
{
  char c;

  (void)arg;
  worker_tid = (pid_t)syscall(SYS_gettid);
  if (read(fds[0], &c, 1) < 0) /* LINE:pipe_read */
    perror("read");
  return NULL;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "lock";
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  handler_writes = strcmp(mode, "write") == 0;
  if (pipe(fds) != 0 || pipe(handler_fds) != 0 || sem_init(&handled, 0, 0) != 0)
    return 1;
  if (corpus_on_alarm(on_alarm, SA_RESTART) != 0)
    return 1;
  pthread_create(&t, NULL, pipe_worker, NULL);
  if (corpus_wait_blocked_in(&worker_tid, SYS_read) != 0) {
    fprintf(stderr, "hang_after_handler: the worker never blocked in read\n");
    return 1;
  }
  pthread_kill(t, SIGALRM);
  while (sem_wait(&handled) != 0)
    ;
  printf("hang_after_handler: the handler ran (%s) while the worker read; joining it\n", mode);
  pthread_join(t, NULL); /* LINE:main_joins */
  printf("hang_after_handler: done\n");
  return 0;
}
