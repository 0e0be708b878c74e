// CUDA backend.
#include "backends/cuda/cuda_backend.h"

#include <chrono>
#include <future>
#include <thread>

#include "backends/cuda/cublaslt.h"
#include "core/log.h"
#include "core/sha256.h"
#include "runtime/attention_op.h"

namespace gqaforge::backends::cuda {
namespace {

TimingOptions timing_of(const autotune::MeasureOptions& o) {
  TimingOptions t;
  if (o.repetitions > 0) t.repetitions = o.repetitions;
  if (o.min_rep_ms > 0) t.min_rep_ms = o.min_rep_ms;
  return t;
}

}  // namespace

CudaBackend::CudaBackend(const CudaBackendOptions& options) : options_(options) {
  cache_ = std::make_unique<runtime::CompileCache>(options.cache_dir);
  pool_ = std::make_unique<ThreadPool>(options.compile_threads);
}

CudaBackend::~CudaBackend() {
  // A compile that never returned cannot be cancelled; joining its thread would hang, so the
  // pool is left to the end of the process.
  if (hung_compile_) [[maybe_unused]]
    ThreadPool* leaked = pool_.release();
  bench_.reset();
  jit_.reset();
  stream_.reset();
  context_.reset();
}

Result<std::unique_ptr<CudaBackend>> CudaBackend::open(const CudaBackendOptions& options) {
  std::unique_ptr<CudaBackend> b(new CudaBackend(options));
  GQF_ASSIGN_OR_RETURN(runtime::Context ctx, runtime::Context::create(options.device));
  b->context_ = std::make_unique<runtime::Context>(std::move(ctx));
  GQF_ASSIGN_OR_RETURN(runtime::DeviceInfo device, runtime::query_device(options.device));
  GQF_ASSIGN_OR_RETURN(runtime::Stream stream, runtime::Stream::create());
  b->stream_ = std::make_unique<runtime::Stream>(std::move(stream));
  b->info_.environment = device.environment();
  b->info_.limits = device.limits();
  b->info_.arch = device.default_arch();
  b->compile_options_.arch = b->info_.arch;
  b->jit_ = std::make_unique<runtime::Jit>(b->cache_.get(), b->compile_options_);
  b->bench_ = std::make_unique<KernelBench>(device, b->jit_.get(), b->stream_->get());
  return b;
}

Result<std::unique_ptr<CudaBackend>> CudaBackend::compile_only(const autotune::BackendInfo& info,
                                                               const CudaBackendOptions& options) {
  std::unique_ptr<CudaBackend> b(new CudaBackend(options));
  b->info_ = info;
  GQF_ASSIGN_OR_RETURN(b->compile_options_.arch, codegen::normalize_arch(info.arch));
  return b;
}

Result<std::string> CudaBackend::kernel_key(const codegen::AttentionProblem& problem,
                                            const codegen::KernelFamily& family, const codegen::KernelConfig& config) {
  GQF_ASSIGN_OR_RETURN(runtime::AttentionOp op, runtime::AttentionOp::create(problem, family, config, info_.limits));
  const std::string compile = runtime::compile_key(op.source(), compile_options_);
  return sha256_hex(
      fmt::format("gqaforge-kernel v1\ncompile={}\nfamily={}\nconfig={}\n", compile, op.family(), op.config()));
}

std::vector<autotune::CompileResult> CudaBackend::compile(const std::vector<autotune::Candidate>& candidates) {
  using Clock = std::chrono::steady_clock;
  struct Task {
    std::shared_ptr<std::atomic<int64_t>> started_ns = std::make_shared<std::atomic<int64_t>>(0);
    std::future<Result<runtime::CompiledKernel>> result;
    std::string entry;
  };
  std::vector<autotune::CompileResult> out(candidates.size());
  std::vector<Task> tasks(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    auto op =
        runtime::AttentionOp::create(candidates[i].problem, *candidates[i].family, candidates[i].config, info_.limits);
    if (!op.ok()) {
      out[i].status = MeasureStatus::kRejected;
      out[i].message = op.status().message();
      continue;
    }
    codegen::KernelSource source = op->source();
    tasks[i].entry = source.entry_points.empty() ? "" : source.entry_points.front();
    auto started = tasks[i].started_ns;
    runtime::CompileCache* cache = cache_.get();
    const runtime::CompileOptions options = compile_options_;
    tasks[i].result = pool_->submit([cache, options, source = std::move(source), started]() {
      started->store(Clock::now().time_since_epoch().count());
      return cache->get_or_compile(source, options);
    });
  }
  const auto timeout =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.compile_timeout_s));
  for (size_t i = 0; i < candidates.size(); ++i) {
    Task& t = tasks[i];
    if (!t.result.valid()) continue;
    bool timed_out = false;
    while (t.result.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      const int64_t started = t.started_ns->load();
      if (started != 0 && Clock::now() - Clock::time_point(Clock::duration(started)) > timeout) {
        timed_out = true;
        break;
      }
    }
    if (timed_out) {
      hung_compile_ = true;
      out[i].status = MeasureStatus::kTimeout;
      out[i].message = fmt::format("compile exceeded {:g} s", options_.compile_timeout_s);
      continue;
    }
    Result<runtime::CompiledKernel> r = t.result.get();
    if (!r.ok()) {
      out[i].status = MeasureStatus::kCompileFailed;
      out[i].message = r.status().message();
      continue;
    }
    out[i].compile_ms = r->compile_ms;
    out[i].cache_hit = r->cache_hit;
    if (auto it = r->resources.find(t.entry); it != r->resources.end()) {
      out[i].registers = it->second.registers;
      out[i].shared_bytes = it->second.shared_static_bytes;
      out[i].spill_bytes = it->second.spill_store_bytes + it->second.spill_load_bytes;
    }
  }
  return out;
}

