/* timedlock_inversion - the second lock of each order is taken with pthread_mutex_timedlock.
 *
 * Checks: a timedlock that succeeds is an acquisition like any other and adds an edge from
 * every held lock (a deadline only turns the deadlock into a timeout error, still a bug).
 * The threads are sequenced by a semaphore, so every timedlock succeeds at once.
 * Expected verdict: one potential deadlock, a cycle of 2 locks with the LINE: stacks; exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static sem_t ab_done;
static int timedlock_failures;

static struct timespec deadline_in_seconds(int s)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += s;
  return ts;
}

static void *worker_ab(void *arg)
{
  struct timespec ts = deadline_in_seconds(10);

  (void)arg;
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  if (pthread_mutex_timedlock(&lock_b, &ts) != 0) /* LINE:ab_second */
    timedlock_failures++;
  else
    pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  sem_post(&ab_done);
  return NULL;
}

static void *worker_ba(void *arg)
{
  struct timespec ts = deadline_in_seconds(10);

  (void)arg;
  sem_wait(&ab_done);
  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  if (pthread_mutex_timedlock(&lock_a, &ts) != 0) /* LINE:ba_second */
    timedlock_failures++;
  else
    pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&ab_done, 0, 0);
  pthread_create(&t1, NULL, worker_ab, NULL);
  pthread_create(&t2, NULL, worker_ba, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("timedlock_inversion: %d timedlock failures\n", timedlock_failures);
  printf("timedlock_inversion: done\n");
  return 0;
}
