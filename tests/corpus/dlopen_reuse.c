/* dlopen_reuse - two inversions through two plugins loaded one after the other, the second
 * usually where the first was (dlclose, then dlopen).
 *
 * Main loads libdlreuse_first.so (beside this program) and calls its plugin_ab(&a1, &b1): a1,
 * then b1; a second thread, started before and waiting for that, then takes b1, then a1
 * (LINE:inverse_first, LINE:inverse_second): a report through the first plugin. Main unloads it, loads libdlreuse_second.so, and does the
 * same with a2 and b2: a report through the second plugin, whose frames must name
 * dlreuse_second.c, not the first plugin's file that was at those addresses before.
 * Prints "dlopen_reuse: plugins at the same address: yes" (or "no": the loader put the second
 * elsewhere, and the report is right either way).
 * Expected verdict: 2 potential deadlocks, the second's plugin frames in dlreuse_second.c;
 * exit 66.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef void (*plugin_fn)(pthread_mutex_t *, pthread_mutex_t *);

static pthread_mutex_t a1 = PTHREAD_MUTEX_INITIALIZER, b1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t a2 = PTHREAD_MUTEX_INITIALIZER, b2 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *inv_a, *inv_b;
static sem_t plugin_done;

static void *inverse(void *arg)
{
  while (sem_wait(&plugin_done) != 0)
    ;
  pthread_mutex_lock(inv_b); /* LINE:inverse_first */
  pthread_mutex_lock(inv_a); /* LINE:inverse_second */
  pthread_mutex_unlock(inv_a);
  pthread_mutex_unlock(inv_b);
  return arg;
}

/* Loads the plugin `name` from this program's directory, runs its plugin_ab(a, b), then the
 * reverse order in a thread; returns the plugin's function address and leaves it loaded in
 * *handle. */
static void *run_plugin(const char *name, pthread_mutex_t *a, pthread_mutex_t *b, void **handle)
{
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0)
    return NULL;
  path[n] = '\0';
  char *slash = strrchr(path, '/');
  snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "%s", name);
  *handle = dlopen(path, RTLD_NOW);
  plugin_fn fn = *handle ? (plugin_fn)dlsym(*handle, "plugin_ab") : NULL;
  if (fn == NULL) {
    fprintf(stderr, "dlopen_reuse: %s: %s\n", name, dlerror());
    return NULL;
  }
  pthread_t t;
  inv_a = a;
  inv_b = b;
  pthread_create(&t, NULL, inverse, NULL); /* before the plugin's order: not ordered with it */
  fn(a, b);
  sem_post(&plugin_done);
  pthread_join(t, NULL);
  return (void *)fn;
}

int main(void)
{
  void *h1, *h2;
  sem_init(&plugin_done, 0, 0);
  void *f1 = run_plugin("libdlreuse_first.so", &a1, &b1, &h1);
  if (f1 == NULL)
    return 2;
  dlclose(h1);
  void *f2 = run_plugin("libdlreuse_second.so", &a2, &b2, &h2);
  if (f2 == NULL)
    return 2;
  printf("dlopen_reuse: plugins at the same address: %s\n", f1 == f2 ? "yes" : "no");
  dlclose(h2);
  printf("dlopen_reuse: done\n");
  return 0;
}
