/* wait_wrappers_transparent - the blocking calls lockgraph wraps return what libc returns.
 *
 * Checks: each wrapped call is made where it fails at once (or returns at once), and its
 * result and errno are compared with what the call must give: read of a bad fd (EBADF), of an
 * empty non-blocking pipe (EAGAIN), write to a pipe nobody reads (EPIPE), recv/send/accept/
 * connect on a pipe (ENOTSOCK), poll and select with nothing to wait for (0), epoll_wait on a
 * bad fd (EBADF), nanosleep with a bad time (EINVAL), sleep(0) and usleep(0) (0), waitpid
 * without children (ECHILD), fsync of a bad fd (EBADF), sem_timedwait past its deadline
 * (ETIMEDOUT); errno is set to a marker before each call and must be the call's own after it.
 * Then cancellation points: a thread holding `mu` is cancelled in read (and another in
 * pthread_cond_wait); its cleanup handler releases `mu`, then takes two locks in one order
 * (LINE:cleanup_first and LINE:cleanup_second; LINE:waiter_cleanup_first and _second), which
 * main took in the other order while the thread was blocked. The threads must end cancelled, the
 * handler's unlock must count (no "lock held at thread exit"), main must get `mu`, and the
 * handler's locks must be seen: tracking goes on after a cancellation inside a wrapped call,
 * so each pair of locks is a potential deadlock.
 * Last, the wrappers must really be in the path: main joins a thread that reads the pipe
 * nobody writes (LINE:last_read), and that hang must be reported.
 * Expected verdict: "all calls as libc" and "cancelled: 2" printed; two potential deadlocks
 * (the handlers' orders against main's), then a hang ("no progress") naming the last read;
 * exit 66.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cv_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static sem_t holding;
static int blocking_fds[2];

static void check(const char *what, long rc, long want_rc, int want_errno)
{
  int e = errno;
  if (rc != want_rc || (want_rc == -1 && e != want_errno)) {
    printf("wait_wrappers_transparent: %s returned %ld errno %d (%s), expected %ld errno %d\n",
           what, rc, e, strerror(e), want_rc, want_errno);
    failures++;
  }
}

#define MARK() (errno = 12345)

/* Two pairs of locks, one per cancelled thread: [0] for the reader, [1] for the waiter. */
static pthread_mutex_t pair[2][2] = {{PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER},
                                     {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER}};

/* The cleanup handlers: one per thread, so that each order is a finding of its own (a cycle
 * through the same lines is reported once). */
static void reader_cleanup(void *arg)
{
  (void)arg;
  pthread_mutex_unlock(&mu);
  pthread_mutex_lock(&pair[0][0]); /* LINE:cleanup_first */
  pthread_mutex_lock(&pair[0][1]); /* LINE:cleanup_second */
  pthread_mutex_unlock(&pair[0][1]);
  pthread_mutex_unlock(&pair[0][0]);
}

static void waiter_cleanup(void *arg)
{
  (void)arg;
  pthread_mutex_unlock(&mu);
  pthread_mutex_lock(&pair[1][0]); /* LINE:waiter_cleanup_first */
  pthread_mutex_lock(&pair[1][1]); /* LINE:waiter_cleanup_second */
  pthread_mutex_unlock(&pair[1][1]);
  pthread_mutex_unlock(&pair[1][0]);
}

/* Main's order of pair i, the reverse of the handler's. */
static void main_order(int i)
{
  if (i == 0) {
    pthread_mutex_lock(&pair[0][1]);
    pthread_mutex_lock(&pair[0][0]);
    pthread_mutex_unlock(&pair[0][0]);
    pthread_mutex_unlock(&pair[0][1]);
  } else {
    pthread_mutex_lock(&pair[1][1]);
    pthread_mutex_lock(&pair[1][0]);
    pthread_mutex_unlock(&pair[1][0]);
    pthread_mutex_unlock(&pair[1][1]);
  }
}

static void unlock_cv_mu(void *arg)
{
  (void)arg;
  pthread_mutex_unlock(&cv_mu);
}

