/* runtime.c - starting and ending the runtime: options, output files, constructor, destructor.
 *
 * The runtime starts in the constructor, or earlier if a wrapper runs first (another library's
 * constructor may lock a mutex before ours runs). A bad LOCKGRAPH_OPTIONS, an unreadable
 * suppressions file, or a report path that cannot be written is one `lockgraph:` line and
 * _exit(2) before main: a run that cannot report must not look like a clean run.
 *
 * A signal whose default action ends the process (abort(), a fault, SIGTERM, SIGPIPE, ...:
 * lg_fatal_signals), while its disposition is the default (at start-up, or set back by the
 * program later), writes the summary from a handler and then takes its default course, so the
 * exit status is still the signal's.
 *
 * At exit (our destructor runs after the program's atexit handlers, preloaded objects being
 * finalized last) the summary is printed once, and when anything was reported the process
 * exits with the configured exit code. A process that ends without running destructors ends
 * the same way: _exit and _Exit are interposed, and quick_exit runs our handler after the
 * program's own (registered first, it runs last). A vfork child (same memory, another pid)
 * calling _exit is left alone: the state it would write is its parent's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "edges.h"
#include "lockgraph.h"
#include "sarif.h"

lg_runtime_t lg_rt = {
    .log_fd = 2,
    .json_fd = -1,
    .mu = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP, /* short sections: spin before sleeping */
    .report_mu = PTHREAD_MUTEX_INITIALIZER,
};

void lg_rt_lock(void) {
  lg_real.mutex_lock(&lg_rt.mu);
}

void lg_rt_unlock(void) {
  lg_real.mutex_unlock(&lg_rt.mu);
}

