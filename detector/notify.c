/* notify.c - the asynchronous notifications the program asked for: POSIX timers, message
 * queue notifications, asynchronous I/O (notify.h states the contract).
 *
 * Three small tables of fixed size, one per kind, whose entries are claimed with a
 * compare-and-swap (0 free, 1 being written, 2 in use) so that any thread may add one and the
 * watchdog may read them without a lock; an entry being written counts as pending. A timer
 * knows when it expires; a queue's registration and an I/O request are looked at only when a
 * hang is about to be reported, and the first look that finds one done starts its grace.
 */
#define _GNU_SOURCE
#include <aio.h>
#include <dlfcn.h>
#include <errno.h>
#include <mqueue.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "lockgraph.h"
#include "notify.h"

enum { LG_SLOT_FREE = 0, LG_SLOT_WRITING = 1, LG_SLOT_USED = 2 };

/* Claims a free slot of `used` (n entries): its index, or -1 when all are taken. */
static int lg_notify_claim(_Atomic int *used, size_t stride, int n) {
  for (int i = 0; i < n; i++) {
    _Atomic int *u = (_Atomic int *)((char *)used + (size_t)i * stride);
    int expected = LG_SLOT_FREE;
    if (atomic_compare_exchange_strong(u, &expected, LG_SLOT_WRITING))
      return i;
  }
  return -1;
}

/* Whether a sigevent asks for a notification (SIGEV_NONE notifies nobody). */
static int lg_sev_notifies(const struct sigevent *sev) {
  return sev != NULL && sev->sigev_notify != SIGEV_NONE;
}

/* What the queue and I/O tables' entries start with: the slot's state, and when the
 * notification was first seen come (0: not yet). */
typedef struct lg_watched {
  _Atomic int used;
  _Atomic uint64_t done_ns;
} lg_watched_t;

/* Whether an entry of a table of n entries `stride` bytes apart (the first at `first`) is
 * pending at now_ns: being written, or not yet come (`came` says, for an entry in use), or
 * come less than grace_ns ago. An entry's first look that finds it come starts its grace. */
static int lg_watched_pending(lg_watched_t *first, size_t stride, int n,
                              int (*came)(const lg_watched_t *), uint64_t now_ns,
                              uint64_t grace_ns) {
  int saved = errno, pending = 0;
  for (int i = 0; i < n && !pending; i++) {
    lg_watched_t *w = (lg_watched_t *)((char *)first + (size_t)i * stride);
    int u = atomic_load(&w->used);
    if (u == LG_SLOT_WRITING) {
      pending = 1;
    } else if (u == LG_SLOT_USED) {
      uint64_t done = atomic_load(&w->done_ns);
      if (done == 0 && came(w))
        atomic_compare_exchange_strong(&w->done_ns, &done, now_ns), done = now_ns;
      pending = done == 0 || now_ns - done < grace_ns;
    }
  }
  errno = saved;
  return pending;
}

/* ---- timers ----
 *
 * Followed through timer_create, timer_settime and timer_delete: the expiry of its last
 * arming, UINT64_MAX for a periodic one or one armed at an absolute time on its own clock. */
typedef struct lg_timer {
  _Atomic int used;
  timer_t id;
  _Atomic uint64_t until_ns; /* monotonic; 0: disarmed */
} lg_timer_t;
static lg_timer_t lg_timers[LG_NOTIFY_MAX];
static _Atomic int lg_timers_overflow;

static lg_timer_t *lg_timer_find(timer_t id) {
  for (int i = 0; i < LG_NOTIFY_MAX; i++)
    if (atomic_load(&lg_timers[i].used) == LG_SLOT_USED && lg_timers[i].id == id)
      return &lg_timers[i];
  return NULL;
}

