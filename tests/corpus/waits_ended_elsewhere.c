/* waits_ended_elsewhere - main waits 1.5 s for something another process ends, while the only
 * other thread waits on a condition variable main signals afterwards.
 *
 *   waits_ended_elsewhere fclose_reuse   a pipe made and fdopen'd, then fclose'd (glibc closes
 *                                        it without the close wrapper); its descriptor number
 *                                        goes to a FIFO a child writes: main reads the FIFO
 *   waits_ended_elsewhere close_range    the same, the pipe closed by close_range(2)
 *   waits_ended_elsewhere _Fork          a pipe made, then a child made by glibc's _Fork (no
 *                                        atfork handlers) writes it
 *   waits_ended_elsewhere sigchld        main waits on a semaphore its SIGCHLD handler posts
 *                                        when a child it forked ends
 *   waits_ended_elsewhere pshared        a second thread holds a process-shared mutex when main
 *                                        forks; the child locks it (the parent's thread lets it
 *                                        go after 1 s) and exits 0
 *   waits_ended_elsewhere scm_rights     a child forked first; then a pipe made, its write end
 *                                        sent to the child over a socket (SCM_RIGHTS), and the
 *                                        child writes it after 1.5 s
 * Expected verdict: clean (no hang, no fork hazard), "waits_ended_elsewhere: done", exit 0.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parked.h"

static sem_t child_done;
static pthread_mutex_t *shared;
static sem_t holding;

static void *holds_the_shared_lock(void *arg)
{
  pthread_mutex_lock(shared);
  sem_post(&holding);
  sleep(1);
  pthread_mutex_unlock(shared);
  return arg;
}

static void on_child(int sig)
{
  (void)sig;
  sem_post(&child_done);
}

/* A pipe whose descriptors are closed as `how` says; returns the read end's number. */
static int closed_pipe(const char *how)
{
  int fds[2];
  if (pipe(fds) != 0)
    return -1;
  if (strcmp(how, "fclose_reuse") == 0) {
    fclose(fdopen(fds[0], "r"));
    fclose(fdopen(fds[1], "w"));
  } else {
    syscall(SYS_close_range, fds[0] < fds[1] ? fds[0] : fds[1], ~0u, 0);
  }
  return fds[0];
}

/* A FIFO a child writes a byte to after 1.5 s; main's read end (the lowest free number). */
static int fifo_from_a_child(pid_t *pid)
{
  char path[64];
  snprintf(path, sizeof path, "/tmp/waits_ended_elsewhere.%d", (int)getpid());
  unlink(path);
  if (mkfifo(path, 0600) != 0)
    return -1;
  *pid = fork();
  if (*pid == 0) {
    int w = open(path, O_WRONLY);
    usleep(1500 * 1000);
    _exit(w >= 0 && write(w, "x", 1) == 1 ? 0 : 1);
  }
  int r = open(path, O_RDONLY);
  unlink(path);
  return r;
}

/* A one-byte message with room for one descriptor (SCM_RIGHTS). */
typedef struct fd_message {
  char byte;
  struct iovec iov;
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct msghdr m;
} fd_message_t;

static void fd_message_init(fd_message_t *f)
{
  memset(f, 0, sizeof *f);
  f->iov = (struct iovec){&f->byte, 1};
  f->m = (struct msghdr){.msg_iov = &f->iov, .msg_iovlen = 1, .msg_control = f->ctl.buf,
                         .msg_controllen = sizeof f->ctl.buf};
}

/* Sends descriptor fd over the socket s; 0, or -1. */
static int send_fd(int s, int fd)
{
  fd_message_t f;
  fd_message_init(&f);
  struct cmsghdr *c = CMSG_FIRSTHDR(&f.m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(s, &f.m, 0) == 1 ? 0 : -1;
}

/* The descriptor a message on s carries, or -1. */
static int receive_fd(int s)
{
  fd_message_t f;
  fd_message_init(&f);
  int fd = -1;
  struct cmsghdr *c;
  if (recvmsg(s, &f.m, 0) != 1 || (c = CMSG_FIRSTHDR(&f.m)) == NULL || c->cmsg_type != SCM_RIGHTS)
    return -1;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  pthread_t t, h;
  pid_t pid = -1;
  int st = 0;
  char c;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (sem_init(&child_done, 0, 0) != 0 || sem_init(&holding, 0, 0) != 0 ||
      corpus_park(&t) != 0)
    return 2;
  if (strcmp(mode, "fclose_reuse") == 0 || strcmp(mode, "close_range") == 0) {
    int old = closed_pipe(mode), fd = fifo_from_a_child(&pid);
    if (fd != old)
      printf("waits_ended_elsewhere: the FIFO got %d, not the pipe's %d\n", fd, old);
    if (fd < 0 || read(fd, &c, 1) != 1)
      return 2;
  } else if (strcmp(mode, "_Fork") == 0) {
    int fds[2];
    if (pipe(fds) != 0 || (pid = _Fork()) < 0)
      return 2;
    if (pid == 0) {
      usleep(1500 * 1000);
      _exit(write(fds[1], "x", 1) == 1 ? 0 : 1);
    }
    close(fds[1]);
    if (read(fds[0], &c, 1) != 1)
      return 2;
  } else if (strcmp(mode, "sigchld") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_child;
    sigaction(SIGCHLD, &sa, NULL);
    if ((pid = fork()) == 0) {
      usleep(1500 * 1000);
      _exit(0);
    }
    while (sem_wait(&child_done) != 0)
      ;
  } else if (strcmp(mode, "scm_rights") == 0) {
    int sv[2], fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || (pid = fork()) < 0)
      return 2;
    if (pid == 0) {
      int w = receive_fd(sv[1]);
      usleep(1500 * 1000);
      _exit(w >= 0 && write(w, "x", 1) == 1 ? 0 : 1);
    }
    if (pipe(fds) != 0 || send_fd(sv[0], fds[1]) != 0)
      return 2;
    close(fds[1]);
    if (read(fds[0], &c, 1) != 1)
      return 2;
  } else if (strcmp(mode, "pshared") == 0) {
    pthread_mutexattr_t a;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (shared == MAP_FAILED || pthread_mutex_init(shared, &a) != 0 ||
        pthread_create(&h, NULL, holds_the_shared_lock, NULL) != 0)
      return 2;
    while (sem_wait(&holding) != 0)
      ;
    if ((pid = fork()) == 0) {
      pthread_mutex_lock(shared); /* the parent's thread lets it go in a second */
      pthread_mutex_unlock(shared);
      _exit(0);
    }
    pthread_join(h, NULL);
  } else {
    return 2;
  }
  if (pid > 0 && (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
    printf("waits_ended_elsewhere: the child failed (status %d)\n", st);
    return 1;
  }
  corpus_unpark(t);
  printf("waits_ended_elsewhere: done\n");
  return 0;
}
