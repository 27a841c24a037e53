/* cli.c - `lockgraph [options] -- prog args`: runs a program under liblockgraph.so.
 *
 * The flags map onto the LOCKGRAPH_OPTIONS string and are validated by the same parser the
 * library uses, so both paths accept and refuse the same things with the same words. Report
 * paths are checked (and truncated: one run, one report file) before the program starts; an
 * error is one `lockgraph:` line and exit status 2, and the program is not run. The library is
 * found relative to this executable, never by an absolute path fixed at build time, so an
 * installed tree still works after it is moved: <bin>/../lib/lockgraph/liblockgraph.so in an
 * installed tree, <bin>/../lib/liblockgraph.so in the build tree. It is prepended to
 * LD_PRELOAD, and the program replaces this process (execvp), so its exit status is the run's.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockgraph.h"
#include "options.h"

typedef struct cli_flag {
  const char *flag; /* --json */
  const char *key;  /* json */
  const char *arg;  /* FILE */
  const char *help;
} cli_flag_t;

static const cli_flag_t cli_flags[] = {
    {"--json", "json", "FILE", "also write reports as JSON Lines to FILE (truncated first)"},
    {"--log", "log", "FILE", "write text reports to FILE instead of stderr (truncated first)"},
    {"--watchdog", "watchdog_ms", "MS",
     "end a real deadlock or hang once threads waited MS ms; 0 = off"},
    {"--suppressions", "suppressions", "FILE", "hide reports matching '<type>:<glob>' lines"},
    {"--exitcode", "exitcode", "N", "exit status when anything was reported, 0..255"},
    {"--stack-depth", "stack_depth", "N", "frames kept per stack, 1..64"},
    {"--verbosity", "verbosity", "N",
     "exit summary: 0 never, 1 after reports, 2 always, 3 also memory"},
    {"--sarif", "sarif", "FILE", "also write reports as a SARIF 2.1.0 log to FILE, at the end"},
    {"--halt-on-error", "halt_on_error", "N", "1: a lock misuse report ends the run; 0: go on"},
    {"--stall", "stall_ms", "MS",
     "report a lock held across a blocking call once another thread waited MS ms for it; 0 = off"},
};
#define CLI_NFLAGS (sizeof cli_flags / sizeof cli_flags[0])

static void cli_usage(FILE *out) {
  lg_options_t d;
  lg_options_defaults(&d);
  char defaults[CLI_NFLAGS][32];
  snprintf(defaults[0], 32, "none");
  snprintf(defaults[1], 32, "stderr");
  snprintf(defaults[2], 32, "%u", d.watchdog_ms);
  snprintf(defaults[3], 32, "none");
  snprintf(defaults[4], 32, "%d", d.exitcode);
  snprintf(defaults[5], 32, "%u", d.stack_depth);
  snprintf(defaults[6], 32, "%u", d.verbosity);
  snprintf(defaults[7], 32, "none");
  snprintf(defaults[8], 32, "%u", d.halt_on_error);
  snprintf(defaults[9], 32, "%u", d.stall_ms);
  fprintf(out,
          "usage: lockgraph [options] -- program [args...]\n"
          "\n"
          "Runs the program with liblockgraph.so preloaded: reports lock-order cycles (potential\n"
          "deadlocks), deadlocks that happen (ended by a watchdog instead of hanging) and\n"
          "self-deadlocks, each as soon as it is found, and lock misuse (bad unlocks, destroyed\n"
          "or uninitialized locks, condition variable misuse) without ending the run. When\n"
          "the program reported anything (it, or what it exec'd: the programs it runs report\n"
          "and exit on their own) the run exits with the exit code below, else with the\n"
          "program's own status. A run with nothing to report prints nothing\n"
          "(--verbosity 2: a summary line always).\n"
          "Also: hangs with no lock cycle (a join in a cycle with locks; every thread blocked in\n"
          "a wait only another of its threads could end: condition variables, semaphores, joins,\n"
          "pipes), ended like a deadlock; stalls (a lock held across a blocking call such as\n"
          "sleep or I/O while another thread waits for it); locks held at thread exit; and, in a\n"
          "forked child, locks another thread held at the fork.\n"
          "Their suppression types: hang, stall, exit, fork.\n"
          "\n"
          "options (LOCKGRAPH_OPTIONS key in brackets; default after the text):\n");
  for (size_t i = 0; i < CLI_NFLAGS; i++) {
    char left[64];
    snprintf(left, sizeof left, "%s %s", cli_flags[i].flag, cli_flags[i].arg);
    fprintf(out, "  %-22s %s [%s] (default: %s)\n", left, cli_flags[i].help, cli_flags[i].key,
            defaults[i]);
  }
  fprintf(out,
          "  %-22s this text\n"
          "  %-22s the version\n"
          "\n"
          "Without the front end: LD_PRELOAD=.../liblockgraph.so "
          "LOCKGRAPH_OPTIONS=\"json=r.json:watchdog_ms=2000\" program args\n"
          "(then log and json files are appended to, not truncated: every process of the run\n"
          "opens them; give absolute paths for a program that runs others from bash or make)\n"
          "Exit status of lockgraph itself: 2 for a bad option or report path, or a program\n"
          "the library cannot be preloaded into (statically linked, 32-bit, set-user-ID):\n"
          "it would run unchecked; 127 when the program cannot be found, 126 when it cannot\n"
          "be run.\n",
          "--help", "--version");
}

