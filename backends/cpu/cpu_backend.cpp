// The CPU backend (cpu_backend.h).
#include "backends/cpu/cpu_backend.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>

#include "backends/cpu/cpu_loader.h"
#include "core/half.h"
#include "core/stats.h"
#include "core/sha256.h"
#include "runtime/compile_cache.h"
#include "runtime/device_attention.h"

namespace gqaforge::cpu {

using codegen::AttentionProblem;
using codegen::KernelConfig;
using codegen::KernelFamily;

Result<codegen::CpuKernelSpec> cpu_spec(const AttentionProblem& problem, const KernelFamily& family,
                                        const KernelConfig& config) {
  if (const auto* d = std::get_if<codegen::CpuDecodeConfig>(&config)) return codegen::cpu_kernel_spec(problem, *d);
  if (const auto* p = std::get_if<codegen::CpuPrefillConfig>(&config)) return codegen::cpu_kernel_spec(problem, *p);
  return invalid_argument("the {} family has no CPU kernels (use cpu_decode or cpu_prefill)", family.name());
}

namespace {

/// Host tensors in the layout fixed_layout_params describes, with random values.
struct HostTensors {
  std::vector<uint16_t> q, k, v, o;
  std::vector<float> lse;
  GqaParams params{};
};

HostTensors make_tensors(const AttentionProblem& pr, uint64_t seed, bool kv_head_major) {
  HostTensors t;
  const auto q_elems = static_cast<size_t>(pr.batch * pr.q_len * pr.n_q_heads * pr.head_dim);
  const auto kv_elems = static_cast<size_t>(pr.batch * pr.kv_len * pr.n_kv_heads * pr.head_dim);
  const bool bf16 = pr.dtype == codegen::DType::kBF16;
  t.o.resize(q_elems);
  t.lse.resize(static_cast<size_t>(pr.batch * pr.q_len * pr.n_q_heads));
  runtime::fill_normal(t.q, q_elems, seed, 1, 1.0f, bf16);
  runtime::fill_normal(t.k, kv_elems, seed, 2, 1.0f, bf16);
  runtime::fill_normal(t.v, kv_elems, seed, 3, 1.0f, bf16);
  t.params = runtime::fixed_layout_params(pr, kv_head_major);
  t.params.q = t.q.data();
  t.params.k = t.k.data();
  t.params.v = t.v.data();
  t.params.o = t.o.data();
  t.params.lse = t.lse.data();
  return t;
}

size_t last_level_cache_bytes() {
  const long l3 = ::sysconf(_SC_LEVEL3_CACHE_SIZE);
  const long l2 = ::sysconf(_SC_LEVEL2_CACHE_SIZE);
  return static_cast<size_t>(std::max({l3, l2, 32L << 20}));
}

}  // namespace

Result<std::unique_ptr<CpuKernels>> CpuKernels::open(const std::string& cache_dir) {
  GQF_ASSIGN_OR_RETURN(CpuJit * jit, cpu_jit());
  auto k = std::unique_ptr<CpuKernels>(new CpuKernels());
  k->jit_ = jit;
  k->limits_ = cpu_limits(jit->host());
  k->cache_dir_ = cache_dir.empty() ? runtime::default_cache_dir().string() : cache_dir;
  return k;
}

Result<CompiledCpuKernel> CpuKernels::compile(const AttentionProblem& problem, const KernelFamily& family,
                                              const KernelConfig& config) {
  GQF_RETURN_IF_ERROR(family.validate(problem, config, limits_));
  GQF_ASSIGN_OR_RETURN(codegen::CpuKernelSpec spec, cpu_spec(problem, family, config));
  return jit_->compile(spec, cache_dir_);
}

Status CpuKernels::run(const AttentionProblem& problem, const KernelFamily& family, const KernelConfig& config,
                       const GqaParams& params) {
  GQF_ASSIGN_OR_RETURN(CompiledCpuKernel kernel, compile(problem, family, config));
  GQF_ASSIGN_OR_RETURN(codegen::LaunchPlan plan, family.launch_plan(problem, config, limits_));
  std::lock_guard<std::mutex> lock(mutex_);
  return runner_.run(kernel.fn, problem, plan, params);
}

Status CpuKernels::run_compiled(CpuKernelFn fn, const AttentionProblem& problem, const codegen::LaunchPlan& plan,
                                const GqaParams& params, void* workspace) {
  std::lock_guard<std::mutex> lock(mutex_);
  return runner_.run(fn, problem, plan, params, workspace);
}

Result<CpuCheck> CpuKernels::check(const AttentionProblem& problem, const KernelFamily& family,
                                   const KernelConfig& config, uint64_t seed, std::vector<int> kv_lens,
                                   std::vector<int> q_lens, bool varlen) {
  runtime::HostAttention host =
      runtime::make_host_attention(problem, seed, std::move(kv_lens), std::move(q_lens), varlen);
  std::vector<uint16_t> o(host.q.size(), runtime::kPoison16);
  std::vector<float> lse(static_cast<size_t>(host.q_rows() * problem.n_q_heads));
  std::fill(lse.begin(), lse.end(), std::bit_cast<float>(runtime::kPoison32));
  GqaParams p = runtime::host_layout_params(host);
  p.q = host.q.data();
  p.k = host.k.data();
  p.v = host.v.data();
  p.o = o.data();
  p.lse = lse.data();
  p.kv_lens = host.kv_lens.data();
  AttentionProblem launch = problem;
  if (host.varlen) {
    p.cu_seqlens_q = host.cu_q.data();
    p.cu_seqlens_k = host.cu_k.data();
    launch.q_len = std::max(1, p.q_len);
    launch.kv_len = std::max(1, p.kv_len);
  }
  GQF_RETURN_IF_ERROR(run(launch, family, config, p));
  CpuCheck out;
  out.seed = seed;
  GQF_ASSIGN_OR_RETURN(KernelConfig resolved, family.resolve(launch, config, limits_));
  out.config = family.canonical(resolved);
  runtime::AttentionResult oracle = runtime::cpu_attention_fp64(host);
  runtime::AttentionResult lowp = runtime::cpu_attention_lowp(host);
  out.report = runtime::check_attention(host, o, &lse, oracle, lowp);
  return out;
}

Result<CpuTiming> CpuKernels::time(const AttentionProblem& problem, const KernelFamily& family,
                                   const KernelConfig& config, int repetitions, bool kv_head_major) {
  GQF_ASSIGN_OR_RETURN(CompiledCpuKernel kernel, compile(problem, family, config));
  GQF_ASSIGN_OR_RETURN(codegen::LaunchPlan plan, family.launch_plan(problem, config, limits_));
  // Enough input sets that consecutive calls find their K/V out of the last-level cache.
  const double kv_bytes = problem.kv_bytes();
  const int copies = static_cast<int>(
      std::clamp(std::ceil(2.0 * static_cast<double>(last_level_cache_bytes()) / std::max(kv_bytes, 1.0)), 1.0, 8.0));
  std::vector<HostTensors> sets;
  for (int c = 0; c < copies; ++c)
    sets.push_back(make_tensors(problem, 1000 + static_cast<uint64_t>(c), kv_head_major));
  auto call = [&](int i) {
    std::lock_guard<std::mutex> lock(mutex_);
    return runner_.run(kernel.fn, problem, plan, sets[static_cast<size_t>(i) % sets.size()].params);
  };
  GQF_RETURN_IF_ERROR(call(0));  // warm-up: the pool's threads, the workspace, page faults
  const int reps = repetitions > 0 ? repetitions : 15;
  std::vector<double> us;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    GQF_RETURN_IF_ERROR(call(r + 1));
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    // Long calls: at least three repetitions, then stop after ~3 s.
    if (r >= 2 && std::chrono::steady_clock::now() - start > std::chrono::seconds(3)) break;
  }
  const SampleStats stats = sample_stats(std::move(us));
  CpuTiming t;
  t.copies = copies;
  t.repetitions = static_cast<int>(stats.count);
  t.median_us = stats.median;
  t.min_us = stats.min;
  t.stddev_us = stats.stddev;
  return t;
}