static void *reader(void *arg)
{
  char c;

  (void)arg;
  pthread_mutex_lock(&mu);
  pthread_cleanup_push(reader_cleanup, NULL);
  sem_post(&holding);
  for (;;)
    if (read(blocking_fds[0], &c, 1) < 0)
      break;
  pthread_cleanup_pop(1);
  return NULL;
}

static void *last_reader(void *arg)
{
  char c;

  (void)arg;
  if (read(blocking_fds[0], &c, 1) < 0) /* LINE:last_read */
    perror("read");
  return NULL;
}

static void *cond_waiter(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&mu);
  pthread_cleanup_push(waiter_cleanup, NULL);
  pthread_mutex_lock(&cv_mu);
  pthread_cleanup_push(unlock_cv_mu, NULL);
  sem_post(&holding);
  for (;;)
    pthread_cond_wait(&never, &cv_mu);
  pthread_cleanup_pop(1);
  pthread_cleanup_pop(1);
  return NULL;
}

int main(void)
{
  int p[2], q[2];
  char c = 0;
  struct timespec bad = {0, 2000000000L}, past = {0, 0};
  struct timeval zero = {0, 0};
  struct epoll_event ev;
  sem_t s;
  pthread_t t;
  void *ret;
  int cancelled = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  if (pipe2(p, O_NONBLOCK) != 0 || pipe(q) != 0 || pipe(blocking_fds) != 0)
    return 1;
  sem_init(&s, 0, 0);
  sem_init(&holding, 0, 0);

  MARK(); check("read(-1)", read(-1, &c, 1), -1, EBADF);
  MARK(); check("read(empty non-blocking pipe)", read(p[0], &c, 1), -1, EAGAIN);
  MARK(); check("write(pipe)", write(p[1], "x", 1), 1, 0);
  MARK(); check("read(pipe)", read(p[0], &c, 1), 1, 0);
  close(q[0]);
  MARK(); check("write(pipe without reader)", write(q[1], "x", 1), -1, EPIPE);
  MARK(); check("recv(pipe)", recv(p[0], &c, 1, 0), -1, ENOTSOCK);
  MARK(); check("send(pipe)", send(p[1], "x", 1, 0), -1, ENOTSOCK);
  MARK(); check("accept(pipe)", accept(p[0], NULL, NULL), -1, ENOTSOCK);
  MARK(); check("connect(pipe)", connect(p[0], NULL, 0), -1, ENOTSOCK);
  MARK(); check("poll(nothing, 0)", poll(NULL, 0, 0), 0, 0);
  MARK(); check("select(nothing, 0)", select(0, NULL, NULL, NULL, &zero), 0, 0);
  MARK(); check("epoll_wait(-1)", epoll_wait(-1, &ev, 1, 0), -1, EBADF);
  MARK(); check("nanosleep(bad)", nanosleep(&bad, NULL), -1, EINVAL);
  MARK(); check("sleep(0)", sleep(0), 0, 0);
  MARK(); check("usleep(0)", usleep(0), 0, 0);
  MARK(); check("waitpid(no children)", waitpid(-1, NULL, 0), -1, ECHILD);
  MARK(); check("fsync(-1)", fsync(-1), -1, EBADF);
  MARK(); check("sem_timedwait(past)", sem_timedwait(&s, &past), -1, ETIMEDOUT);
  MARK(); check("sem_post", sem_post(&s), 0, 0);
  MARK(); check("sem_wait", sem_wait(&s), 0, 0);
  if (failures == 0)
    printf("wait_wrappers_transparent: all calls as libc\n");

  void *(*fns[2])(void *) = {reader, cond_waiter};
  for (int i = 0; i < 2; i++) {
    pthread_create(&t, NULL, fns[i], NULL);
    sem_wait(&holding);
    main_order(i);
    pthread_cancel(t);
    pthread_join(t, &ret);
    cancelled += ret == PTHREAD_CANCELED;
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
  }
  printf("wait_wrappers_transparent: cancelled: %d\n", cancelled);
  pthread_create(&t, NULL, last_reader, NULL);
  pthread_join(t, NULL);
  printf("wait_wrappers_transparent: done\n");
  return failures != 0;
}
