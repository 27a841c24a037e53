/* small_stack_threads - the classic inversion, new lock orders and a real deadlock, all in
 * threads with small stacks (servers and language runtimes create threads of 16 to 128 KiB).
 *
 * Checks: the detector's work on the program's threads fits their stacks. worker_ab takes A then
 * B; only after it has released both (a semaphore says so) worker_ba takes B then A: a latent
 * inversion, reported from worker_ba's thread. Each worker also takes a chain of fresh locks
 * under its first lock (a new edge, and so the slow path, at every step; no cycle). With --hang
 * the two workers really deadlock (each holds one lock and waits at the barrier for the other)
 * and the watchdog must end the run. The first argument is the threads' stack size in bytes,
 * or "min" for PTHREAD_STACK_MIN (the default).
 * Expected verdict: without --hang, one potential deadlock with both stacks of both edges at the
 * LINE: markers, the program runs to its end, exit 66; with --hang, the "deadlock (it
 * happened)" report with each thread waiting at its *_second marker, exit 66. Never SIGSEGV.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN 24

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t chain[2][CHAIN];
static sem_t ab_done;
static pthread_barrier_t both_hold_one;
static int hang;

/* Every lock of the chain taken under `outer`: each acquisition is a new lock order. */
static void take_chain(pthread_mutex_t *c)
{
  for (int i = 0; i < CHAIN; i++) {
    pthread_mutex_lock(&c[i]);
    pthread_mutex_unlock(&c[i]);
  }
}

static void *worker_ab(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  take_chain(chain[0]);
  if (hang)
    pthread_barrier_wait(&both_hold_one);
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  sem_post(&ab_done);
  return NULL;
}

static void *worker_ba(void *arg)
{
  (void)arg;
  if (!hang)
    sem_wait(&ab_done);
  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  take_chain(chain[1]);
  if (hang)
    pthread_barrier_wait(&both_hold_one);
  pthread_mutex_lock(&lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  return NULL;
}

int main(int argc, char **argv)
{
  size_t size = PTHREAD_STACK_MIN;
  pthread_attr_t attr;
  pthread_t t1, t2;
  int rc;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && strcmp(argv[1], "min") != 0)
    size = strtoul(argv[1], NULL, 0);
  hang = argc > 2 && strcmp(argv[2], "--hang") == 0;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < CHAIN; j++)
      pthread_mutex_init(&chain[i][j], NULL);
  sem_init(&ab_done, 0, 0);
  pthread_barrier_init(&both_hold_one, NULL, 2);
  pthread_attr_init(&attr);
  rc = pthread_attr_setstacksize(&attr, size);
  if (rc != 0) {
    fprintf(stderr, "small_stack_threads: stack size %zu refused: %s\n", size, strerror(rc));
    return 2;
  }
  printf("small_stack_threads: stacks of %zu bytes\n", size);
  if ((rc = pthread_create(&t1, &attr, worker_ab, NULL)) != 0 ||
      (rc = pthread_create(&t2, &attr, worker_ba, NULL)) != 0) {
    fprintf(stderr, "small_stack_threads: pthread_create: %s\n", strerror(rc));
    return 2;
  }
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  pthread_attr_destroy(&attr);
  printf("small_stack_threads: done\n");
  return 0;
}
