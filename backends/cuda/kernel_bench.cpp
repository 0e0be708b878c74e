// Correctness-gated kernel measurement (moved here from tools/cmd_bench.cpp).
#include "backends/cuda/kernel_bench.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "codegen/emitter.h"

namespace gqaforge::backends::cuda {

using codegen::AttentionProblem;

Status KernelBench::fill(runtime::DeviceBuffer& buf, uint64_t seed, codegen::DType dtype) {
  GQF_ASSIGN_OR_RETURN(const runtime::LoadedKernel* k, jit_->load(codegen::emit_fill(dtype)));
  GQF_ASSIGN_OR_RETURN(runtime::Function f, k->function("gqaforge_fill_random"));
  struct {
    CUdeviceptr p;
    unsigned long long n, seed;
  } args{buf.ptr(), buf.size() / 2, seed};
  void* argv[] = {&args.p, &args.n, &args.seed};
  GQF_ASSIGN_OR_RETURN(const runtime::DriverApi* api, runtime::driver());
  GQF_CU_CHECK(api, cuLaunchKernel(f.get(), 1024, 1, 1, 256, 1, 1, 0, stream_, argv, nullptr));
  return ok_status();
}

Result<std::vector<runtime::DeviceAttention>*> KernelBench::inputs(const AttentionProblem& problem) {
  const std::string key = problem.name();
  if (key == inputs_key_ && !inputs_.empty()) return &inputs_;
  inputs_.clear();
  inputs_key_.clear();
  // Enough copies that K+V exceed twice the L2 cache.
  const int copies = static_cast<int>(std::clamp(std::ceil(2.0 * info_.l2_bytes / problem.kv_bytes()) + 1, 2.0, 64.0));
  for (int c = 0; c < copies; ++c) {
    GQF_ASSIGN_OR_RETURN(runtime::DeviceAttention d, runtime::DeviceAttention::allocate(problem, true, kv_head_major_));
    const auto seed = static_cast<uint64_t>(3 * c);
    GQF_RETURN_IF_ERROR(fill(d.q, seed + 1, problem.dtype));
    GQF_RETURN_IF_ERROR(fill(d.k, seed + 2, problem.dtype));
    GQF_RETURN_IF_ERROR(fill(d.v, seed + 3, problem.dtype));
    inputs_.push_back(std::move(d));
  }
  inputs_key_ = key;
  return &inputs_;
}

Result<BenchOutcome> KernelBench::run(runtime::AttentionOp& op, uint64_t seed, const TimingOptions& timing) {
  BenchOutcome out;
  const AttentionProblem& problem = op.problem();
  const codegen::DeviceLimits limits = info_.limits();
  const codegen::KernelFamily& family = op.kernel_family();
  // Pin the choices the big shape's launch makes (decode: the split count), so the gate checks
  // the same launch.
  GQF_ASSIGN_OR_RETURN(codegen::KernelConfig pinned, family.resolve(problem, op.kernel_config(), limits));
  out.config = family.canonical(pinned);
  GQF_ASSIGN_OR_RETURN(runtime::AttentionOp gate_op,
                       runtime::AttentionOp::create(runtime::gate_problem(problem), family, pinned, limits));
  runtime::CheckOptions co;
  co.seed = seed;
  co.kv_head_major = kv_head_major_;
  out.seed = seed;
  GQF_ASSIGN_OR_RETURN(runtime::CheckResult check, runtime::check_op(*jit_, gate_op, co, stream_));
  out.gate = check.report;
  out.gate_passed = check.report.passed;
  if (!out.gate_passed) return out;

  GQF_ASSIGN_OR_RETURN(std::vector<runtime::DeviceAttention> * sets, inputs(problem));
  const auto copies = sets->size();
  auto enqueue = [&](int i) { return op.run(*jit_, (*sets)[static_cast<size_t>(i) % copies].params, stream_); };
  GQF_RETURN_IF_ERROR(enqueue(0));  // compile, load and size the workspace outside capture
  GQF_ASSIGN_OR_RETURN(const runtime::DriverApi* api, runtime::driver());
  GQF_CU_CHECK(api, cuStreamSynchronize(stream_));
  GQF_ASSIGN_OR_RETURN(out.timing, time_calls(enqueue, stream_, timing));
  const double seconds = out.timing.median_us * 1e-6;
  if (family.memory_bound()) out.tbps = problem.kv_bytes() / seconds / 1e12;
  out.tflops = problem.flops() / seconds / 1e12;
  return out;
}

}  // namespace gqaforge::backends::cuda
