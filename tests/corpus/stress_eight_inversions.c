/* stress_eight_inversions - a lock table used through one lock_at(i) helper, with eight
 * separate inversions of different shapes and one sequence that must stay silent.
 *
 * Checks: every acquisition goes through lock_at(), so each one's innermost frames are the
 * same; each inversion is its own set of locks and gets its own report: 2-cycles, a 3-cycle
 * and a 4-cycle in one thread, a 2-cycle between two threads, a rwlock and a spinlock
 * inversion, an inversion whose second order is a timed lock. A reversed order taken by
 * trylock adds nothing (a trylock never waits). Never hangs: one thread, or two sequenced by a
 * semaphore.
 * Expected verdict: eight potential deadlocks over eight disjoint sets of locks, cycles of
 * 2, 3, 4, 2, 2, 2, 2 and 2 locks in that order; exit 66.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

#define NLOCKS 24

enum { MUTEX, RWLOCK, SPIN };

static struct {
  int kind;
  pthread_mutex_t mu;
  pthread_rwlock_t rw;
  pthread_spinlock_t spin;
} table[NLOCKS];

static sem_t first_done;

static void lock_at(int i)
{
  if (table[i].kind == RWLOCK)
    pthread_rwlock_wrlock(&table[i].rw);
  else if (table[i].kind == SPIN)
    pthread_spin_lock(&table[i].spin);
  else
    pthread_mutex_lock(&table[i].mu);
}

static void timed_lock_at(int i)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 10;
  pthread_mutex_timedlock(&table[i].mu, &ts);
}

static void unlock_at(int i)
{
  if (table[i].kind == RWLOCK)
    pthread_rwlock_unlock(&table[i].rw);
  else if (table[i].kind == SPIN)
    pthread_spin_unlock(&table[i].spin);
  else
    pthread_mutex_unlock(&table[i].mu);
}

static void pair(int a, int b)
{
  lock_at(a);
  lock_at(b);
  unlock_at(b);
  unlock_at(a);
}

static void *second_thread(void *arg)
{
  (void)arg;
  sem_wait(&first_done);
  pair(10, 9);
  return NULL;
}

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < NLOCKS; i++) {
    table[i].kind = i == 11 || i == 12 ? RWLOCK : i == 13 || i == 14 ? SPIN : MUTEX;
    pthread_mutex_init(&table[i].mu, NULL);
    pthread_rwlock_init(&table[i].rw, NULL);
    pthread_spin_init(&table[i].spin, PTHREAD_PROCESS_PRIVATE);
  }
  sem_init(&first_done, 0, 0);

  /* 1: 0 -> 1 -> 0 */
  pair(0, 1);
  pair(1, 0);
  /* 2: 2 -> 3 -> 4 -> 2 */
  pair(2, 3);
  pair(3, 4);
  pair(4, 2);
  /* 3: 5 -> 6 -> 7 -> 8 -> 5 */
  pair(5, 6);
  pair(6, 7);
  pair(7, 8);
  pair(8, 5);
  /* 4: 9 -> 10 here, 10 -> 9 in another thread */
  pthread_t th;
  pthread_create(&th, NULL, second_thread, NULL);
  pair(9, 10);
  sem_post(&first_done);
  pthread_join(th, NULL);
  /* 5: rwlocks, both written */
  pair(11, 12);
  pair(12, 11);
  /* 6: spinlocks */
  pair(13, 14);
  pair(14, 13);
  /* 7: the reversed order by timed lock */
  pair(15, 16);
  lock_at(16);
  timed_lock_at(15);
  unlock_at(15);
  unlock_at(16);
  /* silent: the reversed order by trylock */
  pair(17, 18);
  lock_at(18);
  if (pthread_mutex_trylock(&table[17].mu) == 0)
    unlock_at(17);
  unlock_at(18);
  /* 8: 19 -> 20 -> 19 */
  pair(19, 20);
  pair(20, 19);
  printf("stress_eight_inversions: done\n");
  return 0;
}
