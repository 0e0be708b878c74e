// The CPU runner (cpu_runner.h).
#include "backends/cpu/cpu_runner.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/half.h"

namespace gqaforge::cpu {
namespace {

// Work items keep their fp32 rows and tiles on the stack (codegen::kCpuMaxItemBytes at most).
constexpr size_t kWorkerStack = size_t{32} << 20;

}  // namespace

WorkerPool::WorkerPool(int threads) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kWorkerStack);
  for (int i = 0; i < std::max(1, threads); ++i) {
    pthread_t t;
    auto trampoline = [](void* self) -> void* {
      static_cast<WorkerPool*>(self)->work();
      return nullptr;
    };
    if (pthread_create(&t, &attr, trampoline, this) == 0) threads_.push_back(t);
  }
  pthread_attr_destroy(&attr);
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (pthread_t t : threads_) pthread_join(t, nullptr);
}

void WorkerPool::run(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (threads_.empty()) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  fn_ = &fn;
  n_ = n;
  chunk_ = std::max<int64_t>(1, chunk);
  next_ = 0;
  busy_ = static_cast<int>(threads_.size());
  ++generation_;
  start_.notify_all();
  done_.wait(lock, [this] { return busy_ == 0; });
  fn_ = nullptr;
}

void WorkerPool::work() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    if (stopping_) return;
    seen = generation_;
    for (;;) {
      if (next_ >= n_) break;
      const int64_t begin = next_;
      const int64_t end = std::min(n_, begin + chunk_);
      next_ = end;
      const auto* fn = fn_;
      lock.unlock();
      (*fn)(begin, end);
      lock.lock();
    }
    if (--busy_ == 0) done_.notify_one();
  }
}

WorkerPool& CpuRunner::pool(int threads) {
  if (pool_ == nullptr || pool_->size() != threads) pool_ = std::make_unique<WorkerPool>(threads);
  return *pool_;
}

Status CpuRunner::run(CpuKernelFn fn, const codegen::AttentionProblem& problem, const codegen::LaunchPlan& plan,
                      GqaParams params, void* workspace) {
  if (plan.launches.size() != 1)
    return invalid_argument("a CPU launch plan has one launch, not {}", plan.launches.size());
  const codegen::LaunchShape& shape = plan.launches.front();
  const int64_t items = shape.grid[0];
  WorkerPool& workers = pool(static_cast<int>(shape.block[0]));
  params.num_splits = std::max(1, plan.num_splits);
  params.split_len = plan.num_splits > 1 ? plan.split_len : 0;
  if (plan.num_splits > 1) {
    auto* base = static_cast<unsigned char*>(workspace);
    if (base == nullptr) {
      const size_t floats = plan.workspace.bytes / sizeof(float);
      if (workspace_.size() < floats) workspace_.resize(floats);
      base = reinterpret_cast<unsigned char*>(workspace_.data());
    }
    params.o_partial = reinterpret_cast<float*>(base + plan.workspace.o_partial_offset);
    params.lse_partial = reinterpret_cast<float*>(base + plan.workspace.lse_partial_offset);
  } else {
    params.o_partial = nullptr;
    params.lse_partial = nullptr;
  }
  // Chunks small enough to balance uneven items (causal rows, short sequences).
  const int64_t chunk = std::max<int64_t>(1, items / (int64_t{workers.size()} * 8));
  const GqaParams* p = &params;
  workers.run(items, chunk, [fn, p](int64_t begin, int64_t end) { fn(p, begin, end); });
  if (plan.num_splits > 1) combine(problem, params, workers);
  return ok_status();
}

void CpuRunner::combine(const codegen::AttentionProblem& problem, const GqaParams& p, WorkerPool& workers) {
  const int64_t rows = int64_t{p.batch} * p.q_len * p.n_q_heads;
  const int d = problem.head_dim;
  const bool bf16 = problem.dtype == codegen::DType::kBF16;
  auto* o = static_cast<uint16_t*>(p.o);
  workers.run(rows, 64, [&](int64_t begin, int64_t end) {
    std::vector<float> acc(static_cast<size_t>(d));
    for (int64_t row = begin; row < end; ++row) {
      const int head = static_cast<int>(row % p.n_q_heads);
      const int64_t bt = row / p.n_q_heads;
      const int t = static_cast<int>(bt % p.q_len);
      const int b = static_cast<int>(bt / p.q_len);
      const int kv_len = std::max(0, p.kv_lens != nullptr ? p.kv_lens[b] : p.kv_len);
      const int active = kv_len == 0 ? 0 : (kv_len + p.split_len - 1) / p.split_len;
      if (active <= 1) continue;  // the kernel wrote this row itself
      float m = -std::numeric_limits<float>::infinity();
      for (int s = 0; s < active; ++s) m = std::max(m, p.lse_partial[s * rows + row]);
      std::fill(acc.begin(), acc.end(), 0.0f);
      float sum = 0;
      for (int s = 0; s < active; ++s) {
        const float lse_s = p.lse_partial[s * rows + row];
        if (lse_s == -std::numeric_limits<float>::infinity()) continue;
        const float w = std::exp(lse_s - m);
        sum += w;
        const float* src = p.o_partial + (s * rows + row) * d;
        for (int i = 0; i < d; ++i) acc[static_cast<size_t>(i)] += w * src[i];
      }
      const float inv = sum > 0 ? 1.0f / sum : 0.0f;
      uint16_t* dst = o + b * p.o_stride_b + t * p.o_stride_s + head * p.o_stride_h;
      for (int i = 0; i < d; ++i) dst[i] = float_to_half(acc[static_cast<size_t>(i)] * inv, bf16);
      if (p.lse != nullptr) {
        p.lse[row] = sum > 0 && m != -std::numeric_limits<float>::infinity() ? m + std::log(sum)
                                                                             : -std::numeric_limits<float>::infinity();
      }
    }
  });
}

}  // namespace gqaforge::cpu
