/* condvar_wait - waiting on a condition variable releases its mutex for the wait.
 *
 * Checks: main holds M and waits on a condvar; the signaler takes N then M (so it can only
 * get M while main is inside the wait) and signals. Woken, main releases M and then takes N.
 * A detector that loses track of the release and reacquisition inside pthread_cond_wait and
 * believes M still held would add M -> N and report a false cycle with the signaler's N -> M.
 * Expected verdict: no report; the program finishes and exits 0.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_n = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
static int ready;

static void *signaler(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_n);
  pthread_mutex_lock(&lock_m);
  ready = 1;
  pthread_cond_signal(&ready_cv);
  pthread_mutex_unlock(&lock_m);
  pthread_mutex_unlock(&lock_n);
  return NULL;
}

int main(void)
{
  pthread_t t;
  int waits = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_lock(&lock_m);
  pthread_create(&t, NULL, signaler, NULL);
  while (!ready) {
    pthread_cond_wait(&ready_cv, &lock_m);
    waits++;
  }
  pthread_mutex_unlock(&lock_m);

  pthread_mutex_lock(&lock_n);
  pthread_mutex_unlock(&lock_n);
  pthread_join(t, NULL);
  if (waits > 0)
    printf("condvar_wait: waited on the condvar\n");
  printf("condvar_wait: done\n");
  return 0;
}
