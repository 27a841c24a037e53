/* stderr_reused - the program takes descriptors lockgraph's reports could land on.
 *
 * Checks: reports go to lockgraph's own descriptor, never into the program's files. With
 * `reuse FILE` the program closes fd 2 and opens FILE, which gets fd 2 (as a program that sends
 * its own error log there does); with `closefrom FILE`, like a daemon, it closes every
 * descriptor from 3 up and puts FILE on fds 3 to 199 (wherever lockgraph's was). Then it
 * writes a line of its own there and runs the classic inversion, sequenced in one thread.
 * Expected verdict: FILE holds only the program's own line; the report and the summary reach
 * the original stderr; one potential deadlock at the LINE: markers; exit 66.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

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
  static const char own[] = "stderr_reused: the program's own line\n";
  int fd;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 3 || (strcmp(argv[1], "reuse") != 0 && strcmp(argv[1], "closefrom") != 0)) {
    fprintf(stderr, "usage: stderr_reused reuse|closefrom FILE\n");
    return 2;
  }
  if (strcmp(argv[1], "reuse") == 0) {
    close(2);
    fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd != 2) {
      printf("stderr_reused: the file got fd %d, not 2\n", fd);
      return 2;
    }
  } else {
    for (int i = 3; i < 1024; i++)
      close(i);
    fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 3; i < 200 && fd >= 0; i++)
      if (i != fd)
        dup2(fd, i);
  }
  if (fd < 0) {
    printf("stderr_reused: cannot open %s\n", argv[2]);
    return 2;
  }
  if (write(fd, own, sizeof own - 1) != (ssize_t)(sizeof own - 1))
    return 2;
  inversion();
  printf("stderr_reused: done\n");
  return 0;
}
