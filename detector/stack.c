/* stack.c - capturing stacks with libunwind and symbolizing them with elfutils' libdwfl.
 *
 * Capture is local-only unwinding (UNW_LOCAL_ONLY), done only on the slow path (a new edge, a
 * report): unw_backtrace (about 0.1 us: libunwind's per-thread trace cache) for PCs, and the
 * much slower unw_step walk only when the stack pointers of the frames are needed (to tell
 * frames apart, or to keep the stack in the thread's cache of call sites, capture.c). The detector's own frames (this library's text) are dropped wherever they appear,
 * so frame #0 is the program's call into pthread and a thread's bottom frames go straight
 * from the start routine to libc's start_thread.
 *
 * Symbolizing happens only when a report is written: a libdwfl session over our own process
 * (dwfl_linux_proc_report), reopened when a PC falls in an object loaded since. Each PC is
 * resolved once (cached) into one or more logical frames: DWARF inline scopes expand an
 * inlined call into its own frame, as addr2line -i does, so a helper inlined into its caller
 * still shows under its own name and line.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <dwarf.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "lockgraph.h"
#include "mem.h"

/* ---- capture ---- */

static int lg_pc_is_self(uintptr_t pc) {
  return pc >= lg_rt.self_lo && pc < lg_rt.self_hi;
}

/* libunwind's global cache blocks signals around every lookup (two sigprocmask calls per
 * frame); a per-thread cache needs no lock. */
static void lg_unwind_setup(void) {
  static _Atomic int done;
  if (!atomic_exchange(&done, 1)) {
    /* libunwind's own set-up runs here, and keeps a pipe open (its check of memory before a
     * read) for the rest of the process: on descriptors of ours, not the program's. */
    atomic_store(&lg_fd_hoist_thread, (pid_t)syscall(SYS_gettid));
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    atomic_store(&lg_fd_hoist_thread, 0);
  }
}

/* libunwind keeps locks of its own (its trace cache's set-up, its memory pools, its lookups):
 * a fork while another thread holds one leaves it taken in the child, whose first walk then
 * waits forever (leaf_churn_fork hung about once in 30 runs, with a gate that kept our own walks
 * out of the fork window: the lock was held outside them). So a child of a threaded parent does
 * not call libunwind at all: it walks frame pointers (lg_fp_capture, lg_stack_after_fork_child). */

static int lg_capture_here(lg_frame_pcsp_t *out, int cap) {
  lg_unwind_setup();
  unw_context_t ctx;
  unw_cursor_t cur;
  int n = 0;
  if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
    return 0;
  for (int guard = 0; n < cap && guard < 256 && unw_step(&cur) > 0; guard++) {
    unw_word_t ip = 0, sp = 0;
    unw_get_reg(&cur, UNW_REG_IP, &ip);
    unw_get_reg(&cur, UNW_REG_SP, &sp);
    if (ip == 0)
      break;
    if (lg_pc_is_self((uintptr_t)ip))
      continue;
    out[n].pc = (uintptr_t)ip;
    out[n].sp = (uintptr_t)sp;
    n++;
  }
  return n;
}

static int lg_capture_fast_here(lg_frame_pcsp_t *out, int cap) {
  lg_unwind_setup();
  void *all[LG_STACK_MAX + 16];
  int n = unw_backtrace(all, (int)(sizeof all / sizeof all[0]));
  int k = 0;
  for (int i = 0; i < n && k < cap; i++) {
    if (lg_pc_is_self((uintptr_t)all[i]))
      continue;
    out[k].pc = (uintptr_t)all[i];
    out[k].sp = 0;
    k++;
  }
  return k;
}

static int lg_capture_after_self_here(uintptr_t *out, int cap) {
  void *all[LG_STACK_MAX + 32];
  int n = unw_backtrace(all, (int)(sizeof all / sizeof all[0]));
  /* Our frames (this walk, the handler), then what the signal interrupted (libc's wait), then
   * the wrapper that called it: the program's frames start after that second run of ours. Not
   * after the last frame of ours: a trampoline of ours further out (a C11 thread's start) would
   * hide the program's frames between. Interrupted outside a wrapper, they start after the
   * first run. */
  int i = 0;
  while (i < n && lg_pc_is_self((uintptr_t)all[i]))
    i++;
  int start = i;
  while (i < n && !lg_pc_is_self((uintptr_t)all[i]))
    i++;
  if (i < n) {
    while (i < n && lg_pc_is_self((uintptr_t)all[i]))
      i++;
    start = i;
  }
  int k = 0;
  for (i = start; i < n && k < cap; i++)
    out[k++] = (uintptr_t)all[i];
  return k;
}

