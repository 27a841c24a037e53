/* lockgraph.h - the runtime's internal interfaces (liblockgraph.so only, never installed).
 *
 * The runtime is split by concern:
 *   interpose.c  the exported pthread wrappers and the real symbols behind them
 *   c11.c        the exported C11 <threads.h> wrappers (mtx_*, cnd_*, thrd_*), same paths
 *   locks.c      lock identity (shadow table, node records), held stacks, the fast path and the
 *                slow path (edges, gate sets, happens-before lists, cycles)
 *   edges.c      the lock-order edges (edges.h): one table, the records, their occurrences, the
 *                refused edges, interned stacks, and the graph's read-only view of them
 *   graph.c      the order of the lock-order graph (graph.h): Pearce-Kelly over edges.c's
 *                records, one place per lock, no edges of its own
 *   cycles.c     which new edges close a cycle, and judging and reporting those cycles (cycles.h)
 *   visit.c      a search's visited set (visit.h): the cycle and order searches' marks, kept
 *                per search rather than in every lock's and node's record
 *   held.c       the held stack: growth, out-of-order release, new chain keys
 *   capture.c    the slow path's stacks (capture.h): capture through the thread's cache of
 *                call sites, and the stacks an edge or a report shows
 *   leaf.c       leaf locks (leaf.h): a lock taken only innermost is created, given its edges in
 *                and destroyed without the detector lock; edges.h says where an edge lives
 *   threads.c    per-thread state, create/join/exit/detach, fork
 *   stack.c      capturing stacks (libunwind) and symbolizing them (libdwfl)
 *   report.c     report text and JSON, suppressions, the exit summary, ending the run
 *   watchdog.c   finding deadlocks that really happened
 *   waitcycle.c  one cycle in a small wait-for graph (the watchdog's and the hang scan's search)
 *   misuse.c     lock misuse: bad unlocks, destroyed or uninitialized locks, condvar misuse
 *   waits.c      the wait-for model beyond locks: the semaphore and blocking system call
 *                wrappers, what each thread is blocked in (waits.h), pipes the process made
 *   notify.c     asynchronous notifications the program asked for (notify.h): timers, message
 *                queue notifications, asynchronous I/O, each of which may end a wait
 *   hang.c       hangs that are not lock cycles (joins, no progress) and stalls (a lock held
 *                across a blocking call while others wait), found from the watchdog
 *   kstate.c     what the kernel says a thread is doing (kstate.h): the check of a stale wait
 *                record before a verdict that ends the run
 *   abandoned.c  locks whose holder no longer exists: held by a thread at fork (in the child),
 *                or by a thread that exited holding them
 *   runtime.c    options, output files, the constructor and destructor, _exit, quick_exit and
 *                daemon: every way the run ends
 *   exec.c       the exec wrappers: the reports before an exec count in the run's end
 *
 * Locking: one detector mutex (lg_rt.mu, a REAL pthread mutex) serializes every slow path,
 * the graph, the thread list and the edge table, except leaf.c's: a leaf lock's edges in are
 * guarded by a flag of that lock (taken after lg_rt.mu, never before it). The report mutex (lg_rt.report_mu) serializes
 * symbolizing and writing reports; it is taken only when lg_rt.mu is NOT held, so the program
 * (and its malloc) never waits behind symbolization while holding the detector lock.
 * Nothing here calls back into the program while holding either lock.
 */
#ifndef LG_LOCKGRAPH_H
#define LG_LOCKGRAPH_H

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <threads.h>
#include <time.h>

struct aiocb;
struct msghdr;
struct mmsghdr;

#include "graph.h"
#include "hb.h"
#include "options.h"
#include "waits.h"

#define LG_VERSION "0.1.0"
#define LG_EXPORT __attribute__((visibility("default")))
#define LG_LIKELY(x) __builtin_expect(!!(x), 1)
#define LG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LG_INLINE static inline __attribute__((always_inline))
#define LG_STACK_MAX 64

/* ---- the real pthread functions (interpose.c) ---- */

