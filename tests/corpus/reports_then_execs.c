/* reports_then_execs - an inversion is reported, then the process execs a new image of this
 * program, which ends with status 0.
 *
 *   reports_then_execs execve|execv|execvp|execvpe|execl|execlp|execle|fexecve
 *                         the exec, by that function
 *   reports_then_execs vfork   a vfork child execs the new image; then main returns 0
 *   reports_then_execs fork    the same with a fork child
 *   reports_then_execs clean   no inversion; execv
 *   reports_then_execs bare    the exec gives the new image an environment of its own, without
 *                              LD_PRELOAD: no runtime there to count the first image's reports
 * The new image (argument "image") prints "reports_then_execs: new image", saying whether
 * LOCKGRAPH_CARRIED is in its environment (it must not be: the runtime takes it away before
 * main), then "reports_then_execs: done". A wrapper that execs the real program, a daemon that re-execs itself, a test runner.
 * Expected verdict: one potential deadlock (ab_ba.h's cycle of 2 locks), reported
 * by the first image; the run ends with the exit code and both summaries count it, written by
 * the new image: exit 66. vfork, fork: the child's new image exits 0 ("child: 0"), the
 * parent's own end gives 66. clean: nothing reported, exit 0. bare: the first image writes
 * its summaries (and SARIF log) before the exec, saying the exit status will be the new
 * program's; exit 0.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_ba.h"

extern char **environ;

/* Execs the new image with `how`; returns only when the exec failed. */
static void exec_image(const char *how, const char *self)
{
  char *const argv[] = {(char *)self, "image", NULL};
  if (strcmp(how, "execve") == 0)
    execve(self, argv, environ);
  else if (strcmp(how, "execv") == 0)
    execv(self, argv);
  else if (strcmp(how, "execvp") == 0)
    execvp(self, argv);
  else if (strcmp(how, "execvpe") == 0)
    execvpe(self, argv, environ);
  else if (strcmp(how, "execl") == 0)
    execl(self, self, "image", (char *)NULL);
  else if (strcmp(how, "execlp") == 0)
    execlp(self, self, "image", (char *)NULL);
  else if (strcmp(how, "execle") == 0)
    execle(self, self, "image", (char *)NULL, environ);
  else if (strcmp(how, "bare") == 0) {
    char *const bare[] = {"PATH=/usr/bin:/bin", NULL};
    execve(self, argv, bare);
  } else if (strcmp(how, "fexecve") == 0) {
    int fd = open(self, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
      fexecve(fd, argv, environ);
  }
  perror("reports_then_execs: exec");
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return 2;
  self[n] = '\0';
  setvbuf(stdout, NULL, _IONBF, 0);
  if (strcmp(mode, "image") == 0) {
    printf("reports_then_execs: new image%s\n",
           getenv("LOCKGRAPH_CARRIED") != NULL ? ", LOCKGRAPH_CARRIED visible" : "");
    printf("reports_then_execs: done\n");
    return 0;
  }
  if (strcmp(mode, "clean") == 0) {
    exec_image("execv", self);
    return 2;
  }
  corpus_ab_ba();
  if (strcmp(mode, "vfork") == 0 || strcmp(mode, "fork") == 0) {
    pid_t pid = mode[0] == 'v' ? vfork() : fork();
    if (pid == 0) {
      char *const args[] = {self, "image", NULL};
      execv(self, args);
      _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
      return 2;
    printf("child: %d\n", WEXITSTATUS(st));
    return 0;
  }
  exec_image(mode, self);
  return 2;
}