/* ---- unwinding on a stack of the detector's own ----
 *
 * libunwind needs several KiB of stack for a walk (about 10 KiB the first time on a thread),
 * which a thread made with PTHREAD_STACK_MIN does not have to spare. When less than
 * LG_UNWIND_HEADROOM is left below the caller, the walk runs on a stack of ours instead: one
 * stack shared under its own mutex, so only threads short of stack ever wait for it. The
 * unwinder starts from its own frame there and follows the call frame information of
 * lg_call_on's frame back onto the thread's stack; the detector's frames on either side are
 * dropped as usual, so the captured frames are the same as an in-place walk's. */

#define LG_UNWIND_HEADROOM (64u << 10)
#define LG_UNWIND_STACK_SIZE (256u << 10)

static pthread_mutex_t lg_unwind_mu = PTHREAD_MUTEX_INITIALIZER;
static char *lg_unwind_stack; /* under lg_unwind_mu; MAP_FAILED: none to be had */

typedef struct lg_capture_job {
  int kind; /* 0 full, 1 fast, 2 after self */
  void *out;
  int cap, n;
} lg_capture_job_t;

static void lg_capture_run(void *p) {
  lg_capture_job_t *j = p;
  if (j->kind == 0)
    j->n = lg_capture_here(j->out, j->cap);
  else if (j->kind == 1)
    j->n = lg_capture_fast_here(j->out, j->cap);
  else
    j->n = lg_capture_after_self_here(j->out, j->cap);
}

#if defined(__x86_64__)
/* Calls fn(arg) with the stack pointer at top (16-byte aligned). The frame is an ordinary
 * rbp frame with call frame information, so an unwinder walks through it to the caller. */
void lg_call_on(void (*fn)(void *), void *arg, void *top) __attribute__((visibility("hidden")));
__asm__(".text\n"
        ".p2align 4\n"
        ".type lg_call_on, @function\n"
        "lg_call_on:\n"
        "  .cfi_startproc\n"
        "  pushq %rbp\n"
        "  .cfi_def_cfa_offset 16\n"
        "  .cfi_offset %rbp, -16\n"
        "  movq %rsp, %rbp\n"
        "  .cfi_def_cfa_register %rbp\n"
        "  movq %rdx, %rsp\n"
        "  movq %rdi, %rax\n"
        "  movq %rsi, %rdi\n"
        "  callq *%rax\n"
        "  movq %rbp, %rsp\n"
        "  popq %rbp\n"
        "  .cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size lg_call_on, .-lg_call_on\n");

/* Whether the caller may be short of stack: a known thread with less than the headroom left,
 * or one running on a stack of the program's own making (a coroutine's, switched to with
 * swapcontext), whose size nothing tells: the unwinder's stack is used then too. */
static int lg_stack_is_short(void) {
  lg_thread_t *t = lg_tls_self;
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  return t != NULL && t->stack_lo != 0 &&
         (sp <= t->stack_lo || sp >= t->stack_hi || sp - t->stack_lo < LG_UNWIND_HEADROOM);
}

/* Runs the job on the unwinder's stack; nonzero when it did. `wait`: 0 from a signal handler,
 * which must not block (the job then runs in place). */
static int lg_capture_elsewhere(lg_capture_job_t *j, int wait) {
  if (lg_real.mutex_lock == NULL)
    return 0;
  if ((wait ? lg_real.mutex_lock(&lg_unwind_mu) : lg_real.mutex_trylock(&lg_unwind_mu)) != 0)
    return 0;
  if (lg_unwind_stack == NULL) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, LG_UNWIND_STACK_SIZE + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p != MAP_FAILED && mprotect(p, page, PROT_NONE) != 0) { /* a guard page below */
      munmap(p, LG_UNWIND_STACK_SIZE + page);
      p = MAP_FAILED;
    }
    lg_unwind_stack = p;
  }
  int ran = lg_unwind_stack != MAP_FAILED;
  if (ran) /* the top: the mapping is the guard page and then the stack */
    lg_call_on(lg_capture_run, j, lg_unwind_stack + sysconf(_SC_PAGESIZE) + LG_UNWIND_STACK_SIZE);
  lg_real.mutex_unlock(&lg_unwind_mu);
  return ran;
}
#else
static int lg_stack_is_short(void) {
  return 0;
}
static int lg_capture_elsewhere(lg_capture_job_t *j, int wait) {
  (void)j;
  (void)wait;
  return 0;
}
#endif