LG_EXPORT int timer_create(clockid_t clk, struct sigevent *sev, timer_t *id) {
  int rc = LG_REAL_W(timer_create, "timer_create")(clk, sev, id);
  /* SIGEV_NONE notifies nobody: not followed. The default (sev NULL) is SIGALRM. */
  if (rc != 0 || (sev != NULL && sev->sigev_notify == SIGEV_NONE))
    return rc;
  int i = lg_notify_claim(&lg_timers[0].used, sizeof lg_timers[0], LG_NOTIFY_MAX);
  if (i < 0) {
    atomic_store(&lg_timers_overflow, 1);
    return rc;
  }
  lg_timers[i].id = *id;
  atomic_store(&lg_timers[i].until_ns, 0);
  atomic_store(&lg_timers[i].used, LG_SLOT_USED);
  return rc;
}

LG_EXPORT int timer_settime(timer_t id, int flags, const struct itimerspec *value,
                            struct itimerspec *old) {
  int rc = LG_REAL_W(timer_settime, "timer_settime")(id, flags, value, old);
  lg_timer_t *t = rc == 0 && value != NULL ? lg_timer_find(id) : NULL;
  if (t != NULL) {
    uint64_t v =
        (uint64_t)value->it_value.tv_sec * 1000000000ull + (uint64_t)value->it_value.tv_nsec;
    int periodic = value->it_interval.tv_sec != 0 || value->it_interval.tv_nsec != 0;
    atomic_store(&t->until_ns, v == 0 ? 0
                               : periodic || (flags & TIMER_ABSTIME) ? UINT64_MAX
                                                                    : lg_now_ns() + v);
  }
  return rc;
}

LG_EXPORT int timer_delete(timer_t id) {
  lg_timer_t *t = lg_timer_find(id);
  int rc = LG_REAL_W(timer_delete, "timer_delete")(id);
  if (rc == 0 && t != NULL)
    atomic_store(&t->used, LG_SLOT_FREE);
  return rc;
}

static int lg_timers_pending(uint64_t now_ns, uint64_t grace_ns) {
  if (atomic_load_explicit(&lg_timers_overflow, memory_order_relaxed))
    return 1;
  for (int i = 0; i < LG_NOTIFY_MAX; i++) {
    int u = atomic_load(&lg_timers[i].used);
    uint64_t until = atomic_load(&lg_timers[i].until_ns);
    if (u == LG_SLOT_WRITING ||
        (u == LG_SLOT_USED && until != 0 && (until > now_ns || now_ns - until < grace_ns)))
      return 1;
  }
  return 0;
}

/* ---- message queue notifications ----
 *
 * Followed through mq_notify and mq_close. Linux lists a queue's registration in what a read
 * of its descriptor returns ("... NOTIFY_PID:<pid>"): 0 once it fired or was taken back. */
typedef struct lg_mqn {
  lg_watched_t w; /* first */
  int fd;
  uint64_t ino;
} lg_mqn_t;
static lg_mqn_t lg_mqns[LG_NOTIFY_MAX];
static _Atomic int lg_mqns_overflow;

static void lg_mqn_forget(int fd) {
  for (int i = 0; i < LG_NOTIFY_MAX; i++)
    if (atomic_load(&lg_mqns[i].w.used) == LG_SLOT_USED && lg_mqns[i].fd == fd)
      atomic_store(&lg_mqns[i].w.used, LG_SLOT_FREE);
}

LG_EXPORT int mq_notify(mqd_t q, const struct sigevent *sev) {
  int rc = LG_REAL_W(mq_notify, "mq_notify")(q, sev);
  if (rc != 0)
    return rc;
  int saved = errno;
  lg_mqn_forget((int)q); /* a registration replaces none (EBUSY), but one taken back goes */
  if (lg_sev_notifies(sev)) {
    int i = lg_notify_claim(&lg_mqns[0].w.used, sizeof lg_mqns[0], LG_NOTIFY_MAX);
    if (i < 0) {
      atomic_store(&lg_mqns_overflow, 1);
    } else {
      lg_mqns[i].fd = (int)q;
      lg_mqns[i].ino = lg_fd_inode((int)q);
      atomic_store(&lg_mqns[i].w.done_ns, 0);
      atomic_store(&lg_mqns[i].w.used, LG_SLOT_USED);
    }
  }
  errno = saved;
  return rc;
}

LG_EXPORT int mq_close(mqd_t q) {
  lg_mqn_forget((int)q);
  return LG_REAL_W(mq_close, "mq_close")(q);
}

