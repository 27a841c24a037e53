/* lost_wakeup - a condition wait that can miss its wakeup (lesson section 11, queue internals).
 *
 * A producer hands results to a consumer: it adds one to `ready` under the mutex and
 * signals (lines 48-49). The consumer reads `ready` without the mutex, and only once (line 59,
 * marked BUG): "if nothing is ready, wait". If the producer delivers between that read and
 * the wait (here it always does: a handshake lets it run right there, line 60), the signal
 * comes while nobody waits and is lost; the consumer then waits for a wakeup that already
 * happened (line 62, marked BUG), forever. A condition variable has no memory: only the
 * predicate does, and it must be checked under the mutex, in a loop. Every thread then
 * sits in an untimed wait (the consumer in pthread_cond_wait, main in pthread_join, the
 * producer in sem_wait); the program bounds that with alarm(2), whose handler prints the
 * HAZARD line after 2 s and exits 1. --hang leaves the alarm off: a real hang.
 *
 * The fix (fixed/) is the predicate loop under the mutex (lines 61-62, marked FIX): "while
 * nothing is ready: wait", checked with the mutex held, so a delivery either happened before
 * the check (no wait) or wakes the wait (the check and the wait are atomic under the mutex).
 *
 * Oracle: every result handed over within the bound.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "hz_args.h"

#define HANG_BOUND_S 2 /* far longer than any handoff takes; over the harness's wall budget */

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static long ready, consumed; /* results delivered and not yet taken; taken (under m) */
static long rounds;
static sem_t checked, delivered; /* the forced interleaving */

/* The producer delivers now, between the consumer's check and its wait. */
static void producer_runs_here(void)
{
  sem_post(&checked);
  while (sem_wait(&delivered) != 0) continue;
}

static void *producer(void *arg)
{
  for (long i = 0; i < rounds; i++) {
    while (sem_wait(&checked) != 0) continue;
    pthread_mutex_lock(&m);
    ready++;
    pthread_cond_signal(&more);
    pthread_mutex_unlock(&m);
    sem_post(&delivered);
  }
  return arg;
}

static void *consumer(void *arg)
{
  for (long i = 0; i < rounds; i++) {
    producer_runs_here();
    pthread_mutex_lock(&m);
    while (ready == 0) /* FIX: the predicate, under the mutex, in a loop */
      pthread_cond_wait(&more, &m); /* FIX: waits only while nothing is ready */
    ready--, consumed++;
    pthread_mutex_unlock(&m);
  }
  return arg;
}

static void on_alarm(int sig) /* the bound: async-signal-safe, the one line, exit 1 */
{
  static const char msg[] = "lost_wakeup: HAZARD consumer still waiting after 2 s for a "
                            "wakeup that came before it waited\n";
  ssize_t n = write(STDOUT_FILENO, msg, sizeof msg - 1);
  (void)sig, (void)n;
  _exit(1);
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"results handed over", 3, 2, true};
  hz_args_t a;
  pthread_t p, c;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  rounds = a.size;
  if (sem_init(&checked, 0, 0) || sem_init(&delivered, 0, 0) ||
      signal(SIGALRM, on_alarm) == SIG_ERR || pthread_create(&p, NULL, producer, NULL) ||
      pthread_create(&c, NULL, consumer, NULL)) {
    fprintf(stderr, "lost_wakeup: cannot start the producer and the consumer\n");
    return 2;
  }
  if (!a.hang)
    alarm(HANG_BOUND_S);
  pthread_join(c, NULL);
  alarm(0);
  pthread_join(p, NULL);
  if (consumed != rounds) {
    printf("lost_wakeup: HAZARD %ld of %ld results handed over\n", consumed, rounds);
    return 1;
  }
  printf("lost_wakeup: OK %ld results handed over, none missed\n", consumed);
  return 0;
}
