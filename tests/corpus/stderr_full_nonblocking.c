/* stderr_full_nonblocking - the program makes its stderr non-blocking (as event loops do with
 * their standard streams) and fills it before anything reads it, then takes two mutexes in
 * both orders.
 *
 * Whoever reads the other end of stderr starts late: once this program says on stdout that its
 * stderr is full. A descriptor that is a dup of stderr
 * shares the file description, O_NONBLOCK included: a write to it while the pipe is full fails
 * with EAGAIN instead of waiting.
 * Expected verdict: one potential deadlock (A -> B, B -> A), its report on stderr after the
 * program's own filler lines; "stderr_full_nonblocking: done" on stdout; exit 66.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
  char filler[4096];
  size_t filled = 0;
  ssize_t k;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (fcntl(2, F_SETFL, fcntl(2, F_GETFL) | O_NONBLOCK) != 0)
    return 1;
  memset(filler, '.', sizeof filler);
  filler[sizeof filler - 1] = '\n';
  while ((k = write(2, filler, sizeof filler)) > 0 && filled < (1u << 24))
    filled += (size_t)k;
  if (k >= 0 || errno != EAGAIN) {
    fprintf(stdout, "stderr_full_nonblocking: stderr never filled (not a pipe?)\n");
    return 1;
  }
  printf("stderr_full_nonblocking: stderr is full\n"); /* its reader starts now */
  pthread_mutex_lock(&a);
  pthread_mutex_lock(&b);
  pthread_mutex_unlock(&b);
  pthread_mutex_unlock(&a);
  pthread_mutex_lock(&b);
  pthread_mutex_lock(&a);
  pthread_mutex_unlock(&a);
  pthread_mutex_unlock(&b);
  printf("stderr_full_nonblocking: done\n");
  return 0;
}
