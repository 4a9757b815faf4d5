#include "muvera_nano/parallel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace muvera_nano {
namespace {

int online_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

constexpr int kMaxThreads = 1024;

struct Job {
  int64_t n_items = 0, grain = 1, n_pieces = 0;
  void* ctx = nullptr;
  detail::PieceFn fn = nullptr;
  int max_helpers = 0;
  int helpers_joined = 0;  // guarded by Pool::mu
  int helpers_active = 0;  // guarded by Pool::mu
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::exception_ptr error;
  std::condition_variable done_cv;

  bool wants_helper() const { return helpers_joined < max_helpers && next.load(std::memory_order_relaxed) < n_pieces; }

  void run_pieces() {
    while (!failed.load(std::memory_order_relaxed)) {
      int64_t p = next.fetch_add(1, std::memory_order_relaxed);
      if (p >= n_pieces) break;
      int64_t begin = p * grain;
      int64_t end = std::min(n_items, begin + grain);
      try {
        fn(ctx, p, begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  }
};

// Workers are never joined: the pool lives until the process ends (joining at static
// destruction time can deadlock inside an exiting interpreter).
class Pool {
 public:
  void run(Job& job, int threads) {
    job.max_helpers = threads - 1;
    ensure_workers(job.max_helpers);
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(&job);
    }
    for (int i = 0; i < job.max_helpers; ++i) work_cv_.notify_one();
    job.run_pieces();
    std::unique_lock<std::mutex> lock(mu_);
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
    job.done_cv.wait(lock, [&] { return job.helpers_active == 0; });
  }

 private:
  void ensure_workers(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    while (n_workers_ < n) {
      std::thread(&Pool::worker_loop, this).detach();
      ++n_workers_;
    }
  }

  Job* find_job() {
    for (Job* j : jobs_)
      if (j->wants_helper()) return j;
    return nullptr;
  }

  void worker_loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      Job* job = nullptr;
      work_cv_.wait(lock, [&] { return (job = find_job()) != nullptr; });
      ++job->helpers_joined;
      ++job->helpers_active;
      lock.unlock();
      job->run_pieces();
      lock.lock();
      if (--job->helpers_active == 0) job->done_cv.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Job*> jobs_;
  int n_workers_ = 0;
};

std::atomic<Pool*> g_pool{nullptr};
std::atomic<int> g_num_threads{0};
std::once_flag g_atfork_once;

Pool& pool() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p) return *p;
  std::call_once(g_atfork_once, [] {
#if defined(__linux__)
    // A forked child has none of the parent's workers, and the parent's pool mutex may
    // have been held at fork time: the child starts a fresh pool and abandons the old one.
    pthread_atfork(nullptr, nullptr, [] { g_pool.store(nullptr, std::memory_order_release); });
#endif
  });
  Pool* fresh = new Pool();
  Pool* expected = nullptr;
  if (!g_pool.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
    delete fresh;
    return *expected;
  }
  return *fresh;
}

}  // namespace

void set_num_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("threads must be between 1 and " + std::to_string(kMaxThreads) + ", got " +
                                std::to_string(n));
  g_num_threads.store(n, std::memory_order_relaxed);
}

int get_num_threads() {
  int n = g_num_threads.load(std::memory_order_relaxed);
  if (n <= 0) {
    int expected = 0;
    g_num_threads.compare_exchange_strong(expected, online_cpus());
    n = g_num_threads.load(std::memory_order_relaxed);
  }
  return n;
}

int resolve_threads(int requested) {
  if (requested <= 0) return get_num_threads();
  if (requested > kMaxThreads)
    throw std::invalid_argument("threads must be between 1 and " + std::to_string(kMaxThreads) + ", got " +
                                std::to_string(requested));
  return requested;
}

Split split_work(int64_t items, double item_cost, double piece_cost, int threads, int64_t min_grain,
                 int pieces_per_thread) {
  threads = resolve_threads(threads);
  Split s;
  s.items = items < 0 ? 0 : items;
  if (min_grain < 1) min_grain = 1;
  const double total = item_cost * static_cast<double>(s.items);
  const double useful = piece_cost > 0 ? total / piece_cost : 0.0;
  s.threads = useful < 2 ? 1 : static_cast<int>(std::min<double>(threads, useful));
  double grain = item_cost > 0 ? piece_cost / item_cost : static_cast<double>(s.items);
  if (pieces_per_thread > 0 && s.threads > 1)
    grain =
        std::min(grain, std::ceil(static_cast<double>(s.items) / (static_cast<double>(pieces_per_thread) * s.threads)));
  grain = std::min(std::max(grain, static_cast<double>(min_grain)), static_cast<double>(std::max<int64_t>(s.items, 1)));
  s.grain = static_cast<int64_t>(grain);
  return s;
}

namespace detail {

void parallel_for_impl(const Split& split, void* ctx, PieceFn fn) {
  const int64_t n_items = split.items, grain = split.grain < 1 ? 1 : split.grain;
  if (n_items <= 0) return;
  const int64_t n_pieces = (n_items + grain - 1) / grain;
  if (split.threads <= 1 || n_pieces == 1) {
    // Same pieces as the parallel path, so a piece's results never depend on `threads`.
    for (int64_t p = 0; p < n_pieces; ++p) fn(ctx, p, p * grain, std::min(n_items, (p + 1) * grain));
    return;
  }
  Job job;
  job.n_items = n_items;
  job.grain = grain;
  job.n_pieces = n_pieces;
  job.ctx = ctx;
  job.fn = fn;
  pool().run(job, static_cast<int>(std::min<int64_t>(split.threads, n_pieces)));
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace detail
}  // namespace muvera_nano
