/* cond_retake_deadlock - a deadlock that closes in a condition wait's retake of its mutex.
 *
 * The waiter holds OUTER, takes INNER and waits on a condition variable with INNER (the wait
 * lets INNER go, OUTER stays held: LINE:wait). The signaller takes INNER, sets the flag,
 * signals (LINE:signal) and then asks for OUTER (LINE:want_outer): it blocks, holding INNER.
 * The waiter, signalled, must take INNER back before its wait returns: it blocks in the C
 * library, inside pthread_cond_wait, on a mutex the signaller holds. Each waits for the other.
 *
 *   cond_retake_deadlock alone       just the two threads (and main joining them)
 *   cond_retake_deadlock bystander   a third thread goes on sleeping in a loop, so "every thread
 *                                    is stuck" never holds: only the lock cycle explains it
 * Expected verdict: a lock-order cycle (OUTER -> INNER, INNER -> OUTER) and a deadlock that
 * happened, of 2 threads, found by the watchdog about a second after the signaller blocks (not a
 * hang, and not only once the bystander ends); "done" never printed; exit 66.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t inner = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t waiting;
static int flag; /* guarded by inner */

static void *waiter(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&outer);
  pthread_mutex_lock(&inner);
  pthread_barrier_wait(&waiting); /* the signaller takes inner only once the wait let it go */
  while (!flag)
    pthread_cond_wait(&cv, &inner); /* LINE:wait */
  pthread_mutex_unlock(&inner);
  pthread_mutex_unlock(&outer);
  return NULL;
}

static void *signaller(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&waiting);
  pthread_mutex_lock(&inner);
  flag = 1;
  pthread_cond_signal(&cv); /* LINE:signal */
  pthread_mutex_lock(&outer); /* LINE:want_outer */
  pthread_mutex_unlock(&outer);
  pthread_mutex_unlock(&inner);
  return NULL;
}

static void *bystander(void *arg)
{
  (void)arg;
  for (int i = 0; i < 400; i++)
    usleep(50 * 1000);
  return NULL;
}

int main(int argc, char **argv)
{
  int with_bystander = argc > 1 && strcmp(argv[1], "bystander") == 0;
  pthread_t w, s, b;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pthread_barrier_init(&waiting, NULL, 2) != 0 ||
      (with_bystander && pthread_create(&b, NULL, bystander, NULL) != 0) ||
      pthread_create(&w, NULL, waiter, NULL) != 0 || pthread_create(&s, NULL, signaller, NULL) != 0)
    return 2;
  pthread_join(w, NULL);
  pthread_join(s, NULL);
  printf("cond_retake_deadlock: done\n");
  return 0;
}
