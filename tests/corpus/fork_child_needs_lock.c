/* fork_child_needs_lock - fork while another thread holds a lock, and the child needs it.
 *
 * A holder thread takes `cache` (LINE:holder_takes; for rdlock and wrlock modes the rwlock
 * `table` for reading, LINE:holder_reads) and keeps it while main forks; at the fork it is
 * blocked in pthread_cond_wait (LINE:holder_blocked): main forks holding `gate`, which it can
 * only have taken once the holder's wait released it. In the child:
 *   lock       pthread_mutex_lock(&cache) (LINE:child_locks): would block forever
 *   trylock    pthread_mutex_trylock(&cache) in a retry loop (LINE:child_trylocks): fails
 *              every time; the child gives up after 20 tries
 *   timedlock  pthread_mutex_timedlock(&cache, now + 50 ms) (LINE:child_timedlocks): times
 *              out
 *   wrlock     pthread_rwlock_wrlock(&table) (LINE:child_wrlocks): would block forever
 *   rdlock     pthread_rwlock_rdlock(&table): readers do not exclude readers; it succeeds
 *   exec       the child execs `true` without touching any lock
 *   lock_anew, wrlock_anew
 *              the child makes `cache` (`table`) anew by assigning the static initializer, as
 *              an atfork child handler may, then locks and unlocks it: it is free
 * The parent waits for the child, prints its exit status, then releases the holder.
 * Expected verdict: lock, trylock, timedlock, wrlock: a fork report from the child, with where
 * the holder took the lock, where it was blocked at the fork, and the child's call; the child
 * exits 66 (lock and wrlock are ended at once); the parent reports nothing, "done", exit 0.
 * rdlock, exec, lock_anew, wrlock_anew: no report at all, child exit status 0.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t cache = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t table = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static sem_t holding;
static int released;
static const char *mode;

static void *holder(void *arg)
{
  (void)arg;
  if (mode[0] == 'r' || mode[0] == 'w')
    pthread_rwlock_rdlock(&table); /* LINE:holder_reads */
  else
    pthread_mutex_lock(&cache); /* LINE:holder_takes */
  pthread_mutex_lock(&gate);
  sem_post(&holding);
  while (!released)
    pthread_cond_wait(&go, &gate); /* LINE:holder_blocked */
  pthread_mutex_unlock(&gate);
  if (mode[0] == 'r' || mode[0] == 'w')
    pthread_rwlock_unlock(&table);
  else
    pthread_mutex_unlock(&cache);
  return NULL;
}

static int child(void)
{
  pthread_mutex_unlock(&gate); /* this thread's own, taken before the fork */
  if (strcmp(mode, "lock") == 0) {
    pthread_mutex_lock(&cache); /* LINE:child_locks */
    return 0;
  }
  if (strcmp(mode, "trylock") == 0) {
    for (int i = 0; i < 20; i++)
      if (pthread_mutex_trylock(&cache) == 0) /* LINE:child_trylocks */
        return 0;
    return 3;
  }
  if (strcmp(mode, "timedlock") == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(&cache, &ts) == ETIMEDOUT ? 3 : 0; /* LINE:child_timedlocks */
  }
  if (strcmp(mode, "wrlock") == 0) {
    pthread_rwlock_wrlock(&table); /* LINE:child_wrlocks */
    return 0;
  }
  if (strcmp(mode, "lock_anew") == 0) {
    cache = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    int rc = pthread_mutex_lock(&cache);
    if (rc == 0)
      pthread_mutex_unlock(&cache);
    return rc;
  }
  if (strcmp(mode, "wrlock_anew") == 0) {
    table = (pthread_rwlock_t)PTHREAD_RWLOCK_INITIALIZER;
    int rc = pthread_rwlock_wrlock(&table);
    if (rc == 0)
      pthread_rwlock_unlock(&table);
    return rc;
  }
  if (strcmp(mode, "rdlock") == 0) {
    int rc = pthread_rwlock_rdlock(&table);
    if (rc == 0)
      pthread_rwlock_unlock(&table);
    return rc;
  }
  execlp("true", "true", (char *)NULL);
  return 127;
}

int main(int argc, char **argv)
{
  pthread_t t;
  int status = 0;

  mode = argc > 1 ? argv[1] : "lock";
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&holding, 0, 0);
  pthread_create(&t, NULL, holder, NULL);
  sem_wait(&holding);
  pthread_mutex_lock(&gate); /* the holder is inside its wait now */
  pid_t pid = fork();
  if (pid == 0)
    exit(child());
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return 1;
  printf("fork_child_needs_lock: child exit status %d\n",
         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  released = 1;
  pthread_cond_signal(&go);
  pthread_mutex_unlock(&gate);
  pthread_join(t, NULL);
  printf("fork_child_needs_lock: done\n");
  return 0;
}
