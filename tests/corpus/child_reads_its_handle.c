/* child_reads_its_handle - a new thread reads the pthread_t its creator is storing for it.
 *
 * Checks: main creates each child with pthread_create(&handles[i], ...); the child compares
 * handles[i] with pthread_self() as its first action, without waiting for anything. glibc
 * writes *thread before the child can run, and programs rely on that (a child detaching itself
 * through a global, for one); a pthread_create wrapper must keep that guarantee instead of
 * storing the handle only after the real call returns.
 * Expected verdict: no report; "0 of 200 children saw their handle unset"; exit 0.
 */
#include <pthread.h>
#include <stdio.h>

#define CHILDREN 200

static pthread_t handles[CHILDREN];
static pthread_mutex_t unset_lock = PTHREAD_MUTEX_INITIALIZER;
static int unset_count;

static void *child(void *arg)
{
  long i = (long)arg;

  if (!pthread_equal(handles[i], pthread_self())) {
    pthread_mutex_lock(&unset_lock);
    unset_count++;
    pthread_mutex_unlock(&unset_lock);
  }
  return NULL;
}

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (long i = 0; i < CHILDREN; i++)
    if (pthread_create(&handles[i], NULL, child, (void *)i) != 0)
      return 1;
  for (int i = 0; i < CHILDREN; i++)
    pthread_join(handles[i], NULL);
  printf("child_reads_its_handle: %d of %d children saw their handle unset\n", unset_count, CHILDREN);
  printf("child_reads_its_handle: done\n");
  return 0;
}
