/* waits.c - the wrappers of what a thread can block in besides locks, and the pipes the
 * process made (see waits.h for the wait record's contract).
 *
 * Every wrapper is transparent: the real function is called with the same arguments, its
 * result is returned as it came and errno is left as it set it (nothing here writes errno). A
 * cancellation point stays one: the real call is the cancellation point, and the thread stays
 * tracked through it, so the program's cleanup handlers are seen (lockgraph.h, lg_wait_leave,
 * says what leaving a call without returning from it leaves behind). The fast path, on a tracked thread, is: the TLS
 * load, a few stores describing the wait, the call_seq bump, the call, the bump back. A
 * thread that is not tracked (unknown, exited, inside the detector) goes straight to the real
 * function.
 *
 * The fortified forms a program built with _FORTIFY_SOURCE calls instead (__read_chk,
 * __recv_chk, __poll_chk) are the same waits.
 *
 * pipe, pipe2 and socketpair are wrapped only to note which file descriptors are the two ends
 * of something this process made: a read on one of them can only be ended by a thread of
 * this process, until the process forks (the child may hold the other end) or closes it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockgraph.h"

#define LG_CALLER_PC ((uintptr_t)__builtin_return_address(0))
#define LG_CALLER_CFA ((uintptr_t)__builtin_dwarf_cfa())
#define LG_SELF_FP ((uintptr_t)__builtin_frame_address(0))

/* The tracked thread that may publish a wait, or NULL to call straight through. */
static inline lg_thread_t *lg_waiter(void) {
  lg_thread_t *t = lg_tls_self;
  return LG_LIKELY(t != NULL && !t->passthrough) ? t : NULL;
}

/* A wrapper's body: publish, call, end the wait on the way out (return or cancellation). */
#define LG_WAIT_CALL(what, call, timed, outside, obj, obj2, realcall)                          \
  do {                                                                                       \
    lg_thread_t *t_ = lg_waiter();                                                           \
    if (LG_UNLIKELY(t_ == NULL))                                                             \
      return realcall;                                                                       \
    int pub_ = lg_wait_enter(t_, (what), (call), (timed), (outside), (uintptr_t)(obj),      \
                             (uintptr_t)(obj2), LG_CALLER_PC, LG_CALLER_CFA, LG_SELF_FP);     \
    LG_WAIT_SCOPE(t_, pub_);                                                                 \
    return realcall;                                                                         \
  } while (0)

/* ---- the wait record ---- */

void lg_wait_walk(lg_thread_t *t, lg_wait_t *w, uintptr_t cfa, uintptr_t wrapper_fp) {
  /* As lg_held_fill: every frame must lie between the caller's stack pointer and the top of
   * the stack and grow outwards, so a program without frame pointers gives a short list. */
  for (int k = 0; k < LG_WAIT_UP; k++)
    w->up[k] = 0;
  if (wrapper_fp == 0)
    return; /* the caller has no frame of its own to start from: the call site alone */
  uintptr_t fp = *(const uintptr_t *)wrapper_fp, lo = cfa, hi = t->stack_hi;
  for (int k = 0; k < LG_WAIT_UP; k++) {
    if (fp < lo || fp + 16 > hi || (fp & 7) != 0)
      break;
    w->up[k] = ((const uintptr_t *)fp)[1];
    lo = fp + 16;
    fp = ((const uintptr_t *)fp)[0];
  }
}

const char *lg_call_name(int call) {
  static const char *const names[LG_CALL_COUNT] = {
      [LG_CALL_NONE] = "?",          [LG_CALL_READ] = "read",
      [LG_CALL_WRITE] = "write",     [LG_CALL_RECV] = "recv",
      [LG_CALL_SEND] = "send",       [LG_CALL_ACCEPT] = "accept",
      [LG_CALL_CONNECT] = "connect", [LG_CALL_POLL] = "poll",
      [LG_CALL_SELECT] = "select",   [LG_CALL_EPOLL_WAIT] = "epoll_wait",
      [LG_CALL_NANOSLEEP] = "nanosleep", [LG_CALL_SLEEP] = "sleep",
      [LG_CALL_USLEEP] = "usleep",   [LG_CALL_WAITPID] = "waitpid",
      [LG_CALL_FSYNC] = "fsync",     [LG_CALL_SENDMSG] = "sendmsg",
      [LG_CALL_SENDMMSG] = "sendmmsg", [LG_CALL_RECVMSG] = "recvmsg",
      [LG_CALL_RECVMMSG] = "recvmmsg",
  };
  return call > 0 && call < LG_CALL_COUNT ? names[call] : "?";
}

