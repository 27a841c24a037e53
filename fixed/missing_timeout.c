/* missing_timeout - waiting forever for a peer that never answers (lesson section 15).
 *
 * main sends N requests, one at a time, to a peer thread standing for an external service,
 * over a pipe, and reads each reply from another pipe (reply_wait, line 57). The peer
 * answers every request but the last, which needs an upstream that never answers (line 39:
 * a read from a pipe nobody writes to). The read of the reply has no timeout (lines 59-60,
 * marked BUG): "Never assume external work finishes", yet main waits for that reply
 * forever. Every thread then sits in an untimed wait (main and the peer in read); the
 * program bounds it with alarm(2) around each wait, whose handler prints the HAZARD line
 * after 2 s and exits 1. --hang leaves the alarm off: a real hang.
 *
 * The fix (fixed/) puts a deadline on every wait for the peer, poll(2) with
 * REPLY_TIMEOUT_MS, and an explicit error path (lines 59-61, marked FIX): the request that
 * got no answer is reported as timed out, the others were answered, and the program ends.
 *
 * Oracle: every request answered or reported as failed, within the bound.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hz_args.h"

#define HANG_BOUND_S 2        /* far longer than any reply takes; over the harness's wall budget */
#define REPLY_TIMEOUT_MS 200  /* the fix's deadline for one reply */

static int requests[2], replies[2], upstream[2]; /* pipes: [0] reads, [1] writes */
static long stuck_id;                            /* the request the peer never answers */

static void *peer(void *arg)
{
  long id;
  char c;
  while (read(requests[0], &id, sizeof id) == sizeof id) {
    if (id == stuck_id && read(upstream[0], &c, 1) != 1) /* waits for an upstream: forever */
      break;
    if (write(replies[1], &id, sizeof id) != sizeof id)
      break;
  }
  return arg;
}

static void on_alarm(int sig) /* the bound: async-signal-safe, the one line, exit 1 */
{
  static const char msg[] = "missing_timeout: HAZARD still waiting for a reply after 2 s: "
                            "a read with no timeout waits for a peer that never answers\n";
  ssize_t n = write(STDOUT_FILENO, msg, sizeof msg - 1);
  (void)sig, (void)n;
  _exit(1);
}

/* Waits for the reply to one request: 0, or a negative errno. */
static int reply_wait(long *id)
{
  struct pollfd p = {replies[0], POLLIN, 0};
  if (poll(&p, 1, REPLY_TIMEOUT_MS) == 0) /* FIX: a deadline on every wait for the peer */
    return -ETIMEDOUT;                     /* FIX: and an explicit error path */
  ssize_t n = read(replies[0], id, sizeof *id);
  return n == sizeof *id ? 0 : n < 0 ? -errno : -EPIPE;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"requests sent to the peer", 10, 2, true};
  hz_args_t a;
  pthread_t t;
  long answered = 0, failed = 0;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  stuck_id = a.size;
  if (pipe(requests) || pipe(replies) || pipe(upstream) || signal(SIGALRM, on_alarm) == SIG_ERR ||
      pthread_create(&t, NULL, peer, NULL)) {
    fprintf(stderr, "missing_timeout: cannot start the peer\n");
    return 2;
  }
  for (long id = 1; id <= a.size; id++) {
    long got = 0;
    if (write(requests[1], &id, sizeof id) != sizeof id)
      return 2;
    if (!a.hang)
      alarm(HANG_BOUND_S);
    int rc = reply_wait(&got);
    alarm(0);
    if (rc == 0 && got == id) {
      answered++;
    } else {
      failed++;
      fprintf(stderr, "missing_timeout: request %ld failed: %s\n", id, strerror(rc ? -rc : EIO));
    }
  }
  printf("missing_timeout: OK %ld of %ld requests answered, %ld reported as failed\n", answered,
         a.size, failed);
  return 0;
}