typedef struct lg_real {
  int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
  int (*mutex_destroy)(pthread_mutex_t *);
  int (*mutex_lock)(pthread_mutex_t *);
  int (*mutex_trylock)(pthread_mutex_t *);
  int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
  int (*mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
  int (*mutex_unlock)(pthread_mutex_t *);
  int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
  int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
  int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
  int (*rwlock_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
  int (*rwlock_destroy)(pthread_rwlock_t *);
  int (*rwlock_rdlock)(pthread_rwlock_t *);
  int (*rwlock_wrlock)(pthread_rwlock_t *);
  int (*rwlock_tryrdlock)(pthread_rwlock_t *);
  int (*rwlock_trywrlock)(pthread_rwlock_t *);
  int (*rwlock_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
  int (*rwlock_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
  int (*rwlock_clockrdlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
  int (*rwlock_clockwrlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
  int (*rwlock_unlock)(pthread_rwlock_t *);
  int (*spin_init)(pthread_spinlock_t *, int);
  int (*spin_destroy)(pthread_spinlock_t *);
  int (*spin_lock)(pthread_spinlock_t *);
  int (*spin_trylock)(pthread_spinlock_t *);
  int (*spin_unlock)(pthread_spinlock_t *);
  int (*create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  int (*join)(pthread_t, void **);
  int (*tryjoin_np)(pthread_t, void **);
  int (*timedjoin_np)(pthread_t, void **, const struct timespec *);
  int (*clockjoin_np)(pthread_t, void **, clockid_t, const struct timespec *);
  int (*detach)(pthread_t);
  void (*exit)(void *) __attribute__((noreturn));
  int (*sig_action)(int, const struct sigaction *, struct sigaction *);
  void (*(*sig_signal)(int, void (*)(int)))(int);
  /* signal's older names, which a program reaches without calling signal itself (a strict
   * ISO C build's signal is __sysv_signal): SysV's one-shot form, BSD's, and SysV's sigset. */
  void (*(*sig_sysv)(int, void (*)(int)))(int);
  void (*(*sig_bsd)(int, void (*)(int)))(int);
  void (*(*sig_set)(int, void (*)(int)))(int);
  /* C11 <threads.h> (c11.c): glibc implements these by internal calls, past our pthread ones. */
  int (*mtx_init)(mtx_t *, int);
  void (*mtx_destroy)(mtx_t *);
  int (*mtx_lock)(mtx_t *);
  int (*mtx_trylock)(mtx_t *);
  int (*mtx_timedlock)(mtx_t *__restrict, const struct timespec *__restrict);
  int (*mtx_unlock)(mtx_t *);
  int (*cnd_wait)(cnd_t *, mtx_t *);
  int (*cnd_timedwait)(cnd_t *__restrict, mtx_t *__restrict, const struct timespec *__restrict);
  /* waits.c: what a thread can block in besides locks. */
  int (*sem_wait)(void *);
  int (*sem_timedwait)(void *, const struct timespec *);
  int (*sem_clockwait)(void *, clockid_t, const struct timespec *);
  ssize_t (*read)(int, void *, size_t);
  ssize_t (*read_chk)(int, void *, size_t, size_t);
  ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
  int (*poll_chk)(void *, unsigned long, int, unsigned long);
  ssize_t (*write)(int, const void *, size_t);
  ssize_t (*recv)(int, void *, size_t, int);
  ssize_t (*send)(int, const void *, size_t, int);
  int (*accept)(int, void *, void *);
  int (*connect)(int, const void *, unsigned);
  int (*poll)(void *, unsigned long, int);
  int (*select)(int, void *, void *, void *, void *);
  int (*epoll_wait)(int, void *, int, int);
  int (*nanosleep)(const struct timespec *, struct timespec *);
  unsigned (*sleep)(unsigned);
  int (*usleep)(unsigned);
  pid_t (*waitpid)(pid_t, int *, int);
  int (*fsync)(int);
  int (*pipe)(int *);
  int (*pipe2)(int *, int);
  int (*socketpair)(int, int, int, int *);
  int (*close)(int);
  void (*process_exit)(int) __attribute__((noreturn)); /* _exit */
  int (*execve)(const char *, char *const[], char *const[]);
  int (*execvpe)(const char *, char *const[], char *const[]);
  int (*fexecve)(int, char *const[], char *const[]);
  int (*daemon)(int, int);
  /* waits.c: what makes a child without fork(2). */
  pid_t (*fork_raw)(void); /* _Fork */
  int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                     const posix_spawnattr_t *, char *const[], char *const[]);
  int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                      const posix_spawnattr_t *, char *const[], char *const[]);
  FILE *(*popen)(const char *, const char *);
  int (*system)(const char *);
  /* notify.c: what notifies the program later, from a thread or a signal. */
  int (*timer_create)(clockid_t, struct sigevent *, timer_t *);
  int (*timer_settime)(timer_t, int, const struct itimerspec *, struct itimerspec *);
  int (*timer_delete)(timer_t);
  int (*mq_notify)(int, const struct sigevent *);
  int (*mq_close)(int);
  int (*aio_read)(struct aiocb *);
  int (*aio_write)(struct aiocb *);
  int (*aio_fsync)(int, struct aiocb *);
  int (*lio_listio)(int, struct aiocb *const[], int, struct sigevent *);
  ssize_t (*aio_return)(struct aiocb *);
  /* waits.c: the message calls (a descriptor passed to another process, and waits). */
  ssize_t (*sendmsg)(int, const struct msghdr *, int);
  int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
  ssize_t (*recvmsg)(int, struct msghdr *, int);
  /* watchdog.c: entering a user namespace needs a process of one thread. */
  int (*unshare)(int);
  int (*setns)(int, int);
  int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
} lg_real_t;

extern lg_real_t lg_real;
/* Fills lg_real once; safe to call from any wrapper, any number of times. */
void lg_real_resolve(void);
/* The real function of a wrapper outside interpose.c, resolved with the others (interpose.c) or, when a wrapper runs while
 * another thread is resolving, looked up on the spot. */
#define LG_REAL_W(field, name)                                                             \
  (LG_LIKELY(lg_real.field != NULL)                                                        \
       ? lg_real.field                                                                     \
       : (lg_real_resolve(), lg_real.field != NULL                                         \
                                 ? lg_real.field                                           \
                                 : (__typeof__(lg_real.field))dlsym(RTLD_NEXT, name)))


/* ---- lock kinds and modes ---- */

enum { LG_KIND_MUTEX = 1, LG_KIND_RWLOCK = 2, LG_KIND_SPIN = 3 };
enum { LG_MODE_WRITE = 0, LG_MODE_READ = 1 }; /* WRITE = exclusive (mutex, spin, wrlock) */

/* How an acquisition was made, for the slow path's rules. */
enum {
  LG_ACQ_BLOCKING = 0, /* lock, wrlock, rdlock, cond reacquire: adds edges, may deadlock */
  LG_ACQ_TIMED = 1,    /* timed/clock lock that succeeded: adds edges, cannot hang */
  LG_ACQ_TRY = 2,      /* trylock that succeeded: no edge into the lock */
};

/* ---- node records: 32 bytes per lock id, plus the slow path's 24 and the hot word (locks.c) ---- */

typedef struct lg_edge lg_edge_t;

/* A lock's edges in one direction, in one word (8 bytes). Most locks have one edge each way:
 * the word is then that edge's record, so learning and forgetting the edge of a short-lived lock
 * costs no allocation. The word is 0 when there is none, and, with its low bit set (records
 * are at least 8-aligned), points at a block of the edges when there are more; a block that
 * empties is freed, so the word is 0 exactly when there is no edge. */
typedef struct lg_edge_vec {
  uintptr_t w;
} lg_edge_vec_t;

/* The block: n edges of cap, cap + 1 a power of two so that header and items fill an
 * allocation class exactly. */
typedef struct lg_edge_block {
  uint32_t n, cap;
  lg_edge_t *v[];
} lg_edge_block_t;

static inline lg_edge_block_t *lg_edge_vec_block(const lg_edge_vec_t *v) {
  return (v->w & 1) ? (lg_edge_block_t *)(v->w - 1) : NULL;
}

static inline uint32_t lg_edge_vec_len(const lg_edge_vec_t *v) {
  return (v->w & 1) ? lg_edge_vec_block(v)->n : v->w != 0;
}

/* The vector's items (the searches read them through const records, hence the cast): the
 * word itself when it holds the one edge. */
static inline lg_edge_t **lg_edge_vec_items(const lg_edge_vec_t *v) {
  return (v->w & 1) ? lg_edge_vec_block(v)->v : (lg_edge_t **)&v->w;
}

typedef struct lg_lock {
  _Atomic uint32_t ver;         /* bumped when the instance dies; slots carry the version */
  uint8_t kind;                 /* LG_KIND_* */
  _Atomic uint8_t flags;        /* LG_NODE_*; nonzero sends every acquisition to the slow path */
  uint8_t reported;             /* self-deadlock already reported (slow path only) */
  /* An rwlock that prefers writers (glibc's PREFER_WRITER_NONRECURSIVE kind): a read request
   * waits behind a queued writer even while only readers hold it, so read after read can be
   * one side of a deadlock there (cycles.c, watchdog.c). */
  uint8_t wpref;
  _Atomic uintptr_t addr;       /* the lock's address */
  _Atomic uintptr_t first_pc;   /* return address of the first acquisition */
  /* The chain key the hot word held before its last one (written on the slow path): with the
   * hot word, the last two ways into the lock, which answer for the ways the thread's key set
   * does not, a leaf's (leaf.c leaves that set alone) or any once the set has started over
   * (past LG_TCACHE_MAX keys). A lock taken under two held stacks in turn stays on the fast
   * path; one taken under three or more in turn costs a slow path that finds its edge known. */
  _Atomic uint64_t prev_key;
} lg_lock_t;
_Static_assert(sizeof(lg_lock_t) == 32, "a lock's record: 32 bytes");

/* What only the slow path needs about a lock, kept off the fast path's cache line. */
typedef struct lg_lock_aux {
  uint32_t free_next;    /* free list link while the id is unused */
  uint8_t unused;
  uint8_t big;           /* LG_BIG_*: which of its vectors have reached LG_EDGE_INDEX_DEGREE (edges.c) */
  /* A leaf instance (leaf.c): no edge out, and its edges in live only in `in`, under `spin`
   * rather than lg_rt.mu; published (0) when the detector lock's side needs them. */
  _Atomic uint8_t leaf, spin;
  lg_edge_vec_t out, in; /* its edges each way */
} lg_lock_aux_t;
_Static_assert(sizeof(lg_lock_aux_t) == 24, "what the slow path keeps per lock: 24 bytes");

enum {
  LG_NODE_ORPHAN = 1, /* fork child: held by a thread that does not exist here */
  LG_NODE_HANDOFF = 2 /* a mutex another thread than its locker has unlocked (misuse.c) */
};

/* ---- per-thread state (threads.c) ---- */

#define LG_HELD_UP 4 /* return addresses kept per held lock beyond its call site */

typedef struct lg_held {
  uintptr_t addr;
  uint32_t id, ver;
  uint64_t key;      /* chain key of the stack up to and including this entry */
  uintptr_t pc, cfa; /* where it was taken: return address and caller's stack pointer */
  uint8_t mode, kind;
  /* The callers above pc, from a frame-pointer walk checked against the thread's stack
   * bounds (0 where the walk stopped): the held end of an edge needs the stack of an
   * acquisition that is long over, and a full unwind on every acquisition costs too much. */
  uintptr_t up[LG_HELD_UP];
} lg_held_t;

/* Per-thread set of chain keys already processed (open addressing, grows on the slow path up
 * to LG_TCACHE_MAX entries, then starts over: it is only a cache). */
#define LG_TCACHE_INITIAL 1024
#define LG_TCACHE_MAX (1u << 14)

typedef struct lg_frame_pcsp {
  uintptr_t pc, sp;
} lg_frame_pcsp_t;

/* A stack the slow path already unwound, kept per thread by call site: return address and
 * caller's stack pointer (cfa). An entry is used again only when every return address it
 * holds is still in the stack slot it was read from (frame i's caller saved it just below
 * f[i].sp), so a hit is the same chain of calls; a miss unwinds. Identical call sites (a
 * loop creating locks) then cost a few loads instead of an unwind. A return address says
 * nothing of the frames above it, hence the check of every slot rather than a key. */
#define LG_SCACHE_WAYS 4

typedef struct lg_scache_entry {
  uintptr_t pc, cfa;
  int n; /* frames in f; 0: empty */
  uint32_t gen; /* unique per stored capture: names these exact frames (capture.c's stack memo) */
  lg_frame_pcsp_t f[LG_STACK_MAX];
} lg_scache_entry_t;

#define LG_FOREIGN_MAX 8

/* What leaf.c keeps per thread so that a leaf lock's life (created, taken innermost under
 * known call sites, destroyed) needs no detector lock: spare lock ids and edge records, the
 * stacks of its last edges by call site, and stack references to drop under the lock later. */
#define LG_LEAF_IDS 32
#define LG_LEAF_EDGES 8
#define LG_LEAF_MEMO 4
#define LG_LEAF_DEFER 16

typedef struct lg_leaf_memo {
  uint32_t gen; /* the thread's cached capture (lg_scache_entry_t.gen); 0: empty */
  uintptr_t hpc, hcfa, up[LG_HELD_UP];
  struct lg_stack *held, *acq; /* one reference each, plus the spare ones */
  uint32_t spare_held, spare_acq; /* references taken in a batch, for edges from this entry */
} lg_leaf_memo_t;

typedef struct lg_leaf_tls {
  /* Leaf locks and edges this thread made: written by the owner alone (no atomic add),
   * added to the totals at its exit. */
  _Atomic uint64_t locks_made, edges_made;
  uint32_t nids, nedges, ndefer;
  uint32_t ids[LG_LEAF_IDS];
  struct lg_edge *edges[LG_LEAF_EDGES];
  struct lg_stack *defer[LG_LEAF_DEFER];
  lg_leaf_memo_t memo[LG_LEAF_MEMO];
} lg_leaf_tls_t;

/* A shadow region: its blocks of slots, one word each (locks.c; see lg_region_slot). */
typedef _Atomic(_Atomic uint64_t *) lg_region_t;

typedef struct lg_thread lg_thread_t;
struct lg_thread {
  /* Owner-only, hot. */
  uint32_t depth, cap;
  lg_held_t *held;
  uint64_t seed; /* chain key of the empty stack: a hash of the current hb segment */
  uintptr_t region_key;
  lg_region_t *region_dir; /* the region of region_key (NULL: none cached) */
  char *block_next, *block_end; /* what is left of the arena it cuts slot blocks from (locks.c) */
  size_t block_arena;           /* the size of its next arena */
  uintptr_t stack_hi; /* top of this thread's stack (0 unknown): bounds the frame-pointer walk */
  int passthrough; /* nonzero: inside the detector or a blocking real call, exited, or the watchdog: do not track */
  uint64_t *cache;
  uint32_t cache_mask, cache_used;

  /* Published for the watchdog, in two channels so that a signal handler's lock acquisition
   * during another wait leaves that wait's record alone (lg_wait_now reads both):
   * odd wait_seq = blocked in a real acquisition, of the lock in the entry prepared one above
   * the top of the held stack (lg_held_fill); odd call_seq = in the wait `wait` describes
   * (waits.h), entered at frame wait_fp. */
  _Atomic uint64_t wait_seq;
  _Atomic uint64_t call_seq;
  lg_wait_t wait;
  uintptr_t wait_fp;

  /* Under lg_rt.mu. */
  lg_tid_t tid;
  pthread_t pth;
  pid_t ktid;
  lg_segment_t *seg;
  int detached, exited;
  int exit_rounds; /* rounds of key destructors seen at thread exit (threads.c) */
  /* Set while the creator is between the real pthread_create and naming the thread; a record
   * retired meanwhile (the thread detached itself and exited) is freed by the creator. */
  int creator_ref, free_pending;
  lg_held_t **retired; /* old held arrays, freed at exit (the watchdog may still read them) */
  uint32_t nretired, capretired;
  uint32_t *retired_caps;
  lg_thread_t *next, *prev;
  uint64_t wd_seen_seq; /* watchdog bookkeeping (lg_wait_age) */
  uint64_t wd_seen_ns;

  lg_scache_entry_t *scache; /* LG_SCACHE_WAYS entries, allocated on first use (slow path) */
  uintptr_t scache_seen[LG_SCACHE_WAYS]; /* call sites that missed once, not cached yet */
  /* The slow path's captured frames (LG_STACK_MAX, allocated on first use): 1 KiB kept off
   * the program's stack, which may be as small as PTHREAD_STACK_MIN. */
  lg_frame_pcsp_t *frames;
  uintptr_t stack_lo; /* bottom of this thread's stack (0 unknown) */

  /* The watchdog's request for this thread's stack (signal handler writes). */
  _Atomic int stack_ready;
  int stack_n;
  uintptr_t stack[LG_STACK_MAX];

  /* Locks another thread released although this one held them (misuse.c): dropped from the
   * held stack at this thread's next slow path. Entries under lg_rt.mu; the count is read
   * without it. */
  _Atomic uint32_t nforeign;
  struct {
    uint32_t id, ver;
  } foreign[LG_FOREIGN_MAX];

  /* leaf.c's per-thread pools (owner only; handed back under lg_rt.mu at exit). */
  lg_leaf_tls_t leaf;
};

/* ---- the runtime's global state (runtime.c) ---- */

typedef struct lg_runtime {
  _Atomic int state; /* 0 not started, 1 initializing, 2 ready */
  lg_options_t opt;
  lg_suppressions_t *supp;
  int log_fd, json_fd;
  pthread_mutex_t mu;        /* the detector lock */
  pthread_mutex_t report_mu; /* serializes report output */
  lg_graph_t *graph;
  lg_thread_t *threads;      /* list of live (and unjoined) threads */
  uint32_t next_tid;
  uint32_t nthreads_total;
  int fork_child;
  /* The process this state belongs to (set at start and in a fork child): a vfork child
   * shares the memory but not the pid, and must leave the state alone. */
  pid_t pid;
  _Atomic int watchdog_started;
  _Atomic int watchdog_stop;  /* nonzero: the watchdog leaves its loop (lg_watchdog_pause) */
  _Atomic pid_t watchdog_ktid; /* its kernel thread id while it runs, else 0 */
  _Atomic int ending; /* a run-ending report is being written: other reports wait */
  uintptr_t self_lo, self_hi; /* liblockgraph.so's own text, to skip our frames */
} lg_runtime_t;

extern lg_runtime_t lg_rt;

/* Starts the runtime if nobody has; returns nonzero once it is ready. */
int lg_runtime_ensure(void);
/* Ends the process with status at once, as _exit(2) does, whatever the program interposes. */
void lg_process_exit(int status) __attribute__((noreturn));
/* From the fork's parent handler: the parent side of daemon(3), which _exits next (runtime.c). */
void lg_runtime_fork_parent(void);
/* An exec into an image that will not load the library: the summaries and SARIF log now
 * (runtime.c), and, when the exec failed after all, the summary to be written again later. */
void lg_runtime_exec_away(void);
void lg_runtime_exec_failed(void);
void lg_rt_lock(void);
void lg_rt_unlock(void);
/* Fatal signals (runtime.c): our handler writes the summary, then the signal takes its
 * default course. It is installed only where the disposition was SIG_DFL at startup, and
 * forgotten as soon as the program installs a handler of its own. */
int lg_signal_is_ours(int sig);
void lg_signal_forget(int sig);
/* A signal whose default action ends the process: its name ("SIGTERM"; "signal" for another),
 * and in *crash whether that default dumps core (an abort, a fault, QUIT). Async-signal-safe. */
const char *lg_signal_name(int sig, int *crash);
/* The program sets sig's disposition to SIG_DFL (a handler that cleans up and raises the signal
 * again, a signal it ignored for a while): for a signal whose default ends the process, our
 * handler goes there instead, as at start-up, so the summary is still written. Returns the
 * real sigaction's result with *old (may be NULL) what was there, or -2 when sig is not ours
 * to take (the caller then makes the program's call itself). */
int lg_signal_default(int sig, struct sigaction *old);
/* A descriptor the detector keeps open, moved out of the program's way: duplicated to a number
 * from 100 up, close-on-exec, and the original closed (fd itself, made close-on-exec, when the
 * descriptor limit leaves no such number). Negative fd is returned as it is. */
int lg_fd_move_high(int fd);
/* A thread (kernel id) whose pipe2 calls are the detector's own (libunwind's set-up, which
 * keeps a pipe for the rest of the process): their descriptors are moved high too (waits.c). */
extern _Atomic pid_t lg_fd_hoist_thread;
/* Monotonic nanoseconds. */
uint64_t lg_now_ns(void);
/* One `lockgraph: warning: ...` line, once per distinct `what`. */
void lg_warn_once(int *flag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- threads.c ---- */

/* The calling thread's state, created on first use; NULL when it must not be tracked. */
lg_thread_t *lg_thread_self(void);
/* Cheap: the state if it exists and tracking is on, else NULL. */
extern __thread lg_thread_t *lg_tls_self __attribute__((tls_model("initial-exec")));
/* Remembers a processed chain key (slow path). */
void lg_thread_cache_insert(lg_thread_t *t, uint64_t key);
void lg_thread_init_main(void);
/* pthread_atfork handlers and the exit key; once, from the constructor. */
void lg_threads_setup(void);
/* Marks passthrough around detector work that may call pthread functions. */
static inline int lg_guard_enter(lg_thread_t *t) {
  int was = t->passthrough;
  t->passthrough = 1;
  atomic_signal_fence(memory_order_seq_cst);
  return was;
}
static inline void lg_guard_leave(lg_thread_t *t, int was) {
  atomic_signal_fence(memory_order_seq_cst);
  t->passthrough = was;
}
/* A wrapper's own work on its thread's state (the held stack, the region cache), from before
 * the first look at it to after the last change, for a thread lg_enter found tracked (not in
 * passthrough): a signal handler that takes locks meanwhile on the same thread finds it in
 * passthrough and calls straight through, untracked, instead of reusing an entry half written
 * or moving the region cache between its two fields. The compiler barriers keep every access
 * to that state between the two stores. */
LG_INLINE void lg_own_begin(lg_thread_t *t) {
  t->passthrough = 1;
  atomic_signal_fence(memory_order_seq_cst);
}
LG_INLINE void lg_own_end(lg_thread_t *t) {
  atomic_signal_fence(memory_order_seq_cst);
  t->passthrough = 0;
}
/* The tracked state of the calling thread, for a wrapper, or NULL to pass straight through. */
static inline lg_thread_t *lg_enter(void) {
  lg_thread_t *t = lg_tls_self;
  if (LG_LIKELY(t != NULL && !t->passthrough))
    return t;
  if (t != NULL)
    return NULL;
  t = lg_thread_self();
  return (t != NULL && !t->passthrough) ? t : NULL;
}

/* Whether the thread with kernel tid ktid holds the mutex at addr: glibc records the owner's
 * kernel tid in every mutex it locks and clears it on unlock. */
static inline int lg_mutex_owned_by(uintptr_t addr, pid_t ktid) {
  return ((const pthread_mutex_t *)addr)->__data.__owner == ktid;
}

/* ---- held.c: the held stack beyond the inline push and pop ---- */

/* Recomputes every held entry's chain key after the seed changed. */
void lg_thread_rekey(lg_thread_t *t);
/* Grows the held stack to hold one more entry; 0 or -ENOMEM (then the entry is dropped). */
int lg_thread_held_grow(lg_thread_t *t);
/* Pops the top-most entry of addr; returns nonzero when there was one. */
int lg_held_pop_slow(lg_thread_t *t, uintptr_t addr);
/* Removes held entry i (below depth), rekeying the entries above it. */
void lg_held_remove_at(lg_thread_t *t, uint32_t i);
/* The chain key of the empty stack in segment seg. */
uint64_t lg_seed_of(const lg_segment_t *seg);

/* ---- locks.c ---- */

/* A lock's memory is re-initialized or destroyed: the instance dies, its edges go. Returns the
 * instance that died (slot value), 0 when none lived there. */
uint64_t lg_lock_retire(uintptr_t addr);
/* What the wrapper must do after lg_acquire_check: call through and push (OK), expect the real
 * call to fail with EDEADLK and then report it (ERRCHECK_RELOCK), or just call through without
 * tracking (UNTRACKED: the tables could not grow). */
enum { LG_PRE_OK = 0, LG_PRE_ERRCHECK_RELOCK = 1, LG_PRE_UNTRACKED = 2 };
/* The errorcheck relock the slow path predicted returned EDEADLK: report it. */
void lg_lock_report_errcheck(lg_thread_t *t, uintptr_t addr, uint32_t id, uint32_t ver,
                             uintptr_t pc, uintptr_t cfa);
/* Lock instances and edges ever learned. `live`: also those of the threads still running
 * (under lg_rt.mu); 0 from a signal handler, where only ended threads' are counted. */
size_t lg_locks_count(int live);
size_t lg_edges_count(int live);
/* Cycles found reportable whose set of locks (by address) an earlier report already names:
 * folded into it, counted here for the summary. Read without the lock by the summary. */
size_t lg_cycles_duplicate_count(void);
/* Fork child: what other threads were doing to a lock's leaf edges is over (leaf.h). */
void lg_locks_after_fork_child(void);
/* Fork child: marks locks held by other threads as orphaned. Under lg_rt.mu. */
void lg_locks_mark_orphan(uint32_t id, uint32_t ver);

/* ---- the fast path (inline: the wrappers compile it in) ---- */

/* The shadow: the lock at an address, as a slot (below). A region covers 1 MiB of address
 * space with a directory of one word per 128-byte span, 0 or the block of that span's 8 slots
 * (one per 16-byte granule: no two mutexes or rwlocks share one; 64 bytes, a cache line). A
 * block is made by the first acquisition of a lock in its span (locks.c) and kept while the
 * region lives (regions are never unmapped), so a slot's address never changes. Memory
 * follows the locks, not the address space they are spread over: a block per span with a
 * lock, and the directory's pages (8 bytes per 128 of the program's memory) only where locks
 * live. A lock per 1 KiB object costs its block and 64 bytes of directory, where one slot per
 * granule over the whole span cost 512 bytes; locks packed in an array cost what they did
 * (8 bytes per 16 of the array), plus an eighth of it in directory. The price is the
 * directory's load, one more on every acquisition. */
#define LG_REGION_SHIFT 20
#define LG_BLOCK_SHIFT 7
#define LG_GRANULE_SHIFT 4
#define LG_REGION_BLOCKS (1u << (LG_REGION_SHIFT - LG_BLOCK_SHIFT))
#define LG_BLOCK_SLOTS (1u << (LG_BLOCK_SHIFT - LG_GRANULE_SHIFT))

/* The slot of addr in its region r, NULL while no lock has lived in its span. */
LG_INLINE _Atomic uint64_t *lg_region_slot(lg_region_t *r, uintptr_t addr) {
  _Atomic uint64_t *b = atomic_load_explicit(
      &r[(addr >> LG_BLOCK_SHIFT) & (LG_REGION_BLOCKS - 1)], memory_order_acquire);
  return b != NULL ? &b[(addr >> LG_GRANULE_SHIFT) & (LG_BLOCK_SLOTS - 1)] : NULL;
}

#define LG_NODE_CHUNK_SHIFT 16

extern lg_lock_t *_Atomic lg_lock_chunks[1u << (32 - LG_NODE_CHUNK_SHIFT)];

LG_INLINE lg_lock_t *lg_lock_at(uint32_t id) {
  return atomic_load_explicit(&lg_lock_chunks[id >> LG_NODE_CHUNK_SHIFT], memory_order_acquire) +
         (id & ((1u << LG_NODE_CHUNK_SHIFT) - 1));
}

/* The hot part of a node: the chain key last processed into the lock, 8 bytes per id in a
 * dense array (eight locks per cache line, in first-seen order). A program walking many locks
 * in a fixed order reads one sequential word per acquisition instead of a probe of the
 * thread's key set (a hash: random lines) and a 32-byte record. Mapped with the node chunks. */
extern _Atomic uint64_t *_Atomic lg_hot_chunks[1u << (32 - LG_NODE_CHUNK_SHIFT)];

LG_INLINE _Atomic uint64_t *lg_lock_hot(uint32_t id) {
  return atomic_load_explicit(&lg_hot_chunks[id >> LG_NODE_CHUNK_SHIFT], memory_order_acquire) +
         (id & ((1u << LG_NODE_CHUNK_SHIFT) - 1));
}

/* The chain key of lock (id, ver) taken in mode on top of key. In two forms: from the lock's id
 * and version, and from the word ver << 32 | id, which is also a shadow slot's low 56 bits (see
 * below), so the fast path need not take a slot apart first. */
LG_INLINE uint64_t lg_chain_mix_word(uint64_t key, uint64_t idver, uint8_t mode) {
  uint64_t x = key ^ (idver * 0x9e3779b97f4a7c15ull) ^ mode;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return x | 1; /* never 0: 0 marks an empty cache entry */
}

LG_INLINE uint64_t lg_chain_mix(uint64_t key, uint32_t id, uint32_t ver, uint8_t mode) {
  return lg_chain_mix_word(key, (uint64_t)ver << 32 | id, mode);
}

/* A shadow slot: id (bits 0-31), version (32-55, 24 bits), kind (56-59), and two bits that send
 * every acquisition to the slow path: another lock shares the granule, or (fork child) the
 * lock is held by a thread that does not exist here. Slots are cleared when a lock dies, so a
 * slot is always exact and the fast path never needs the node record to trust it. */
#define LG_VER_MASK 0xffffffu
#define LG_SLOT_SHARED (0x10ull << 56)
#define LG_SLOT_ORPHAN (0x20ull << 56)
#define LG_SLOT_SPECIAL (LG_SLOT_SHARED | LG_SLOT_ORPHAN)
#define LG_SLOT_IDVER ((1ull << 56) - 1) /* ver << 32 | id */

LG_INLINE uint64_t lg_slot_value(uint32_t id, uint32_t ver, uint8_t kind) {
  return (uint64_t)kind << 56 | (uint64_t)(ver & LG_VER_MASK) << 32 | id;
}

typedef struct lg_acq {
  uint32_t id, ver;
  uint64_t key;
} lg_acq_t;

/* Out of line: region cache miss (lookup only, no allocation); NULL when the region is new. */
lg_region_t *lg_region_find(lg_thread_t *t, uintptr_t addr);
/* Out of line: everything the fast path does not know. Returns LG_PRE_*. */
int lg_lock_slow(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode, int acq,
                 uintptr_t pc, uintptr_t cfa, lg_acq_t *a);
/* The live instance at addr as a slot value (id, ver, kind), 0 when none. Under lg_rt.mu. */
uint64_t lg_lock_current_locked(uintptr_t addr);

/* Whether an acquisition of the lock in shadow slot s is already known: its chain key (held
 * stack + this lock + the thread's hb segment) was processed before. That costs one load of the
 * lock's hot word (its last key), then a probe of the thread's key set, then the lock's own
 * small key set on its node line; with nothing held (or a trylock), nothing. *key gets the
 * chain key; on zero the slow path decides. Inlined, *key stays in a register.
 * This form takes the held depth d and top = &t->held[d], loaded by the caller before the
 * slot's acquire load: the caller goes on to prepare *top without loading them again. */
LG_INLINE int lg_acquire_known_top(lg_thread_t *t, uint32_t d, const lg_held_t *top, uint64_t s,
                                   uint8_t kind, uint8_t mode, int acq, uint64_t *key) {
  /* One test says: a lock lives here, of this kind, alone in its granule, not orphaned; what
   * is left of s is then the lock's id and version. */
  uint64_t idver = s ^ (uint64_t)kind << 56;
  if (LG_UNLIKELY((idver >> 56) != 0))
    return 0;
  uint64_t k = lg_chain_mix_word(d ? top[-1].key : t->seed, idver, mode);
  *key = k;
  if (d == 0 || acq == LG_ACQ_TRY)
    return 1;
  uint32_t id = (uint32_t)s;
  if (LG_LIKELY(atomic_load_explicit(lg_lock_hot(id), memory_order_relaxed) == k))
    return 1;
  const uint64_t *c = t->cache;
  uint32_t mask = t->cache_mask, i = (uint32_t)k & mask;
  if (LG_LIKELY(c[i] == k)) /* the key's home slot: where it usually is */
    return 1;
  for (; c[i] != 0; i = (i + 1) & mask)
    if (c[i] == k)
      return 1;
  /* The node from idver again rather than from the hot word's chunk and index: those would
   * stay in two registers across the loop above, which then needs one the caller must save. */
  uint64_t again = idver;
  __asm__("" : "+r"(again));
  lg_lock_t *n = lg_lock_at((uint32_t)again);
  return atomic_load_explicit(&n->prev_key, memory_order_relaxed) == k;
}

LG_INLINE int lg_acquire_known_slot(lg_thread_t *t, uint64_t s, uint8_t kind, uint8_t mode,
                                    int acq, uint64_t *key) {
  uint32_t d = t->depth;
  return lg_acquire_known_top(t, d, &t->held[d], s, kind, mode, acq, key);
}

/* The shadow slot of addr from the thread's cached region without calling out: 0 (as for no
 * lock) when addr lies outside that region. */
LG_INLINE uint64_t lg_slot_peek(const lg_thread_t *t, uintptr_t addr) {
  if (LG_UNLIKELY((addr >> LG_REGION_SHIFT) != t->region_key))
    return 0;
  _Atomic uint64_t *slot = lg_region_slot(t->region_dir, addr);
  return slot != NULL ? atomic_load_explicit(slot, memory_order_acquire) : 0;
}

/* lg_acquire_known_slot for the lock at addr, looking its region up when it is not the cached
 * one. On nonzero, *slot is the lock's shadow slot and *key the acquisition's chain key. */
LG_INLINE int lg_acquire_known(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode, int acq,
                               uint64_t *slot, uint64_t *key) {
  lg_region_t *r = t->region_dir;
  if (LG_UNLIKELY((addr >> LG_REGION_SHIFT) != t->region_key)) {
    r = lg_region_find(t, addr);
    if (r == NULL)
      return 0;
  }
  _Atomic uint64_t *p = lg_region_slot(r, addr);
  if (p == NULL)
    return 0;
  uint64_t s = atomic_load_explicit(p, memory_order_acquire);
  *slot = s;
  return lg_acquire_known_slot(t, s, kind, mode, acq, key);
}

/* Decides what an acquisition needs: a known one (lg_acquire_known) fills a and returns
 * LG_PRE_OK at once; anything else goes to lg_lock_slow. */
LG_INLINE int lg_acquire_check(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode,
                                   int acq, uintptr_t pc, uintptr_t cfa, lg_acq_t *a) {
  uint64_t s, key;
  if (LG_LIKELY(lg_acquire_known(t, addr, kind, mode, acq, &s, &key))) {
    a->id = (uint32_t)s;
    a->ver = (uint32_t)(s >> 32) & LG_VER_MASK;
    a->key = key;
    return LG_PRE_OK;
  }
  return lg_lock_slow(t, addr, kind, mode, acq, pc, cfa, a);
}

/* A held entry's id and ver as one word (ver << 32 | id, which is also a shadow slot's low 56
 * bits), so that both are written by one store. */
_Static_assert(offsetof(lg_held_t, ver) == offsetof(lg_held_t, id) + 4 &&
                   __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "lg_held_t: id and ver form one little-endian word");

/* Writes the entry one above the top of the held stack, for which there must be room
 * (depth < cap), without covering it: nobody reads beyond depth, so a blocking acquisition
 * prepares it BEFORE the real call and only bumps the depth once it returns (lg_held_commit),
 * keeping this work out of the program's critical section. idver is ver << 32 | id.
 * This form takes the entry h (&t->held[t->depth]) and hi (the thread's stack_hi) from the
 * blocking wrapper, which loads them ahead of the lock's shadow slot; lg_held_prepare, below,
 * loads them itself. */
LG_INLINE void lg_held_prepare_at(lg_held_t *h, uintptr_t hi, uintptr_t addr, uint64_t idver,
                                  uint64_t key, uint8_t kind, uint8_t mode, uintptr_t pc,
                                  uintptr_t cfa, uintptr_t wrapper_fp) {
  h->addr = addr;
  memcpy(&h->id, &idver, sizeof idver);
  h->key = key;
  h->pc = pc;
  h->cfa = cfa;
  /* mode and kind, with the padding up to up[0], as one store of an immediate (two byte
   * stores become a load of a constant and a 16-bit store). */
  _Static_assert(offsetof(lg_held_t, kind) == offsetof(lg_held_t, mode) + 1 &&
                     offsetof(lg_held_t, up) == offsetof(lg_held_t, mode) + 8,
                 "lg_held_t: mode, kind and padding fill the word before up");
  uint64_t mk = mode | (uint64_t)kind << 8;
  memcpy((char *)h + offsetof(lg_held_t, mode), &mk, sizeof mk);
  /* Frame-pointer walk from the program's frame: every frame address must be 8-aligned, lie
   * above the previous one (the first: at or above the caller's stack pointer) and leave 16
   * bytes below the stack's top, so a program built without frame pointers yields a short (or
   * empty) list, never a fault. Each caller is stored once, 0 from where the walk stopped.
   * The bounds are compared as signed: user addresses are below 2^63, so a frame address
   * at or above it fails the lower bound, and an unknown top (hi 0) makes the upper bound
   * negative, which every frame fails. Two compares against the previous frame and the
   * precomputed top, where lo = fp + 16 took three. */
  intptr_t fp = *(const intptr_t *)wrapper_fp, prev = (intptr_t)cfa - 8,
           top = (intptr_t)hi - 16;
  _Static_assert(LG_HELD_UP == 4, "lg_held_prepare walks four frames");
#define LG_FP_STEP(k, stop)                                                                   \
  if (fp <= prev || fp > top || (fp & 7) != 0)                                               \
    goto stop;                                                                                \
  h->up[k] = ((const uintptr_t *)fp)[1];                                                      \
  prev = fp;                                                                                  \
  fp = ((const intptr_t *)fp)[0]
  LG_FP_STEP(0, stop0);
  LG_FP_STEP(1, stop1);
  LG_FP_STEP(2, stop2);
  LG_FP_STEP(3, stop3);
#undef LG_FP_STEP
  return;
stop0:
  h->up[0] = 0;
stop1:
  h->up[1] = 0;
stop2:
  h->up[2] = 0;
stop3:
  h->up[3] = 0;
}

LG_INLINE void lg_held_prepare(lg_thread_t *t, uintptr_t addr, uint64_t idver, uint64_t key,
                               uint8_t kind, uint8_t mode, uintptr_t pc, uintptr_t cfa,
                               uintptr_t wrapper_fp) {
  lg_held_prepare_at(&t->held[t->depth], t->stack_hi, addr, idver, key, kind, mode, pc, cfa,
                     wrapper_fp);
}

/* Room for one more held entry: 0, or nonzero when the stack could not grow (the entry is then
 * dropped). */
LG_INLINE int lg_held_room(lg_thread_t *t) {
  return LG_UNLIKELY(t->depth == t->cap) ? lg_thread_held_grow(t) : 0;
}

/* lg_held_prepare from a decided acquisition, growing the stack first; nonzero when it could
 * not grow. */
LG_INLINE int lg_held_fill(lg_thread_t *t, uintptr_t addr, const lg_acq_t *a, uint8_t kind,
                           uint8_t mode, uintptr_t pc, uintptr_t cfa, uintptr_t wrapper_fp) {
  if (lg_held_room(t) != 0)
    return -1;
  lg_held_prepare(t, addr, (uint64_t)a->ver << 32 | a->id, a->key, kind, mode, pc, cfa,
                  wrapper_fp);
  return 0;
}

/* Covers the entry lg_held_fill wrote. */
LG_INLINE void lg_held_commit(lg_thread_t *t) {
  atomic_signal_fence(memory_order_release); /* the entry before the depth that covers it */
  t->depth++;
}

LG_INLINE void lg_held_push(lg_thread_t *t, uintptr_t addr, const lg_acq_t *a, uint8_t kind,
                            uint8_t mode, uintptr_t pc, uintptr_t cfa, uintptr_t wrapper_fp) {
  if (LG_LIKELY(lg_held_fill(t, addr, a, kind, mode, pc, cfa, wrapper_fp) == 0))
    lg_held_commit(t);
}

/* An acquisition the real call has already made (a trylock or timed lock that succeeded, a
 * condition wait's retake): checked and pushed with the thread out of tracking, so that a
 * signal handler locking meanwhile passes straight through (see lg_own_begin). */
LG_INLINE void lg_held_record(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode, int acq,
                              uintptr_t pc, uintptr_t cfa, uintptr_t wrapper_fp) {
  lg_acq_t a;
  int was = lg_guard_enter(t);
  if (lg_acquire_check(t, addr, kind, mode, acq, pc, cfa, &a) != LG_PRE_UNTRACKED)
    lg_held_push(t, addr, &a, kind, mode, pc, cfa, wrapper_fp);
  lg_guard_leave(t, was);
}

/* Returns nonzero when the lock was on the held stack (a release by a thread that did not
 * take it returns 0: misuse.c reports it). */
LG_INLINE int lg_held_pop(lg_thread_t *t, uintptr_t addr) {
  uint32_t d = t->depth;
  if (LG_LIKELY(d != 0 && t->held[d - 1].addr == addr)) {
    t->depth = d - 1;
    return 1;
  }
  return lg_held_pop_slow(t, addr);
}

/* A condition wait is about to release mutex addr: pops its top-most entry when the thread
 * holds it as a tracked mutex (returns nonzero then), with the thread out of tracking (see
 * lg_own_begin). */
LG_INLINE int lg_held_release_for_wait(lg_thread_t *t, uintptr_t addr) {
  int was = lg_guard_enter(t), held = 0;
  for (uint32_t i = t->depth; i-- > 0 && !held;)
    held = t->held[i].addr == addr && t->held[i].kind == LG_KIND_MUTEX;
  if (held)
    lg_held_pop(t, addr);
  lg_guard_leave(t, was);
  return held;
}

/* "Waiting since now", for the watchdog; cleared when the real call returns. What for is
 * the entry lg_held_fill prepared above the top (the watchdog reads it while wait_seq stays
 * the same odd value), so only a thread whose entry was prepared may publish a wait. */
/* The next odd value (a new wait) and the next even one (no wait), whatever the parity of the
 * current one: a wait of the call channel (call_seq) that its thread left without returning
 * from the call leaves its odd value behind (see lg_wait_leave), and the next wait or end must
 * still say the right thing. The lock channel (wait_seq) is never left odd (a lock acquisition is no cancellation
 * point, and a handler landing in one passes straight through), and uses the cheaper forms
 * below. */
LG_INLINE uint64_t lg_wait_seq_odd(uint64_t s) {
  return s + 1 + (s & 1);
}

LG_INLINE uint64_t lg_wait_seq_even(uint64_t s) {
  return s + 2 - (s & 1);
}

/* On the acquisition's fast path, as cheap as a plain increment: s | 1 is s + 1 for the even
 * s the channel always has here (and would keep an odd one odd: the watchdog would then time
 * this wait from that one, early, never late); s + 1 then ends it even.
 * On x86-64 each is one or/add instruction on memory, without a lock prefix, in place of a
 * load, the operation and a store: the owner is wait_seq's only writer (the watchdog and the
 * hang scan only read it), a signal handler cannot land inside one instruction, an aligned
 * 8-byte store is seen whole, and x86-64 keeps stores in program order, so with the compiler
 * barrier ("memory") it publishes as the release store does. */
#if defined(__x86_64__)
#define LG_WAIT_SEQ_RMW(t, insn) __asm__ volatile(insn " $1, %0" : "+m"((t)->wait_seq) : : "memory")
#endif

LG_INLINE void lg_wait_begin(lg_thread_t *t) {
#ifdef LG_WAIT_SEQ_RMW
  LG_WAIT_SEQ_RMW(t, "orq");
#else
  uint64_t s = atomic_load_explicit(&t->wait_seq, memory_order_relaxed);
  atomic_store_explicit(&t->wait_seq, s | 1, memory_order_release);
#endif
}

LG_INLINE void lg_wait_end(lg_thread_t *t) {
#ifdef LG_WAIT_SEQ_RMW
  LG_WAIT_SEQ_RMW(t, "addq");
#else
  uint64_t s = atomic_load_explicit(&t->wait_seq, memory_order_relaxed);
  atomic_store_explicit(&t->wait_seq, s + 1, memory_order_release);
#endif
}

/* The wait thread t is in, for a reader on another thread (the watchdog, the hang scan, a fork
 * child looking at its parent's threads): 0 when it is in none; otherwise an odd value that
 * differs for every wait the thread ever enters (both counters only grow, one step per
 * change), and *lock says whether it is a lock acquisition (the innermost: a signal handler
 * may take a lock while its thread waits in a call) or the wait t->wait describes. A reader
 * that reads the description trusts it only while this value stays the same: the two loads
 * may straddle a change, and the value read again afterwards then differs. */
static inline uint64_t lg_wait_now(const lg_thread_t *t, int *lock) {
  uint64_t w = atomic_load_explicit(&t->wait_seq, memory_order_acquire);
  uint64_t c = atomic_load_explicit(&t->call_seq, memory_order_acquire);
  *lock = (w & 1) != 0;
  return (w & 1) || (c & 1) ? (w + c) << 1 | 1 : 0;
}

/* How long, at time now, thread t has been in the wait whose lg_wait_now value the caller
 * read (seq): a wait is as old as the first look that saw its seq, so the first look returns 0
 * and starts its clock (wd_seen_seq, wd_seen_ns). For the watchdog's scans (watchdog.c,
 * hang.c), under lg_rt.mu. */
static inline uint64_t lg_wait_age(lg_thread_t *t, uint64_t seq, uint64_t now) {
  if (t->wd_seen_seq != seq) {
    t->wd_seen_seq = seq;
    t->wd_seen_ns = now;
  }
  return now - t->wd_seen_ns;
}

/* ---- waits.c: waits other than lock acquisitions (the contract is in waits.h) ---- */

/* Records the callers of a wait's call site (frame-pointer walk), for a stall report. */
void lg_wait_walk(lg_thread_t *t, lg_wait_t *w, uintptr_t cfa, uintptr_t wrapper_fp);

/* Publishes a wait; returns nonzero when it did, and only then must lg_wait_leave end it
 * (LG_WAIT_SCOPE). The thread stays tracked meanwhile (no passthrough): the program's cleanup
 * handlers that a cancellation in the real call runs must be tracked. Two things a
 * signal handler on the same thread could do to the record are kept out: landing while the
 * record is written (the thread is in passthrough for those stores, so the handler's own waits
 * and locks pass straight through), and waiting itself while the thread is blocked in the
 * published call (a wait entered below the published one's frame, on the same stack, is the
 * handler's: it is not published, and the thread's wait stays as it was when the handler
 * returns; the handler's lock acquisitions have a channel of their own). A published wait
 * whose frame is gone (see lg_wait_leave) is replaced. */
LG_INLINE int lg_wait_enter(lg_thread_t *t, uint8_t what, uint8_t call, uint8_t timed,
                            uint8_t outside, uintptr_t obj, uintptr_t obj2, uintptr_t pc,
                            uintptr_t cfa, uintptr_t wrapper_fp) {
  uintptr_t here = (uintptr_t)__builtin_frame_address(0);
  lg_own_begin(t);
  uint64_t s = atomic_load_explicit(&t->call_seq, memory_order_relaxed);
  if (LG_UNLIKELY((s & 1) != 0 && here < t->wait_fp)) {
    lg_own_end(t);
    return 0;
  }
  lg_wait_t *w = &t->wait;
  w->what = what;
  w->call = call;
  w->timed = timed;
  w->outside = outside;
  w->obj = obj;
  w->obj2 = obj2;
  w->pc = pc;
  if (LG_UNLIKELY(t->depth != 0))
    lg_wait_walk(t, w, cfa, wrapper_fp);
  else
    w->up[0] = 0;
  t->wait_fp = here;
  atomic_store_explicit(&t->call_seq, lg_wait_seq_odd(s), memory_order_release);
  lg_own_end(t);
  return 1;
}

/* Ends the wait lg_wait_enter published. Runs as a cleanup (LG_WAIT_SCOPE): on a return, and
 * on a cancellation's unwind (the library is built with -fexceptions; C cleanup handlers that
 * glibc enters by longjmp are reached after our frame is unwound). A thread that leaves the
 * call otherwise (a signal handler's siglongjmp or setcontext) skips it: the wait then stays
 * published, stale, until the thread's next wait of this channel (lg_wait_enter replaces it:
 * its frame is gone) or its exit (the exit hook clears it). Before a verdict, the watchdog asks
 * the kernel whether each thread it names is blocked where its record says (kstate.h).
 * (glibc's own cleanup list would be run by a siglongjmp too, but a buffer of ours left on it
 * by a thread that switches context inside the call would be run later by a longjmp or a
 * cancellation, from a dead frame.) */
LG_INLINE void lg_wait_leave(lg_thread_t **tp) {
  lg_thread_t *t = *tp;
  if (t == NULL)
    return;
  uint64_t s = atomic_load_explicit(&t->call_seq, memory_order_relaxed);
  atomic_store_explicit(&t->call_seq, lg_wait_seq_even(s), memory_order_release);
}

/* Declares the scope of a wait of the tracked thread t that lg_wait_enter published
 * (published nonzero): lg_wait_leave runs when the scope ends (the library is built with
 * -fexceptions so that an exception-based unwind runs it). */
#define LG_WAIT_SCOPE(t, published)                                                       \
  lg_thread_t *lg_wait_scope_ __attribute__((cleanup(lg_wait_leave), unused)) =          \
      (published) ? (t) : NULL

/* What fd is open on, as one word (inode and device), 0 when fstat fails: tells a descriptor
 * number's next user from the one noted. */
uint64_t lg_fd_inode(int fd);
/* The fork hooks: pipes made before a fork may have a writer in the other process. */
void lg_waits_after_fork(void);
/* The program set the disposition of sig (sigaction, signal): noted for
 * lg_waits_signal_can_wake. Async-signal-safe. */
void lg_waits_note_handler(int sig, void (*handler)(int));
/* Whether a signal another process sends to ask for something (TERM, INT, HUP, QUIT, USR1,
 * USR2) has a handler of the program's: such a handler may post a semaphore or write to a
 * pipe (both async-signal-safe), so waits on those can be ended from outside. */
int lg_waits_signal_can_wake(void);

/* ---- hang.c ---- */

/* One look for hangs (ending the run) and stalls, from the watchdog, after lg_wd_scan has
 * timed every wait. Not under lg_rt.mu. */
void lg_hang_scan(uint64_t limit_ns, uint64_t stall_ns);
/* Set by hang.c when a thread it found stuck is a condition wait taking its mutex back: the
 * watchdog's next lock-cycle searches look at such waits (watchdog.c). */
extern _Atomic int lg_wd_retakes_wanted;

/* ---- abandoned.c ---- */

typedef struct lg_report lg_report_t; /* report.c, below */
typedef struct lg_stack lg_stack_t;   /* stack.c, below */

enum { LG_ABANDON_FORK = 1, LG_ABANDON_EXIT = 2 };
/* Fork child, under lg_rt.mu: holder's entry h names a lock it held at the fork. */
void lg_abandoned_note_fork(const lg_thread_t *holder, const lg_held_t *h);
/* A thread ends: reports each lock it still holds (where it was taken) and marks it, so a
 * later blocking acquisition is reported instead of hanging. Not under lg_rt.mu. */
void lg_abandoned_thread_exit(lg_thread_t *t);
/* The slow path meets a blocking acquisition of a lock marked orphan (under lg_rt.mu; takes
 * over acq, the acquisition's stack): the report that ends the run when the call would block
 * forever, else NULL (a stale mark is cleared). */
lg_report_t *lg_abandoned_blocking(lg_thread_t *t, uint32_t id, uint32_t ver, uint8_t mode,
                                   lg_stack_t *acq);
/* Nonzero once any lock is abandoned: only then do failed try/timed acquisitions look. */
extern _Atomic int lg_abandoned_any;
/* A trylock or timed acquisition failed; reported once per lock when it was held at fork by
 * a thread that does not exist in this child. */
void lg_abandoned_try_failed(lg_thread_t *t, uintptr_t addr, uint8_t kind, uint8_t mode);
/* locks.c: the orphan mark of a lock whose holder turned out to be gone no longer. */
void lg_locks_clear_orphan(uint32_t id, uint32_t ver);
/* locks.c, under lg_rt.mu: the lock instance at addr, for naming it in a report; 0 if unknown. */
int lg_lock_lookup(uintptr_t addr, uint32_t *id, uint32_t *ver);

/* ---- stack.c ---- */

typedef struct lg_stack {
  uint32_t n;
  _Atomic uint32_t refs;  /* interned stacks (edges share them): references; else 0 */
  uint64_t hash;
  struct lg_stack *next;  /* intern table chain */
  uintptr_t pc[];         /* return addresses (frame 0: the program's call site) */
} lg_stack_t;

/* Captures the caller's stack without the detector's own frames: up to cap frames with their
 * stack pointers. Returns the number of frames. */
int lg_stack_capture(lg_frame_pcsp_t *out, int cap);
/* Same, fast: PCs only (sp left 0). */
int lg_stack_capture_fast(lg_frame_pcsp_t *out, int cap);
/* PCs only, skipping frames up to the LAST detector frame (for a signal handler). */
int lg_stack_capture_after_self(uintptr_t *out, int cap);
/* The three captures above walk on a stack of the detector's own when the caller's thread is
 * short of stack (see stack.c); a fork child resets the lock of that stack with this, and when
 * the parent had other threads, captures by frame-pointer walk from then on (see stack.c). */
void lg_stack_after_fork_child(int other_threads);
lg_stack_t *lg_stack_new(const uintptr_t *pc, uint32_t n);
lg_stack_t *lg_stack_dup(const lg_stack_t *s);
void lg_stack_free(lg_stack_t *s);

typedef struct lg_symbol {
  const char *function; /* NULL when unknown */
  const char *file;     /* as DWARF gives it, NULL when unknown */
  int line;
  const char *module;   /* base name of the object */
  uintptr_t module_off;
  /* The address lies where a library unloaded earlier was (dlclose, then another loaded over
   * it): a frame captured before the unload was that library's, which nothing can name now. */
  int reused;
} lg_symbol_t;

/* Symbolizes one return address into up to cap logical frames (inlined calls expand into
 * several). Call only with lg_rt.report_mu held. Returns the number of frames (>= 1). */
int lg_symbolize(uintptr_t pc, lg_symbol_t *out, int cap);
/* Once per report, before it is symbolized (lg_rt.report_mu held): follows the objects the
 * dynamic loader loaded and unloaded since the last one. */
void lg_symbols_refresh(void);
/* A file name for printing: relative to the current directory when under it. */
const char *lg_path_display(const char *file, char *buf, size_t cap);

/* ---- report.c ---- */

/* Report kinds. Each has a row in report.c's table of kinds (lg_kinds): its first-line word,
 * JSON type, suppression type and summary noun. A new kind is added before LG_REPORT_KINDS,
 * with its row; unless it needs a layout of its own it is written by the generic formatter
 * from r->message and r->sections. */
enum {
  LG_REPORT_POTENTIAL = 1,
  LG_REPORT_DEADLOCK = 2,
  LG_REPORT_SELF = 3,
  LG_REPORT_FORK = 4,
  LG_REPORT_BAD_UNLOCK = 5,   /* misuse.c: unlock of a lock the thread does not hold */
  LG_REPORT_DESTROY_HELD = 6, /* misuse.c: destroy of a locked lock */
  LG_REPORT_INVALID = 7,      /* misuse.c: use of a destroyed or uninitialized lock */
  LG_REPORT_INIT_HELD = 8,    /* misuse.c: init of a locked lock */
  LG_REPORT_CONDVAR = 9,      /* misuse.c: condition variable misuse */
  LG_REPORT_HANG = 10,      /* no thread can go on, and no lock cycle explains it */
  LG_REPORT_STALL = 11,     /* a lock held across a blocking call while another thread waits */
  LG_REPORT_LEAK = 12,      /* a thread ended holding a lock */
  LG_REPORT_ABANDONED = 13, /* a thread blocks for a lock whose holder exited: it happened */
  LG_REPORT_KINDS
};

typedef struct lg_rlock {
  uint32_t id, ver;
  uint8_t kind;
  uintptr_t addr;
  uintptr_t first_pc;
} lg_rlock_t;

typedef struct lg_redge {
  uint32_t from, to; /* indices into locks */
  lg_tid_t tid;
  uint8_t from_mode, to_mode;
  lg_stack_t *held, *acq;
} lg_redge_t;

typedef struct lg_rthread {
  lg_tid_t tid;
  int waits_for;   /* index into locks */
  uint8_t wait_mode;
  uint32_t nholds;
  uint32_t *holds; /* indices into locks */
  lg_stack_t *stack;
} lg_rthread_t;

/* One labelled part of a report of the generic layout. In message and labels, "{L<i>}" is
 * replaced by the run-wide name of locks[i] (M1, RW2, ...). */
#define LG_REPORT_SECTIONS 16
#define LG_REPORT_TEXT 192

typedef struct lg_rsection {
  char label[LG_REPORT_TEXT]; /* one line, no newline */
  lg_stack_t *stack;          /* NULL: the label alone */
} lg_rsection_t;

typedef struct lg_report {
  int type;
  int ends_run;     /* self-deadlock on a lock that would block forever */
  int errorcheck;   /* self-deadlock flavor */
  lg_tid_t tid;     /* self-deadlock: the thread */
  uint32_t nlocks, ncycle, nedges, nthreads;
  lg_rlock_t locks[LG_STACK_MAX];
  uint32_t cycle[LG_STACK_MAX + 1]; /* indices into locks, first repeated at the end */
  lg_redge_t *edges;
  lg_rthread_t *threads;
  lg_stack_t *held_stack, *acq_stack; /* self-deadlock: where it was first taken, the relock */
  /* The generic layout: what happened in one line, then the labelled stacks. */
  char message[LG_REPORT_TEXT * 2];
  uint32_t nsections;
  lg_rsection_t sections[LG_REPORT_SECTIONS];
} lg_report_t;

lg_report_t *lg_report_new(int type);
/* Adds a labelled section (printf-style label) to a report of the generic layout, taking over
 * `stack` (which may be NULL). Sections beyond LG_REPORT_SECTIONS are dropped (stack freed). */
void lg_report_add_section(lg_report_t *r, lg_stack_t *stack, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Index of the lock in r->locks, adding it. */
uint32_t lg_report_add_lock(lg_report_t *r, uint32_t id, uint32_t ver, uintptr_t addr,
                            uint8_t kind, uintptr_t first_pc);
/* Symbolizes, filters, prints and frees, on the detector's report stack (the caller's own stack
 * may be PTHREAD_STACK_MIN). Call WITHOUT lg_rt.mu held. If r->ends_run (or the
 * type is LG_REPORT_DEADLOCK), prints the summary and _exits with the exit code. */
void lg_report_emit(lg_report_t *r);
void lg_report_free(lg_report_t *r);
/* The exit summary, printed once; returns nonzero when anything was reported. */
int lg_report_summary(void);
/* lg_report_summary for a process ending without its destructor (_exit, quick_exit), which
 * may be called from a signal handler that interrupted this very thread inside the detector:
 * waits for the report and detector locks only when another thread holds them. */
int lg_report_summary_ending(void);
/* The summary from a fatal signal's handler: async-signal-safe (write(2) only, no locks),
 * written unless some other path already wrote it. */
void lg_report_summary_on_signal(int sig);
int lg_reports_total(void);
/* What an exec carries to the image after it (exec.c): the count of each kind from 1, then
 * the suppressed ones, into out; returns how many were written, 0 when nothing was reported or
 * suppressed. Read without the report lock. */
size_t lg_reports_counts(unsigned *out, size_t cap);
/* Adds counts in lg_reports_counts' layout (an older layout's missing kinds count 0). */
void lg_reports_adopt(const unsigned *counts, size_t n);
void lg_reports_after_fork_child(void);
/* The summary before an exec into an image without the library (lg_report_summary_ending,
 * saying the exit status will be the new program's); and, written already, to be written again
 * at the real end (that exec failed). */
int lg_report_summary_exec_away(void);
void lg_report_summary_reopen(void);
/* Writes all of buf to fd (retries partial writes and EINTR). */
void lg_write_all(int fd, const char *buf, size_t len);
/* sarif=: writes the SARIF log of every JSON report so far (runtime.c), from the summary;
 * async-signal-safe, and a no-op in a forked child or without sarif=. */
void lg_sarif_write_at_end(void);

/* ---- exec.c ---- */

/* At start-up, before any report: the counts the image before an exec of this very process
 * carried (its reports count in this image's summary and exit code). */
void lg_exec_adopt(void);

/* ---- watchdog.c ---- */

void lg_watchdog_start(void);
/* Stops the watchdog thread, if one runs, and waits until the kernel has let it go (about a
 * second at most): for the calls that need a process of one thread (unshare or setns into a
 * user namespace). Nonzero when it stopped one, for lg_watchdog_resume. */
int lg_watchdog_pause(void);
/* Starts the watchdog again after lg_watchdog_pause; errno is left as it was. */
void lg_watchdog_resume(void);
void lg_watchdog_after_fork_child(void);
/* Asks each thread, by a signal, for its own stack (t->stack, stack_ready); waits a little. */
void lg_watchdog_collect_stacks(lg_thread_t **ts, uint32_t n);

#endif
