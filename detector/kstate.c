/* kstate.c - what the kernel says a thread of the process is doing (contract in kstate.h). */
#define _GNU_SOURCE
#include "kstate.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lockgraph.h"

long lg_kstate_syscall(pid_t ktid, unsigned long *arg0) {
  char path[48], buf[64];
  if (ktid <= 0)
    return -2;
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)ktid);
  long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -2;
  long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
  syscall(SYS_close, fd);
  if (n <= 0)
    return -2;
  buf[n] = '\0';
  if (strncmp(buf, "running", 7) == 0)
    return -1;
  char *end;
  long nr = strtol(buf, &end, 10);
  if (end == buf || nr < 0)
    return -1; /* "-1 sp pc": blocked outside a system call */
  *arg0 = strtoul(end, NULL, 16);
  return nr;
}

static int lg_kstate_is_futex(long nr) {
#ifdef SYS_futex_waitv
  if (nr == SYS_futex_waitv)
    return 1;
#endif
  return nr == SYS_futex;
}

/* Whether system call nr with first argument a0 can be the wait w describes: only the waits a
 * hang is made of are told apart; any system call fits the others. */
static int lg_kstate_call_fits(const lg_wait_t *w, long nr, unsigned long a0) {
  switch (w->what) {
  case LG_WAIT_COND:
  case LG_WAIT_SEM:
  case LG_WAIT_JOIN:
    return lg_kstate_is_futex(nr);
  case LG_WAIT_CALL:
    switch (w->call) {
    case LG_CALL_READ: return nr == SYS_read && a0 == w->obj;
    case LG_CALL_WRITE: return nr == SYS_write && a0 == w->obj;
    case LG_CALL_RECV: return nr == SYS_recvfrom && a0 == w->obj;
    case LG_CALL_SEND: return nr == SYS_sendto && a0 == w->obj;
    case LG_CALL_SENDMSG: return nr == SYS_sendmsg && a0 == w->obj;
    case LG_CALL_SENDMMSG: return nr == SYS_sendmmsg && a0 == w->obj;
    case LG_CALL_RECVMSG: return nr == SYS_recvmsg && a0 == w->obj;
    case LG_CALL_RECVMMSG: return nr == SYS_recvmmsg && a0 == w->obj;
    default: return 1;
    }
  default:
    return 1;
  }
}

int lg_kstate_call_elsewhere(pid_t ktid, const lg_wait_t *w) {
  unsigned long a0 = 0;
  long nr = lg_kstate_syscall(ktid, &a0);
  return nr == -2 ? 0 : nr == -1 || !lg_kstate_call_fits(w, nr, a0);
}

int lg_kstate_lock_elsewhere(pid_t ktid, uint8_t kind) {
  if (kind == LG_KIND_SPIN)
    return 0;
  unsigned long a0 = 0;
  long nr = lg_kstate_syscall(ktid, &a0);
  return nr == -2 ? 0 : nr == -1 || !lg_kstate_is_futex(nr);
}

int lg_kstate_retaking(pid_t ktid, uintptr_t mutex) {
  unsigned long a0 = 0;
  return lg_kstate_is_futex(lg_kstate_syscall(ktid, &a0)) && a0 == mutex;
}