/* ---- pipes the process made ---- */

/* fd -> the fork generation it was made in, plus one (0: not one of ours). Descriptors past
 * the table are never ours: a wait on them counts as one the outside can end. */
#define LG_FD_MAX 65536
static _Atomic uint32_t lg_fd_gen[LG_FD_MAX];
static _Atomic uint32_t lg_fork_gen;

/* fd -> the inode of the pipe or socket made there: a descriptor closed without our close
 * (fclose, close_range, closefrom, a raw system call) keeps its mark, and the number's next
 * user (a socket to another process, a FIFO) must not be taken for it. */
static _Atomic uint64_t lg_fd_ino[LG_FD_MAX];

uint64_t lg_fd_inode(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino ^ ((uint64_t)st.st_dev << 48) : 0;
}

static void lg_fd_note(const int *fds) {
  uint32_t g = atomic_load_explicit(&lg_fork_gen, memory_order_relaxed) + 1;
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0 && fds[i] < LG_FD_MAX) {
      atomic_store_explicit(&lg_fd_ino[fds[i]], lg_fd_inode(fds[i]), memory_order_relaxed);
      atomic_store_explicit(&lg_fd_gen[fds[i]], g, memory_order_relaxed);
    }
}

int lg_fd_is_internal(int fd) {
  if (fd < 0 || fd >= LG_FD_MAX)
    return 0;
  uint32_t g = atomic_load_explicit(&lg_fd_gen[fd], memory_order_relaxed);
  return g != 0 && g == atomic_load_explicit(&lg_fork_gen, memory_order_relaxed) + 1 &&
         lg_fd_inode(fd) == atomic_load_explicit(&lg_fd_ino[fd], memory_order_relaxed);
}

void lg_waits_after_fork(void) {
  atomic_fetch_add_explicit(&lg_fork_gen, 1, memory_order_relaxed);
}

/* A child made without fork(2) inherits every pipe the process made that is not close-on-exec:
 * from then on the other end may be in that child, as after a fork, and a wait on such a pipe
 * can be ended from outside. posix_spawn and posix_spawnp here (and popen and system, which
 * glibc builds on its own posix_spawn, past this one); a vfork child that execs, in exec.c.
 * Before, a thread reading a pipe a spawned child writes was "a pipe only this program can
 * write", and a program waiting for its child's output ended as hung. */
/* glibc's _Fork (2.34): a fork without the atfork handlers, so without lg_waits_after_fork. */
LG_EXPORT pid_t _Fork(void) {
  lg_waits_after_fork();
  return LG_REAL_W(fork_raw, "_Fork")();
}

LG_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  lg_waits_after_fork();
  return LG_REAL_W(posix_spawn, "posix_spawn")(pid, path, fa, attr, argv, envp);
}

LG_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  lg_waits_after_fork();
  return LG_REAL_W(posix_spawnp, "posix_spawnp")(pid, file, fa, attr, argv, envp);
}

LG_EXPORT FILE *popen(const char *command, const char *type) {
  lg_waits_after_fork();
  return LG_REAL_W(popen, "popen")(command, type);
}

LG_EXPORT int system(const char *command) {
  lg_waits_after_fork();
  return LG_REAL_W(system, "system")(command);
}

LG_EXPORT int pipe(int fds[2]) {
  int rc = LG_REAL_W(pipe, "pipe")(fds);
  if (rc == 0)
    lg_fd_note(fds);
  return rc;
}

_Atomic pid_t lg_fd_hoist_thread;

LG_EXPORT int pipe2(int fds[2], int flags) {
  int rc = LG_REAL_W(pipe2, "pipe2")(fds, flags);
  pid_t hoist = atomic_load_explicit(&lg_fd_hoist_thread, memory_order_relaxed);
  if (rc == 0 && LG_UNLIKELY(hoist != 0) && hoist == (pid_t)syscall(SYS_gettid)) {
    fds[0] = lg_fd_move_high(fds[0]); /* the detector's own pipe (lockgraph.h) */
    fds[1] = lg_fd_move_high(fds[1]);
    return rc;
  }
  if (rc == 0)
    lg_fd_note(fds);
  return rc;
}