static int lg_unwind_unsafe; /* a fork child of a threaded parent: no libunwind */

void lg_stack_after_fork_child(int other_threads) {
  lg_real.mutex_init(&lg_unwind_mu, NULL); /* a thread that held it is gone */
  if (other_threads)
    lg_unwind_unsafe = 1;
}

/* The caller's stack by its frame pointers: each frame's return address, and the caller's
 * stack pointer (the frame address + 16, so the return address sits just below it, as for a
 * libunwind capture). Every frame address must lie above the last one and within the thread's
 * stack when it is known; code built without frame pointers ends the walk early, never faults
 * (unknown bounds: the walk stops at the first frame address that does not grow, or after
 * LG_STACK_MAX frames). */
static int lg_fp_capture(lg_frame_pcsp_t *out, int cap) {
  lg_thread_t *t = lg_tls_self;
  uintptr_t lo = (uintptr_t)__builtin_frame_address(0);
  uintptr_t hi = t != NULL && t->stack_hi != 0 ? t->stack_hi : UINTPTR_MAX;
  uintptr_t fp = lo;
  int n = 0;
  for (int guard = 0; n < cap && guard < 256; guard++) {
    if (fp < lo || fp > hi - 16 || (fp & 7) != 0)
      break;
    uintptr_t ret = ((const uintptr_t *)fp)[1];
    if (ret == 0)
      break;
    if (!lg_pc_is_self(ret)) {
      out[n].pc = ret;
      out[n].sp = fp + 16;
      n++;
    }
    lo = fp + 16;
    fp = ((const uintptr_t *)fp)[0];
  }
  return n;
}

int lg_stack_capture(lg_frame_pcsp_t *out, int cap) {
  if (lg_unwind_unsafe)
    return lg_fp_capture(out, cap);
  lg_capture_job_t j = {.kind = 0, .out = out, .cap = cap};
  if (lg_stack_is_short() && lg_capture_elsewhere(&j, 1))
    return j.n;
  return lg_capture_here(out, cap);
}

int lg_stack_capture_fast(lg_frame_pcsp_t *out, int cap) {
  if (lg_unwind_unsafe)
    return lg_fp_capture(out, cap);
  lg_capture_job_t j = {.kind = 1, .out = out, .cap = cap};
  if (lg_stack_is_short() && lg_capture_elsewhere(&j, 1))
    return j.n;
  return lg_capture_fast_here(out, cap);
}

int lg_stack_capture_after_self(uintptr_t *out, int cap) {
  if (lg_unwind_unsafe) /* a fork child of a threaded parent: that thread is shown without its stack */
    return 0;
  lg_capture_job_t j = {.kind = 2, .out = out, .cap = cap};
  if (lg_stack_is_short() && lg_capture_elsewhere(&j, 0))
    return j.n;
  return lg_capture_after_self_here(out, cap);
}

lg_stack_t *lg_stack_new(const uintptr_t *pc, uint32_t n) {
  lg_stack_t *s = lg_mem_alloc(sizeof(*s) + n * sizeof(uintptr_t));
  if (s == NULL)
    return NULL;
  s->n = n;
  s->refs = 0;
  memcpy(s->pc, pc, n * sizeof(uintptr_t));
  return s;
}

lg_stack_t *lg_stack_dup(const lg_stack_t *s) {
  return s ? lg_stack_new(s->pc, s->n) : NULL;
}

void lg_stack_free(lg_stack_t *s) {
  if (s)
    lg_mem_free(s, sizeof(*s) + s->n * sizeof(uintptr_t));
}

/* ---- symbolizing (under lg_rt.report_mu) ---- */

#define LG_SYM_FRAMES 8

typedef struct lg_sym_entry {
  uintptr_t pc;
  unsigned long subs; /* the objects unloaded before it was made (lg_symbols_refresh) */
  int n;
  lg_symbol_t f[LG_SYM_FRAMES];
  struct lg_sym_entry *next;
} lg_sym_entry_t;

#define LG_SYM_BUCKETS 1024
static lg_sym_entry_t *lg_sym_cache[LG_SYM_BUCKETS];
static Dwfl *lg_dwfl;
static char *lg_debuginfo_path;

