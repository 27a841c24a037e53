/* misuse_init_locked - a lock initialized again while it is held.
 *
 * Checks: with "mutex", a worker locks M and main, once the worker says so, calls
 * pthread_mutex_init on M (the worker's lock state is lost); with "rwlock", main write-locks an
 * rwlock and initializes it again itself. The worker is told to go on through a pipe, never by
 * sleeping.
 * Expected verdict: one "init of a locked lock" report naming the init at LINE:init_<arg> and
 * the holder's lock at LINE:lock_<arg>; the program runs to its end; exit 66.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t lock_rw = PTHREAD_RWLOCK_INITIALIZER;
static int locked_pipe[2], go_pipe[2];

static void *holder(void *arg)
{
  char c = 'x';

  (void)arg;
  pthread_mutex_lock(&lock_m); /* LINE:lock_mutex */
  if (write(locked_pipe[1], &c, 1) != 1 || read(go_pipe[0], &c, 1) != 1)
    return NULL;
  return NULL; /* the lock is gone with the re-init: nothing to unlock */
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "mutex";
  pthread_t t;
  char c = 'x';

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(locked_pipe) != 0 || pipe(go_pipe) != 0)
    return 1;
  if (strcmp(mode, "mutex") == 0) {
    pthread_create(&t, NULL, holder, NULL);
    if (read(locked_pipe[0], &c, 1) != 1)
      return 1;
    pthread_mutex_init(&lock_m, NULL); /* LINE:init_mutex */
    if (write(go_pipe[1], &c, 1) != 1)
      return 1;
    pthread_join(t, NULL);
  } else {
    pthread_rwlock_wrlock(&lock_rw); /* LINE:lock_rwlock */
    pthread_rwlock_init(&lock_rw, NULL); /* LINE:init_rwlock */
  }
  printf("misuse_init_locked: done\n");
  return 0;
}
