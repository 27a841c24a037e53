/* kstate.h - what the kernel says a thread of the process is doing, for the watchdog's
 * verdicts that end a run (kstate.c).
 *
 * Contract. A thread's published wait (waits.h, lockgraph.h) is what the thread said before it
 * called the real function; a thread that left that call without returning from it (a signal
 * handler's siglongjmp or setcontext, a C cancellation) leaves it behind, stale. Before a hang
 * or a deadlock ends the run, or a stall is reported, the watchdog asks the kernel whether each
 * thread it names is blocked where its record says: /proc/self/task/<tid>/syscall gives the
 * system call a thread is in and its arguments. "Elsewhere" means: running, or in another
 * system call than the record's (a read, write, recv or send on another descriptor or by
 * another call; a condition variable, semaphore, join or mutex/rwlock acquisition in anything
 * but a futex). A spinlock is waited for in user space: never elsewhere. No /proc (or no
 * answer): never elsewhere, the record is trusted.
 * Cost: three raw system calls per thread asked (open, read, close: the watchdog's own
 * descriptor, never through the program's wrappers), only on the way to a report.
 * Any thread; no lock taken, nothing allocated; async-signal-safe.
 */
#ifndef LG_KSTATE_H
#define LG_KSTATE_H

#include <stdint.h>
#include <sys/types.h>

#include "waits.h"

/* The number of the system call thread ktid is in, its first argument in *arg0; -1 when it is
 * in none (running, or stopped outside a call); -2 when there is no answer. */
long lg_kstate_syscall(pid_t ktid, unsigned long *arg0);

/* Whether thread ktid, whose record says it waits as w says (not a lock acquisition), is
 * elsewhere (see above). */
int lg_kstate_call_elsewhere(pid_t ktid, const lg_wait_t *w);

/* Whether thread ktid, whose record says it is blocked acquiring a lock of kind (LG_KIND_*),
 * is elsewhere (see above). */
int lg_kstate_lock_elsewhere(pid_t ktid, uint8_t kind);

/* Whether thread ktid, whose record says it is in a condition wait with mutex `mutex`, is
 * blocked taking the mutex back: the wait itself is over (signalled, timed out), and the C
 * library waits in a futex on the mutex's own word before it returns. Such a thread waits for
 * a lock, and can be one side of a deadlock (watchdog.c, hang.c). */
int lg_kstate_retaking(pid_t ktid, uintptr_t mutex);

#endif
