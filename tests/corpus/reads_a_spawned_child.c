/* reads_a_spawned_child - main reads a pipe that a child process writes 1.5 s later, while the
 * only other thread waits on a condition variable main signals afterwards.
 *
 *   reads_a_spawned_child posix_spawn | posix_spawnp | vfork
 * The child is made without fork(2) (posix_spawn, posix_spawnp, or vfork and exec), gets the
 * pipe's write end as its stdout, sleeps and writes a line (/bin/sh -c 'sleep 1.5; echo hi').
 * For longer than the watchdog's second, both threads are blocked, but the read is one another
 * process ends: no hang.
 * Expected verdict: clean; prints "reads_a_spawned_child: got hi" and "reads_a_spawned_child:
 * done"; exit 0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parked.h"

extern char **environ;


/* A child writing "hi" to fds[1] in 1.5 s, made as `how` says; its pid, or -1. */
static pid_t spawn_writer(const char *how, int fds[2])
{
  char *const argv[] = {"sh", "-c", "sleep 1.5; echo hi", NULL};
  pid_t pid = -1;
  if (strcmp(how, "vfork") == 0) {
    pid = vfork();
    if (pid == 0) {
      dup2(fds[1], 1);
      execv("/bin/sh", argv);
      _exit(127);
    }
    return pid;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  int rc = strcmp(how, "posix_spawnp") == 0
               ? posix_spawnp(&pid, "sh", &fa, NULL, argv, environ)
               : posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

int main(int argc, char **argv)
{
  const char *how = argc > 1 ? argv[1] : "posix_spawn";
  int fds[2];
  char buf[16] = "";
  pthread_t t;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(fds) != 0 || corpus_park(&t) != 0)
    return 2;
  pid_t pid = spawn_writer(how, fds);
  if (pid < 0)
    return 2;
  close(fds[1]);
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  printf("reads_a_spawned_child: got %s\n", buf);
  waitpid(pid, NULL, 0);
  corpus_unpark(t);
  printf("reads_a_spawned_child: done\n");
  return 0;
}
