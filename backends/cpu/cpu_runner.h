// Running generated CPU kernels: the work items of a call spread over a pool of worker threads,
// the split-KV workspace, and the combine of split partials into O and the LSE (the same merge
// as the GPU decode's: O = sum_s e^(lse_s - m) O_s / sum_s e^(lse_s - m)).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/cpu/cpu_jit.h"
#include "codegen/family.h"

namespace gqaforge::cpu {

/// Worker threads kept between calls (with stacks large enough for any work item), running
/// chunks of an index range.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()); }
  /// fn(begin, end) over [0, n) in chunks of `chunk`, on every worker; returns when all ran.
  void run(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void work();

  std::vector<pthread_t> threads_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  uint64_t generation_ = 0;
  int busy_ = 0;
  bool stopping_ = false;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 1, next_ = 0;
};

class CpuRunner {
 public:
  /// One call: `params` as for a GPU launch (tensors, strides, lengths, scale); the runner sets
  /// the split fields and the workspace pointers from `plan`, runs `fn` over the plan's items on
  /// the plan's thread count, and combines the partials when the keys were split. `workspace`
  /// (plan.workspace.bytes of host memory) holds the partials; null: the runner's own.
  Status run(CpuKernelFn fn, const codegen::AttentionProblem& problem, const codegen::LaunchPlan& plan,
             GqaParams params, void* workspace = nullptr);

 private:
  WorkerPool& pool(int threads);
  void combine(const codegen::AttentionProblem& problem, const GqaParams& p, WorkerPool& workers);

  std::unique_ptr<WorkerPool> pool_;
  std::vector<float> workspace_;
};

}  // namespace gqaforge::cpu
