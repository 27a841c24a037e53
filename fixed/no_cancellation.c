/* no_cancellation - a worker with no stop signal, shut down by killing it (lesson section 22).
 *
 * The worker streams records to the output, one write(2) per record under out_lock so that
 * records never interleave (line 43). Its loop has no stop signal (line 40, marked BUG), so
 * main shuts it down the only way left: pthread_cancel (line 82, marked BUG), as if a
 * thread could be stopped safely from outside. The worker acts on the cancel at its one
 * cancellation point, write(), inside the critical section: it dies holding out_lock, and
 * whoever takes out_lock next (main, to close the output) waits forever. The oracle looks
 * first, with a trylock (line 89), and says HAZARD; --hang takes the lock as a program
 * would, and really hangs. (With -t 2 or more, the workers that did not die wait for
 * out_lock forever, so the joins hang: alarm(2) bounds them at 2 s.)
 *
 * The fix (fixed/) is the lesson's cooperative stop: a stop flag under out_lock (line 36),
 * checked once per unit of work (lines 44-45) and set by main instead of the cancel (lines
 * 84-86): "while not stop_event.is_set(): do_one_unit_of_work()". Each worker finishes its
 * record, releases out_lock and returns; main joins it.
 *
 * Oracle: the records were written, every worker joined, and out_lock free afterwards.
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hz_args.h"

#define HANG_BOUND_S 2 /* far longer than any shutdown takes; over the harness's wall budget */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the output */
static long written, wanted; /* records written; how many main waits for */
static sem_t enough;         /* posted when `wanted` records are written */
static int out_fd;
static int stop; /* FIX: the stop signal, under out_lock */

static void *worker(void *arg)
{
  char rec[32];
  for (long n = 1;; n++) {
    int len = snprintf(rec, sizeof rec, "record %ld\n", n);
    pthread_mutex_lock(&out_lock);
    if (stop) /* FIX: checked once per unit of work */
      break;
    if (write(out_fd, rec, (size_t)len) != len) /* a cancellation point, inside the lock */
      break;
    if (++written == wanted)
      sem_post(&enough);
    pthread_mutex_unlock(&out_lock);
  }
  pthread_mutex_unlock(&out_lock);
  return arg;
}

static void on_alarm(int sig) /* the bound on the joins: async-signal-safe, exit 1 */
{
  static const char msg[] = "no_cancellation: HAZARD shutdown still waiting after 2 s: a "
                            "cancelled worker died holding out_lock, the others wait for it\n";
  ssize_t n = write(STDOUT_FILENO, msg, sizeof msg - 1);
  (void)sig, (void)n;
  _exit(1);
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"records written before the shutdown", 200, 1, true};
  hz_args_t a;
  hz_args_parse_or_exit(&a, argc, argv, &spec);
  pthread_t *workers = calloc((size_t)a.threads, sizeof *workers);
  wanted = a.size;
  out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC); /* the output file */
  long started = 0;
  if (sem_init(&enough, 0, 0) != 0)
    out_fd = -1;
  while (workers && out_fd >= 0 && started < a.threads &&
         pthread_create(&workers[started], NULL, worker, NULL) == 0)
    started++;
  if (started < a.threads || signal(SIGALRM, on_alarm) == SIG_ERR) {
    fprintf(stderr, "no_cancellation: cannot start %ld workers\n", a.threads);
    return 2;
  }
  while (sem_wait(&enough) != 0) continue;
  pthread_mutex_lock(&out_lock); /* FIX: a cooperative stop: set the flag, let them finish */
  stop = 1;
  pthread_mutex_unlock(&out_lock);
  if (!a.hang)
    alarm(HANG_BOUND_S);
  for (long t = 0; t < a.threads; t++)
    pthread_join(workers[t], NULL);
  alarm(0);
  /* Closing the output takes out_lock; --hang just takes it. */
  int held = a.hang ? pthread_mutex_lock(&out_lock) : pthread_mutex_trylock(&out_lock);
  if (held) {
    printf("no_cancellation: HAZARD out_lock still held after the shutdown: the cancelled "
           "worker died holding it, so the next lock() waits forever\n");
    return 1;
  }
  pthread_mutex_unlock(&out_lock);
  printf("no_cancellation: OK %ld records or more written; %ld workers stopped and joined\n",
         a.size, a.threads);
  close(out_fd);
  free(workers);
  return 0;
}
