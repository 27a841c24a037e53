/* coroutine_stack - lock-order inversion inside a coroutine on a small stack of the program's
 * own making (makecontext, swapcontext), outside the thread's stack the detector knows.
 *
 * Main takes a then b; then it switches to a coroutine whose 6 KiB stack comes from malloc,
 * which takes b (LINE:co_first) then a (LINE:co_second), and switches back.
 * The detector's stack capture must not run on that stack (libunwind needs more than it has
 * left: the capture overflowed it into the heap, and the program crashed in malloc later).
 * Expected verdict: a potential deadlock (a -> b -> a, one thread), "coroutine_stack: done",
 * exit 66.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#define CO_STACK 6144

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static ucontext_t main_ctx, co_ctx;

static void coroutine(void)
{
  pthread_mutex_lock(&b); /* LINE:co_first */
  pthread_mutex_lock(&a); /* LINE:co_second */
  pthread_mutex_unlock(&a);
  pthread_mutex_unlock(&b);
}

int main(void)
{
  pthread_mutex_lock(&a); /* LINE:main_first */
  pthread_mutex_lock(&b); /* LINE:main_second */
  pthread_mutex_unlock(&b);
  pthread_mutex_unlock(&a);
  char *stack = malloc(CO_STACK);
  if (stack == NULL || getcontext(&co_ctx) != 0)
    return 2;
  co_ctx.uc_stack.ss_sp = stack;
  co_ctx.uc_stack.ss_size = CO_STACK;
  co_ctx.uc_link = &main_ctx;
  makecontext(&co_ctx, coroutine, 0);
  if (swapcontext(&main_ctx, &co_ctx) != 0)
    return 2;
  free(stack);
  printf("coroutine_stack: done\n");
  return 0;
}