uint64_t lg_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- lockgraph's own descriptors ----
 *
 * Reports go to descriptors of lockgraph's own, never to a number the program manages: the
 * text destination (the program's stderr at start-up, or the --log file) and the JSON file are
 * duplicated at start-up to numbers from LG_FD_MIN up, close-on-exec (an exec'd program starts
 * the runtime again and takes its own stderr). So a program that closes its stderr before it
 * exits (xz does) still gets its summary, and one that closes fd 2 and opens a file there
 * never finds lockgraph's lines in that file. The program may still close or replace ours
 * (a daemon closing every descriptor, a closefrom): before each write the descriptor's identity
 * (device and inode, from fstat) is compared with the one recorded at start-up. When it
 * differs, the report never goes to what the program holds there now: a file is opened again
 * by its path, the original stderr is taken again from fd 2 if fd 2 still is that stderr, and
 * otherwise the output is dropped. Everything here is async-signal-safe (fstat, fcntl, open),
 * for the summary a fatal signal writes. */

#define LG_FD_MIN 100

typedef struct lg_out {
  int *fd;          /* &lg_rt.log_fd or &lg_rt.json_fd */
  const char *path; /* reopened when ours is gone; NULL: the program's stderr */
  dev_t dev;
  ino_t ino;
  int adopted; /* the identity above is known; until then fd is used as it is */
} lg_out_t;

static lg_out_t lg_out_log = {.fd = &lg_rt.log_fd};
static lg_out_t lg_out_json = {.fd = &lg_rt.json_fd};

/* fd duplicated to a number of ours, close-on-exec; -1 when fd is not open. Below LG_FD_MIN
 * only when the descriptor limit is lower than that. */
static int lg_fd_own(int fd) {
  int n = fcntl(fd, F_DUPFD_CLOEXEC, LG_FD_MIN);
  if (n < 0 && errno == EINVAL)
    n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  return n;
}

int lg_fd_move_high(int fd) {
  if (fd < LG_FD_MIN) {
    int high = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, LG_FD_MIN);
    if (high >= 0) {
      close(fd);
      return high;
    }
  }
  if (fd >= 0)
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

static int lg_out_is(const lg_out_t *o, int fd) {
  struct stat st;
  return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino;
}

/* Takes fd (already ours, or the program's stderr to duplicate) as the output's descriptor. */
static void lg_out_adopt(lg_out_t *o, int fd, const char *path, int dup_it) {
  struct stat st;
  int own = fd < 0 ? -1 : dup_it ? lg_fd_own(fd) : fd;
  if (own < 0 && dup_it)
    own = fd; /* no descriptor left to duplicate to: the program's own, still checked */
  if (own >= 0 && fstat(own, &st) == 0) {
    o->dev = st.st_dev;
    o->ino = st.st_ino;
  }
  o->path = path;
  *o->fd = own;
  o->adopted = 1;
}

/* The output's descriptor if it is still the one we opened; else a replacement, or -1. */
static int lg_out_check(lg_out_t *o) {
  int fd = __atomic_load_n(o->fd, __ATOMIC_ACQUIRE);
  if (fd < 0 || !o->adopted || lg_out_is(o, fd))
    return fd;
  /* The program closed or replaced our descriptor: what is there now is not ours to close
   * nor to write to. */
  int alt = -1;
  struct stat st;
  if (o->path != NULL) {
    int f = lg_report_open_append(o->path);
    if (f >= 0) {
      alt = lg_fd_own(f);
      close(f);
      if (alt >= 0 && fstat(alt, &st) == 0) {
        o->dev = st.st_dev;
        o->ino = st.st_ino;
      }
    }
  } else if (lg_out_is(o, 2)) {
    alt = lg_fd_own(2);
  }
  if (!__atomic_compare_exchange_n(o->fd, &fd, alt, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    if (alt >= 0)
      close(alt); /* another writer replaced it first */
    return fd;
  }
  return alt;
}

/* One write(2) that cannot end the program with a signal: a reader gone from the other end of
 * a pipe (a run piped into `head`, a log collector that restarted: SIGPIPE) or a --log file
 * past the program's RLIMIT_FSIZE (SIGXFSZ) costs the report, never the program, which may
 * well write nothing there itself. Both go to the writing thread: they are blocked on this
 * thread around the write, and the one the write raised is taken back (with a zero timeout,
 * by the raw system call: sigtimedwait is a cancellation point) unless one was already
 * pending. Async-signal-safe; errno is the write's. */
static ssize_t lg_write_quiet(int fd, const char *buf, size_t len) {
  sigset_t raised, old, pending;
  sigemptyset(&raised);
  sigaddset(&raised, SIGPIPE);
  sigaddset(&raised, SIGXFSZ);
  if (sigpending(&pending) == 0) {
    if (sigismember(&pending, SIGPIPE))
      sigdelset(&raised, SIGPIPE);
    if (sigismember(&pending, SIGXFSZ))
      sigdelset(&raised, SIGXFSZ);
  }
  int masked = pthread_sigmask(SIG_BLOCK, &raised, &old) == 0;
  ssize_t w = write(fd, buf, len);
  int e = errno;
  if (w < 0 && (e == EPIPE || e == EFBIG) && masked) {
    struct timespec zero = {0, 0};
    while (syscall(SYS_rt_sigtimedwait, &raised, NULL, &zero, _NSIG / 8) < 0 && errno == EINTR)
      ;
  }
  if (masked)
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = e;
  return w;
}

void lg_write_all(int fd, const char *buf, size_t len) {
  if (fd < 0)
    return;
  if (fd == __atomic_load_n(&lg_rt.log_fd, __ATOMIC_RELAXED))
    fd = lg_out_check(&lg_out_log);
  else if (fd == __atomic_load_n(&lg_rt.json_fd, __ATOMIC_RELAXED))
    fd = lg_out_check(&lg_out_json);
  while (fd >= 0 && len > 0) {
    ssize_t w = lg_write_quiet(fd, buf, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      /* A destination the program made non-blocking (it shares the file description) and
       * that is full: wait for room, up to a second at a time, rather than lose the report. */
      struct pollfd pfd = {.fd = fd, .events = POLLOUT};
      struct timespec second = {1, 0};
      if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
          syscall(SYS_ppoll, &pfd, 1, &second, NULL, 0) > 0 && (pfd.revents & POLLOUT))
        continue;
      return;
    }
    buf += w;
    len -= (size_t)w;
  }
}

/* Formats "<prefix><message>\n" into line (cut to fit, newline kept); returns its length. */
static size_t lg_format_line(char *line, size_t cap, const char *prefix, const char *fmt,
                             va_list ap) {
  int n = snprintf(line, cap, "%s", prefix);
  n += vsnprintf(line + n, cap - (size_t)n - 1, fmt, ap);
  if (n > (int)cap - 2)
    n = (int)cap - 2;
  line[n++] = '\n';
  return (size_t)n;
}

void lg_warn_once(int *flag, const char *fmt, ...) {
  if (__atomic_exchange_n(flag, 1, __ATOMIC_RELAXED))
    return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  size_t n = lg_format_line(line, sizeof line, "lockgraph: warning: ", fmt, ap);
  va_end(ap);
  int saved = errno;
  lg_write_all(lg_rt.log_fd, line, n);
  errno = saved;
}

/* A startup error: one line, exit 2, before the program runs. */
static void lg_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void lg_fail(const char *fmt, ...) {
  char line[LG_PATH_MAX + 256];
  va_list ap;
  va_start(ap, fmt);
  size_t n = lg_format_line(line, sizeof line, "lockgraph: ", fmt, ap);
  va_end(ap);
  lg_write_all(2, line, n);
  lg_process_exit(2);
}

static char lg_log_abs[LG_PATH_MAX], lg_json_abs[LG_PATH_MAX]; /* log= and json=, absolute */

/* A report file, on a descriptor of ours. Its path is kept absolute, as it was at start-up: a
 * program that changes directory and closes the descriptor must not have it opened again
 * relative to where it went (a file of its own there). A FIFO nobody reads is an error, not a
 * wait that never ends. */
static void lg_open_report(lg_out_t *o, const char *path, char *abs, size_t cap) {
  if (lg_path_absolute(path, abs, cap) != 0)
    lg_fail("%s: the path is too long; choose a shorter one", path);
  int fd = lg_report_open_append(abs);
  if (fd < 0 && errno == ENXIO && lg_path_kind(abs) == LG_PATH_FIFO)
    lg_fail("cannot write report to %s: no process reads that FIFO; start its reader first",
            path);
  if (fd < 0)
    lg_fail("cannot write report to %s: %s; choose a writable path", path, strerror(errno));
  int own = lg_fd_own(fd);
  if (own >= 0) {
    close(fd);
    fd = own;
  }
  lg_out_adopt(o, fd, abs, 0);
}

/* ---- sarif=: the SARIF log ----
 *
 * The log is made at the end of the run from the JSON Lines reports, so it has every report
 * the JSON file has: a forked child's (it appends to the same file), and those of programs run
 * from this one under the same LOCKGRAPH_OPTIONS (`lockgraph -- make check`). Without json=,
 * the reports go to a scratch JSON file, $TMPDIR/lockgraph-<pid>.reports.jsonl, removed once the
 * log is written by the process that made it (or by what it became through exec: same pid),
 * also when it ends with _exit(2), as dash does. Every process that is not a forked child
 * writes the log when it ends (to a temporary name, then renamed over it, so processes ending
 * together never mix their writes), each from the whole JSON file; the process lockgraph
 * started normally ends last, so the log it leaves has every report.
 *
 * Programs run from this one must name the same two files, by absolute paths (one may change
 * directory). The front end puts them in the environment the program starts with (cli.c: a
 * program such as bash or make builds its children's environment from main's envp, where a
 * change made here would never reach them); a process started by LD_PRELOAD alone puts them in
 * LOCKGRAPH_OPTIONS here, for children that inherit `environ`. Paths are made absolute and the
 * names formatted here, at start-up: the end of the run may be a fatal signal's handler. */
static char lg_sarif_path[LG_PATH_MAX], lg_sarif_tmp[LG_PATH_MAX + 32];
static char lg_sarif_scratch[LG_PATH_MAX + 32]; /* "" unless this process made the scratch file */
static int lg_sarif_src_fd = -1;
/* The JSON file the log is made from, to open again when the program closed or replaced our
 * descriptor of it (as lg_out_check does for the outputs). */
static struct {
  char path[LG_PATH_MAX + 32];
  dev_t dev;
  ino_t ino;
} lg_sarif_src;

/* Where the log goes: lg_sarif_path made absolute and, through symbolic links, the file they
 * name (the log replaces that file by a rename, which would replace a link itself). A character
 * device (/dev/null, a terminal) is written through, never replaced; anything else that is no
 * regular file (a directory, a FIFO, a socket) is refused. */
static int lg_sarif_through; /* the path is a character device: written to, not renamed over */

static void lg_sarif_target(void) {
  const char *given = lg_rt.opt.sarif_path;
  if (lg_path_absolute(given, lg_sarif_path, sizeof lg_sarif_path) != 0)
    lg_fail("sarif=%s: the path is too long; choose a shorter one", given);
  struct stat st;
  if (lstat(lg_sarif_path, &st) == 0 && S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    if (realpath(lg_sarif_path, target) == NULL || strlen(target) >= sizeof lg_sarif_path)
      lg_fail("sarif=%s: a symbolic link to no file that can be named; give the file's path",
              given);
    memcpy(lg_sarif_path, target, strlen(target) + 1);
  }
  int kind = lg_path_kind(lg_sarif_path);
  if (kind == LG_PATH_FIFO || kind == LG_PATH_UNFIT)
    lg_fail("sarif=%s: not a regular file (a directory, FIFO or socket); give a file's path",
            given);
  lg_sarif_through = kind == LG_PATH_DEVICE;
  int fd = open(lg_sarif_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0)
    lg_fail("cannot write report to %s: %s; choose a writable path", given, strerror(errno));
  close(fd);
}

static void lg_sarif_open(void) {
  lg_sarif_target();
  snprintf(lg_sarif_tmp, sizeof lg_sarif_tmp, "%s.%d.tmp", lg_sarif_path, (int)getpid());
  char json[LG_PATH_MAX + 32], scratch[LG_PATH_MAX + 32];
  if (lg_sarif_scratch_name(scratch, sizeof scratch, (long)getpid()) != 0)
    lg_fail("sarif=%s: $TMPDIR is too long for the log's scratch file; set a shorter one",
            lg_rt.opt.sarif_path);
  if (lg_rt.json_fd >= 0) {
    if (lg_path_absolute(lg_rt.opt.json_path, json, sizeof json) != 0)
      snprintf(json, sizeof json, "%s", lg_rt.opt.json_path);
    /* The same process after an exec (same pid): the scratch file is still its own. */
    if (strcmp(json, scratch) == 0)
      snprintf(lg_sarif_scratch, sizeof lg_sarif_scratch, "%s", scratch);
  } else {
    snprintf(lg_sarif_scratch, sizeof lg_sarif_scratch, "%s", scratch);
    snprintf(json, sizeof json, "%s", lg_sarif_scratch);
    int sfd = open(json, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (sfd < 0)
      lg_fail("cannot write the SARIF log's scratch file %s: %s", json, strerror(errno));
    /* A descriptor of ours, checked before each write like the others. */
    int own = lg_fd_own(sfd);
    if (own >= 0) {
      close(sfd);
      sfd = own;
    }
    lg_out_adopt(&lg_out_json, sfd, lg_sarif_scratch, 0);
  }
  int src = open(json, O_RDONLY | O_CLOEXEC);
  if (src < 0)
    lg_fail("cannot read back %s for the SARIF log: %s", json, strerror(errno));
  lg_sarif_src_fd = lg_fd_own(src);
  if (lg_sarif_src_fd >= 0)
    close(src);
  else
    lg_sarif_src_fd = src;
  snprintf(lg_sarif_src.path, sizeof lg_sarif_src.path, "%s", json);
  struct stat st;
  if (fstat(lg_sarif_src_fd, &st) == 0) {
    lg_sarif_src.dev = st.st_dev;
    lg_sarif_src.ino = st.st_ino;
  }
  /* A path with ':' cannot go through LOCKGRAPH_OPTIONS: then programs run from this one keep
   * the options as they were given. */
  const char *spec = getenv("LOCKGRAPH_OPTIONS");
  static char env[8 * LG_PATH_MAX];
  if (strchr(lg_sarif_path, ':') == NULL && strchr(json, ':') == NULL &&
      snprintf(env, sizeof env, "%s%ssarif=%s:json=%s", spec ? spec : "", spec && *spec ? ":" : "",
               lg_sarif_path, json) < (int)sizeof env)
    setenv("LOCKGRAPH_OPTIONS", env, 1);
}

void lg_sarif_write_at_end(void) {
  if (lg_sarif_src_fd < 0 || lg_rt.fork_child)
    return;
  int saved = errno;
  static char cwd[LG_PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == NULL)
    cwd[0] = '\0';
  int rc = -1;
  struct stat st;
  int src = lg_sarif_src_fd, reopened = -1;
  if (fstat(src, &st) != 0 || st.st_dev != lg_sarif_src.dev || st.st_ino != lg_sarif_src.ino)
    src = reopened = open(lg_sarif_src.path, O_RDONLY | O_CLOEXEC);
  int fd = src < 0 ? -1
           : lg_sarif_through
               ? lg_report_open_append(lg_sarif_path)
               : open(lg_sarif_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    rc = lg_sarif_convert(src, fd, LG_VERSION, cwd, NULL);
    if (close(fd) != 0 && rc == 0)
      rc = -1;
    if (!lg_sarif_through && rc == 0 && rename(lg_sarif_tmp, lg_sarif_path) != 0)
      rc = -1;
    if (!lg_sarif_through && rc != 0)
      unlink(lg_sarif_tmp);
  }
  if (reopened >= 0)
    close(reopened);
  if (rc != 0) {
    static const char msg[] = "lockgraph: cannot write the SARIF log (sarif=)\n";
    lg_write_all(lg_rt.log_fd, msg, sizeof msg - 1);
  } else if (lg_sarif_scratch[0]) {
    unlink(lg_sarif_scratch);
  }
  errno = saved;
}

/* Our own text range: frames in it are the detector's and never shown. */
static int lg_find_self_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  uintptr_t probe = (uintptr_t)data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
      continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (probe >= lo && probe < hi) {
      lg_rt.self_lo = lo;
      lg_rt.self_hi = hi;
      return 1;
    }
  }
  return 0;
}

