/* quiet_waits - threads that wait a long time, and a program that is not hung.
 *
 *   quiet_waits consumer  a consumer waits on an empty queue (pthread_cond_wait) while the
 *                         producer works (a deadline-bound sleep per item), then takes every
 *                         item and the STOP
 *   quiet_waits pool      three pool threads idle in pthread_cond_wait while main sleeps with a
 *                         deadline; then main stops them
 *   quiet_waits server    a server thread blocks in accept on a loopback socket, two idle
 *                         workers in pthread_cond_wait, main in pthread_join; a client process
 *                         (forked) connects later, and everything ends
 *   quiet_waits daemon    two idle workers in pthread_cond_wait, main in sem_wait for a
 *                         shutdown that its SIGTERM handler posts; another process (forked)
 *                         sends the SIGTERM later: every thread of the program waits, and yet
 *                         the outside ends it
 *   quiet_waits daemon_sysv, daemon_iso, daemon_bsd, daemon_sigset
 *                         the same, the handler set by sysv_signal, __sysv_signal (what a strict
 *                         ISO C build's signal is), bsd_signal or sigset
 *   quiet_waits slow      a thread waits on a condition variable while holding `table`, and
 *                         main waits for `table`; a third thread, still working, signals the
 *                         condition later: slow, not hung (and a condition wait is not a
 *                         blocking call that makes a stall)
 * Run with watchdog_ms well below the waits. Every wait here lasts longer than watchdog_ms,
 * with locks held nowhere during it; in each case some thread can still end the waits (the
 * producer, main after its sleep, a client from outside the process).
 * Expected verdict: no report; "done" printed; exit 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP (-1)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int queue[8], head, queued, stop;

static void pause_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void *consumer(void *arg)
{
  int taken = 0;

  (void)arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (queued == 0)
      pthread_cond_wait(&changed, &mu);
    int item = queue[head++ % 8];
    queued--;
    if (item == STOP)
      break;
    taken++;
  }
  pthread_mutex_unlock(&mu);
  printf("quiet_waits: consumer took %d items\n", taken);
  return NULL;
}

static void put(int item)
{
  pthread_mutex_lock(&mu);
  queue[(head + queued++) % 8] = item;
  pthread_cond_signal(&changed);
  pthread_mutex_unlock(&mu);
}

static void *idler(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&mu);
  while (!stop)
    pthread_cond_wait(&changed, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void stop_all(void)
{
  pthread_mutex_lock(&mu);
  stop = 1;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&mu);
}

static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static sem_t held;

static void *table_holder(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&table);
  pthread_mutex_lock(&mu);
  sem_post(&held);
  while (!stop)
    pthread_cond_wait(&changed, &mu);
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&table);
  return NULL;
}

static void *late_signaller(void *arg)
{
  (void)arg;
  pause_ms(900); /* still working */
  stop_all();
  return NULL;
}

static sem_t shutdown_sem;

static void on_term(int sig)
{
  (void)sig;
  sem_post(&shutdown_sem); /* async-signal-safe */
}

static int listener;

static void *server(void *arg)
{
  (void)arg;
  int c = accept(listener, NULL, NULL);
  if (c >= 0)
    close(c);
  stop_all();
  return NULL;
}

/* glibc's name for a strict ISO C build's signal (its headers redirect signal there), and
 * BSD's signal, which glibc still exports but no longer declares in this mode. */
extern void (*__sysv_signal(int sig, void (*handler)(int)))(int);
extern void (*bsd_signal(int sig, void (*handler)(int)))(int);

/* Sets on_term for SIGTERM the way `how` says: "" sigaction, or the older calls. */
static int on_sigterm(const char *how)
{
  if (*how == '\0') {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGTERM, &sa, NULL);
  }
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* sigset: the point here */
  void (*prev)(int) = strcmp(how, "_sysv") == 0  ? sysv_signal(SIGTERM, on_term)
                      : strcmp(how, "_iso") == 0 ? __sysv_signal(SIGTERM, on_term)
                      : strcmp(how, "_bsd") == 0 ? bsd_signal(SIGTERM, on_term)
                      : strcmp(how, "_sigset") == 0 ? sigset(SIGTERM, on_term)
                                                    : SIG_ERR;
  return prev == SIG_ERR ? -1 : 0;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "consumer";
  pthread_t t[3];

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "consumer") == 0) {
    pthread_create(&t[0], NULL, consumer, NULL);
    for (int i = 0; i < 3; i++) {
      pause_ms(300); /* the work of one item */
      put(i);
    }
    put(STOP);
    pthread_join(t[0], NULL);
  } else if (strcmp(mode, "pool") == 0) {
    for (int i = 0; i < 3; i++)
      pthread_create(&t[i], NULL, idler, NULL);
    pause_ms(900);
    stop_all();
    for (int i = 0; i < 3; i++)
      pthread_join(t[i], NULL);
  } else if (strncmp(mode, "daemon", 6) == 0) {
    sem_init(&shutdown_sem, 0, 0);
    if (on_sigterm(mode + 6) != 0)
      return 1;
    for (int i = 0; i < 2; i++)
      pthread_create(&t[i], NULL, idler, NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
      pause_ms(900); /* an operator stopping the daemon, later */
      _exit(kill(parent, SIGTERM) == 0 ? 0 : 1);
    }
    while (sem_wait(&shutdown_sem) != 0) /* EINTR when the signal comes */
      ;
    stop_all();
    for (int i = 0; i < 2; i++)
      pthread_join(t[i], NULL);
    int status = 1;
    waitpid(pid, &status, 0);
    printf("quiet_waits: stopped by SIGTERM\n");
  } else if (strcmp(mode, "slow") == 0) {
    sem_init(&held, 0, 0);
    pthread_create(&t[0], NULL, table_holder, NULL);
    sem_wait(&held);
    pthread_create(&t[1], NULL, late_signaller, NULL);
    pthread_mutex_lock(&table); /* waits until the holder is signalled */
    pthread_mutex_unlock(&table);
    for (int i = 0; i < 2; i++)
      pthread_join(t[i], NULL);
  } else {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(listener, 1) != 0 || getsockname(listener, (struct sockaddr *)&a, &len) != 0)
      return 1;
    pid_t pid = fork();
    if (pid == 0) {
      pause_ms(900); /* a client that comes later */
      int s = socket(AF_INET, SOCK_STREAM, 0);
      int rc = s >= 0 ? connect(s, (struct sockaddr *)&a, sizeof a) : -1;
      _exit(rc == 0 ? 0 : 1);
    }
    for (int i = 0; i < 2; i++)
      pthread_create(&t[i], NULL, idler, NULL);
    pthread_create(&t[2], NULL, server, NULL);
    for (int i = 0; i < 3; i++)
      pthread_join(t[i], NULL);
    int status = 1;
    waitpid(pid, &status, 0);
    printf("quiet_waits: client exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  printf("quiet_waits: done\n");
  return 0;
}
