/* cxx_pipeline - an ordinary C++ thread pool, written the way C++ programs use the standard
 * library: std::thread, std::mutex, std::condition_variable, std::unique_lock, std::lock_guard,
 * std::scoped_lock and std::shared_mutex. Nothing in it is wrong.
 *
 * Checks: lockgraph on idioms it did not write: a bounded queue whose producer and workers wait
 * on two condition variables (each wait releases the queue's mutex and takes it back), results
 * merged under a second mutex, a std::shared_mutex read by the workers and written by the
 * producer, and two threads taking the same pair of mutexes through std::scoped_lock in
 * OPPOSITE argument orders. std::scoped_lock uses std::lock's deadlock-avoidance algorithm
 * (lock one, try the other, back off and start from the other on failure): no order is ever
 * waited on while the other lock is held, so there is nothing to report.
 * The output is the same whatever the interleaving (sums and counts, not orders), so a run under
 * the detector can be compared byte for byte with a native run.
 * Expected verdict: no report; prints the totals and "cxx_pipeline: done", exits 0.
 */
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

namespace {

constexpr unsigned kWorkers = 3;
constexpr unsigned kItems = 20000;
constexpr std::size_t kQueueCap = 64;
constexpr unsigned kPairRounds = 2000;

class BoundedQueue {
public:
  void push(uint64_t v)
  {
    std::unique_lock<std::mutex> lk(mu_);
    not_full_.wait(lk, [this] { return q_.size() < kQueueCap; });
    q_.push_back(v);
    not_empty_.notify_one();
  }

  /* false once the queue is closed and drained */
  bool pop(uint64_t &v)
  {
    std::unique_lock<std::mutex> lk(mu_);
    not_empty_.wait(lk, [this] { return !q_.empty() || closed_; });
    if (q_.empty())
      return false;
    v = q_.front();
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }

  void close()
  {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<uint64_t> q_;
  bool closed_ = false;
};

BoundedQueue queue;
std::mutex totals_mu;
uint64_t total_sum, total_items;
std::shared_mutex salt_mu;
uint64_t salt = 1;
std::mutex pair_a, pair_b;
uint64_t pair_count;

uint64_t mix(uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

void worker()
{
  uint64_t sum = 0, n = 0, v;
  while (queue.pop(v)) {
    std::shared_lock<std::shared_mutex> rd(salt_mu);
    sum += mix(v * salt) & 0xffff;
    n++;
  }
  std::lock_guard<std::mutex> lk(totals_mu);
  total_sum += sum;
  total_items += n;
}

void producer()
{
  for (unsigned i = 0; i < kItems; i++) {
    if (i == kItems / 2) {
      std::unique_lock<std::shared_mutex> wr(salt_mu);
      salt = 1; /* a write that changes nothing: the result stays independent of timing */
    }
    queue.push(i);
  }
  queue.close();
}

/* The same two mutexes, in opposite orders, through std::scoped_lock. */
void pair_ab()
{
  for (unsigned i = 0; i < kPairRounds; i++) {
    std::scoped_lock both(pair_a, pair_b);
    pair_count++;
  }
}

void pair_ba()
{
  for (unsigned i = 0; i < kPairRounds; i++) {
    std::scoped_lock both(pair_b, pair_a);
    pair_count++;
  }
}

} // namespace

int main()
{
  setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < kWorkers; i++)
    threads.emplace_back(worker);
  threads.emplace_back(producer);
  threads.emplace_back(pair_ab);
  threads.emplace_back(pair_ba);
  for (auto &t : threads)
    t.join();
  std::printf("cxx_pipeline: items=%llu sum=%llu pairs=%llu\n", (unsigned long long)total_items,
              (unsigned long long)total_sum, (unsigned long long)pair_count);
  std::printf("cxx_pipeline: done\n");
  return total_items == kItems && pair_count == 2ULL * kPairRounds ? 0 : 1;
}