/* ---- fatal signals: the summary before the default action ---- */

/* Every signal whose default action ends the process (the real-time ones aside): an abort or
 * a fault, a request to stop (TERM, INT, HUP, QUIT), a pipe whose reader left (PIPE), a timer
 * or limit the program set and did not handle (ALRM, VTALRM, PROF, XCPU, XFSZ), a signal it
 * was sent and did not expect (USR1, USR2, IO, PWR, SYS, TRAP, STKFLT). */
static const struct lg_fatal_signal {
  int sig;
  const char *name;
  uint8_t crash; /* its default action dumps core: an abort, a fault, QUIT */
} lg_fatal_signals[] = {
    {SIGABRT, "SIGABRT", 1}, {SIGSEGV, "SIGSEGV", 1},     {SIGBUS, "SIGBUS", 1},
    {SIGFPE, "SIGFPE", 1},   {SIGILL, "SIGILL", 1},       {SIGTERM, "SIGTERM", 0},
    {SIGINT, "SIGINT", 0},   {SIGHUP, "SIGHUP", 0},       {SIGQUIT, "SIGQUIT", 1},
    {SIGPIPE, "SIGPIPE", 0}, {SIGALRM, "SIGALRM", 0},     {SIGUSR1, "SIGUSR1", 0},
    {SIGUSR2, "SIGUSR2", 0}, {SIGVTALRM, "SIGVTALRM", 0}, {SIGPROF, "SIGPROF", 0},
    {SIGXCPU, "SIGXCPU", 1}, {SIGXFSZ, "SIGXFSZ", 1},     {SIGIO, "SIGIO", 0},
    {SIGPWR, "SIGPWR", 0},   {SIGSYS, "SIGSYS", 1},       {SIGTRAP, "SIGTRAP", 1},
    {SIGSTKFLT, "SIGSTKFLT", 0}};
