// A fixed-size thread pool for parallel compilation; tasks return futures. parallel_for
// spreads independent loop iterations over the cores (the CPU oracle, input generation).
#pragma once

#include <cstdint>

#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace gqaforge {

class ThreadPool {
 public:
  /// `threads` == 0 uses the number of hardware threads.
  explicit ThreadPool(unsigned threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return static_cast<unsigned>(workers_.size()); }

  template <typename F>
  auto submit(F&& fn) -> std::future<decltype(fn())> {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    std::future<R> future = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.emplace([task] { (*task)(); });
    }
    cv_.notify_one();
    return future;
  }

 private:
  std::vector<std::thread> workers_;
  std::queue<std::function<void()>> tasks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

/// Calls fn(i) for every i in [0, n) on up to `threads` threads (0 = all cores); iterations
/// must be independent. Returns when all have run.
void parallel_for(int64_t n, const std::function<void(int64_t)>& fn, unsigned threads = 0);

}  // namespace gqaforge
