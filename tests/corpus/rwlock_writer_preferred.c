/* rwlock_writer_preferred - read after read on an rwlock that prefers writers can deadlock.
 *
 * glibc's default rwlocks let a reader in while others read, so a cycle whose only arc into an
 * rwlock is a read request against read holders cannot close (rwlock_read_read). An rwlock of
 * the PREFER_WRITER_NONRECURSIVE kind queues a new reader behind a waiting writer: the same
 * arc can wait.
 *
 *   rwlock_writer_preferred order     one thread takes X for reading then M (LINE:rd_then_m),
 *                                     then another, running meanwhile, takes M then X for
 *                                     reading (LINE:m_then_rd), told to go by a pipe
 *   rwlock_writer_preferred default   the same with a default rwlock
 *   rwlock_writer_preferred deadlock  the two at once, with a writer queued on X between them:
 *                                     the reader holding X waits for M, the thread holding M
 *                                     waits to read X behind the writer, the writer waits for
 *                                     the reader
 * Expected verdict: order: one potential deadlock (X, M), exit 66; default: nothing, exit 0;
 * deadlock: the potential deadlock and a deadlock that happened, ended by the watchdog in a
 * few seconds ("done" never printed), exit 66.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_rwlock_t x;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t reading, m_held;
static int deadlock, go[2]; /* order: the second thread goes once the first is done */

static void *reader_then_m(void *arg)
{
  (void)arg;
  pthread_rwlock_rdlock(&x);
  if (deadlock) {
    pthread_barrier_wait(&reading); /* the writer may queue now */
    pthread_barrier_wait(&m_held);
    usleep(200 * 1000); /* the other reader has asked for x behind the writer */
  }
  pthread_mutex_lock(&m); /* LINE:rd_then_m */
  pthread_mutex_unlock(&m);
  pthread_rwlock_unlock(&x);
  if (!deadlock && write(go[1], "g", 1) != 1)
    return arg;
  return NULL;
}

static void *writer(void *arg)
{
  (void)arg;
  pthread_rwlock_wrlock(&x);
  pthread_rwlock_unlock(&x);
  return NULL;
}

static void *m_then_reader(void *arg)
{
  char c;
  if (!deadlock && read(go[0], &c, 1) != 1)
    return arg;
  pthread_mutex_lock(&m);
  if (deadlock)
    pthread_barrier_wait(&m_held);
  pthread_rwlock_rdlock(&x); /* LINE:m_then_rd */
  pthread_rwlock_unlock(&x);
  pthread_mutex_unlock(&m);
  return NULL;
}

static int run(void *(*fn)(void *), pthread_t *t)
{
  return pthread_create(t, NULL, fn, NULL);
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  pthread_rwlockattr_t attr;
  pthread_t a, b, w;
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_rwlockattr_init(&attr);
  if (strcmp(mode, "default") != 0)
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  if (pthread_rwlock_init(&x, &attr) != 0)
    return 2;
  deadlock = strcmp(mode, "deadlock") == 0;
  if (deadlock) {
    if (pthread_barrier_init(&reading, NULL, 2) != 0 || pthread_barrier_init(&m_held, NULL, 2) != 0 ||
        run(reader_then_m, &a) != 0)
      return 2;
    pthread_barrier_wait(&reading);
    if (run(writer, &w) != 0)
      return 2;
    usleep(100 * 1000); /* the writer is queued behind the reader */
    if (run(m_then_reader, &b) != 0)
      return 2;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_join(w, NULL);
  } else {
    if (pipe(go) != 0 || run(reader_then_m, &a) != 0 || run(m_then_reader, &b) != 0)
      return 2;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
  }
  printf("rwlock_writer_preferred: done\n");
  return 0;
}
