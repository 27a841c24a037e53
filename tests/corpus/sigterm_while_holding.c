/* sigterm_while_holding - the process is sent SIGTERM while a thread holds a lock.
 *
 * Checks: a program stopped by SIGTERM (as a service manager or `kill` would) gets its JSON
 * exit summary although it never exits normally, even with another thread parked inside a locked
 * section; the process still dies of SIGTERM. The signal goes to the whole process, so
 * either thread may run the handler.
 * Expected verdict: no report, no text (a clean run ended by a signal that is no crash says
 * nothing), a JSON summary object naming signal 15; killed by SIGTERM, never reaching "done".
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t inner = PTHREAD_MUTEX_INITIALIZER;
static sem_t holding, never_posted;

static void *holder(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&held);
  pthread_mutex_lock(&inner);
  pthread_mutex_unlock(&inner);
  sem_post(&holding);
  sem_wait(&never_posted);
  return NULL;
}

int main(void)
{
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&holding, 0, 0);
  sem_init(&never_posted, 0, 0);
  pthread_create(&t, NULL, holder, NULL);
  sem_wait(&holding);
  printf("sigterm_while_holding: sending SIGTERM\n");
  kill(getpid(), SIGTERM);
  sem_wait(&never_posted);
  printf("sigterm_while_holding: done\n");
  return 0;
}