static void cli_fail(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "lockgraph: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  exit(2);
}

/* Appends key=value to spec. */
static void cli_spec_add(char *spec, size_t cap, const char *key, const char *value) {
  size_t n = strlen(spec);
  if (snprintf(spec + n, cap - n, "%s%s=%s", n ? ":" : "", key, value) >= (int)(cap - n))
    cli_fail("the options (LOCKGRAPH_OPTIONS and the flags) are too long, at %s=; %s", key,
             "give fewer or shorter ones");
}

/* A report path the run will write: a file is created empty now (a stale report from an
 * earlier run must not pass for this one's); a character device (/dev/null, a terminal) is
 * only checked, never truncated; a FIFO is left for the runtime, which opens it without
 * waiting (opened and closed here, it would send its reader an end of file); a directory or
 * socket is refused, as is a FIFO for the SARIF log, which replaces its file at the end. */
static void cli_check_writable(const char *path, int sarif) {
  int kind = lg_path_kind(path);
  if (kind == LG_PATH_UNFIT || (sarif && kind == LG_PATH_FIFO))
    cli_fail("cannot write report to %s: not a regular file (a directory, FIFO or socket); %s",
             path, "give a file's path");
  if (kind == LG_PATH_FIFO)
    return;
  int create = kind == LG_PATH_DEVICE ? 0 : O_CREAT | O_TRUNC;
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK | create, 0644);
  if (fd < 0)
    cli_fail("cannot write report to %s: %s; choose a writable path", path, strerror(errno));
  close(fd);
}

/* Every process of the run must write to the same report files: the paths go to the program
 * absolute (a process that changes directory still finds them), and with --sarif but no
 * --json, so does the scratch JSON Lines file the SARIF log is made from, named for the
 * program (it is executed here: same pid) and created empty. In the environment the program
 * starts with: a program that builds its children's environment from main's envp (bash, make)
 * never passes on what the library changes at start-up. Later keys override earlier ones. */