Status CpuBackend::ensure_open() {
  if (kernels_ != nullptr) return ok_status();
  GQF_ASSIGN_OR_RETURN(kernels_, CpuKernels::open(cache_dir_));
  return ok_status();
}

Result<autotune::BackendInfo> CpuBackend::info() {
  GQF_RETURN_IF_ERROR(ensure_open());
  autotune::BackendInfo info;
  info.environment = cpu_environment(kernels_->host());
  info.limits = kernels_->limits();
  info.arch = "cpu-" + kernels_->host().llvm_cpu;
  return info;
}

Result<std::string> CpuBackend::kernel_key(const AttentionProblem& problem, const KernelFamily& family,
                                           const KernelConfig& config) {
  GQF_RETURN_IF_ERROR(ensure_open());
  const HostCpu& h = kernels_->host();
  const codegen::KernelSource src = family.emit(problem, config);
  return sha256_hex(fmt::format("cpu v{}\nllvm {}\ncpu {}\nfeatures {}\nfamily {}\nsource {}config {}\n", kCpuModuleAbi,
                                h.llvm_version, h.llvm_cpu, h.all_features, family.name(), src.code,
                                family.canonical(config)));
}

std::vector<autotune::CompileResult> CpuBackend::compile(const std::vector<autotune::Candidate>& candidates) {
  std::vector<autotune::CompileResult> out(candidates.size());
  const Status open = ensure_open();
  for (size_t i = 0; i < candidates.size(); ++i) {
    autotune::CompileResult& r = out[i];
    if (!open.ok()) {
      r.status = MeasureStatus::kCompileFailed;
      r.message = open.message();
      continue;
    }
    const autotune::Candidate& c = candidates[i];
    auto k = kernels_->compile(c.problem, *c.family, c.config);
    if (!k.ok()) {
      r.status =
          k.status().code() == StatusCode::kInvalidArgument ? MeasureStatus::kRejected : MeasureStatus::kCompileFailed;
      r.message = k.status().message();
      continue;
    }
    r.compile_ms = k->compile_ms;
    r.cache_hit = k->cache_hit;
  }
  return out;
}

