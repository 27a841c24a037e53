/* parked.h - a second thread parked on a condition variable for the whole run (header-only),
 * for the corpus programs about waits the watchdog must not call a hang: with it, "every
 * thread of the program is blocked" holds while main waits for whatever the program is about.
 *
 * corpus_park(&t) starts it; corpus_unpark(t) signals it and joins it. 0, or -1.
 */
#ifndef CORPUS_PARKED_H
#define CORPUS_PARKED_H

#include <pthread.h>

static pthread_mutex_t corpus_park_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t corpus_park_cv = PTHREAD_COND_INITIALIZER;
static int corpus_park_done; /* guarded by corpus_park_mu */

static void *corpus_parked(void *arg)
{
  pthread_mutex_lock(&corpus_park_mu);
  while (!corpus_park_done)
    pthread_cond_wait(&corpus_park_cv, &corpus_park_mu);
  pthread_mutex_unlock(&corpus_park_mu);
  return arg;
}

static inline int corpus_park(pthread_t *t)
{
  return pthread_create(t, NULL, corpus_parked, NULL) == 0 ? 0 : -1;
}

static inline int corpus_unpark(pthread_t t)
{
  pthread_mutex_lock(&corpus_park_mu);
  corpus_park_done = 1;
  pthread_cond_signal(&corpus_park_cv);
  pthread_mutex_unlock(&corpus_park_mu);
  return pthread_join(t, NULL) == 0 ? 0 : -1;
}

#endif
