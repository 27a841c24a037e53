/* process_tree - a chain of processes, each one exec'd by the one before (as a script runs its
 * shell and its tools), every one of them taking locks.
 *
 * Checks: what a process tree prints. Each level takes two mutexes in one order in a thread of
 * its own, then (above level 0) forks and execs this program again one level lower, waits for
 * it, and exits with its status. With --leaf-inversion the last process (level 0) also runs the
 * classic inversion, sequenced in one thread.
 * Expected verdict: clean, at the default verbosity nothing at all from lockgraph (no summary
 * line from any of the processes) and exit 0; with --leaf-inversion, one report and one
 * summary line (the leaf's), exit 66 passed up the chain.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *in_order(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock_a);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  return NULL;
}

static void inversion(void)
{
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_lock(&lock_b); /* LINE:ba_first */
  pthread_mutex_lock(&lock_a); /* LINE:ba_second */
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
}

int main(int argc, char **argv)
{
  int level = 4, child = 0, leaf_inversion = 0, status = 0;
  pthread_t t;

  /* The root is run without arguments (or with --leaf-inversion); its descendants with
   * --level N. */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--level") == 0 && i + 1 < argc) {
      level = atoi(argv[++i]);
      child = 1;
    } else if (strcmp(argv[i], "--leaf-inversion") == 0) {
      leaf_inversion = 1;
    }
  }

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&t, NULL, in_order, NULL);
  pthread_join(t, NULL);
  if (level > 0) {
    char next[16];
    pid_t pid;

    snprintf(next, sizeof next, "%d", level - 1);
    pid = fork();
    if (pid == 0) {
      char *args[] = {argv[0], "--level", next, leaf_inversion ? "--leaf-inversion" : NULL, NULL};
      execv("/proc/self/exe", args);
      _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
      printf("process_tree: level %d lost its child\n", level);
      return 2;
    }
    status = WEXITSTATUS(status);
  } else if (leaf_inversion) {
    inversion();
  }
  printf("process_tree: level %d done\n", level);
  if (!child)
    printf("process_tree: done\n");
  return status;
}
