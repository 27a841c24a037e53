/* fork_with_locks - fork() while another thread holds a lock (lesson sections 16-18).
 *
 * A child process is a copy of its parent's memory, locks included, with only one thread:
 * the one that called fork(). Here the logger thread holds log_lock, in the middle of a
 * line, when main forks (lines 76-77, marked BUG; a semaphore makes sure of it, line 75).
 * The child gets log_lock locked by a thread that does not exist in the child, so nobody
 * will ever unlock it: the child's first log line (line 36) waits forever. The child bounds
 * that wait itself: alarm(2) ends it after 2 s (its work takes microseconds), and the
 * parent, which reaps it with waitpid, says HAZARD when the child did not complete. --hang
 * leaves the alarm off: the child really hangs, and the parent waits for it forever.
 *
 * The fix (fixed/) forks before starting any thread (lines 71-72, marked FIX): a process
 * with one thread cannot fork while another thread holds a lock, so the child starts with
 * every lock free. (Other fixes: posix_spawn a fresh program, or pthread_atfork handlers
 * that take every lock before fork and release them in both processes.)
 *
 * Oracle: the child logged its lines and exited 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hz_args.h"

#define HANG_BOUND_S 2 /* far longer than the child's work; over the harness's wall budget */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the log */
static long log_lines;
static sem_t logging, forked; /* the logger holds log_lock; main has forked */

static void log_line(long n)
{
  pthread_mutex_lock(&log_lock); /* in the child: held by a thread that is not there */
  log_lines += n;
  pthread_mutex_unlock(&log_lock);
}

static void child_main(long lines, int hang)
{
  if (!hang)
    alarm(HANG_BOUND_S); /* the child's bound: SIGALRM's default action ends it */
  for (long i = 0; i < lines; i++)
    log_line(1);
  _exit(0);
}

static void *logger(void *arg)
{
  pthread_mutex_lock(&log_lock); /* one line, written in pieces */
  sem_post(&logging);
  while (sem_wait(&forked) != 0) continue;
  log_lines++;
  pthread_mutex_unlock(&log_lock);
  return arg;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"log lines the child writes", 10, 2, true};
  hz_args_t a;
  pthread_t t;
  pid_t pid = 0;
  int status = -1;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  if (sem_init(&logging, 0, 0) || sem_init(&forked, 0, 0))
    return 2;
  if (pthread_create(&t, NULL, logger, NULL)) {
    fprintf(stderr, "fork_with_locks: cannot start the logger\n");
    return 2;
  }
  while (sem_wait(&logging) != 0) continue; /* the logger is in the middle of a line */
  pid = fork(); /* BUG: forks while another thread holds log_lock */
  if (pid == 0) child_main(a.size, a.hang); /* BUG: the child's first log line waits forever */
  sem_post(&forked);
  pthread_join(t, NULL);
  if (pid < 0 || waitpid(pid, &status, 0) != pid) {
    fprintf(stderr, "fork_with_locks: cannot fork or reap the child\n");
    return 2;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    printf("fork_with_locks: HAZARD the child did not complete (%s %d): log_lock, held by the "
           "logger thread at fork, stays locked in the child\n",
           WIFSIGNALED(status) ? "killed by signal" : "exit", WIFSIGNALED(status) ?
           WTERMSIG(status) : WEXITSTATUS(status));
    return 1;
  }
  printf("fork_with_locks: OK the child logged %ld lines and exited 0\n", a.size);
  return 0;
}
