/* hang_c11_lost_wakeup - a lost wakeup written with C11 <threads.h>.
 *
 * Checks: main signals `go` before the worker waits, with no flag to remember it; the worker
 * then waits on `go` forever (LINE:cnd_wait) and main joins it (LINE:thrd_join). glibc's C11
 * functions bypass the pthread ones, so lockgraph wraps them on their own: the waits must be
 * seen all the same.
 * Expected verdict: a hang report ("no progress") with the worker's condition wait and main's
 * join; "done" never printed; exit 66.
 */
#include <stdio.h>
#include <threads.h>

static mtx_t mu;
static cnd_t go;

static int worker(void *arg)
{
  (void)arg;
  mtx_lock(&mu);
  cnd_wait(&go, &mu); /* LINE:cnd_wait */
  mtx_unlock(&mu);
  return 0;
}

int main(void)
{
  thrd_t t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  mtx_init(&mu, mtx_plain);
  cnd_init(&go);
  mtx_lock(&mu);
  cnd_signal(&go); /* nobody waits yet: the wakeup is lost */
  mtx_unlock(&mu);
  thrd_create(&t, worker, NULL);
  printf("hang_c11_lost_wakeup: joining the worker\n");
  thrd_join(t, NULL); /* LINE:thrd_join */
  printf("hang_c11_lost_wakeup: done\n");
  return 0;
}