/* The files libdwfl opens to symbolize (the program, its libraries, their debug files) stay
 * open for the session: on the program's low descriptor numbers, not close-on-exec, they
 * took numbers the program expected to get and leaked into every program it ran. Each is
 * moved to a descriptor of ours before libdwfl reads it (lg_fd_move_high). */
static int lg_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
                       char **file_name, Elf **elfp) {
  int fd = dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
  return *elfp == NULL ? lg_fd_move_high(fd) : fd; /* an Elf already made reads its own fd */
}

/* A separate debug file named by a module's .gnu_debuglink, looked for where GDB and libdwfl
 * look (beside the file, in its .debug directory, under /usr/lib/debug) and taken when its
 * CRC is the one the link gives: its descriptor and *name (malloc'd: libdwfl frees it), or -1. */
static int lg_debuglink_open(const char *file_name, const char *link, GElf_Word crc,
                             char **name) {
  const char *slash = strrchr(file_name, '/');
  if (slash == NULL || strchr(link, '/') != NULL)
    return -1;
  int dirlen = (int)(slash - file_name);
  static const char *const forms[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, forms[i], dirlen, file_name, link) >= (int)sizeof path ||
        strcmp(path, file_name) == 0)
      continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    uLong sum = crc32(0L, Z_NULL, 0);
    static unsigned char buf[65536]; /* under lg_rt.report_mu */
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
      sum = crc32(sum, buf, (uInt)n);
    if (n == 0 && (GElf_Word)sum == crc && lseek(fd, 0, SEEK_SET) == 0 &&
        (*name = strdup(path)) != NULL)
      return fd;
    close(fd);
  }
  return -1;
}

/* Debug files from this machine only: by build ID under the debug directories, then by the
 * module's .gnu_debuglink. Not dwfl_standard_find_debuginfo, whose last resort asks the
 * debuginfod servers DEBUGINFOD_URLS names: libdwfl then loads libdebuginfod into the program
 * (with libcurl, a TLS library and some twenty more, whose constructors, locks and exit
 * handlers become the program's) and the report waits on the network, the program with it. */
static int lg_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                             Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                             GElf_Word debuglink_crc, char **debuginfo_file_name) {
  int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
  if (fd < 0 && file_name != NULL && debuglink_file != NULL)
    fd = lg_debuglink_open(file_name, debuglink_file, debuglink_crc, debuginfo_file_name);
  return lg_fd_move_high(fd);
}

static const Dwfl_Callbacks lg_dwfl_callbacks = {
    .find_elf = lg_find_elf,
    .find_debuginfo = lg_find_debuginfo,
    .debuginfo_path = &lg_debuginfo_path,
};

static void lg_dwfl_open(void) {
  if (lg_dwfl != NULL)
    dwfl_end(lg_dwfl);
  lg_dwfl = dwfl_begin(&lg_dwfl_callbacks);
  if (lg_dwfl == NULL)
    return;
  dwfl_report_begin(lg_dwfl);
  if (dwfl_linux_proc_report(lg_dwfl, getpid()) != 0) {
    dwfl_end(lg_dwfl);
    lg_dwfl = NULL;
    return;
  }
  dwfl_report_end(lg_dwfl, NULL, NULL);
}

static const char *lg_intern(const char *s) {
  if (s == NULL)
    return NULL;
  size_t n = strlen(s) + 1;
  char *p = lg_mem_alloc(n);
  if (p != NULL)
    memcpy(p, s, n);
  return p;
}

/* C++ names read better demangled. GCC's demangler is linked in (libsupc++.a): its callback
 * entry point allocates nothing on the heap (its working space is on the stack, proportional
 * to the name, hence the length limit), so it does not depend on the program loading
 * libstdc++ nor call the program's malloc. Without it, libstdc++'s __cxa_demangle is used if
 * the program happens to have it loaded. */
#define LG_DEMANGLE_MAX 1024 /* longer names stay mangled: the stack cost grows with the name */

typedef struct lg_demangle_buf {
  char s[4096];
  size_t n;
  int overflow;
} lg_demangle_buf_t;

static void lg_demangle_append(const char *piece, size_t len, void *opaque) {
  lg_demangle_buf_t *b = opaque;
  if (b->n + len >= sizeof b->s) {
    b->overflow = 1;
    return;
  }
  memcpy(b->s + b->n, piece, len);
  b->n += len;
  b->s[b->n] = '\0';
}