static void cli_share_reports(char *spec, size_t cap, const lg_options_t *o) {
  const char *key[] = {"log", "json", "sarif"};
  const char *path[] = {o->log_path, o->json_path, o->sarif_path};
  static char abs[3][LG_PATH_MAX]; /* what an option's value may hold */
  for (size_t k = 0; k < 3; k++) {
    if (path[k][0] == '\0')
      continue;
    if (lg_path_absolute(path[k], abs[k], sizeof abs[k]) != 0)
      cli_fail("%s: its absolute path is too long for the programs of the run; %s", path[k],
               "give a shorter path");
    if (strchr(abs[k], ':') != NULL)
      cli_fail("%s: its absolute path %s has a ':', which LOCKGRAPH_OPTIONS cannot carry; give "
               "a path without one", path[k], abs[k]);
  }
  /* Two reports in one file (by any two spellings: each exists by now, cli_check_writable
   * made it): the SARIF log would replace the other at the end, and text in the JSON file
   * makes it no JSON Lines. A device (/dev/null) may take several. */
  for (size_t i = 0; i < 3; i++)
    for (size_t j = i + 1; j < 3; j++) {
      struct stat a, b;
      if (path[i][0] != '\0' && path[j][0] != '\0' && stat(abs[i], &a) == 0 &&
          stat(abs[j], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
          !S_ISCHR(a.st_mode)) {
        char both[32];
        snprintf(both, sizeof both, "--%s and --%s", key[i], key[j]);
        cli_fail("%s name the same file (%s); give each report its own", both, path[i]);
      }
    }
  for (size_t k = 0; k < 3; k++)
    if (path[k][0] != '\0')
      cli_spec_add(spec, cap, key[k], abs[k]);
  char scratch[LG_PATH_MAX];
  if (o->sarif_path[0] != '\0' && o->json_path[0] == '\0') {
    if (lg_sarif_scratch_name(scratch, sizeof scratch, (long)getpid()) != 0 ||
        strchr(scratch, ':') != NULL)
      cli_fail("--sarif: the scratch file of the log cannot be named in $TMPDIR (too long, or "
               "with a ':'); %s%s", "set TMPDIR to a shorter path without one", "");
    cli_check_writable(scratch, 0);
    cli_spec_add(spec, cap, "json", scratch);
  }
}

/* liblockgraph.so relative to this executable: the installed layout first, then the build tree's.
 * On failure `out` holds the first place looked at, for the error message. */
static int cli_find_library(char *out, size_t cap) {
  static const char *const rel[] = {"../lib/lockgraph/liblockgraph.so", "../lib/liblockgraph.so"};
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    snprintf(out, cap, "/proc/self/exe: %s", strerror(errno));
    return -1;
  }
  self[n] = '\0';
  char *dir = dirname(self);
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
    char candidate[PATH_MAX], resolved[PATH_MAX];
    snprintf(candidate, sizeof candidate, "%s/%s", dir, rel[i]);
    if (i == 0)
      snprintf(out, cap, "%s", candidate);
    if (realpath(candidate, resolved) != NULL && access(resolved, R_OK) == 0) {
      snprintf(out, cap, "%s", resolved);
      return 0;
    }
  }
  return -1;
}

/* The file execvp would run for `prog`: prog itself when it names a path, else the first
 * executable regular file of that name in PATH. 0, or -1 when there is none (execvp then says
 * why). */
static int cli_resolve(const char *prog, char *out, size_t cap) {
  if (strchr(prog, '/') != NULL) {
    snprintf(out, cap, "%s", prog);
    return 0;
  }
  const char *path = getenv("PATH");
  if (path == NULL || *path == '\0')
    path = "/bin:/usr/bin";
  for (const char *p = path; *p != '\0';) {
    const char *colon = strchr(p, ':');
    size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);
    struct stat st;
    snprintf(out, cap, "%.*s%s%s", (int)len, p, len ? "/" : "", prog);
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
      return 0;
    p += len + (colon != NULL);
  }
  return -1;
}

#define CLI_PHDR_MAX 64 /* program headers read; a program with more is not looked into */

/* The soname of AddressSanitizer's runtime when the 64-bit ELF open on fd (program headers
 * ph[0..n-1]) needs it (a DT_NEEDED entry libasan.so*), into out; else out is "". ASan refuses
 * to start unless its runtime comes first among the preloaded libraries. */
