/* mutex_handoff - a default mutex locked by one thread and unlocked by another.
 *
 * Checks: main locks M; a worker unlocks it (glibc allows this for a normal mutex, which then
 * works as a binary semaphore; POSIX leaves it undefined) and main, after joining the worker,
 * locks M again. M is free at that point, so the second lock is not a relock by its owner: the
 * detector must drop M from main's held set when another thread releases it.
 * Expected verdict: one bad unlock (the worker's), no self-deadlock; "worker unlocked M" and
 * "relocked M" printed; exit 66.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_m = PTHREAD_MUTEX_INITIALIZER;

static void *releaser(void *arg)
{
  (void)arg;
  if (pthread_mutex_unlock(&lock_m) == 0)
    printf("mutex_handoff: worker unlocked M\n");
  return NULL;
}

int main(void)
{
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_lock(&lock_m);
  pthread_create(&t, NULL, releaser, NULL);
  pthread_join(t, NULL);
  pthread_mutex_lock(&lock_m); /* LINE:relock */
  printf("mutex_handoff: relocked M\n");
  pthread_mutex_unlock(&lock_m);
  printf("mutex_handoff: done\n");
  return 0;
}