#ifdef LG_HAVE_SUPCXX_DEMANGLER
int __gcclibcxx_demangle_callback(const char *mangled,
                                  void (*callback)(const char *, size_t, void *), void *opaque);
#endif

static const char *lg_demangled(const char *name) {
  if (name == NULL || strncmp(name, "_Z", 2) != 0 || strlen(name) > LG_DEMANGLE_MAX)
    return lg_intern(name);
#ifdef LG_HAVE_SUPCXX_DEMANGLER
  lg_demangle_buf_t b;
  b.n = 0;
  b.overflow = 0;
  b.s[0] = '\0';
  if (__gcclibcxx_demangle_callback(name, lg_demangle_append, &b) == 0 && !b.overflow && b.n > 0)
    return lg_intern(b.s);
  return lg_intern(name);
#else
  typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);
  demangle_fn fn = (demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
  if (fn == NULL)
    return lg_intern(name);
  int status = 0;
  char *d = fn(name, NULL, NULL, &status);
  const char *r = lg_intern(status == 0 && d ? d : name);
  free(d);
  return r;
#endif
}

static const char *lg_die_name(Dwarf_Die *die) {
  Dwarf_Attribute at;
  Dwarf_Die origin;
  const char *name = dwarf_diename(die);
  if (name == NULL && dwarf_attr(die, DW_AT_abstract_origin, &at) != NULL &&
      dwarf_formref_die(&at, &origin) != NULL)
    name = dwarf_diename(&origin);
  return name;
}

/* The compile unit holding addr, found by walking the module's units when libdw's own lookup
 * finds none: it reads .debug_aranges, which clang does not emit by default (gcc does), so
 * without this walk a program built with clang would have no file:line at all. The unit of the
 * last hit is tried first (a report's PCs cluster in few units). Under report_mu. */
static Dwarf_Die *lg_cu_scan(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Die *out, Dwarf_Addr *bias) {
  static Dwfl_Module *last_mod;
  static Dwarf_Die last_cu;
  static Dwarf_Addr last_bias;
  if (last_mod == mod && dwarf_haspc(&last_cu, addr - last_bias) == 1) {
    *out = last_cu;
    *bias = last_bias;
    return out;
  }
  Dwarf_Die *cu = NULL;
  Dwarf_Addr b = 0;
  while ((cu = dwfl_module_nextcu(mod, cu, &b)) != NULL) {
    if (dwarf_haspc(cu, addr - b) == 1) {
      last_mod = mod;
      last_cu = *cu;
      last_bias = b;
      *out = *cu;
      *bias = b;
      return out;
    }
  }
  return NULL;
}