static void cli_asan_runtime(int fd, const Elf64_Phdr *ph, unsigned n, char *out, size_t cap) {
  const Elf64_Phdr *dyn = NULL;
  out[0] = '\0';
  for (unsigned k = 0; k < n && dyn == NULL; k++)
    if (ph[k].p_type == PT_DYNAMIC)
      dyn = &ph[k];
  if (dyn == NULL)
    return;
  uint64_t strtab = 0, needed[32];
  unsigned nneeded = 0;
  for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= dyn->p_filesz; off += sizeof(Elf64_Dyn)) {
    Elf64_Dyn d;
    if (pread(fd, &d, sizeof d, (off_t)(dyn->p_offset + off)) != (ssize_t)sizeof d ||
        d.d_tag == DT_NULL)
      break;
    if (d.d_tag == DT_STRTAB)
      strtab = d.d_un.d_ptr;
    else if (d.d_tag == DT_NEEDED && nneeded < sizeof needed / sizeof needed[0])
      needed[nneeded++] = d.d_un.d_val;
  }
  /* The string table's file offset: through the PT_LOAD segment that maps it. */
  for (unsigned k = 0; k < n; k++) {
    if (ph[k].p_type != PT_LOAD || strtab < ph[k].p_vaddr ||
        strtab >= ph[k].p_vaddr + ph[k].p_filesz)
      continue;
    uint64_t base = ph[k].p_offset + (strtab - ph[k].p_vaddr);
    for (unsigned j = 0; j < nneeded; j++) {
      char name[64] = "";
      if (pread(fd, name, sizeof name - 1, (off_t)(base + needed[j])) > 0 &&
          strncmp(name, "libasan.so", 10) == 0 && strlen(name) < cap) {
        snprintf(out, cap, "%s", name);
        return;
      }
    }
  }
}

/* Refuses a program the library cannot be preloaded into, where the run would check nothing
 * and say nothing: a statically linked ELF (no PT_INTERP: no dynamic loader to read
 * LD_PRELOAD), a 32-bit one (the library is 64-bit; the loader skips it with a warning), and a
 * set-user-ID or set-group-ID one that changes this user's identity (the loader ignores
 * LD_PRELOAD then). A script, an unreadable file or anything else goes on to execvp. For a
 * program built with AddressSanitizer, asan gets its runtime's soname (else ""). */
static void cli_check_program(const char *prog, char *asan, size_t cap) {
  char path[PATH_MAX];
  struct stat st;
  asan[0] = '\0';
  if (cli_resolve(prog, path, sizeof path) != 0 || stat(path, &st) != 0)
    return;
  if (((st.st_mode & S_ISUID) && st.st_uid != getuid()) ||
      ((st.st_mode & S_ISGID) && st.st_gid != getgid()))
    cli_fail("%s is set-user-ID or set-group-ID: the dynamic loader ignores LD_PRELOAD for it, "
             "so nothing would be checked; run a copy without that bit%s", path, "");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  Elf64_Ehdr eh;
  int is_elf = read(fd, &eh, sizeof eh) == (ssize_t)sizeof eh &&
               memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0;
  if (is_elf && eh.e_ident[EI_CLASS] == ELFCLASS32) {
    close(fd);
    cli_fail("%s is a 32-bit program: liblockgraph.so is 64-bit and cannot be preloaded into it, "
             "so nothing would be checked; build it for 64 bits%s", path, "");
  }
  Elf64_Phdr ph[CLI_PHDR_MAX];
  size_t bytes = (size_t)eh.e_phnum * sizeof ph[0];
  int readable = is_elf && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
                 eh.e_phentsize == sizeof ph[0] && eh.e_phnum > 0 && eh.e_phnum <= CLI_PHDR_MAX &&
                 pread(fd, ph, bytes, (off_t)eh.e_phoff) == (ssize_t)bytes;
  int interp = 0;
  for (unsigned k = 0; readable && k < eh.e_phnum && !interp; k++)
    interp = ph[k].p_type == PT_INTERP;
  if (readable && interp)
    cli_asan_runtime(fd, ph, eh.e_phnum, asan, cap);
  close(fd);
  if (readable && !interp && (eh.e_type == ET_EXEC || eh.e_type == ET_DYN))
    cli_fail("%s is statically linked: there is no dynamic loader to preload liblockgraph.so "
             "into it, so nothing would be checked; link it dynamically (without -static)%s",
             path, "");
}

