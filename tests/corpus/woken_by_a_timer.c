/* woken_by_a_timer - every thread waits, for 1.5 s, on what a timer the program armed ends.
 *
 * A second thread is parked on a condition variable (parked.h) until the end; main waits on a
 * semaphore until the timer fires:
 *   woken_by_a_timer posix_signal   timer_create with SIGEV_SIGNAL (SIGRTMIN), handler sem_post
 *   woken_by_a_timer posix_thread   timer_create with SIGEV_THREAD: glibc's own thread posts
 *   woken_by_a_timer posix_never    as posix_signal, but the handler posts nothing: after the
 *                                   timer main waits for good (a real hang)
 *   woken_by_a_timer alarm          setitimer (alarm(2)'s timer), SIGALRM handler sem_post
 * For longer than the watchdog's second every thread of the program is blocked, but a POSIX
 * timer has yet to fire: no hang until it has. alarm and setitimer are not counted (a program
 * that bounds itself with alarm and a handler that exits must still be seen hung).
 * Expected verdict: posix_signal, posix_thread: clean, "woken_by_a_timer: done", exit 0;
 * posix_never: a hang ("no progress"), exit 66, after the timer fired; alarm: a hang, exit 66,
 * about the watchdog's second in (a limit the documentation states).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "parked.h"

static sem_t woken;

static void post(int sig)
{
  (void)sig;
  sem_post(&woken);
}

static void nothing(int sig)
{
  (void)sig;
}

static void post_from_thread(union sigval v)
{
  (void)v;
  sem_post(&woken);
}

static void on(int sig, void (*fn)(int))
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "alarm";
  struct itimerval in_1500ms = {{0, 0}, {1, 500000}};
  struct itimerspec posix_1500ms = {{0, 0}, {1, 500000000}};
  struct sigevent ev;
  timer_t timer;
  pthread_t t;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (sem_init(&woken, 0, 0) != 0 || corpus_park(&t) != 0)
    return 2;
  memset(&ev, 0, sizeof ev);
  if (strcmp(mode, "alarm") == 0) {
    on(SIGALRM, post);
    setitimer(ITIMER_REAL, &in_1500ms, NULL);
  } else if (strcmp(mode, "posix_signal") == 0 || strcmp(mode, "posix_never") == 0) {
    on(SIGRTMIN, mode[6] == 's' ? post : nothing);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0 ||
        timer_settime(timer, 0, &posix_1500ms, NULL) != 0)
      return 2;
  } else if (strcmp(mode, "posix_thread") == 0) {
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = post_from_thread;
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0 ||
        timer_settime(timer, 0, &posix_1500ms, NULL) != 0)
      return 2;
  } else {
    return 2;
  }
  while (sem_wait(&woken) != 0)
    ;
  corpus_unpark(t);
  printf("woken_by_a_timer: done\n");
  return 0;
}
