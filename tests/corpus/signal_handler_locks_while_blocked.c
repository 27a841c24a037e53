/* signal_handler_locks_while_blocked - a handler locks while its thread is blocked in a lock.
 *
 * Checks: a holder thread takes M and posts a semaphore; main then blocks in
 * pthread_mutex_lock(M). The holder waits until the kernel shows main asleep in the futex of
 * M (read from /proc, not guessed with a sleep), then sends SIGUSR1 to main. The handler
 * trylocks and unlocks H and posts a second semaphore, after which the holder releases M.
 * The handler's calls run in the middle of main's pending lock of M and must not be confused
 * with it; afterwards main takes H normally, which is free.
 * Expected verdict: no report (no self-deadlock on H); "handler took H" printed; exit 0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_h = PTHREAD_MUTEX_INITIALIZER;
static sem_t m_held, handler_ran;
static pthread_t main_thread;
static pid_t main_tid;
static volatile sig_atomic_t handler_took_h;

static void on_usr1(int sig)
{
  (void)sig;
  if (pthread_mutex_trylock(&lock_h) == 0) {
    handler_took_h = 1;
    pthread_mutex_unlock(&lock_h);
  }
  sem_post(&handler_ran);
}

/* Whether thread tid is inside futex() on the word of M, i.e. blocked in its lock. */
static int main_blocked_on_m(void)
{
  char path[64];
  long nr = -1;
  unsigned long arg0 = 0;
  FILE *f;

  snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)main_tid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  int got = fscanf(f, "%ld %lx", &nr, &arg0);
  fclose(f);
  return got == 2 && nr == SYS_futex && arg0 == (unsigned long)(uintptr_t)&lock_m;
}

static void *holder(void *arg)
{
  int blocked;

  (void)arg;
  pthread_mutex_lock(&lock_m);
  sem_post(&m_held);
  while ((blocked = main_blocked_on_m()) == 0)
    sched_yield();
  if (blocked < 0)
    printf("signal_handler_locks_while_blocked: cannot read main's syscall\n");
  pthread_kill(main_thread, SIGUSR1);
  while (sem_wait(&handler_ran) != 0)
    ;
  pthread_mutex_unlock(&lock_m);
  return NULL;
}

int main(void)
{
  struct sigaction sa = {.sa_handler = on_usr1};
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sem_init(&m_held, 0, 0);
  sem_init(&handler_ran, 0, 0);
  main_thread = pthread_self();
  main_tid = (pid_t)syscall(SYS_gettid);
  pthread_create(&t, NULL, holder, NULL);
  while (sem_wait(&m_held) != 0)
    ;
  pthread_mutex_lock(&lock_m); /* blocks until the handler has run */
  pthread_mutex_unlock(&lock_m);
  pthread_join(t, NULL);
  if (handler_took_h)
    printf("signal_handler_locks_while_blocked: handler took H\n");
  pthread_mutex_lock(&lock_h); /* LINE:relock */
  pthread_mutex_unlock(&lock_h);
  printf("signal_handler_locks_while_blocked: done\n");
  return 0;
}
