/* cxx_mangled_frames - a C++ inversion in a program that never loads libstdc++.
 *
 * Checks: the functions have C++ linkage (a namespace, overloads, a class method), so their
 * symbols are mangled (_ZN...); the program uses no libstdc++ facility, so nothing loads the
 * demangler for the detector. Frames must still print demangled: "ledger::move_funds(int)",
 * not "_ZN6ledger10move_fundsEi". Sequenced by a semaphore: never hangs.
 * Expected verdict: one potential deadlock, a cycle of 2 mutexes, its stacks naming
 * ledger::move_funds(int) and ledger::Account::audit(long) demangled; exit 66.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

namespace ledger {

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static sem_t first_done;

void move_funds(int amount)
{
  pthread_mutex_lock(&lock_a); /* LINE:ab_first */
  pthread_mutex_lock(&lock_b); /* LINE:ab_second */
  (void)amount;
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  sem_post(&first_done);
}

struct Account {
  void audit(long when)
  {
    sem_wait(&first_done);
    pthread_mutex_lock(&lock_b); /* LINE:ba_first */
    pthread_mutex_lock(&lock_a); /* LINE:ba_second */
    (void)when;
    pthread_mutex_unlock(&lock_a);
    pthread_mutex_unlock(&lock_b);
  }
};

void *run_move(void *)
{
  move_funds(5);
  return nullptr;
}

void *run_audit(void *)
{
  Account acct;
  acct.audit(7);
  return nullptr;
}

} // namespace ledger

int main()
{
  pthread_t t1, t2;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  sem_init(&ledger::first_done, 0, 0);
  pthread_create(&t1, nullptr, ledger::run_move, nullptr);
  pthread_create(&t2, nullptr, ledger::run_audit, nullptr);
  pthread_join(t1, nullptr);
  pthread_join(t2, nullptr);
  printf("cxx_mangled_frames: done\n");
  return 0;
}