LG_EXPORT int socketpair(int domain, int type, int proto, int fds[2]) {
  int rc = LG_REAL_W(socketpair, "socketpair")(domain, type, proto, fds);
  if (rc == 0)
    lg_fd_note(fds);
  return rc;
}

/* A descriptor passed to another process in a message (SCM_RIGHTS) is as good as inherited by
 * a child: from then on that process may hold the other end of any pipe this one made. So the
 * pipes made before are no longer only the program's own, as after a fork; noted before the
 * message goes, so the receiver never has one while it is still counted ours. */
static void lg_msg_passes_fds(const struct msghdr *m) {
  if (m == NULL || m->msg_control == NULL)
    return;
  for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c != NULL;
       c = CMSG_NXTHDR((struct msghdr *)m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      lg_waits_after_fork();
      return;
    }
}

/* The message calls are waits as send and recv are (a lock held across a blocking one is a
 * stall, and one on a socket pair of the program's own with nobody at the other end a hang);
 * recvmmsg with a timeout is a timed one. */
LG_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags) {
  lg_msg_passes_fds(m);
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_SENDMSG, 0, 0, fd, 0,
               LG_REAL_W(sendmsg, "sendmsg")(fd, m, flags));
}

LG_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags) {
  for (unsigned i = 0; v != NULL && i < n; i++)
    lg_msg_passes_fds(&v[i].msg_hdr);
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_SENDMMSG, 0, 0, fd, 0,
               LG_REAL_W(sendmmsg, "sendmmsg")(fd, v, n, flags));
}

LG_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_RECVMSG, 0, 0, fd, 0,
               LG_REAL_W(recvmsg, "recvmsg")(fd, m, flags));
}

LG_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *timeout) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_RECVMMSG, timeout != NULL, 0, fd, 0,
               LG_REAL_W(recvmmsg, "recvmmsg")(fd, v, n, flags, timeout));
}

LG_EXPORT int close(int fd) {
  if (fd >= 0 && fd < LG_FD_MAX)
    atomic_store_explicit(&lg_fd_gen[fd], 0, memory_order_relaxed);
  return LG_REAL_W(close, "close")(fd);
}

/* ---- signal handlers that may end a wait ---- */

/* Signals other processes send to ask a program for something, and SIGCHLD (a child ended): a
 * handler of the program's for one of them is how a daemon is told to stop or reload, or a
 * parent that its child is done, often by sem_post or a write to a pipe of its own (the
 * self-pipe trick). SIGALRM is not among them: it is the program's own timer, and a program
 * that waits for its own alarm set a deadline on itself (POSIX timers: notify.c). */
static const int lg_wake_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
                                      SIGCHLD}; /* SIGCHLD: a child process ended */
static _Atomic uint32_t lg_wake_handlers; /* bit i: lg_wake_signals[i] has a program handler */

void lg_waits_note_handler(int sig, void (*handler)(int)) {
  for (unsigned i = 0; i < sizeof lg_wake_signals / sizeof lg_wake_signals[0]; i++) {
    if (lg_wake_signals[i] != sig)
      continue;
    if (handler == SIG_DFL || handler == SIG_IGN)
      atomic_fetch_and_explicit(&lg_wake_handlers, ~(1u << i), memory_order_relaxed);
    else
      atomic_fetch_or_explicit(&lg_wake_handlers, 1u << i, memory_order_relaxed);
  }
}

int lg_waits_signal_can_wake(void) {
  return atomic_load_explicit(&lg_wake_handlers, memory_order_relaxed) != 0;
}

/* ---- semaphores ---- */

/* glibc's semaphore keeps, after its 64-bit value, a `private` word that is 0 for a
 * process-private semaphore and FUTEX_PRIVATE_FLAG (128) for a process-shared one (the flag is
 * XORed into the futex operation): another process may post a shared one. */
static uint8_t lg_sem_shared(const sem_t *s) {
  const int *w = (const int *)(const void *)s;
  return w[2] != 0;
}

