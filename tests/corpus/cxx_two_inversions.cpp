/* cxx_two_inversions - two unrelated inversions between std::mutex objects, built at -O0.
 *
 * Checks: at -O0 every std::mutex::lock is an out-of-line call (std::mutex::lock, then
 * __gthread_mutex_lock), so every acquisition has the same innermost frames; the inversion of
 * A and B and the inversion of C and D are two bugs and get two reports, their stacks reaching
 * the workers' own lines. Sequenced by a semaphore and joins: never hangs.
 * Expected verdict: two potential deadlocks, each a cycle of 2 locks, the first with the
 * edges ab_first/ab_second and ba_first/ba_second; exit 66.
 */
#include <cstdio>
#include <mutex>
#include <semaphore.h>
#include <thread>

static std::mutex lock_a, lock_b, lock_c, lock_d;
static sem_t ab_done, cd_done;

static void worker_ab()
{
  {
    std::lock_guard<std::mutex> first(lock_a);  /* LINE:ab_first */
    std::lock_guard<std::mutex> second(lock_b); /* LINE:ab_second */
  }
  sem_post(&ab_done);
}

static void worker_ba()
{
  sem_wait(&ab_done);
  std::lock_guard<std::mutex> first(lock_b);  /* LINE:ba_first */
  std::lock_guard<std::mutex> second(lock_a); /* LINE:ba_second */
}

static void queue_cd()
{
  {
    std::lock_guard<std::mutex> first(lock_c);
    std::lock_guard<std::mutex> second(lock_d);
  }
  sem_post(&cd_done);
}

static void queue_dc()
{
  sem_wait(&cd_done);
  std::lock_guard<std::mutex> first(lock_d);
  std::lock_guard<std::mutex> second(lock_c);
}

int main()
{
  setvbuf(stdout, nullptr, _IOLBF, 0);
  sem_init(&ab_done, 0, 0);
  sem_init(&cd_done, 0, 0);
  std::thread t1(worker_ab);
  std::thread t2(worker_ba);
  t1.join();
  t2.join();
  std::thread t3(queue_cd);
  std::thread t4(queue_dc);
  t3.join();
  t4.join();
  std::printf("cxx_two_inversions: done\n");
  return 0;
}
