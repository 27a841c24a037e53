/* gate_modes - inversions under gates that do exclude, each gate taken another way.
 *
 * Checks: a gate is a lock held by both sides with at least one of them holding it
 * exclusively. Four inversions, each of its own pair of mutexes, each side under a gate:
 *  1. a rwlock read by one side and written by the other (a writer excludes readers);
 *  2. a mutex the second side took by trylock (held is held, however it was taken);
 *  3. a spinlock;
 *  4. a rwlock written by both sides.
 * None of them can deadlock. Sequenced by a semaphore: never hangs.
 * Expected verdict: no report; the program prints "gate_modes: done" and exits 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_rwlock_t rw_gate = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t rw_gate2 = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t try_gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_spinlock_t spin_gate;
static pthread_mutex_t m[8];
static sem_t first_done;

static void pair(int a, int b)
{
  pthread_mutex_lock(&m[a]);
  pthread_mutex_lock(&m[b]);
  pthread_mutex_unlock(&m[b]);
  pthread_mutex_unlock(&m[a]);
}

static void *first_side(void *arg)
{
  (void)arg;
  pthread_rwlock_rdlock(&rw_gate);
  pair(0, 1);
  pthread_rwlock_unlock(&rw_gate);
  pthread_mutex_lock(&try_gate);
  pair(2, 3);
  pthread_mutex_unlock(&try_gate);
  pthread_spin_lock(&spin_gate);
  pair(4, 5);
  pthread_spin_unlock(&spin_gate);
  pthread_rwlock_wrlock(&rw_gate2);
  pair(6, 7);
  pthread_rwlock_unlock(&rw_gate2);
  sem_post(&first_done);
  return NULL;
}

static void *second_side(void *arg)
{
  (void)arg;
  sem_wait(&first_done);
  pthread_rwlock_wrlock(&rw_gate);
  pair(1, 0);
  pthread_rwlock_unlock(&rw_gate);
  if (pthread_mutex_trylock(&try_gate) == 0) {
    pair(3, 2);
    pthread_mutex_unlock(&try_gate);
  }
  pthread_spin_lock(&spin_gate);
  pair(5, 4);
  pthread_spin_unlock(&spin_gate);
  pthread_rwlock_wrlock(&rw_gate2);
  pair(7, 6);
  pthread_rwlock_unlock(&rw_gate2);
  return NULL;
}

int main(void)
{
  pthread_t t1, t2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < 8; i++)
    pthread_mutex_init(&m[i], NULL);
  pthread_spin_init(&spin_gate, PTHREAD_PROCESS_PRIVATE);
  sem_init(&first_done, 0, 0);
  pthread_create(&t1, NULL, first_side, NULL);
  pthread_create(&t2, NULL, second_side, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("gate_modes: done\n");
  return 0;
}