/* Whether the queue open at fd (inode ino) still has this process's registration. */
static int lg_mqn_registered(int fd, uint64_t ino) {
  char buf[160];
  if (lg_fd_inode(fd) != ino)
    return 0; /* closed (which takes the registration back) and the number reused */
  ssize_t n = syscall(SYS_pread64, fd, buf, sizeof buf - 1, (off_t)0);
  if (n <= 0)
    return 1; /* cannot tell */
  buf[n] = '\0';
  const char *p = strstr(buf, "NOTIFY_PID:");
  return p == NULL || strtol(p + 11, NULL, 10) != 0;
}

static int lg_mqn_came(const lg_watched_t *w) {
  const lg_mqn_t *m = (const lg_mqn_t *)w;
  return !lg_mqn_registered(m->fd, m->ino);
}

/* ---- asynchronous I/O ----
 *
 * An I/O request (aio_read, aio_write, aio_fsync, lio_listio and their 64-bit names, the same
 * functions here) that notifies is pending while the status word of its control block (an
 * aiocb's error code) holds the C library's "in progress" value. aio_return, which a program calls once a
 * request is over, starts its grace at once and lets the entry go after it. */
typedef struct lg_req {
  lg_watched_t w; /* first */
  const int *status;
  int busy; /* *status while in progress: EINPROGRESS */
} lg_req_t;
static lg_req_t lg_reqs[LG_NOTIFY_MAX];
static _Atomic int lg_reqs_overflow;

/* *status, read without trusting the pointer (the block may have been freed and unmapped
 * since); 0 with the value, or -1 when it cannot be read. */
static int lg_req_status(const int *status, int *v) {
  struct iovec local = {v, sizeof *v};
  struct iovec remote = {(void *)status, sizeof *v};
  return syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL) ==
                 (ssize_t)sizeof *v
             ? 0
             : -1;
}

static void lg_req_note(const int *status, int busy) {
  int saved = errno;
  uint64_t now = lg_now_ns();
  for (int i = 0; i < LG_NOTIFY_MAX; i++) /* the same block again: a new request */
    if (atomic_load(&lg_reqs[i].w.used) == LG_SLOT_USED && lg_reqs[i].status == status) {
      atomic_store(&lg_reqs[i].w.done_ns, 0);
      errno = saved;
      return;
    }
  int i = lg_notify_claim(&lg_reqs[0].w.used, sizeof lg_reqs[0], LG_NOTIFY_MAX);
  if (i < 0) { /* entries whose grace is over make room */
    uint64_t grace = (uint64_t)lg_rt.opt.watchdog_ms * 1000000u;
    for (int k = 0; k < LG_NOTIFY_MAX && i < 0; k++) {
      uint64_t done = atomic_load(&lg_reqs[k].w.done_ns);
      int expected = LG_SLOT_USED;
      if (done != 0 && now - done >= grace &&
          atomic_compare_exchange_strong(&lg_reqs[k].w.used, &expected, LG_SLOT_WRITING))
        i = k;
    }
  }
  if (i < 0) {
    atomic_store(&lg_reqs_overflow, 1);
  } else {
    lg_reqs[i].status = status;
    lg_reqs[i].busy = busy;
    atomic_store(&lg_reqs[i].w.done_ns, 0);
    atomic_store(&lg_reqs[i].w.used, LG_SLOT_USED);
  }
  errno = saved;
}

static int lg_aio_submitted(int rc, struct aiocb *cb) {
  if (rc == 0 && cb != NULL && lg_sev_notifies(&cb->aio_sigevent))
    lg_req_note(&cb->__error_code, EINPROGRESS);
  return rc;
}

LG_EXPORT int aio_read(struct aiocb *cb) {
  return lg_aio_submitted(LG_REAL_W(aio_read, "aio_read")(cb), cb);
}

LG_EXPORT int aio_write(struct aiocb *cb) {
  return lg_aio_submitted(LG_REAL_W(aio_write, "aio_write")(cb), cb);
}

