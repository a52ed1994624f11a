// A small persistent thread pool behind parallel_for.
#include "common/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace bitlens {

unsigned cpu_threads() {
  static const unsigned n = [] {
    if (const char* env = std::getenv("BITLENS_THREADS")) {
      const int v = std::atoi(env);
      if (v > 0) return unsigned(v);
    }
    return std::max(1u, std::thread::hardware_concurrency());
  }();
  return n;
}

namespace {

class Pool {
 public:
  explicit Pool(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Runs job(i) for i in [0, count) on the workers and the caller; rethrows the first failure.
  void run(unsigned count, const std::function<void(unsigned)>& job) {
    std::unique_lock lock(run_mu_);  // one parallel region at a time; nested calls run inline
    {
      std::lock_guard l(mu_);
      job_ = &job;
      count_ = count;
      next_ = 0;
      pending_ = count;
      error_ = nullptr;
      ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock l(mu_);
    done_cv_.wait(l, [this] { return pending_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

  bool busy_on_this_thread() const { return in_worker_; }

 private:
  void work() {
    for (;;) {
      unsigned i;
      const std::function<void(unsigned)>* job;
      {
        std::lock_guard l(mu_);
        if (!job_ || next_ >= count_) return;
        i = next_++;
        job = job_;
      }
      in_worker_ = true;
      try {
        (*job)(i);
      } catch (...) {
        std::lock_guard l(mu_);
        if (!error_) error_ = std::current_exception();
      }
      in_worker_ = false;
      std::lock_guard l(mu_);
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }

  void loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      work();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mu_, run_mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(unsigned)>* job_ = nullptr;
  unsigned count_ = 0, next_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  static thread_local bool in_worker_;
};

thread_local bool Pool::in_worker_ = false;

Pool& pool() {
  static Pool p(cpu_threads() - 1);
  return p;
}

}  // namespace

void parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t min_chunk) {
  if (n == 0) return;
  const unsigned threads = cpu_threads();
  const size_t chunks = std::min<size_t>(threads * 4, (n + min_chunk - 1) / std::max<size_t>(1, min_chunk));
  if (chunks <= 1 || threads == 1 || pool().busy_on_this_thread()) {
    fn(0, n);
    return;
  }
  const size_t step = (n + chunks - 1) / chunks;
  pool().run(unsigned((n + step - 1) / step), [&](unsigned c) {
    const size_t b = size_t(c) * step;
    fn(b, std::min(n, b + step));
  });
}

}  // namespace bitlens
