/* lock_held_io - slow I/O while holding a lock others need (lesson sections 9 and 35).
 *
 * Recorders append records to a shared buffer under buf_lock; a flusher takes the batch out
 * of the buffer and writes it to a slow device (device_write: 100 ms per record, standing
 * for a disk or a network log). The flusher keeps buf_lock for the whole write (lines
 * 62-63, marked BUG), so every recorder that wants to add a record waits for the device:
 * "Jangan melakukan I/O lama sambil memegang lock" (do not do long I/O while holding a lock).
 * A semaphore starts the recorders once the flusher holds the batch (line 61), so they
 * always arrive during the write. The run finishes; the cost is the wait.
 *
 * The fix (fixed/) releases buf_lock as soon as the batch is copied out and writes it
 * afterwards (lines 62-63, marked FIX): the lock covers the copy, a few microseconds, and
 * the recorders never wait for the device.
 *
 * Oracle: the longest a recorder waited for buf_lock, measured from the moment the flusher
 * held the batch, against WAIT_BUDGET_MS (half of what one flush takes).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hz_args.h"

#define DEVICE_MS 100     /* one record's write to the slow device */
#define WAIT_BUDGET_MS 200 /* the longest a recorder may wait for buf_lock */

static pthread_mutex_t buf_lock = PTHREAD_MUTEX_INITIALIZER; /* guards buf and buf_len */
static long *buf, buf_len, batch_len, recorders;
static long longest_wait_ms; /* under buf_lock */
static struct timespec batch_taken;
static sem_t flushing; /* the flusher holds the batch: the recorders may come */

static long ms_since(const struct timespec *t0)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* One record to the slow device; the sleep is its latency. */
static void device_write(long record)
{
  struct timespec latency = {0, DEVICE_MS * 1000000L};
  (void)record;
  while (nanosleep(&latency, &latency) != 0) continue;
}

static void *flusher(void *arg)
{
  long *batch = malloc((size_t)batch_len * sizeof *batch), n;
  if (!batch)
    return NULL;
  pthread_mutex_lock(&buf_lock);
  n = buf_len;
  memcpy(batch, buf, (size_t)n * sizeof *batch); /* take the batch out of the buffer */
  buf_len = 0;
  clock_gettime(CLOCK_MONOTONIC, &batch_taken);
  for (long r = 0; r < recorders; r++) sem_post(&flushing);
  pthread_mutex_unlock(&buf_lock); /* FIX: released before the device, not after */
  for (long i = 0; i < n; i++) device_write(batch[i]); /* FIX: slow I/O, no lock held */
  free(batch);
  return arg;
}

static void *recorder(void *arg)
{
  while (sem_wait(&flushing) != 0) continue;
  pthread_mutex_lock(&buf_lock); /* waits as long as the flusher holds it */
  long waited = ms_since(&batch_taken);
  if (waited > longest_wait_ms)
    longest_wait_ms = waited;
  buf[buf_len++] = (long)(size_t)arg; /* record(...) */
  pthread_mutex_unlock(&buf_lock);
  return NULL;
}

int main(int argc, char **argv)
{
  const hz_args_spec_t spec = {"records in the batch the flusher writes", 4, 2, false};
  hz_args_t a;
  pthread_t f, *r;

  hz_args_parse_or_exit(&a, argc, argv, &spec);
  batch_len = a.size;
  recorders = a.threads;
  buf = calloc((size_t)(a.size + a.threads), sizeof *buf);
  r = calloc((size_t)a.threads, sizeof *r);
  for (buf_len = 0; buf && buf_len < a.size; buf_len++)
    buf[buf_len] = buf_len + 1; /* the records waiting to be flushed */
  long started = 0;
  if (sem_init(&flushing, 0, 0) != 0)
    r = NULL;
  while (r && buf && started < a.threads &&
         pthread_create(&r[started], NULL, recorder, (void *)(size_t)(started + 1)) == 0)
    started++;
  if (started < a.threads || pthread_create(&f, NULL, flusher, NULL)) {
    fprintf(stderr, "lock_held_io: cannot start the flusher and %ld recorders\n", a.threads);
    return 2;
  }
  pthread_join(f, NULL);
  for (long t = 0; t < a.threads; t++)
    pthread_join(r[t], NULL);
  free(buf);
  free(r);
  if (longest_wait_ms > WAIT_BUDGET_MS) {
    printf("lock_held_io: HAZARD a recorder waited %ld ms for buf_lock, over the %d ms budget: "
           "the flusher held it while writing %ld records to the device\n", longest_wait_ms,
           WAIT_BUDGET_MS, a.size);
    return 1;
  }
  printf("lock_held_io: OK the longest wait for buf_lock was %ld ms, within the %d ms budget\n",
         longest_wait_ms, WAIT_BUDGET_MS);
  return 0;
}