void CudaBackend::check_context() {
  if (context_ && !context_->synchronize().ok()) healthy_ = false;
}

autotune::MeasureResult CudaBackend::measure(const autotune::Candidate& c, const autotune::MeasureOptions& options) {
  autotune::MeasureResult r;
  if (!bench_) {
    r.status = MeasureStatus::kLaunchFailed;
    r.message = "this CUDA backend only compiles";
    return r;
  }
  auto op = runtime::AttentionOp::create(c.problem, *c.family, c.config, info_.limits);
  auto out = op.ok() ? bench_->run(*op, options.seed, timing_of(options)) : Result<BenchOutcome>(op.status());
  if (!out.ok()) {
    r.status =
        out.status().code() == StatusCode::kInvalidArgument ? MeasureStatus::kRejected : MeasureStatus::kLaunchFailed;
    r.message = out.status().message();
    check_context();
    return r;
  }
  r.max_error = out->gate.max_error;
  r.error_bound = out->gate.bound;
  if (!out->gate_passed) {
    r.status = MeasureStatus::kWrongResult;
    r.message = fmt::format("correctness gate failed (seed {}): {}", out->seed, out->gate.summary());
    return r;
  }
  r.median_us = out->timing.median_us;
  r.min_us = out->timing.min_us;
  r.stddev_us = out->timing.stddev_us;
  r.repetitions = out->timing.repetitions;
  return r;
}

autotune::MeasureResult CudaBackend::measure_gemm(int64_t m, int64_t n, int64_t k,
                                                  const autotune::MeasureOptions& options) {
  autotune::MeasureResult r;
  if (!bench_) {
    r.status = MeasureStatus::kLaunchFailed;
    r.message = "this CUDA backend only compiles";
    return r;
  }
  if (!cublaslt_) {
    auto lt = CublasLt::load();
    if (!lt.ok()) {
      r.status = MeasureStatus::kLaunchFailed;
      r.message = lt.status().message();
      return r;
    }
    cublaslt_ = std::move(*lt);
  }
  auto fill = [this](runtime::DeviceBuffer& buf, uint64_t seed) {
    return bench_->fill(buf, seed, codegen::DType::kBF16);
  };
  auto t = cublaslt_->time_gemm(m, n, k, bench_->info().l2_bytes, stream_->get(), fill, timing_of(options));
  if (!t.ok()) {
    r.status = MeasureStatus::kLaunchFailed;
    r.message = t.status().message();
    check_context();
    return r;
  }
  r.median_us = t->median_us;
  r.min_us = t->min_us;
  r.stddev_us = t->stddev_us;
  r.repetitions = t->repetitions;
  return r;
}

}  // namespace gqaforge::backends::cuda
