/* cxx_std_mutex - a lock-order inversion between two std::mutex objects, in C++.
 *
 * Checks: std::mutex reaches pthread_mutex_lock through libstdc++'s inline wrappers, so the
 * detector sees it like any C mutex; the stacks go through std::lock_guard and std::mutex
 * frames before reaching the workers' own lines. Sequenced by a semaphore: never hangs.
 * Expected verdict: one potential deadlock, a cycle of 2 locks whose stacks contain the
 * workers at their LINE: markers; exit 66.
 */
#include <cstdio>
#include <mutex>
#include <semaphore.h>
#include <thread>

static std::mutex lock_a;
static std::mutex lock_b;
static sem_t ab_done;

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

int main()
{
  setvbuf(stdout, nullptr, _IOLBF, 0);
  sem_init(&ab_done, 0, 0);
  std::thread t1(worker_ab);
  std::thread t2(worker_ba);
  t1.join();
  t2.join();
  std::printf("cxx_std_mutex: done\n");
  return 0;
}
