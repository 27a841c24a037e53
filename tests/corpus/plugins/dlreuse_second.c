/* dlreuse_second - the other plugin of dlopen_reuse, loaded where the first one was: takes a,
 * then b, from lines of its own. */
#include <pthread.h>

/* One line more than dlreuse_first, so the same address is another line here. */
void plugin_ab(pthread_mutex_t *a, pthread_mutex_t *b)
{
  pthread_mutex_lock(a); /* LINE:second_a */
  pthread_mutex_lock(b); /* LINE:second_b */
  pthread_mutex_unlock(b);
  pthread_mutex_unlock(a);
}
