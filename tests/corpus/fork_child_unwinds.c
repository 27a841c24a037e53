/* fork_child_unwinds - counts the calls into libunwind a fork child of a threaded parent makes.
 *
 * Checks: libunwind's own locks may be held by another thread of the parent at the moment of a
 * fork, and that thread does not exist in the child: a child that calls into libunwind can hang
 * for good. So the detector walks frame pointers in such a child. This program replaces the two
 * libunwind entry points the detector uses (unw_backtrace and _ULx86_64_init_local, its
 * exported name for unw_init_local) with counting wrappers that call the real ones, and makes
 * new lock orders and an inversion (stacks are captured for both) in the parent before a fork
 * and, with other call sites, in the child of that fork while a second thread of the parent is
 * alive. Whether the hang happens on a given run is a matter of timing; whether the child calls
 * libunwind at all is not, and that is what is counted.
 * Expected: the parent's count is above 0 (the wrappers do see the detector's calls), the
 * child's is 0, the child reports its inversion and its _exit(0) ends with the detector's exit
 * code ("child exit status 66", as a child that reported and called exit); prints
 * "fork_child_unwinds: done".
 * Built with its symbols exported (see CMakeLists.txt) so that the wrappers take precedence;
 * a stack libunwind captures from inside a wrapper shows the wrapper as its innermost frame.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_long unwinds;

static int (*real_backtrace)(void **, int);
static int (*real_init_local)(void *, void *);

int unw_backtrace(void **buffer, int size)
{
  atomic_fetch_add(&unwinds, 1);
  return real_backtrace != NULL ? real_backtrace(buffer, size) : 0;
}

int _ULx86_64_init_local(void *cursor, void *context)
{
  atomic_fetch_add(&unwinds, 1);
  return real_init_local != NULL ? real_init_local(cursor, context) : -1;
}

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t d = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static int release_worker;

/* The second thread: alive (waiting) across the fork, so the child's parent is threaded. */
static void *worker(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&hold_mu);
  while (!release_worker)
    pthread_cond_wait(&hold_cv, &hold_mu);
  pthread_mutex_unlock(&hold_mu);
  return NULL;
}

static void take_in_order(pthread_mutex_t *first, pthread_mutex_t *second)
{
  pthread_mutex_lock(first);
  pthread_mutex_lock(second);
  pthread_mutex_unlock(second);
  pthread_mutex_unlock(first);
}

/* The child's own call sites, distinct from the parent's: nothing comes from a cache of them. */
static void child_take_in_order(pthread_mutex_t *first, pthread_mutex_t *second)
{
  pthread_mutex_lock(first);
  pthread_mutex_lock(second); /* LINE:child_second */
  pthread_mutex_unlock(second);
  pthread_mutex_unlock(first);
}

int main(void)
{
  real_backtrace = (int (*)(void **, int))dlsym(RTLD_NEXT, "unw_backtrace");
  real_init_local = (int (*)(void *, void *))dlsym(RTLD_NEXT, "_ULx86_64_init_local");
  setvbuf(stdout, NULL, _IOLBF, 0);

  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0)
    return 2;
  take_in_order(&a, &b);
  take_in_order(&b, &a);
  long parent = atomic_load(&unwinds);

  pid_t pid = fork();
  if (pid == 0) {
    atomic_store(&unwinds, 0);
    child_take_in_order(&c, &d);
    child_take_in_order(&d, &c);
    long child = atomic_load(&unwinds);
    printf("child libunwind calls: %ld\n", child);
    _exit(child == 0 ? 0 : 3);
  }
  int status = 0;
  int child_status = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
                         ? WEXITSTATUS(status)
                         : -1;

  pthread_mutex_lock(&hold_mu);
  release_worker = 1;
  pthread_cond_signal(&hold_cv);
  pthread_mutex_unlock(&hold_mu);
  pthread_join(t, NULL);

  printf("parent libunwind calls: %ld\n", parent);
  printf("child exit status %d\n", child_status);
  printf("fork_child_unwinds: done\n");
  return 0;
}
