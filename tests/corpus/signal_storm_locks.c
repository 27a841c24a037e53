/* signal_storm_locks - signal handlers that lock land anywhere in their thread's own locking.
 *
 * Checks: main takes two mutexes A and B in order (A, then B under it: a lock and a trylock),
 * then two C11 mutexes C and D the same way (mtx_lock, mtx_trylock), again and again while
 * a second thread sends it SIGUSR1 20,000 times, each once the last was handled; main stops
 * when the last has been (and after at least 200,000 rounds). The
 * handler takes and releases another mutex H, which lives in another part of memory (A and B
 * in a mapping of their own, H in the program's data). So a handler's acquisition can start
 * at any instruction of main's acquisitions and releases: while main looks its lock up,
 * while it fills in the held-lock entry it is about to use, between the real call and the
 * bookkeeping after it. None of that may mix the handler's lock into main's: every order
 * here (A -> B, C -> D, each of them -> H) is consistent, every release is of a lock held.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <threads.h>

#define ROUNDS 200000
#define SIGNALS 20000

static pthread_mutex_t lock_h = PTHREAD_MUTEX_INITIALIZER;
static mtx_t lock_c, lock_d;
static pthread_t main_thread;
static atomic_int handled;
static sem_t ran; /* posted by the handler: the sender waits on it rather than spin */

static void on_usr1(int sig)
{
  (void)sig;
  pthread_mutex_lock(&lock_h);
  pthread_mutex_unlock(&lock_h);
  atomic_fetch_add(&handled, 1);
  sem_post(&ran);
}

/* One signal at a time: the next is sent once the handler has run for the last one. */
static void *sender(void *arg)
{
  (void)arg;
  for (int i = 0; i < SIGNALS; i++) {
    pthread_kill(main_thread, SIGUSR1);
    while (sem_wait(&ran) != 0)
      ;
  }
  return NULL;
}

int main(void)
{
  pthread_mutex_t *pair = mmap(NULL, 2 * sizeof(pthread_mutex_t), PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct sigaction sa = {.sa_handler = on_usr1};
  pthread_t t;

  if (pair == MAP_FAILED) {
    perror("signal_storm_locks: mmap");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&ran, 0, 0);
  pthread_mutex_init(&pair[0], NULL);
  pthread_mutex_init(&pair[1], NULL);
  mtx_init(&lock_c, mtx_plain);
  mtx_init(&lock_d, mtx_plain);
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  main_thread = pthread_self();
  pthread_create(&t, NULL, sender, NULL);
  for (int r = 0; r < ROUNDS || atomic_load(&handled) < SIGNALS; r++) {
    pthread_mutex_lock(&pair[0]);
    if (pthread_mutex_trylock(&pair[1]) == 0)
      pthread_mutex_unlock(&pair[1]);
    pthread_mutex_unlock(&pair[0]);
    mtx_lock(&lock_c);
    if (mtx_trylock(&lock_d) == thrd_success)
      mtx_unlock(&lock_d);
    mtx_unlock(&lock_c);
  }
  pthread_join(t, NULL);
  pthread_mutex_destroy(&pair[0]);
  pthread_mutex_destroy(&pair[1]);
  mtx_destroy(&lock_c);
  mtx_destroy(&lock_d);
  printf("signal_storm_locks: done (%d signals handled)\n", atomic_load(&handled));
  return 0;
}
