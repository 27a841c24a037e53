/* misuse_destroyer_gone - a mutex used after its destroy, by the time of the use the thread
 * that destroyed it is gone.
 *
 * Checks (the argument picks one):
 *   exited      a thread destroys `gone` and exits; a second thread, started after, makes and
 *               destroys a mutex of its own three times (it takes over what the first thread
 *               left of its records); then main locks `gone`: EINVAL;
 *   fork_child  a thread destroys `gone` and waits; main forks, and the child (which has only
 *               main's thread) destroys a mutex of its own and then locks `gone`: EINVAL. The
 *               parent lets the thread go and finds nothing.
 * Expected verdict: one report, "use of an invalid lock" naming the use at LINE:use_<mode> and
 * the destroy by T2 at LINE:destroy; exited: exit 66; fork_child: the child exits 66 and the
 * parent 0. The program runs to its end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* [0] is the mutex destroyed by the thread that goes, [1] the next thread's own: 40 bytes
 * apart, so the detector's records of their destroys never share a slot. */
static pthread_mutex_t pair[2];
#define gone pair[0]
#define own pair[1]
static int destroyed[2], release[2]; /* pipes: the thread says "destroyed", main says "go" */

static void *destroyer(void *wait_for_fork)
{
  char c = 'd';

  pthread_mutex_destroy(&gone); /* LINE:destroy */
  if (wait_for_fork != NULL) {
    if (write(destroyed[1], &c, 1) != 1 || read(release[0], &c, 1) != 1)
      perror("misuse_destroyer_gone: pipe");
  }
  return NULL;
}

static void *churner(void *arg)
{
  (void)arg;
  for (int i = 0; i < 3; i++) {
    pthread_mutex_init(&own, NULL);
    pthread_mutex_lock(&own);
    pthread_mutex_unlock(&own);
    pthread_mutex_destroy(&own);
  }
  return NULL;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "exited";
  pthread_t th;
  char c = 'g';
  int rc = 0, status = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_init(&gone, NULL);
  pthread_mutex_lock(&gone);
  pthread_mutex_unlock(&gone);
  if (strcmp(mode, "exited") == 0) {
    pthread_create(&th, NULL, destroyer, NULL);
    pthread_join(th, NULL);
    pthread_create(&th, NULL, churner, NULL);
    pthread_join(th, NULL);
    rc = pthread_mutex_lock(&gone); /* LINE:use_exited */
  } else if (strcmp(mode, "fork_child") == 0) {
    if (pipe(destroyed) != 0 || pipe(release) != 0)
      return 1;
    pthread_create(&th, NULL, destroyer, release);
    if (read(destroyed[0], &c, 1) != 1)
      return 1;
    pid_t pid = fork();
    if (pid == 0) {
      churner(NULL);
      rc = pthread_mutex_lock(&gone); /* LINE:use_fork_child */
      printf("misuse_destroyer_gone: child's lock returned %s\n", rc ? strerror(rc) : "0");
      exit(0);
    }
    if (write(release[1], &c, 1) != 1)
      return 1;
    pthread_join(th, NULL);
    waitpid(pid, &status, 0);
    printf("misuse_destroyer_gone: child exit status %d\n", WEXITSTATUS(status));
  }
  printf("misuse_destroyer_gone: %s returned %s\n", mode, rc ? strerror(rc) : "0");
  printf("misuse_destroyer_gone: done\n");
  return 0;
}
