/* init_after_unlock - a lock initialized again right after its last holder let it go: legal.
 *
 * Each round a second thread takes the lock, says so, and releases it; main waits for that,
 * takes and releases the lock itself (so the other thread's release is over in glibc), then
 * initializes it again while nobody holds it or waits for it. 200,000 rounds, both threads
 * spinning between them (yielding when a wait runs long), to land in the few instructions
 * between a release's glibc call and the release wrapper's own bookkeeping.
 *   init_after_unlock mutex    pthread_mutex_t, pthread_mutex_init
 *   init_after_unlock rwlock   pthread_rwlock_t written, pthread_rwlock_init
 *   init_after_unlock c11      mtx_t, mtx_init
 * Expected verdict: clean, "init_after_unlock: done", exit 0.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

#define ROUNDS 200000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static mtx_t cm;
static int kind; /* 0 mutex, 1 rwlock, 2 c11 */
static atomic_int taken = -1, renewed = -1;

static void take(void)
{
  if (kind == 0)
    pthread_mutex_lock(&mu);
  else if (kind == 1)
    pthread_rwlock_wrlock(&rw);
  else
    mtx_lock(&cm);
}

static void release(void)
{
  if (kind == 0)
    pthread_mutex_unlock(&mu);
  else if (kind == 1)
    pthread_rwlock_unlock(&rw);
  else
    mtx_unlock(&cm);
}

static void renew(void)
{
  if (kind == 0)
    pthread_mutex_init(&mu, NULL);
  else if (kind == 1)
    pthread_rwlock_init(&rw, NULL);
  else
    mtx_init(&cm, mtx_plain);
}

/* Spins (the window is a few instructions wide: a thread that sleeps misses it), but lets the
 * other thread run when it has to wait longer, as on a busy machine. */
static void wait_for(atomic_int *flag, int value)
{
  for (int spins = 0; atomic_load(flag) != value; spins++)
    if (spins >= 2000) {
      sched_yield();
      spins = 0;
    }
}

static void *other(void *arg)
{
  for (int i = 0; i < ROUNDS; i++) {
    wait_for(&renewed, i - 1); /* main is done with the previous round */
    take();
    atomic_store(&taken, i);
    release();
  }
  return arg;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "mutex";
  kind = strcmp(mode, "rwlock") == 0 ? 1 : strcmp(mode, "c11") == 0 ? 2 : 0;
  pthread_t t;
  if (mtx_init(&cm, mtx_plain) != thrd_success || pthread_create(&t, NULL, other, NULL) != 0)
    return 2;
  for (int i = 0; i < ROUNDS; i++) {
    wait_for(&taken, i);
    take(); /* waits for the other thread's release */
    release();
    renew(); /* nobody holds the lock or waits for it */
    atomic_store(&renewed, i);
  }
  pthread_join(t, NULL);
  printf("init_after_unlock: done\n");
  return 0;
}