#define LG_FATAL_SIGNALS (sizeof lg_fatal_signals / sizeof lg_fatal_signals[0])

static const struct lg_fatal_signal *lg_fatal_signal(int sig) {
  for (size_t i = 0; i < LG_FATAL_SIGNALS; i++)
    if (lg_fatal_signals[i].sig == sig)
      return &lg_fatal_signals[i];
  return NULL;
}

const char *lg_signal_name(int sig, int *crash) {
  const struct lg_fatal_signal *f = lg_fatal_signal(sig);
  *crash = f != NULL && f->crash;
  return f != NULL ? f->name : "signal";
}
static _Atomic uint64_t lg_signals_ours; /* bit per signal number: our handler is installed */

int lg_signal_is_ours(int sig) {
  return sig > 0 && sig < 64 && (atomic_load(&lg_signals_ours) >> sig & 1);
}

void lg_signal_forget(int sig) {
  if (sig > 0 && sig < 64)
    atomic_fetch_and(&lg_signals_ours, ~(1ull << sig));
}

/* Runs on whatever thread the signal hit, possibly inside the detector with its locks held:
 * it takes none of them. The default disposition is restored and the signal raised again,
 * so the process ends exactly as it would have without us (exit status, core dump). */
static void lg_fatal_handler(int sig) {
  int saved = errno;
  lg_thread_t *t = lg_tls_self;
  if (t != NULL)
    t->passthrough = 1; /* the program is ending: track nothing more on this thread */
  lg_report_summary_on_signal(sig);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  lg_signal_forget(sig);
  lg_real.sig_action(sig, &dfl, NULL);
  /* Raised again and let through at once, here: the process ends by this signal even when
   * another one (its handler ours too) arrives while the summary is written; left pending
   * until the handler returned, the lower-numbered of the two would win. (Two sent before
   * either is handled still end the process by the lower-numbered one, where without us the
   * first sent would have killed it at once.) */
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  raise(sig);
  pthread_sigmask(SIG_UNBLOCK, &only, NULL);
  errno = saved;
}

