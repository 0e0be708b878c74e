// Correctness gate implementation.
#include "runtime/checker.h"

#include <cmath>

#include "core/half.h"
#include "runtime/device_attention.h"

namespace gqaforge::runtime {
namespace {

double work_of(const HostAttention& h) {
  double pairs = 0;
  for (size_t b = 0; b < h.q_lens.size(); ++b) pairs += double(h.q_lens[b]) * h.kv_lens[b];
  return pairs * h.problem.n_q_heads * h.problem.head_dim * 2.0;
}

// GPU-reference comparison: the reference computes in fp32 and rounds O to 16 bits, as the
// kernel does, so each may sit half an ulp from the exact value; the bound allows one ulp of
// the largest output magnitude plus fp32 accumulation-order noise.
CheckReport compare_with_gpu_reference(const HostAttention& h, const std::vector<uint16_t>& kernel_o,
                                       const std::vector<float>* kernel_lse, const std::vector<uint16_t>& ref_o,
                                       const std::vector<float>* ref_lse) {
  CheckReport r;
  bool bf16 = h.problem.dtype == codegen::DType::kBF16;
  double max_ref = 0;
  for (uint16_t x : ref_o) max_ref = std::max(max_ref, std::fabs(double(half_to_float(x, bf16))));
  double ulp = bf16 ? std::ldexp(1.0, -7) : std::ldexp(1.0, -10);
  r.bound = ulp * std::max(max_ref, 1e-3) * 1.0 + 1e-6;
  for (size_t i = 0; i < ref_o.size(); ++i) {
    if (kernel_o[i] == kPoison16) {
      ++r.unwritten;
      continue;
    }
    double k = half_to_float(kernel_o[i], bf16), ref = half_to_float(ref_o[i], bf16);
    if (!std::isfinite(k)) {
      ++r.non_finite;
      continue;
    }
    r.max_error = std::max(r.max_error, std::fabs(k - ref));
  }
  if (kernel_lse != nullptr && ref_lse != nullptr) {
    compare_lse(*kernel_lse, std::vector<double>(ref_lse->begin(), ref_lse->end()), r);
  }
  r.decide();
  r.reference = "gpu reference";
  locate_mismatches(
      h, kernel_o, [&](size_t i) { return double(half_to_float(ref_o[i], bf16)); }, ref_o.size(), r);
  return r;
}

}  // namespace

Result<CheckResult> check_op(Jit& jit, AttentionOp& op, const CheckOptions& options, CUstream stream) {
  return check_launch(
      jit, op.problem(), [&](const GqaParams& params, CUstream s) { return op.run(jit, params, s); }, options, stream);
}

Result<CheckResult> check_launch(Jit& jit, const codegen::AttentionProblem& problem, const Launcher& launch,
                                 const CheckOptions& options, CUstream stream) {
  HostAttention host = make_host_attention(problem, options.seed, options.kv_lens, options.q_lens, options.varlen);
  // Ordering: upload() is complete when it returns, and the poison (like the split-KV
  // workspace zeroing inside the launch) is enqueued on `stream`, ahead of the kernel. The
  // driver's plain memsets and pageable copies go to the legacy stream, which the
  // non-blocking launch stream does not wait for: they could land after the kernel's writes.
  GQF_ASSIGN_OR_RETURN(DeviceAttention dev, DeviceAttention::upload(host, options.with_lse, options.kv_head_major));
  GQF_RETURN_IF_ERROR(dev.poison(stream));
  GQF_RETURN_IF_ERROR(launch(dev.params, stream));
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuStreamSynchronize(stream));
  GQF_ASSIGN_OR_RETURN(std::vector<uint16_t> kernel_o, dev.download_o());
  std::vector<float> kernel_lse;
  if (options.with_lse) {
    GQF_ASSIGN_OR_RETURN(kernel_lse, dev.download_lse());
  }
  CheckResult result;
  if (work_of(host) <= options.cpu_work_limit) {
    AttentionResult oracle = cpu_attention_fp64(host);
    AttentionResult lowp = cpu_attention_lowp(host);
    result.report = check_attention(host, kernel_o, options.with_lse ? &kernel_lse : nullptr, oracle, lowp);
    return result;
  }
  result.gpu_oracle = true;
  GQF_RETURN_IF_ERROR(dev.poison(stream));
  GQF_RETURN_IF_ERROR(reference_attention(jit, problem, dev.params, stream));
  GQF_CU_CHECK(api, cuStreamSynchronize(stream));
  GQF_ASSIGN_OR_RETURN(std::vector<uint16_t> ref_o, dev.download_o());
  std::vector<float> ref_lse;
  if (options.with_lse) {
    GQF_ASSIGN_OR_RETURN(ref_lse, dev.download_lse());
  }
  result.report = compare_with_gpu_reference(host, kernel_o, options.with_lse ? &kernel_lse : nullptr, ref_o,
                                             options.with_lse ? &ref_lse : nullptr);
  return result;
}

}  // namespace gqaforge::runtime
