/* stall_lock_across_call - a lock held across a blocking call while another thread waits.
 *
 *   stall_lock_across_call sleep    the holder takes `log_mu` (LINE:holder_takes) and sleeps
 *                                   one second holding it (LINE:holder_sleeps); main wants
 *                                   `log_mu` meanwhile (LINE:main_waits); twice, from the same
 *                                   lines
 *   stall_lock_across_call read     the same, but the holder reads a pipe under the lock
 *                                   (LINE:holder_reads) that a third thread writes a second
 *                                   later
 *   stall_lock_across_call recvmsg  the same with a socket pair, the holder in recvmsg
 *                                   (LINE:holder_receives)
 *   stall_lock_across_call lone     one thread writes a line to a pipe and sleeps under the
 *                                   lock, and nobody else ever wants it: no contention
 *   stall_lock_across_call compute  main waits for `log_mu` while the holder computes (no
 *                                   blocking call) for a while
 * Expected verdict: sleep, read and recvmsg: one stall report (one per pair of call sites) naming the
 * lock, the holder's blocking call, where the lock was taken and main's wait; the run goes on
 * to "done"; exit 66.
 * lone and compute: no report; "done"; exit 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static sem_t holding;
static int fds[2];
static const char *mode;
static volatile unsigned long sink;

static void pause_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void *late_writer(void *arg)
{
  (void)arg;
  pause_ms(1000);
  if (write(fds[1], "x", 1) != 1)
    perror("write");
  return NULL;
}

static int rounds(void)
{
  return strcmp(mode, "sleep") == 0 ? 2 : 1;
}

/* One turn of the holder: take the lock, let main want it, block (or compute) holding it. */
static void hold_once(void)
{
  char c;

  pthread_mutex_lock(&log_mu); /* LINE:holder_takes */
  sem_post(&holding);
  if (strcmp(mode, "sleep") == 0) {
    sleep(1); /* LINE:holder_sleeps */
  } else if (strcmp(mode, "read") == 0) {
    if (read(fds[0], &c, 1) != 1) /* LINE:holder_reads */
      perror("read");
  } else if (strcmp(mode, "recvmsg") == 0) {
    struct iovec iov = {&c, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (recvmsg(fds[0], &m, 0) != 1) /* LINE:holder_receives */
      perror("recvmsg");
  } else {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
      for (int i = 0; i < 100000; i++)
        sink += (unsigned long)i * i;
      clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 600);
  }
  pthread_mutex_unlock(&log_mu);
}

static void *holder(void *arg)
{
  (void)arg;
  for (int i = 0; i < rounds(); i++)
    hold_once();
  return NULL;
}

int main(int argc, char **argv)
{
  pthread_t t, w;

  mode = argc > 1 ? argv[1] : "sleep";
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&holding, 0, 0);
  if (strcmp(mode, "recvmsg") == 0 ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0
                                    : pipe(fds) != 0)
    return 1;
  if (strcmp(mode, "lone") == 0) {
    for (int i = 0; i < 3; i++) {
      pthread_mutex_lock(&log_mu);
      if (write(fds[1], "log line\n", 9) != 9)
        return 1;
      pause_ms(200);
      pthread_mutex_unlock(&log_mu);
    }
    /* A second thread exists, so the watchdog runs, but it never touches the lock. */
    pthread_create(&w, NULL, late_writer, NULL);
    pthread_join(w, NULL);
    printf("stall_lock_across_call: done\n");
    return 0;
  }
  int writer = strcmp(mode, "read") == 0 || strcmp(mode, "recvmsg") == 0;
  if (writer)
    pthread_create(&w, NULL, late_writer, NULL);
  pthread_create(&t, NULL, holder, NULL);
  for (int i = 0; i < rounds(); i++) {
    sem_wait(&holding);
    pthread_mutex_lock(&log_mu); /* LINE:main_waits */
    pthread_mutex_unlock(&log_mu);
  }
  pthread_join(t, NULL);
  if (writer)
    pthread_join(w, NULL);
  printf("stall_lock_across_call: done\n");
  return 0;
}