/* Puts our handler on sig in place of its default action; the real sigaction's result. */
static int lg_signal_take(int sig, struct sigaction *old) {
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_handler = lg_fatal_handler;
  sigfillset(&act.sa_mask); /* no other fatal signal interleaves with the summary */
  act.sa_flags = SA_ONSTACK; /* a stack overflow's SIGSEGV needs the program's altstack */
  atomic_fetch_or(&lg_signals_ours, 1ull << sig);
  int rc = lg_real.sig_action(sig, &act, old);
  if (rc != 0)
    lg_signal_forget(sig);
  return rc;
}

int lg_signal_default(int sig, struct sigaction *old) {
  if (lg_real.sig_action == NULL || lg_fatal_signal(sig) == NULL ||
      atomic_load_explicit(&lg_rt.state, memory_order_acquire) != 2)
    return -2;
  return lg_signal_take(sig, old);
}

static void lg_signals_install(void) {
  if (lg_real.sig_action == NULL)
    return;
  for (size_t i = 0; i < LG_FATAL_SIGNALS; i++) {
    int sig = lg_fatal_signals[i].sig;
    struct sigaction old;
    if (lg_real.sig_action(sig, NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
        (old.sa_flags & SA_SIGINFO))
      continue; /* the program (or whoever started it) chose: ignored or handled, not ours */
    lg_signal_take(sig, NULL);
  }
}

static void lg_at_quick_exit(void);

static void lg_runtime_start(void) {
  lg_real_resolve();
  lg_options_defaults(&lg_rt.opt);
  char err[512];
  const char *spec = getenv("LOCKGRAPH_OPTIONS");
  if (lg_options_parse(&lg_rt.opt, spec, err, sizeof err) != 0)
    lg_fail("%s", err);
  if (lg_rt.opt.stack_depth == 0 || lg_rt.opt.stack_depth > LG_STACK_MAX)
    lg_rt.opt.stack_depth = LG_STACK_MAX;
  if (lg_rt.opt.log_path[0])
    lg_open_report(&lg_out_log, lg_rt.opt.log_path, lg_log_abs, sizeof lg_log_abs);
  else
    lg_out_adopt(&lg_out_log, 2, NULL, 1); /* -1 when the program was started without one */
  if (lg_rt.opt.json_path[0])
    lg_open_report(&lg_out_json, lg_rt.opt.json_path, lg_json_abs, sizeof lg_json_abs);
  if (lg_rt.opt.sarif_path[0])
    lg_sarif_open();
  if (lg_rt.opt.suppressions_path[0]) {
    lg_rt.supp = lg_suppressions_load(lg_rt.opt.suppressions_path, err, sizeof err);
    if (lg_rt.supp == NULL)
      lg_fail("%s", err);
  }
  dl_iterate_phdr(lg_find_self_cb, (void *)(uintptr_t)&lg_runtime_start);
  lg_rt.graph = lg_graph_new(&lg_edges_view);
  if (lg_rt.graph == NULL)
    lg_fail("cannot allocate the lock-order graph: %s", strerror(ENOMEM));
  lg_rt.pid = (pid_t)syscall(SYS_getpid);
  lg_exec_adopt();
  lg_thread_init_main();
  lg_threads_setup();
  lg_signals_install();
  at_quick_exit(lg_at_quick_exit);
}

int lg_runtime_ensure(void) {
  int s = atomic_load_explicit(&lg_rt.state, memory_order_acquire);
  if (LG_LIKELY(s == 2))
    return 1;
  int expected = 0;
  if (atomic_compare_exchange_strong(&lg_rt.state, &expected, 1)) {
    lg_runtime_start();
    atomic_store_explicit(&lg_rt.state, 2, memory_order_release);
    return 1;
  }
  /* Being started, by this very thread (a lock taken inside dlsym or getenv) or by another
   * one before our constructor: pass through untracked rather than wait. */
  return 0;
}

__attribute__((constructor(101))) static void lg_constructor(void) {
  lg_runtime_ensure();
}

void lg_process_exit(int status) {
  if (lg_real.process_exit != NULL)
    lg_real.process_exit(status);
  for (;;)
    syscall(SYS_exit_group, status);
}

/* The end of the run, once the program is done: stops tracking this thread and writes the
 * summary (and the SARIF log); returns nonzero when anything was reported. `ending`: the
 * process leaves without its destructors, maybe from a signal handler. 0 without a word in a
 * process the state does not belong to (a vfork child) or before the runtime is ready. */
static int lg_runtime_finish(int ending) {
  if (atomic_load_explicit(&lg_rt.state, memory_order_acquire) != 2 ||
      lg_rt.pid != (pid_t)syscall(SYS_getpid))
    return 0;
  lg_thread_t *t = lg_tls_self;
  if (t != NULL)
    t->passthrough = 1; /* the program is gone: stop tracking */
  return ending ? lg_report_summary_ending() : lg_report_summary();
}

__attribute__((destructor(101))) static void lg_destructor(void) {
  if (lg_runtime_finish(0)) {
    fflush(NULL);
    lg_process_exit(lg_rt.opt.exitcode);
  }
}

/* ---- an exec into an image that will not load the library ----
 *
 * A program that execs with an environment of its own making, without LD_PRELOAD, ends its
 * run there: the new image has no runtime to count this one's reports. Its summaries and SARIF
 * log are written before the exec, as at an exit (the exit status is the new program's: that
 * cannot be carried). When the exec fails the run goes on, and its end writes them again. */
void lg_runtime_exec_away(void) {
  if (lg_rt.pid == (pid_t)syscall(SYS_getpid))
    lg_report_summary_exec_away();
}

void lg_runtime_exec_failed(void) {
  lg_report_summary_reopen();
}

/* ---- daemon(3): the program goes on in a child ----
 *
 * daemon forks, and its parent _exits at once, by the C library's internal call, past our
 * _exit: the process lockgraph started ended there with status 0 and no summary, though the
 * reports made before daemon() were the run's, and the daemon, a forked child, stayed quiet
 * and never wrote the SARIF log. So the parent's end is taken from the fork's parent handler
 * while its thread is inside daemon(): the summaries, the SARIF log, and the exit code when
 * anything was reported. The child is the program from then on: it writes its summary and
 * the SARIF log at its end (under a temporary name of its own), and the scratch JSON file the
 * parent made is its to remove. */
static _Atomic pid_t lg_daemon_caller; /* the thread inside daemon() (kernel id), 0: none */

void lg_runtime_fork_parent(void) {
  if (atomic_load(&lg_daemon_caller) != (pid_t)syscall(SYS_gettid))
    return;
  lg_sarif_scratch[0] = '\0'; /* the daemon's now */
  if (lg_runtime_finish(1))
    lg_process_exit(lg_rt.opt.exitcode);
}

LG_EXPORT int daemon(int nochdir, int noclose) {
  lg_real_resolve();
  if (lg_real.daemon == NULL) {
    errno = ENOSYS;
    return -1;
  }
  atomic_store(&lg_daemon_caller, (pid_t)syscall(SYS_gettid));
  int rc = lg_real.daemon(nochdir, noclose); /* returns in the daemon, or when it failed */
  int saved = errno;
  atomic_store(&lg_daemon_caller, 0);
  if (rc == 0) { /* the daemon */
    lg_rt.fork_child = 0;
    snprintf(lg_sarif_tmp, sizeof lg_sarif_tmp, "%s.%d.tmp", lg_sarif_path, (int)getpid());
  }
  errno = saved;
  return rc;
}

/* The program's quick-exit handlers have run; the C library _exits with the program's status
 * when this returns. Nothing is flushed: quick_exit does not flush either. */
static void lg_at_quick_exit(void) {
  if (lg_runtime_finish(1))
    lg_process_exit(lg_rt.opt.exitcode);
}

/* _exit and _Exit (one function in glibc, two names): the summary, then the exit code when
 * anything was reported, as at exit. No stdio flush: the program chose to skip it. */
LG_EXPORT void _exit(int status) {
  if (lg_runtime_finish(1))
    status = lg_rt.opt.exitcode;
  lg_process_exit(status);
}

LG_EXPORT void _Exit(int status) __attribute__((alias("_exit")));
