/* ab_ba.h - the one-thread lock-order inversion of the corpus programs that are about what
 * happens around a report (how the program ends, where the report goes), not about the
 * inversion itself (header-only).
 *
 * corpus_ab_ba() takes lock A then B, releases both, then takes B then A: a cycle of 2 locks,
 * both orders by the calling thread. The tests find its four acquisitions by the LINE: markers
 * below (ab_first, ab_second, ba_first, ba_second), in this file, function corpus_ab_ba.
 */
#ifndef CORPUS_AB_BA_H
#define CORPUS_AB_BA_H

#include <pthread.h>

static pthread_mutex_t corpus_lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t corpus_lock_b = PTHREAD_MUTEX_INITIALIZER;

static inline void corpus_ab_ba(void)
{
  pthread_mutex_lock(&corpus_lock_a); /* LINE:ab_first */
  pthread_mutex_lock(&corpus_lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&corpus_lock_b);
  pthread_mutex_unlock(&corpus_lock_a);

  pthread_mutex_lock(&corpus_lock_b); /* LINE:ba_first */
  pthread_mutex_lock(&corpus_lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&corpus_lock_a);
  pthread_mutex_unlock(&corpus_lock_b);
}

#endif
