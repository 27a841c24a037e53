/* misuse_c11 - the lock misuse of misuse_unlock, misuse_destroy, misuse_init_locked and
 * misuse_condvar, made with C11 <threads.h> mtx_t and cnd_t: glibc implements them by its
 * internal pthread calls, past the pthread wrappers, so the C11 wrappers must check them too.
 *
 *   misuse_c11 unlock_unlocked   mtx_unlock of a mtx nobody holds (LINE:unlock_unlocked)
 *   misuse_c11 unlock_other      main locks (LINE:other_lock), a thread unlocks (LINE:other_unlock)
 *   misuse_c11 destroy_held      mtx_destroy of a mtx main holds (LINE:destroy_held)
 *   misuse_c11 lock_destroyed    mtx_lock after mtx_destroy (LINE:destroy, LINE:lock_destroyed)
 *   misuse_c11 init_held         mtx_init of a mtx main holds (LINE:init_held)
 *   misuse_c11 wait_unheld       cnd_timedwait with a mtx main does not hold (LINE:wait_unheld)
 *   misuse_c11 handoff           main locks M (LINE:handoff_lock), a thread unlocks it
 *                                (LINE:handoff), then main takes N alone and a second thread
 *                                takes N then M: M was not held when main took N, so no cycle
 * Expected verdict: one report of the misuse's kind, at its LINE: markers, and nothing else
 * (handoff: the bad unlock, no potential deadlock); the program runs to its end ("misuse_c11:
 * done"); exit 66.
 */
#include <stdio.h>
#include <string.h>
#include <threads.h>
#include <time.h>

static mtx_t m, n;
static cnd_t cv;

static int unlock_m(void *arg)
{
  (void)arg;
  mtx_unlock(&m); /* LINE:other_unlock */
  return 0;
}

static int hand_off(void *arg)
{
  (void)arg;
  mtx_unlock(&m); /* LINE:handoff */
  return 0;
}

static int n_then_m(void *arg)
{
  (void)arg;
  mtx_lock(&n);
  mtx_lock(&m);
  mtx_unlock(&m);
  mtx_unlock(&n);
  return 0;
}

static int run_in_thread(thrd_start_t fn)
{
  thrd_t t;
  return thrd_create(&t, fn, NULL) == thrd_success && thrd_join(t, NULL) == thrd_success ? 0 : -1;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  if (mtx_init(&m, mtx_plain) != thrd_success || mtx_init(&n, mtx_plain) != thrd_success ||
      cnd_init(&cv) != thrd_success)
    return 2;
  if (strcmp(mode, "unlock_unlocked") == 0) {
    mtx_unlock(&m); /* LINE:unlock_unlocked */
  } else if (strcmp(mode, "unlock_other") == 0) {
    mtx_lock(&m); /* LINE:other_lock */
    if (run_in_thread(unlock_m) != 0)
      return 2;
  } else if (strcmp(mode, "destroy_held") == 0) {
    mtx_lock(&m); /* LINE:held_lock */
    mtx_destroy(&m); /* LINE:destroy_held */
    mtx_unlock(&m);
  } else if (strcmp(mode, "lock_destroyed") == 0) {
    mtx_destroy(&m); /* LINE:destroy */
    if (mtx_lock(&m) == thrd_success) /* LINE:lock_destroyed */
      mtx_unlock(&m);
  } else if (strcmp(mode, "init_held") == 0) {
    mtx_lock(&m); /* LINE:held_lock_init */
    mtx_init(&m, mtx_plain); /* LINE:init_held */
  } else if (strcmp(mode, "wait_unheld") == 0) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    ts.tv_nsec += 1000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    if (cnd_timedwait(&cv, &m, &ts) != thrd_error) /* LINE:wait_unheld */
      mtx_unlock(&m); /* glibc took it for the caller */
  } else if (strcmp(mode, "handoff") == 0) {
    mtx_lock(&m); /* LINE:handoff_lock */
    if (run_in_thread(hand_off) != 0)
      return 2;
    mtx_lock(&n);
    mtx_unlock(&n);
    if (run_in_thread(n_then_m) != 0)
      return 2;
  } else {
    fprintf(stderr, "usage: misuse_c11 unlock_unlocked|unlock_other|destroy_held|"
                    "lock_destroyed|init_held|wait_unheld|handoff\n");
    return 2;
  }
  printf("misuse_c11: done\n");
  return 0;
}
