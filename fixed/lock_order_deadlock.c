/* lock_order_deadlock - two locks taken in opposite orders (lesson section 10).
 *
 * Thread A takes lock_1 then lock_2 (lines 56 and 58); thread B takes lock_2 then lock_1
 * (lines 72 and 74, marked BUG). If each holds its first lock while the other wants it, both
 * wait forever: "Thread A holds lock_1, waits for lock_2. Thread B holds lock_2, waits for
 * lock_1." Here B starts only after A has released both locks (a semaphore, line 71), so the
 * run finishes, yet the cycle in the lock order is real: a detector that records which lock
 * was taken while holding which (TSan, Helgrind, lockgraph) reports it from this one run.
 * The order is made by a semaphore, not by thread create/join, on purpose: what create/join
 * separates can never overlap, so detectors may rightly treat it as safe.
 *
 * --hang makes it real: each thread takes its first lock, then both meet, then each asks for
 * the lock the other holds. That hangs until something (lockgraph's watchdog) ends it.
 *
 * The fix (fixed/) is one global lock order: B takes lock_1 before lock_2 too, so no thread
 * ever holds lock_2 while waiting for lock_1 and no cycle can form (section 10: "consistent
 * lock ordering"). With --hang the fixed program still finishes: its B waits for lock_1
 * without holding anything, so A's meeting gives up after a second and A goes on.
 *
 * Oracle: both transfers ran and the balances add up. Exit 0 in both variants: the deadlock
 * is latent, for a detector to find.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "hz_args.h"

static pthread_mutex_t lock_1 = PTHREAD_MUTEX_INITIALIZER; /* guards balance_1 */
static pthread_mutex_t lock_2 = PTHREAD_MUTEX_INITIALIZER; /* guards balance_2 */
static long balance_1 = 100, balance_2 = 100;
static sem_t a_released;     /* A released both locks: B's turn */
static sem_t holds_first[2]; /* --hang: thread i holds its first lock */
static bool hang;

/* --hang: wait (at most a second) until the peer holds its first lock too. */
static void meet(int me)
{
  struct timespec deadline;

  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 1;
  sem_post(&holds_first[me]);
  /* A peer that waits for our first lock never arrives: then the deadline lets us go on. */
  while (sem_timedwait(&holds_first[1 - me], &deadline) != 0 && errno == EINTR)
    continue;
}

static void *thread_a(void *arg)
{
  long amount = *(long *)arg;

  pthread_mutex_lock(&lock_1);
  if (hang) meet(0);
  pthread_mutex_lock(&lock_2);
  balance_1 -= amount;
  balance_2 += amount;
  pthread_mutex_unlock(&lock_2);
  pthread_mutex_unlock(&lock_1);
  sem_post(&a_released);
  return NULL;
}

static void *thread_b(void *arg)
{
  long amount = *(long *)arg;

  while (!hang && sem_wait(&a_released) != 0) continue; /* sequenced: the cycle, no hang */
  pthread_mutex_lock(&lock_1); /* FIX: lock_1 first, the one order every thread follows */
  if (hang) meet(1);
  pthread_mutex_lock(&lock_2); /* FIX: then lock_2, as A does */
  balance_2 -= amount;
  balance_1 += amount;
  pthread_mutex_unlock(&lock_1);
  pthread_mutex_unlock(&lock_2);
  return NULL;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"amount A moves (B moves half)", 10, 2, true};
  hz_args_t a;
  pthread_t ta, tb;
  long amount_a, amount_b;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  hang = a.hang;
  amount_a = a.size;
  amount_b = a.size / 2;
  if (sem_init(&a_released, 0, 0) || sem_init(&holds_first[0], 0, 0) ||
      sem_init(&holds_first[1], 0, 0) || pthread_create(&ta, NULL, thread_a, &amount_a) ||
      pthread_create(&tb, NULL, thread_b, &amount_b)) {
    fprintf(stderr, "lock_order_deadlock: cannot start the two threads\n");
    return 2;
  }
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);

  if (balance_1 != 100 - amount_a + amount_b || balance_2 != 100 + amount_a - amount_b) {
    printf("lock_order_deadlock: HAZARD balances %ld and %ld do not add up\n", balance_1,
           balance_2);
    return 1;
  }
  printf("lock_order_deadlock: OK both transfers done (the lock-order cycle is latent: run "
         "under a detector)\n");
  return 0;
}
