/* sequential_threads - N threads started and joined one at a time, each taking A then B;
 * then main takes B then A.
 *
 * Checks: every A -> B was taken by a thread that main joined before taking B -> A, so the
 * two orders never overlap: no deadlock is possible, whatever N (argument, default 1000).
 * Create/join ordering must stay exact with as many threads and segments as the program
 * makes, and the detector's memory must not grow with N beyond the threads' own records.
 * Expected verdict: no report; the program prints "sequential_threads: done" and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *take_ab(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  return NULL;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (long i = 0; i < n; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, take_ab, NULL) != 0) {
      fprintf(stderr, "sequential_threads: pthread_create failed at %ld\n", i);
      return 1;
    }
    pthread_join(t, NULL);
  }
  pthread_mutex_lock(&lock_b);
  pthread_mutex_lock(&lock_a);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  printf("sequential_threads: done\n");
  return 0;
}
