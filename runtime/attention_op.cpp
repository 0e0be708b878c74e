// AttentionOp dispatch.
#include "runtime/attention_op.h"

#include "codegen/emit_families.h"
#include "codegen/emitter.h"

#include <algorithm>

namespace gqaforge::rt {

Result<AttentionOp> AttentionOp::create(const AttentionProblem& problem, const std::string& family,
                                        const std::string& config_text, const DeviceLimits& limits) {
  GQF_RETURN_IF_ERROR(problem.validate());
  AttentionOp op;
  op.problem_ = problem;
  op.limits_ = limits;
  op.family_ = family.empty() ? phase_name(problem.phase) : family;
  if (op.family_ == "reference") {
    if (!config_text.empty()) return invalid_argument("the reference kernel takes no config ('{}')", config_text);
    return op;
  }
  if (op.family_ == "decode") {
    if (problem.phase != Phase::kDecode) return invalid_argument("the decode family needs --phase decode");
    GQF_ASSIGN_OR_RETURN(op.decode_, DecodeConfig::parse(config_text, default_decode_config(problem, limits)));
    GQF_RETURN_IF_ERROR(op.decode_.validate(problem, limits));
    return op;
  }
  if (op.family_ == "prefill") {
    if (problem.phase != Phase::kPrefill) return invalid_argument("the prefill family needs --phase prefill");
    GQF_ASSIGN_OR_RETURN(op.prefill_, PrefillConfig::parse(config_text, default_prefill_config(problem, limits)));
    GQF_RETURN_IF_ERROR(op.prefill_.validate(problem, limits));
    return op;
  }
  return invalid_argument("unknown kernel family '{}' (expected decode, prefill or reference)", family);
}

std::string AttentionOp::config() const {
  if (family_ == "decode") return decode_.canonical();
  if (family_ == "prefill") return prefill_.canonical();
  return "";
}

KernelSource AttentionOp::source() const {
  if (family_ == "decode") return emit_decode(problem_, decode_);
  if (family_ == "prefill") return emit_prefill(problem_, prefill_);
  return emit_reference(problem_);
}

Result<std::vector<LaunchShape>> AttentionOp::launches() const {
  std::vector<LaunchShape> out;
  auto shape = [](const char* entry, const unsigned* grid, const unsigned* block, int shared) {
    LaunchShape s;
    s.entry = entry;
    for (int i = 0; i < 3; ++i) {
      s.grid[i] = grid[i];
      s.block[i] = block[i];
    }
    s.dynamic_shared_bytes = shared;
    return s;
  };
  if (family_ == "decode") {
    GQF_ASSIGN_OR_RETURN(DecodeLaunch l, decode_launch(problem_, decode_, limits_));
    out.push_back(shape("gqaforge_decode", l.grid, l.block, l.shared_bytes));
    if (l.needs_combine_kernel) {
      out.push_back(shape("gqaforge_decode_combine", l.combine_grid, l.combine_block, l.combine_shared_bytes));
    }
  } else if (family_ == "prefill") {
    GQF_ASSIGN_OR_RETURN(PrefillLaunch l, prefill_launch(problem_, prefill_, limits_, false));
    out.push_back(shape("gqaforge_prefill", l.grid, l.block, l.shared_bytes));
  } else {
    // As reference_attention launches it: one CTA of 128 threads per (query, head, sequence).
    const unsigned grid[3] = {static_cast<unsigned>(std::max<int64_t>(problem_.q_len, 1)),
                              static_cast<unsigned>(problem_.n_q_heads), static_cast<unsigned>(problem_.batch)};
    const unsigned block[3] = {128, 1, 1};
    out.push_back(shape("gqaforge_reference", grid, block, 0));
  }
  return out;
}

namespace {

// The tuned families load 16-byte vectors: every base pointer must be 16-byte aligned and every
// token/head/batch stride a multiple of 8 elements.
Status check_vector_access(const GqaParams& p) {
  auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  if (!aligned(p.q) || !aligned(p.k) || !aligned(p.v) || !aligned(p.o)) {
    return invalid_argument("Q, K, V and O must be 16-byte aligned (q={}, k={}, v={}, o={})", p.q, p.k, p.v, p.o);
  }
  for (long long stride : {p.q_stride_b, p.q_stride_s, p.q_stride_h, p.k_stride_b, p.k_stride_s, p.k_stride_h,
                           p.v_stride_b, p.v_stride_s, p.v_stride_h, p.o_stride_b, p.o_stride_s, p.o_stride_h}) {
    if (stride % 8 != 0) return invalid_argument("stride {} is not a multiple of 8 elements", stride);
  }
  return ok_status();
}

}  // namespace

Status AttentionOp::run(Jit& jit, const GqaParams& params, CUstream stream) {
  if (family_ != "reference") GQF_RETURN_IF_ERROR(check_vector_access(params));
  if (family_ == "decode") return decode_attention(jit, problem_, decode_, limits_, params, workspace_, stream);
  if (family_ == "prefill") return prefill_attention(jit, problem_, prefill_, limits_, params, stream);
  return reference_attention(jit, problem_, params, stream);
}

}  // namespace gqaforge::rt
