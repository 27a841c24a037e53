/* woken_by_a_notification - every thread waits, for 1.5 s, on what an asynchronous notification
 * the program asked for ends: a message queue's (mq_notify) or an asynchronous read's (aio_read).
 *
 * A second thread is parked on a condition variable (parked.h) until the end; main waits on a
 * semaphore until the notification comes. A child process makes it come after 1.5 s: it sends
 * the message, or writes what the read waits for.
 *   woken_by_a_notification mq_thread    mq_notify with SIGEV_THREAD: glibc's thread posts
 *   woken_by_a_notification mq_signal    mq_notify with SIGEV_SIGNAL (SIGRTMIN), handler posts
 *   woken_by_a_notification aio_thread   aio_read of a pipe, SIGEV_THREAD: glibc's thread posts
 *   woken_by_a_notification aio_signal   aio_read of a pipe, SIGEV_SIGNAL, handler posts
 *   woken_by_a_notification mq_never     as mq_thread, aio_never as aio_thread, but the
 *   woken_by_a_notification aio_never    notification posts nothing: after it main waits
 *                                        for good (a real hang)
 * For longer than the watchdog's second every thread the detector can see is blocked, but the
 * notification has yet to come, from a thread glibc starts or by a signal: no hang until it has.
 * Expected verdict: mq_thread, mq_signal, aio_thread, aio_signal: clean,
 * "woken_by_a_notification: done", exit 0; mq_never, aio_never: a hang ("no progress"), exit
 * 66, after the notification came.
 */
#define _GNU_SOURCE
#include <aio.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parked.h"

static sem_t woken;

static void post(int sig)
{
  (void)sig;
  sem_post(&woken);
}

static void post_from_thread(union sigval v)
{
  (void)v;
  sem_post(&woken);
}

static void nothing_from_thread(union sigval v)
{
  (void)v;
}

/* A child that sleeps 1.5 s, then sends one message to q or writes one byte to fd. */
static pid_t later(mqd_t q, int fd)
{
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  struct timespec d = {1, 500000000};
  nanosleep(&d, NULL);
  if (q != (mqd_t)-1)
    mq_send(q, "x", 1, 0);
  else
    (void)!write(fd, "x", 1);
  _exit(0);
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "mq_thread";
  int by_signal = strstr(mode, "_signal") != NULL;
  struct sigevent ev;
  struct sigaction sa;
  pthread_t t;
  pid_t child;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (sem_init(&woken, 0, 0) != 0 || corpus_park(&t) != 0)
    return 2;
  memset(&ev, 0, sizeof ev);
  memset(&sa, 0, sizeof sa);
  if (by_signal) {
    sa.sa_handler = post;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGRTMIN, &sa, NULL);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
  } else {
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function =
        strstr(mode, "_never") != NULL ? nothing_from_thread : post_from_thread;
  }

  char name[64];
  mqd_t q = (mqd_t)-1;
  int fds[2] = {-1, -1};
  static char buf[8];
  static struct aiocb cb;
  if (strncmp(mode, "mq_", 3) == 0) {
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 8};
    snprintf(name, sizeof name, "/woken_by_a_notification.%d", (int)getpid());
    q = mq_open(name, O_CREAT | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) {
      perror("mq_open");
      return 2;
    }
    mq_unlink(name);
    if (mq_notify(q, &ev) != 0)
      return 2;
    child = later(q, -1);
  } else if (strncmp(mode, "aio_", 4) == 0) {
    if (pipe(fds) != 0)
      return 2;
    child = later((mqd_t)-1, fds[1]);
    cb.aio_fildes = fds[0];
    cb.aio_buf = buf;
    cb.aio_nbytes = 1;
    cb.aio_sigevent = ev;
    if (aio_read(&cb) != 0)
      return 2;
  } else {
    return 2;
  }
  while (sem_wait(&woken) != 0)
    ;
  if (q != (mqd_t)-1) {
    char msg[8];
    if (mq_receive(q, msg, sizeof msg, NULL) != 1)
      return 1;
    mq_close(q);
  } else if (aio_error(&cb) != 0 || aio_return(&cb) != 1) {
    return 1;
  }
  waitpid(child, NULL, 0);
  corpus_unpark(t);
  printf("woken_by_a_notification: done\n");
  return 0;
}
