/* notify.h - the asynchronous notifications the program asked for (notify.c; internal).
 *
 * Why: a POSIX timer (timer_create), a message queue's notification (mq_notify) and an
 * asynchronous I/O request (aio_read, aio_write, aio_fsync, lio_listio) each end a wait from
 * where the detector cannot see: a thread glibc starts itself (SIGEV_THREAD), or a signal
 * (SIGEV_SIGNAL) whose handler may post a semaphore or write a pipe. While one is pending,
 * threads blocked on what it may end are not hung: hang.c asks lg_notify_pending before a
 * "no progress" verdict. Before, a program woken that way after more than watchdog_ms was
 * ended as hung.
 *
 * Contract:
 *  - Pending: a timer from its arming until it expires (a periodic one, or one armed at an
 *    absolute time, until it is disarmed or deleted); a queue's registration from mq_notify
 *    until the kernel no longer lists it (it fired, or the program took it back or closed the
 *    queue); an I/O request from its submission until it completed. What notifies nobody
 *    (SIGEV_NONE) is not followed. alarm and setitimer are not followed (waits.c says why).
 *  - What a notification wakes needs time to run once it came: each stays pending for
 *    grace_ns more from when it was first seen done (a timer: from its expiry).
 *  - Each kind has a small fixed table (LG_NOTIFY_MAX entries); a notification it cannot hold
 *    makes that kind pending for good: never a false hang, at worst a hang left unreported.
 *  - Every wrapper is transparent: the real call with the same arguments, its result as it
 *    came, errno as it left it.
 *  - lg_notify_pending: any thread, no lock, no allocation (the watchdog calls it). It reads a
 *    request's state from the program's aiocb only through process_vm_readv (an aiocb freed
 *    since gives an error, never a fault; an error counts as pending) and a queue's through
 *    pread on its descriptor, checked against the inode it had.
 *  - In a fork child nothing is pending: timers, registrations and requests stay with the
 *    parent (lg_notify_after_fork_child).
 */
#ifndef LG_NOTIFY_H
#define LG_NOTIFY_H

#include <stdint.h>

#define LG_NOTIFY_MAX 64

/* Whether some notification may still end a wait, at monotonic time now_ns. */
int lg_notify_pending(uint64_t now_ns, uint64_t grace_ns);

/* The fork child's side: forgets everything (none of it is the child's). */
void lg_notify_after_fork_child(void);

#endif