int main(int argc, char **argv) {
  static char spec[8 * LG_PATH_MAX];
  const char *env = getenv("LOCKGRAPH_OPTIONS");
  snprintf(spec, sizeof spec, "%s", env ? env : "");
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      cli_usage(stdout);
      return 0;
    }
    if (strcmp(a, "--version") == 0) {
      printf("lockgraph %s\n", LG_VERSION);
      return 0;
    }
    if (a[0] != '-')
      break; /* the program, without a "--" */
    const cli_flag_t *f = NULL;
    const char *value = NULL;
    for (size_t k = 0; k < CLI_NFLAGS && f == NULL; k++) {
      size_t len = strlen(cli_flags[k].flag);
      if (strncmp(a, cli_flags[k].flag, len) == 0 && (a[len] == '\0' || a[len] == '=')) {
        f = &cli_flags[k];
        value = a[len] == '=' ? a + len + 1 : NULL;
      }
    }
    if (f == NULL)
      cli_fail("unknown option '%s'%s (see lockgraph --help)", a, "");
    if (value == NULL) {
      /* "--" ends the options: never a value (it would be taken as a file name, and the
       * program's report written into a file called "--") */
      if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
        cli_fail("%s needs a value (%s)", f->flag, f->arg);
      value = argv[++i];
    }
    if (strchr(value, ':') != NULL)
      cli_fail("%s %s: a ':' cannot be passed through LOCKGRAPH_OPTIONS; use another path", f->flag,
               value);
    cli_spec_add(spec, sizeof spec, f->key, value);
  }
  if (i >= argc) {
    fprintf(stderr, "lockgraph: no program to run\n");
    cli_usage(stderr);
    return 2;
  }

  lg_options_t o;
  lg_options_defaults(&o);
  char err[512];
  if (lg_options_parse(&o, spec, err, sizeof err) != 0)
    cli_fail("%s%s", err, "");
  if (o.suppressions_path[0]) {
    lg_suppressions_t *s = lg_suppressions_load(o.suppressions_path, err, sizeof err);
    if (s == NULL)
      cli_fail("%s%s", err, "");
    lg_suppressions_free(s);
  }
  if (o.json_path[0])
    cli_check_writable(o.json_path, 0);
  if (o.log_path[0])
    cli_check_writable(o.log_path, 0);
  if (o.sarif_path[0])
    cli_check_writable(o.sarif_path, 1);
  cli_share_reports(spec, sizeof spec, &o);

  char lib[PATH_MAX];
  if (cli_find_library(lib, sizeof lib) != 0)
    cli_fail("cannot find liblockgraph.so next to this program (looked at %s and ../lib/); "
             "reinstall lockgraph%s", lib, "");
  char asan[64];
  cli_check_program(argv[i], asan, sizeof asan);
  const char *old = getenv("LD_PRELOAD");
  static char preload[PATH_MAX + 8192];
  /* A program built with AddressSanitizer: its runtime first (ASan requires it; lockgraph's
   * wrappers are then what ASan's interceptors call on to). */
  snprintf(preload, sizeof preload, "%s%s%s%s%s", asan, asan[0] ? ":" : "", lib,
           old && *old ? ":" : "", old && *old ? old : "");
  setenv("LD_PRELOAD", preload, 1);
  setenv("LOCKGRAPH_OPTIONS", spec, 1);
  execvp(argv[i], &argv[i]);
  int e = errno;
  fprintf(stderr, "lockgraph: cannot run %s: %s\n", argv[i], strerror(e));
  return e == ENOENT || e == ENOTDIR ? 127 : 126;
}
