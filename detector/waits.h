/* waits.h - what a thread is blocked in, beyond lock acquisitions (the wait-for model).
 *
 * Contract. A tracked thread that enters a blocking call publishes one lg_wait_t in its record
 * and then turns its call_seq odd (lg_wait_enter, release order); it turns it even again when
 * the real call returns (lg_wait_leave). A lock acquisition has a channel of its own: it turns
 * wait_seq odd and keeps "which lock" in the held entry prepared above the top of its held
 * stack (lockgraph.h, lg_held_fill), so a signal handler that takes a lock while its thread
 * waits in a call leaves the call's record alone. A reader (the watchdog) reads both counters
 * (lg_wait_now: the lock acquisition when there is one, else the call), reads the record, and
 * trusts what it read only while lg_wait_now still gives the same value. Only the owner
 * writes; nothing is allocated, nothing locked, errno untouched: entering and leaving a wait
 * costs a handful of stores, and the frame-pointer walk that gives the wait a stack runs only
 * while the thread holds a lock (what a stall report needs). The thread stays tracked during
 * the wait; a signal handler's own waits meanwhile are not published (lg_wait_enter). A
 * thread that leaves the real call without returning from it (siglongjmp, setcontext) leaves
 * the wait published (lockgraph.h, lg_wait_leave) until its next wait or its exit; the
 * watchdog checks with the kernel before it trusts one (kstate.h).
 *
 * Whether a wait can end is decided by the reader, not the wrapper:
 *   - timed: the call carries a deadline (sleeps, timed waits, poll with a timeout, fsync):
 *     it ends by itself, so the thread is never hung;
 *   - outside: something outside the process can end it (a socket, a child process, a file
 *     descriptor the process did not make as a pipe, a process-shared semaphore or condition
 *     variable): the thread is blocked, not hung;
 *   - otherwise only another thread of this process can end it (a lock, a condition variable,
 *     a semaphore, a join, a pipe the process made itself and has not shared by fork).
 * hang.c reports a hang only when every thread of the program is in the last kind of wait.
 */
#ifndef LG_WAITS_H
#define LG_WAITS_H

#include <stdint.h>

enum {
  LG_WAIT_LOCK = 0, /* a blocking lock acquisition: the held entry above the top says which */
  LG_WAIT_COND = 1, /* obj: the condition variable, obj2: its mutex */
  LG_WAIT_SEM = 2,  /* obj: the semaphore */
  LG_WAIT_JOIN = 3, /* obj: the pthread_t joined */
  LG_WAIT_CALL = 4, /* a blocking system call through libc: call says which, obj: the fd */
};

/* The blocking calls, for reports ("blocks in read(fd 5)"). */
enum {
  LG_CALL_NONE = 0,
  LG_CALL_READ,
  LG_CALL_WRITE,
  LG_CALL_RECV,
  LG_CALL_SEND,
  LG_CALL_ACCEPT,
  LG_CALL_CONNECT,
  LG_CALL_POLL,
  LG_CALL_SELECT,
  LG_CALL_EPOLL_WAIT,
  LG_CALL_NANOSLEEP,
  LG_CALL_SLEEP,
  LG_CALL_USLEEP,
  LG_CALL_WAITPID,
  LG_CALL_FSYNC,
  LG_CALL_SENDMSG,
  LG_CALL_SENDMMSG,
  LG_CALL_RECVMSG,
  LG_CALL_RECVMMSG,
  LG_CALL_COUNT
};

#define LG_WAIT_UP 6 /* callers kept above the call site (frame-pointer walk) */

typedef struct lg_wait {
  uint8_t what;    /* LG_WAIT_* */
  uint8_t call;    /* LG_CALL_* for LG_WAIT_CALL */
  uint8_t timed;   /* it has a deadline: it ends by itself */
  uint8_t outside; /* known at entry to be endable from outside the process */
  uintptr_t obj, obj2;
  uintptr_t pc;              /* where the program made the call */
  uintptr_t up[LG_WAIT_UP];  /* its callers, only while the thread holds a lock (0: none) */
} lg_wait_t;

/* The name of a blocking call ("read"). */
const char *lg_call_name(int call);

/* Whether blocking on fd can only be ended by this process's own threads: a pipe or socket
 * pair the process made, not shared with a child since. Any thread may call it. */
int lg_fd_is_internal(int fd);

#endif
