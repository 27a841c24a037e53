/* malloc_takes_a_mutex - the program's own allocator serializes every call with a mutex.
 *
 * Checks: malloc, calloc, realloc and free are defined here (as allocator wrappers do) and
 * take a pthread mutex around glibc's __libc_* functions, so the detector's lock wrapper runs
 * inside allocations that thread creation itself makes. Per-thread setup in the detector that
 * allocates before the new thread's state exists must not re-enter itself and hang. A few
 * threads are created and joined one after another, each using the allocator.
 * Expected verdict: no report; the program finishes and exits 0 (a hang is the failure).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;

void *malloc(size_t size)
{
  pthread_mutex_lock(&alloc_lock);
  void *p = __libc_malloc(size);
  pthread_mutex_unlock(&alloc_lock);
  return p;
}

void *calloc(size_t count, size_t size)
{
  pthread_mutex_lock(&alloc_lock);
  void *p = __libc_calloc(count, size);
  pthread_mutex_unlock(&alloc_lock);
  return p;
}

void *realloc(void *ptr, size_t size)
{
  pthread_mutex_lock(&alloc_lock);
  void *p = __libc_realloc(ptr, size);
  pthread_mutex_unlock(&alloc_lock);
  return p;
}

void free(void *ptr)
{
  pthread_mutex_lock(&alloc_lock);
  __libc_free(ptr);
  pthread_mutex_unlock(&alloc_lock);
}

static void *worker(void *arg)
{
  char *buf = malloc(64);

  (void)arg;
  if (buf == NULL)
    return NULL;
  strcpy(buf, "x");
  buf = realloc(buf, 256);
  free(buf);
  return arg;
}

int main(void)
{
  int joined = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < THREADS; i++) {
    pthread_t t;
    void *ret = NULL;

    if (pthread_create(&t, NULL, worker, &joined) != 0)
      return 1;
    if (pthread_join(t, &ret) == 0 && ret == &joined)
      joined++;
  }
  printf("malloc_takes_a_mutex: %d threads joined\n", joined);
  printf("malloc_takes_a_mutex: done\n");
  return 0;
}
