/* handoff_then_order - a lock released by another thread is not held by its locker any more.
 *
 * Checks: main locks M; a worker unlocks it (a hand-off: the bad unlock is reported). main
 * then takes N alone. A second worker, started before all this and let go through a pipe
 * afterwards, takes N then M. M was not held when main took N, so there is no M -> N order and
 * no cycle: a detector that kept M in main's held set would invent M -> N and report a
 * lock-order cycle that never existed.
 * Expected verdict: one bad unlock (the hand-off at LINE:handoff), no potential deadlock; the
 * program runs to its end; exit 66.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_n = PTHREAD_MUTEX_INITIALIZER;
static int go_pipe[2];

static void *releaser(void *arg)
{
  (void)arg;
  pthread_mutex_unlock(&lock_m); /* LINE:handoff */
  return NULL;
}

static void *n_then_m(void *arg)
{
  char c;

  (void)arg;
  if (read(go_pipe[0], &c, 1) != 1)
    return NULL;
  pthread_mutex_lock(&lock_n);
  pthread_mutex_lock(&lock_m);
  pthread_mutex_unlock(&lock_m);
  pthread_mutex_unlock(&lock_n);
  return NULL;
}

int main(void)
{
  pthread_t later, rel;
  char c = 'x';

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(go_pipe) != 0)
    return 1;
  pthread_create(&later, NULL, n_then_m, NULL);
  pthread_mutex_lock(&lock_m); /* LINE:lock */
  pthread_create(&rel, NULL, releaser, NULL);
  pthread_join(rel, NULL);
  pthread_mutex_lock(&lock_n); /* M is not held here */
  pthread_mutex_unlock(&lock_n);
  if (write(go_pipe[1], &c, 1) != 1)
    return 1;
  pthread_join(later, NULL);
  printf("handoff_then_order: done\n");
  return 0;
}
