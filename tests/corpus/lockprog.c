/* lockprog - runs a lock program described in a file: the interpreter behind the randomized
 * test of the whole detector (tests/test_lockgraph_accuracy.c) and its kept cases.
 *
 * Checks: nothing by itself; it makes the lock calls a description asks for, in an order that
 * never blocks, so the detector's verdict depends only on the orders, modes, gates and
 * create/join structure, which the test's brute-force model judges from the same file.
 *
 * The description, one command per line:
 *   locks <kinds>        one character per lock: m mutex, r rwlock, s spinlock
 *   thread <t> <ops>     the operations of thread t (1..15), run when it is created
 *   main <ops>           operations run by main at this point
 *   create <t>           main creates thread t, then waits (on a semaphore, which is not a
 *                        happens-before event for the detector) until t has run all its
 *                        operations: one thread runs at a time, so nothing ever blocks and
 *                        every trylock succeeds
 *   join <t>             main joins thread t
 *   reinit <i>           main destroys lock i and initializes it again (a new lock at the
 *                        same address); nobody holds it then
 * Operations, separated by spaces: +<i><m> acquires lock i, -<i> releases it. Modes m: w
 * blocking exclusive (mutex lock, spin lock, wrlock), r rdlock, t trylock (mutex, spin) or
 * trywrlock, u tryrdlock, d timedlock (mutex) or timedwrlock. Every actor releases what it
 * took before its line ends.
 * Prints "lockprog: lock <i> <address>" for every lock, then "lockprog: done"; exits 1 with
 * one line naming the problem on a bad description or a failed lock call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LOCKS 32
#define MAX_THREADS 16

typedef struct {
  char kind;
  pthread_mutex_t mu;
  pthread_rwlock_t rw;
  pthread_spinlock_t spin;
} plock_t;

static plock_t locks[MAX_LOCKS];
static int nlocks;
static char *thread_ops[MAX_THREADS];
static pthread_t threads[MAX_THREADS];
static sem_t ran;

static void fail(const char *what, const char *detail)
{
  fprintf(stderr, "lockprog: %s: %s\n", what, detail);
  exit(1);
}

static void deadline(struct timespec *ts)
{
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_sec += 10;
}

static void acquire(int i, char mode)
{
  plock_t *l = &locks[i];
  struct timespec ts;
  int rc = 0;
  switch (l->kind) {
  case 'm':
    if (mode == 'w')
      rc = pthread_mutex_lock(&l->mu);
    else if (mode == 't')
      rc = pthread_mutex_trylock(&l->mu);
    else if (mode == 'd')
      deadline(&ts), rc = pthread_mutex_timedlock(&l->mu, &ts);
    else
      fail("bad mode for a mutex", (char[]){mode, 0});
    break;
  case 'r':
    if (mode == 'w')
      rc = pthread_rwlock_wrlock(&l->rw);
    else if (mode == 'r')
      rc = pthread_rwlock_rdlock(&l->rw);
    else if (mode == 't')
      rc = pthread_rwlock_trywrlock(&l->rw);
    else if (mode == 'u')
      rc = pthread_rwlock_tryrdlock(&l->rw);
    else if (mode == 'd')
      deadline(&ts), rc = pthread_rwlock_timedwrlock(&l->rw, &ts);
    else
      fail("bad mode for a rwlock", (char[]){mode, 0});
    break;
  default:
    if (mode == 'w')
      rc = pthread_spin_lock(&l->spin);
    else if (mode == 't')
      rc = pthread_spin_trylock(&l->spin);
    else
      fail("bad mode for a spinlock", (char[]){mode, 0});
  }
  if (rc != 0)
    fail("lock call failed", strerror(rc));
}

static void release(int i)
{
  plock_t *l = &locks[i];
  int rc = l->kind == 'm' ? pthread_mutex_unlock(&l->mu)
           : l->kind == 'r' ? pthread_rwlock_unlock(&l->rw)
                            : pthread_spin_unlock(&l->spin);
  if (rc != 0)
    fail("unlock failed", strerror(rc));
}

static void run_ops(const char *ops)
{
  const char *p = ops;
  while (*p) {
    while (*p == ' ')
      p++;
    if (!*p)
      break;
    char op = *p++;
    char *end;
    long i = strtol(p, &end, 10);
    if (end == p || i < 0 || i >= nlocks || (op != '+' && op != '-'))
      fail("bad operation", ops);
    p = end;
    if (op == '+')
      acquire((int)i, *p ? *p++ : 'w');
    else
      release((int)i);
  }
}

static void *thread_main(void *arg)
{
  run_ops((const char *)arg);
  sem_post(&ran);
  return NULL;
}

static int thread_index(const char *s)
{
  int t = atoi(s);
  if (t <= 0 || t >= MAX_THREADS)
    fail("bad thread number", s);
  return t;
}

int main(int argc, char **argv)
{
  char line[4096];
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2)
    fail("usage", "lockprog <description file>");
  FILE *f = fopen(argv[1], "r");
  if (f == NULL)
    fail(argv[1], strerror(errno));
  sem_init(&ran, 0, 0);
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    char *arg = strchr(line, ' ');
    if (arg != NULL)
      *arg++ = '\0';
    else
      arg = line + strlen(line);
    if (line[0] == '\0' || line[0] == '#')
      continue;
    if (strcmp(line, "locks") == 0) {
      nlocks = (int)strlen(arg);
      if (nlocks > MAX_LOCKS)
        fail("too many locks", arg);
      for (int i = 0; i < nlocks; i++) {
        locks[i].kind = arg[i];
        pthread_mutex_init(&locks[i].mu, NULL);
        pthread_rwlock_init(&locks[i].rw, NULL);
        pthread_spin_init(&locks[i].spin, PTHREAD_PROCESS_PRIVATE);
        void *addr = arg[i] == 'm' ? (void *)&locks[i].mu
                     : arg[i] == 'r' ? (void *)&locks[i].rw
                                     : (void *)&locks[i].spin;
        printf("lockprog: lock %d %p\n", i, addr);
      }
    } else if (strcmp(line, "thread") == 0) {
      char *ops = strchr(arg, ' ');
      int t = thread_index(arg);
      thread_ops[t] = strdup(ops ? ops + 1 : "");
    } else if (strcmp(line, "main") == 0) {
      run_ops(arg);
    } else if (strcmp(line, "create") == 0) {
      int t = thread_index(arg);
      if (thread_ops[t] == NULL)
        fail("create of a thread without operations", arg);
      int rc = pthread_create(&threads[t], NULL, thread_main, thread_ops[t]);
      if (rc != 0)
        fail("pthread_create", strerror(rc));
      while (sem_wait(&ran) != 0)
        ;
    } else if (strcmp(line, "reinit") == 0) {
      int i = atoi(arg);
      if (i < 0 || i >= nlocks)
        fail("bad lock number", arg);
      int rc = locks[i].kind == 'm'   ? pthread_mutex_destroy(&locks[i].mu)
               : locks[i].kind == 'r' ? pthread_rwlock_destroy(&locks[i].rw)
                                      : pthread_spin_destroy(&locks[i].spin);
      if (rc == 0)
        rc = locks[i].kind == 'm'   ? pthread_mutex_init(&locks[i].mu, NULL)
             : locks[i].kind == 'r' ? pthread_rwlock_init(&locks[i].rw, NULL)
                                    : pthread_spin_init(&locks[i].spin, PTHREAD_PROCESS_PRIVATE);
      if (rc != 0)
        fail("reinit failed", strerror(rc));
    } else if (strcmp(line, "join") == 0) {
      int rc = pthread_join(threads[thread_index(arg)], NULL);
      if (rc != 0)
        fail("pthread_join", strerror(rc));
    } else {
      fail("unknown command", line);
    }
  }
  fclose(f);
  printf("lockprog: done\n");
  return 0;
}