static int lg_symbolize_fresh(uintptr_t pc, lg_symbol_t *out) {
  uintptr_t addr = pc - 1; /* a return address: the call is the instruction before */
  Dwfl_Module *mod = lg_dwfl ? dwfl_addrmodule(lg_dwfl, addr) : NULL;
  if (mod == NULL) {
    lg_dwfl_open(); /* an object loaded since the last report */
    mod = lg_dwfl ? dwfl_addrmodule(lg_dwfl, addr) : NULL;
  }
  memset(out, 0, sizeof(*out));
  if (mod == NULL)
    return 1;
  Dwarf_Addr start = 0;
  const char *mainfile = NULL;
  const char *modname = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, &mainfile, NULL);
  const char *path = mainfile ? mainfile : modname;
  if (path != NULL) {
    const char *slash = strrchr(path, '/');
    out->module = lg_intern(slash ? slash + 1 : path);
  }
  out->module_off = addr - (uintptr_t)start;
  const char *sym = dwfl_module_addrname(mod, addr);
  const char *file = NULL;
  int line = 0;
  Dwfl_Line *dl = dwfl_module_getsrc(mod, addr);
  if (dl != NULL)
    file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);

  int n = 0;
  Dwarf_Addr bias = 0;
  Dwarf_Die cu_found;
  Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
  if (cu == NULL && (cu = lg_cu_scan(mod, addr, &cu_found, &bias)) != NULL && dl == NULL) {
    Dwarf_Line *l = dwarf_getsrc_die(cu, addr - bias);
    if (l != NULL) {
      file = dwarf_linesrc(l, NULL, NULL);
      dwarf_lineno(l, &line);
    }
  }
  Dwarf_Die *scopes = NULL;
  int ns = cu ? dwarf_getscopes(cu, addr - bias, &scopes) : 0;
  Dwarf_Files *files = NULL;
  size_t nfiles = 0;
  if (cu == NULL || dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
    files = NULL;
  const char *cur_file = file;
  int cur_line = line;
  /* The innermost function scope; if it is an inlined call, walk its concrete containing
   * scopes outwards (each inlined call is a frame at the caller's call_file:call_line). */
  Dwarf_Die *chain = NULL;
  int nchain = 0;
  for (int i = 0; i < ns; i++) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag == DW_TAG_inlined_subroutine) {
      nchain = dwarf_getscopes_die(&scopes[i], &chain);
      break;
    }
    if (tag == DW_TAG_subprogram)
      break;
  }
  for (int i = 0; i < nchain && n < LG_SYM_FRAMES; i++) {
    int tag = dwarf_tag(&chain[i]);
    if (tag == DW_TAG_inlined_subroutine) {
      out[n] = out[0];
      out[n].function = lg_intern(lg_die_name(&chain[i]));
      out[n].file = lg_intern(cur_file);
      out[n].line = cur_line;
      n++;
      Dwarf_Attribute at;
      Dwarf_Word cl = 0, cf = 0;
      if (dwarf_attr(&chain[i], DW_AT_call_line, &at) != NULL)
        dwarf_formudata(&at, &cl);
      if (dwarf_attr(&chain[i], DW_AT_call_file, &at) != NULL)
        dwarf_formudata(&at, &cf);
      cur_line = (int)cl;
      cur_file = files && cf < nfiles ? dwarf_filesrc(files, cf, NULL, NULL) : NULL;
    } else if (tag == DW_TAG_subprogram) {
      break;
    }
  }
  free(chain);
  if (n < LG_SYM_FRAMES) {
    /* The function the PC is really in. */
    out[n] = out[0];
    out[n].function = lg_demangled(sym);
    out[n].file = lg_intern(cur_file);
    out[n].line = cur_line;
    n++;
  }
  free(scopes);
  if (n == 0) {
    out[0].function = lg_demangled(sym);
    out[0].file = lg_intern(file);
    out[0].line = line;
    n = 1;
  }
  return n;
}

/* ---- objects unloaded, and their addresses taken again ----
 *
 * A library unloaded (dlclose) leaves its addresses free, and one loaded later may take them:
 * a return address captured before the unload then lies in the new library, and nothing can
 * tell which of the two it came from. Whenever the loader's counts of loads and unloads moved
 * since the last look, its objects are listed again (under lg_rt.report_mu): an object gone
 * since leaves its range among the unloaded ones, and where a new object lies over one of
 * those, the overlap is remembered as reused; frames there are flagged (lg_symbol_t.reused). */
typedef struct lg_range {
  uintptr_t lo, hi;
  uint64_t name; /* a hash of the object's name: with the range, which object it is */
} lg_range_t;

typedef struct lg_ranges {
  lg_range_t *v;
  size_t n, cap;
} lg_ranges_t;

static lg_ranges_t lg_objs, lg_gone, lg_reused;

static void lg_ranges_add(lg_ranges_t *r, lg_range_t x) {
  if (r->n == r->cap) {
    size_t ncap = r->cap ? 2 * r->cap : 64;
    lg_range_t *v = lg_mem_realloc(r->v, r->cap * sizeof *v, ncap * sizeof *v);
    if (v == NULL)
      return; /* a range not remembered: its frames go unflagged */
    r->v = v;
    r->cap = ncap;
  }
  r->v[r->n++] = x;
}

static int lg_ranges_has(const lg_ranges_t *r, lg_range_t x) {
  for (size_t i = 0; i < r->n; i++)
    if (r->v[i].lo == x.lo && r->v[i].hi == x.hi && r->v[i].name == x.name)
      return 1;
  return 0;
}

static int lg_in_reused(uintptr_t pc) {
  for (size_t i = 0; i < lg_reused.n; i++)
    if (pc >= lg_reused.v[i].lo && pc < lg_reused.v[i].hi)
      return 1;
  return 0;
}

typedef struct lg_loader_look {
  unsigned long long adds, subs;
  lg_ranges_t *into; /* NULL: the counts only */
} lg_loader_look_t;

