/* fork_with_lock_held - main forks while another thread holds a lock.
 *
 * Checks: the detector's own state must stay usable in the child even though a thread that
 * does not exist there was in the middle of things: the child takes two other locks (in one
 * order) and exits normally; it must not hang, and neither process reports anything.
 * Expected verdict: no report; the child exits 0, the parent prints so and exits 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_x = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_y = PTHREAD_MUTEX_INITIALIZER;
static sem_t holding, release;

static void *holder(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&held);
  sem_post(&holding);
  sem_wait(&release);
  pthread_mutex_unlock(&held);
  return NULL;
}

int main(void)
{
  pthread_t t;
  pid_t pid;
  int status = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&holding, 0, 0);
  sem_init(&release, 0, 0);
  pthread_create(&t, NULL, holder, NULL);
  sem_wait(&holding);

  pid = fork();
  if (pid == 0) {
    pthread_mutex_lock(&lock_x);
    pthread_mutex_lock(&lock_y);
    pthread_mutex_unlock(&lock_y);
    pthread_mutex_unlock(&lock_x);
    printf("fork_with_lock_held: child done\n");
    exit(0);
  }
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return 1;
  printf("fork_with_lock_held: child exit status %d\n",
         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));

  sem_post(&release);
  pthread_join(t, NULL);
  printf("fork_with_lock_held: done\n");
  return 0;
}