LG_EXPORT int aio_fsync(int op, struct aiocb *cb) {
  return lg_aio_submitted(LG_REAL_W(aio_fsync, "aio_fsync")(op, cb), cb);
}

LG_EXPORT int lio_listio(int mode, struct aiocb *const list[], int n, struct sigevent *sev) {
  int rc = LG_REAL_W(lio_listio, "lio_listio")(mode, list, n, sev);
  /* Queued in part when it failed with EAGAIN, EINTR or EIO: every request is looked at. A
   * request not queued is not in progress, so it is done at the first look. */
  int all = mode == LIO_NOWAIT && lg_sev_notifies(sev);
  for (int i = 0; i < n; i++)
    if (list[i] != NULL && list[i]->aio_lio_opcode != LIO_NOP &&
        (all || lg_sev_notifies(&list[i]->aio_sigevent)))
      lg_req_note(&list[i]->__error_code, EINPROGRESS);
  return rc;
}

LG_EXPORT ssize_t aio_return(struct aiocb *cb) {
  for (int i = 0; i < LG_NOTIFY_MAX; i++) {
    uint64_t expected = 0;
    if (atomic_load(&lg_reqs[i].w.used) == LG_SLOT_USED && lg_reqs[i].status == &cb->__error_code)
      atomic_compare_exchange_strong(&lg_reqs[i].w.done_ns, &expected, lg_now_ns());
  }
  return LG_REAL_W(aio_return, "aio_return")(cb);
}

/* The 64-bit names, which a program built with _FILE_OFFSET_BITS=64 calls: the same
 * functions on this platform (glibc aliases them; the two structures are one layout). */
_Static_assert(sizeof(struct aiocb) == sizeof(struct aiocb64) &&
                   offsetof(struct aiocb, __error_code) == offsetof(struct aiocb64, __error_code),
               "struct aiocb64 is struct aiocb");

LG_EXPORT int aio_read64(struct aiocb64 *cb) {
  return aio_read((struct aiocb *)cb);
}

LG_EXPORT int aio_write64(struct aiocb64 *cb) {
  return aio_write((struct aiocb *)cb);
}

LG_EXPORT int aio_fsync64(int op, struct aiocb64 *cb) {
  return aio_fsync(op, (struct aiocb *)cb);
}

LG_EXPORT int lio_listio64(int mode, struct aiocb64 *const list[], int n, struct sigevent *sev) {
  return lio_listio(mode, (struct aiocb *const *)list, n, sev);
}

LG_EXPORT ssize_t aio_return64(struct aiocb64 *cb) {
  return aio_return((struct aiocb *)cb);
}

static int lg_req_came(const lg_watched_t *w) {
  const lg_req_t *r = (const lg_req_t *)w;
  int v;
  return lg_req_status(r->status, &v) == 0 && v != r->busy;
}

/* ---- the verdict's question ---- */

int lg_notify_pending(uint64_t now_ns, uint64_t grace_ns) {
  return lg_timers_pending(now_ns, grace_ns) ||
         atomic_load_explicit(&lg_mqns_overflow, memory_order_relaxed) ||
         atomic_load_explicit(&lg_reqs_overflow, memory_order_relaxed) ||
         lg_watched_pending(&lg_mqns[0].w, sizeof lg_mqns[0], LG_NOTIFY_MAX, lg_mqn_came, now_ns,
                            grace_ns) ||
         lg_watched_pending(&lg_reqs[0].w, sizeof lg_reqs[0], LG_NOTIFY_MAX, lg_req_came, now_ns,
                            grace_ns);
}

void lg_notify_after_fork_child(void) {
  for (int i = 0; i < LG_NOTIFY_MAX; i++) {
    atomic_store(&lg_timers[i].used, LG_SLOT_FREE);
    atomic_store(&lg_mqns[i].w.used, LG_SLOT_FREE);
    atomic_store(&lg_reqs[i].w.used, LG_SLOT_FREE);
  }
  atomic_store(&lg_timers_overflow, 0);
  atomic_store(&lg_mqns_overflow, 0);
  atomic_store(&lg_reqs_overflow, 0);
}