autotune::MeasureResult CpuBackend::measure(const autotune::Candidate& c, const autotune::MeasureOptions& options) {
  autotune::MeasureResult r;
  if (Status s = ensure_open(); !s.ok()) {
    r.status = MeasureStatus::kLaunchFailed;
    r.message = s.message();
    return r;
  }
  // The gate runs the very config (splits pinned for the full problem) on the gate's shape.
  auto pinned = c.family->resolve(c.problem, c.config, kernels_->limits());
  if (!pinned.ok()) {
    r.status = MeasureStatus::kRejected;
    r.message = pinned.status().message();
    return r;
  }
  const AttentionProblem gate = runtime::gate_problem(c.problem);
  auto check = kernels_->check(gate, *c.family, *pinned, options.seed);
  if (!check.ok()) {
    r.status =
        check.status().code() == StatusCode::kInvalidArgument ? MeasureStatus::kRejected : MeasureStatus::kLaunchFailed;
    r.message = check.status().message();
    return r;
  }
  r.max_error = check->report.max_error;
  r.error_bound = check->report.bound;
  if (!check->report.passed) {
    r.status = MeasureStatus::kWrongResult;
    r.message = fmt::format("correctness gate failed (seed {}): {}", options.seed, check->report.summary());
    return r;
  }
  auto t = kernels_->time(c.problem, *c.family, c.config, options.repetitions);
  if (!t.ok()) {
    r.status = MeasureStatus::kLaunchFailed;
    r.message = t.status().message();
    return r;
  }
  r.median_us = t->median_us;
  r.min_us = t->min_us;
  r.stddev_us = t->stddev_us;
  r.repetitions = t->repetitions;
  return r;
}

}  // namespace gqaforge::cpu
