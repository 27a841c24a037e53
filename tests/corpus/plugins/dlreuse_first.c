/* dlreuse_first - a plugin of dlopen_reuse: takes a, then b. */
#include <pthread.h>

void plugin_ab(pthread_mutex_t *a, pthread_mutex_t *b)
{
  pthread_mutex_lock(a); /* LINE:first_a */
  pthread_mutex_lock(b); /* LINE:first_b */
  pthread_mutex_unlock(b);
  pthread_mutex_unlock(a);
}