LG_EXPORT int sem_wait(sem_t *s) {
  LG_WAIT_CALL(LG_WAIT_SEM, LG_CALL_NONE, 0, lg_sem_shared(s), s, 0,
               LG_REAL_W(sem_wait, "sem_wait")((void *)s));
}

LG_EXPORT int sem_timedwait(sem_t *s, const struct timespec *ts) {
  LG_WAIT_CALL(LG_WAIT_SEM, LG_CALL_NONE, 1, lg_sem_shared(s), s, 0,
               LG_REAL_W(sem_timedwait, "sem_timedwait")((void *)s, ts));
}

LG_EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *ts) {
  __typeof__(lg_real.sem_clockwait) real = LG_REAL_W(sem_clockwait, "sem_clockwait");
  if (real == NULL) {
    errno = ENOSYS;
    return -1;
  }
  LG_WAIT_CALL(LG_WAIT_SEM, LG_CALL_NONE, 1, lg_sem_shared(s), s, 0, real((void *)s, clk, ts));
}

/* ---- blocking system calls ---- */

LG_EXPORT ssize_t read(int fd, void *buf, size_t n) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_READ, 0, 0, fd, 0, LG_REAL_W(read, "read")(fd, buf, n));
}

LG_EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_WRITE, 0, 0, fd, 0, LG_REAL_W(write, "write")(fd, buf, n));
}

LG_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_RECV, 0, 0, fd, 0,
               LG_REAL_W(recv, "recv")(fd, buf, n, flags));
}

LG_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_SEND, 0, 0, fd, 0,
               LG_REAL_W(send, "send")(fd, buf, n, flags));
}

/* What read, recv and poll become in a program built with _FORTIFY_SOURCE and optimization
 * (the buffer's size is checked by libc): the same waits. */
LG_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  __typeof__(lg_real.read_chk) real = LG_REAL_W(read_chk, "__read_chk");
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_READ, 0, 0, fd, 0, real(fd, buf, n, buflen));
}

LG_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  __typeof__(lg_real.recv_chk) real = LG_REAL_W(recv_chk, "__recv_chk");
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_RECV, 0, 0, fd, 0, real(fd, buf, n, buflen, flags));
}

LG_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen) {
  __typeof__(lg_real.poll_chk) real = LG_REAL_W(poll_chk, "__poll_chk");
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_POLL, timeout >= 0, 1, -1, 0, real(fds, n, timeout, fdslen));
}

/* A listening socket is ended by a client: always the outside. */
LG_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_ACCEPT, 0, 1, fd, 0,
               LG_REAL_W(accept, "accept")(fd, addr, len));
}

LG_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_CONNECT, 0, 1, fd, 0,
               LG_REAL_W(connect, "connect")(fd, addr, len));
}

/* poll, select and epoll_wait may watch anything: the outside can end them. */
LG_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_POLL, timeout >= 0, 1, -1, 0,
               LG_REAL_W(poll, "poll")(fds, n, timeout));
}

LG_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_SELECT, tv != NULL, 1, -1, 0,
               LG_REAL_W(select, "select")(n, r, w, e, tv));
}

LG_EXPORT int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_EPOLL_WAIT, timeout >= 0, 1, ep, 0,
               LG_REAL_W(epoll_wait, "epoll_wait")(ep, ev, max, timeout));
}

LG_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_NANOSLEEP, 1, 0, -1, 0,
               LG_REAL_W(nanosleep, "nanosleep")(req, rem));
}

LG_EXPORT unsigned sleep(unsigned s) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_SLEEP, 1, 0, -1, 0, LG_REAL_W(sleep, "sleep")(s));
}

LG_EXPORT int usleep(useconds_t us) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_USLEEP, 1, 0, -1, 0, LG_REAL_W(usleep, "usleep")(us));
}

/* A child process ends it (WNOHANG does not block at all). */
LG_EXPORT pid_t waitpid(pid_t pid, int *status, int options) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_WAITPID, (options & WNOHANG) != 0, 1, -1, 0,
               LG_REAL_W(waitpid, "waitpid")(pid, status, options));
}

/* The disk ends it: slow, never hung. */
LG_EXPORT int fsync(int fd) {
  LG_WAIT_CALL(LG_WAIT_CALL, LG_CALL_FSYNC, 1, 0, fd, 0, LG_REAL_W(fsync, "fsync")(fd));
}
