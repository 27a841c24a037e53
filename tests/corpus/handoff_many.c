/* handoff_many - a default mutex used as a binary semaphore, handed off 20000 times.
 *
 * Checks: main locks M, takes N under it, and passes the turn through a pipe to one of four
 * workers, which unlocks M (a bad unlock: M is main's); main's next lock of M waits for that.
 * The first hand-off is waited for (a relock by the owner before any hand-off was ever seen is
 * a self-deadlock: nothing says one will come); after it, main relocks M while it may still
 * own it, which waits for the next hand-off and is no self-deadlock. Every hand-off queues M's
 * release to main's held set; the queue is bounded and drained on main's slow path, so main's
 * held set never grows and no M -> N order outlives a hand-off into a cycle. The same bad
 * unlock is reported once (one call site).
 * Expected verdict: one bad unlock naming the worker's unlock at LINE:handoff and main's lock
 * at LINE:lock; no other report; "handoff_many: 20000 hand-offs" and done printed; exit 66.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define WORKERS 4
#define ROUNDS 20000

static pthread_mutex_t lock_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_n = PTHREAD_MUTEX_INITIALIZER;
static int turn_pipe[2], ack_pipe[2];

static void *releaser(void *arg)
{
  char c;

  (void)arg;
  while (read(turn_pipe[0], &c, 1) == 1 && c != 'q') {
    pthread_mutex_unlock(&lock_m); /* LINE:handoff */
    if (c == 'f' && write(ack_pipe[1], &c, 1) != 1)
      return NULL;
  }
  return NULL;
}

int main(void)
{
  pthread_t t[WORKERS];
  int n = 1;
  char c;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(turn_pipe) != 0 || pipe(ack_pipe) != 0)
    return 1;
  for (int i = 0; i < WORKERS; i++)
    pthread_create(&t[i], NULL, releaser, NULL);
  pthread_mutex_lock(&lock_m); /* LINE:lock */
  if (write(turn_pipe[1], "f", 1) != 1 || read(ack_pipe[0], &c, 1) != 1)
    return 1;
  for (; n < ROUNDS; n++) {
    pthread_mutex_lock(&lock_m);
    pthread_mutex_lock(&lock_n);
    pthread_mutex_unlock(&lock_n);
    if (write(turn_pipe[1], "u", 1) != 1)
      return 1;
  }
  pthread_mutex_lock(&lock_m); /* the last hand-off is done */
  pthread_mutex_unlock(&lock_m);
  for (int i = 0; i < WORKERS; i++)
    if (write(turn_pipe[1], "q", 1) != 1)
      return 1;
  for (int i = 0; i < WORKERS; i++)
    pthread_join(t[i], NULL);
  printf("handoff_many: %d hand-offs\n", n);
  printf("handoff_many: done\n");
  return 0;
}