static int lg_loader_object(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  lg_loader_look_t *l = arg;
  l->adds = info->dlpi_adds;
  l->subs = info->dlpi_subs;
  if (l->into == NULL)
    return 1; /* the same counts in every object's call: one is enough */
  lg_range_t x = {UINTPTR_MAX, 0, 5381};
  for (const char *c = info->dlpi_name ? info->dlpi_name : ""; *c; c++)
    x.name = x.name * 33 + (unsigned char)*c;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_LOAD) {
      uintptr_t lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
      uintptr_t hi = lo + info->dlpi_phdr[i].p_memsz;
      x.lo = lo < x.lo ? lo : x.lo;
      x.hi = hi > x.hi ? hi : x.hi;
    }
  if (x.lo < x.hi)
    lg_ranges_add(l->into, x);
  return 0;
}

/* Looks at the loader's objects when its counts moved; returns its count of unloads. */
static unsigned long lg_loader_follow(void) {
  static unsigned long long adds_seen, subs_seen;
  static int looked;
  lg_loader_look_t l = {0, 0, NULL};
  dl_iterate_phdr(lg_loader_object, &l);
  if (looked && l.adds == adds_seen && l.subs == subs_seen)
    return (unsigned long)l.subs;
  lg_ranges_t now = {0};
  l.into = &now;
  dl_iterate_phdr(lg_loader_object, &l);
  for (size_t i = 0; looked && i < lg_objs.n; i++)
    if (!lg_ranges_has(&now, lg_objs.v[i]))
      lg_ranges_add(&lg_gone, lg_objs.v[i]);
  for (size_t i = 0; looked && i < now.n; i++) {
    if (lg_ranges_has(&lg_objs, now.v[i]))
      continue;
    for (size_t k = 0; k < lg_gone.n; k++) {
      uintptr_t lo = now.v[i].lo > lg_gone.v[k].lo ? now.v[i].lo : lg_gone.v[k].lo;
      uintptr_t hi = now.v[i].hi < lg_gone.v[k].hi ? now.v[i].hi : lg_gone.v[k].hi;
      if (lo < hi)
        lg_ranges_add(&lg_reused, (lg_range_t){lo, hi, 0});
    }
  }
  lg_mem_free(lg_objs.v, lg_objs.cap * sizeof *lg_objs.v);
  lg_objs = now;
  adds_seen = l.adds;
  subs_seen = l.subs;
  looked = 1;
  return (unsigned long)l.subs;
}

/* The loader's count of unloads at the last refresh: entries made before it are not used. */
static unsigned long lg_sym_subs;

void lg_symbols_refresh(void) {
  /* An object unloaded since: its addresses may hold another one now (dlclose, then a dlopen
   * at the same place), so what was learned before is not looked at again, and the module
   * list is read anew. The old entries stay (reports made may still point at their names). */
  unsigned long subs = lg_loader_follow();
  if (subs != lg_sym_subs && lg_dwfl != NULL)
    lg_dwfl_open();
  lg_sym_subs = subs;
}

int lg_symbolize(uintptr_t pc, lg_symbol_t *out, int cap) {
  unsigned long subs = lg_sym_subs;
  size_t b = (pc >> 2) % LG_SYM_BUCKETS;
  lg_sym_entry_t *e;
  for (e = lg_sym_cache[b]; e != NULL; e = e->next)
    if (e->pc == pc && e->subs == subs)
      break;
  if (e == NULL) {
    e = lg_mem_alloc(sizeof(*e));
    if (e == NULL) {
      memset(out, 0, sizeof(*out));
      return 1;
    }
    if (lg_dwfl == NULL)
      lg_dwfl_open();
    e->pc = pc;
    e->subs = subs;
    e->n = lg_symbolize_fresh(pc, e->f);
    e->next = lg_sym_cache[b];
    lg_sym_cache[b] = e;
  }
  int n = e->n < cap ? e->n : cap;
  memcpy(out, e->f, (size_t)n * sizeof(*out));
  int reused = lg_in_reused(pc);
  for (int i = 0; i < n; i++)
    out[i].reused = reused;
  return n;
}

const char *lg_path_display(const char *file, char *buf, size_t cap) {
  if (file == NULL)
    return NULL;
  if (file[0] == '/' && getcwd(buf, cap) != NULL) {
    size_t n = strlen(buf);
    if (n > 1 && strncmp(file, buf, n) == 0 && file[n] == '/')
      return file + n + 1;
  }
  return file;
}
