/* key_destructors - a thread's pthread key destructor still works when the thread ends.
 *
 *   key_destructors join     the destructor works 1.5 s (a sleep) while main joins the thread
 *   key_destructors unlock   the thread takes `cache` and leaves it to its destructor, which
 *                            releases it; main then takes `cache`
 *   key_destructors tss      as join, with a C11 tss_t and thrd_join
 * A second thread is parked on a condition variable (parked.h) all the while, so that every
 * thread of the program is blocked while the destructor sleeps.
 * Expected verdict: clean (no hang, no lock held at thread exit), "key_destructors: done",
 * exit 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>
#include <time.h>

#include "parked.h"

static pthread_key_t key;
static tss_t tkey;
static pthread_mutex_t cache = PTHREAD_MUTEX_INITIALIZER;

static void slow_destructor(void *value)
{
  struct timespec d = {1, 500000000};
  (void)value;
  nanosleep(&d, NULL);
}

static void releasing_destructor(void *value)
{
  pthread_mutex_unlock(value);
}

static void *worker(void *arg)
{
  const char *mode = arg;
  if (strcmp(mode, "unlock") == 0) {
    pthread_mutex_lock(&cache);
    pthread_setspecific(key, &cache);
  } else {
    pthread_setspecific(key, arg);
  }
  return NULL;
}

static int tss_worker(void *arg)
{
  tss_set(tkey, arg);
  return 0;
}

int main(int argc, char **argv)
{
  char *mode = argc > 1 ? argv[1] : "join";
  pthread_t park, t;
  if (corpus_park(&park) != 0)
    return 2;
  if (strcmp(mode, "tss") == 0) {
    thrd_t th;
    if (tss_create(&tkey, slow_destructor) != thrd_success ||
        thrd_create(&th, tss_worker, mode) != thrd_success || thrd_join(th, NULL) != thrd_success)
      return 2;
  } else {
    if (pthread_key_create(&key, strcmp(mode, "unlock") == 0 ? releasing_destructor
                                                               : slow_destructor) != 0 ||
        pthread_create(&t, NULL, worker, mode) != 0 || pthread_join(t, NULL) != 0)
      return 2;
    if (strcmp(mode, "unlock") == 0) {
      pthread_mutex_lock(&cache);
      pthread_mutex_unlock(&cache);
    }
  }
  corpus_unpark(park);
  printf("key_destructors: done\n");
  return 0;
}
