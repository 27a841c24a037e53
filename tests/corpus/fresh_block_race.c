/* fresh_block_race - four threads take the first locks of never-used memory at the same moment.
 *
 * Checks: 2,000 rounds; in each, main makes two mutexes 64 bytes apart in memory no lock has
 * lived in before (a fresh 128-byte span of one mapping per round), and four threads released
 * together (a barrier) take them once each: threads 0 and 1 the first, threads 2 and 3 the
 * second, the odd ones with a lock of their own held (its edge in). The detector keeps a
 * lock's slot in a block per span that the first acquisition makes; the four first
 * acquisitions race to make that block, and whoever loses must use the winner's: a lock
 * recorded in a block that lost would be made a second time by the next thread that takes it.
 * The summary counts every mutex once (the 2 own locks taken + 4,000 = 4,002 locks, 4,000
 * edges) and reports nothing.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define THREADS 4
#define ROUNDS 2000
#define SPAN 128

static pthread_barrier_t start, done;
static pthread_mutex_t *pair[2];
static pthread_mutex_t own[THREADS];

static void *taker(void *arg)
{
  long i = (long)arg;
  for (int r = 0; r < ROUNDS; r++) {
    pthread_barrier_wait(&start);
    pthread_mutex_t *m = pair[i / 2];
    if (i % 2)
      pthread_mutex_lock(&own[i]);
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
    if (i % 2)
      pthread_mutex_unlock(&own[i]);
    pthread_barrier_wait(&done);
  }
  return NULL;
}

int main(void)
{
  pthread_t t[THREADS];
  char *mem = mmap(NULL, (size_t)ROUNDS * SPAN, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  if (mem == MAP_FAILED) {
    perror("fresh_block_race: mmap");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_barrier_init(&start, NULL, THREADS + 1);
  pthread_barrier_init(&done, NULL, THREADS + 1);
  for (long i = 0; i < THREADS; i++) {
    pthread_mutex_init(&own[i], NULL);
    pthread_create(&t[i], NULL, taker, (void *)i);
  }
  for (int r = 0; r < ROUNDS; r++) {
    for (int k = 0; k < 2; k++) {
      pair[k] = (pthread_mutex_t *)(void *)(mem + (size_t)r * SPAN + (size_t)k * (SPAN / 2));
      pthread_mutex_init(pair[k], NULL);
    }
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&done);
    for (int k = 0; k < 2; k++)
      pthread_mutex_destroy(pair[k]);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  munmap(mem, (size_t)ROUNDS * SPAN);
  printf("fresh_block_race: done\n");
  return 0;
}
