/* signals_to_the_process - a signal sent to the whole process reaches a thread of the
 * program's, the one that does not block it.
 *
 * main makes a first thread while SIGALRM is unblocked (a detector starts its own threads
 * then, if it has any); that thread blocks SIGALRM at once. main blocks it too and makes a
 * second thread, the receiver, which unblocks it. Once both are ready, main then sends SIGALRM to the process 300 times with kill(), each once the
 * last was handled. The kernel hands a process-directed signal to any thread that does not
 * block it: only the receiver, here, unless another thread in the process leaves it unblocked.
 * The handler notes which thread it ran on.
 * Expected verdict: no report; "300 of 300 signals handled on the receiver"; exit 0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SIGNALS 300

static sem_t handled, stop, ready;
static atomic_int on_receiver, elsewhere;
static volatile pid_t receiver_tid;

static void on_alarm(int sig)
{
  (void)sig;
  if ((pid_t)syscall(SYS_gettid) == receiver_tid)
    atomic_fetch_add(&on_receiver, 1);
  else
    atomic_fetch_add(&elsewhere, 1);
  sem_post(&handled);
}

static void *idle(void *arg)
{
  (void)arg;
  while (sem_wait(&stop) != 0)
    ;
  return NULL;
}

/* The first thread (howto not NULL) blocks SIGALRM; the receiver (howto NULL) unblocks it. */
static void *set_alarm_then_idle(void *howto)
{
  sigset_t alarm_only;

  sigemptyset(&alarm_only);
  sigaddset(&alarm_only, SIGALRM);
  if (howto == NULL)
    receiver_tid = (pid_t)syscall(SYS_gettid);
  pthread_sigmask(howto != NULL ? SIG_BLOCK : SIG_UNBLOCK, &alarm_only, NULL);
  sem_post(&ready);
  return idle(NULL);
}

int main(void)
{
  struct sigaction sa = {.sa_handler = on_alarm};
  sigset_t alarm_only;
  pthread_t first, second;

  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGALRM, &sa, NULL) != 0 || sem_init(&handled, 0, 0) != 0 ||
      sem_init(&stop, 0, 0) != 0 || sem_init(&ready, 0, 0) != 0)
    return 1;
  sigemptyset(&alarm_only);
  sigaddset(&alarm_only, SIGALRM);
  pthread_create(&first, NULL, set_alarm_then_idle, &sa); /* SIGALRM unblocked here */
  pthread_sigmask(SIG_BLOCK, &alarm_only, NULL);
  pthread_create(&second, NULL, set_alarm_then_idle, NULL);
  for (int i = 0; i < 2; i++)
    while (sem_wait(&ready) != 0)
      ;
  for (int i = 0; i < SIGNALS; i++) {
    kill(getpid(), SIGALRM);
    while (sem_wait(&handled) != 0)
      ;
  }
  sem_post(&stop);
  sem_post(&stop);
  pthread_join(first, NULL);
  pthread_join(second, NULL);
  printf("signals_to_the_process: %d of %d signals handled on the receiver, %d elsewhere\n",
         atomic_load(&on_receiver), SIGNALS, atomic_load(&elsewhere));
  printf("signals_to_the_process: done\n");
  return atomic_load(&elsewhere) == 0 ? 0 : 1;
}
