/* hang_cond_holding_lock - a thread waits on a condition variable while holding a lock that
 * the only thread able to signal it needs first.
 *
 * Checks: the worker takes `table` (LINE:table_taken), then waits on `ready` with `mu`
 * (LINE:cond_wait), still holding `table`. Main, the thread that would set the flag and
 * signal, first asks for `table` (LINE:main_wants_table) and blocks. No lock cycle: main waits
 * for a lock, the worker for a signal. Every thread of the program is blocked in a wait only
 * another of its threads could end: nobody can wake anybody.
 * Expected verdict: a hang report ("no progress"), listing the worker's condition wait and
 * main's wait for the lock, with the chain between them; "done" never printed; exit 66 once
 * the watchdog has seen the threads blocked for watchdog_ms.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static sem_t holding;
static int flag;

static void *worker(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&table); /* LINE:table_taken */
  pthread_mutex_lock(&mu);
  sem_post(&holding);
  while (!flag)
    pthread_cond_wait(&ready, &mu); /* LINE:cond_wait */
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&table);
  return NULL;
}

int main(void)
{
  pthread_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&holding, 0, 0);
  pthread_create(&t, NULL, worker, NULL);
  sem_wait(&holding);
  printf("hang_cond_holding_lock: worker holds the table\n");
  pthread_mutex_lock(&table); /* LINE:main_wants_table */
  pthread_mutex_lock(&mu);
  flag = 1;
  pthread_cond_signal(&ready);
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&table);
  pthread_join(t, NULL);
  printf("hang_cond_holding_lock: done\n");
  return 0;
}
