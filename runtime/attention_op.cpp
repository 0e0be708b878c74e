// AttentionOp, and the one launch path of every family.
#include "runtime/attention_op.h"

namespace gqaforge::runtime {

using codegen::AttentionProblem;
using codegen::DeviceLimits;
using codegen::KernelConfig;
using codegen::KernelFamily;

Result<AttentionOp> AttentionOp::create(const AttentionProblem& problem, const KernelFamily& family,
                                        const KernelConfig& config, const DeviceLimits& limits) {
  GQF_RETURN_IF_ERROR(problem.validate());
  if (family.phase() && *family.phase() != problem.phase) {
    return invalid_argument("the {} family needs --phase {}", family.name(), codegen::phase_name(*family.phase()));
  }
  GQF_RETURN_IF_ERROR(family.validate(problem, config, limits));
  AttentionOp op;
  op.problem_ = problem;
  op.limits_ = limits;
  op.family_ = &family;
  op.config_ = config;
  return op;
}

Result<AttentionOp> AttentionOp::create(const AttentionProblem& problem, const std::string& family,
                                        const std::string& config_text, const DeviceLimits& limits) {
  GQF_RETURN_IF_ERROR(problem.validate());
  const KernelFamily* f = &family_for(problem);
  if (!family.empty()) {
    GQF_ASSIGN_OR_RETURN(f, codegen::find_family(family));
  }
  if (f->phase() && *f->phase() != problem.phase) {
    return invalid_argument("the {} family needs --phase {}", f->name(), codegen::phase_name(*f->phase()));
  }
  GQF_ASSIGN_OR_RETURN(KernelConfig config, f->parse(config_text, f->default_config(problem, limits)));
  return create(problem, *f, config, limits);
}

Result<std::vector<codegen::LaunchShape>> AttentionOp::launches() const {
  GQF_ASSIGN_OR_RETURN(codegen::LaunchPlan plan, family_->launch_plan(problem_, config_, limits_));
  return plan.launches;
}

Status check_vector_alignment(const GqaParams& p) {
  auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  if (!aligned(p.q) || !aligned(p.k) || !aligned(p.v) || !aligned(p.o)) {
    return invalid_argument("Q, K, V and O must be 16-byte aligned (q={}, k={}, v={}, o={})", p.q, p.k, p.v, p.o);
  }
  return ok_status();
}

namespace {

// The tuned families load 16-byte vectors: every base pointer must be 16-byte aligned and every
// token/head/batch stride a multiple of 8 elements.
Status check_vector_access(const GqaParams& p) {
  GQF_RETURN_IF_ERROR(check_vector_alignment(p));
  for (long long stride : {p.q_stride_b, p.q_stride_s, p.q_stride_h, p.k_stride_b, p.k_stride_s, p.k_stride_h,
                           p.v_stride_b, p.v_stride_s, p.v_stride_h, p.o_stride_b, p.o_stride_s, p.o_stride_h}) {
    if (stride % 8 != 0) return invalid_argument("stride {} is not a multiple of 8 elements", stride);
  }
  return ok_status();
}

}  // namespace

Status Workspace::ensure(const codegen::WorkspacePlan& plan, CUstream stream) {
  if (plan.bytes == 0) return ok_status();
  if (buffer_.size() >= plan.bytes && plan.layout == layout_) return ok_status();
  if (buffer_.size() < plan.bytes) {
    buffer_ = DeviceBuffer();
    GQF_ASSIGN_OR_RETURN(buffer_, DeviceBuffer::alloc(plan.bytes));
  }
  // The fused combine's counters must start at zero; the kernel leaves them zero after every
  // launch. Only they are zeroed: the partials are written before they are read (every split
  // the combine reads holds keys), and leaving them alone lets initcheck prove it. The zeroing
  // is enqueued on the launch stream: on the legacy stream it could still be running (or not
  // yet started) when the split pass counts in, or, when it covered the whole workspace as
  // it once did, after the split pass wrote its partials.
  if (plan.zero_bytes > 0) GQF_RETURN_IF_ERROR(buffer_.fill_bytes(0, stream, plan.zero_offset, plan.zero_bytes));
  layout_ = plan.layout;
  return ok_status();
}

Status AttentionOp::run(Jit& jit, const GqaParams& params, CUstream stream) {
  if (family_->vector_access()) GQF_RETURN_IF_ERROR(check_vector_access(params));
  return launch_family(jit, *family_, problem_, config_, limits_, params, workspace_, stream);
}

Status launch_family(Jit& jit, const KernelFamily& family, const AttentionProblem& problem, const KernelConfig& config,
                     const DeviceLimits& limits, GqaParams params, Workspace& workspace, CUstream stream) {
  GQF_RETURN_IF_ERROR(problem.validate());
  GQF_ASSIGN_OR_RETURN(codegen::LaunchPlan plan,
                       family.launch_plan(family.launch_problem(problem, params), config, limits));
  GQF_ASSIGN_OR_RETURN(const LoadedKernel* kernel, jit.load(family.emit(problem, config)));
  GQF_RETURN_IF_ERROR(workspace.ensure(plan.workspace, stream));
  if (plan.num_splits > 0) {
    params.num_splits = plan.num_splits;
    params.split_len = plan.split_len;
  }
  if (plan.workspace.bytes > 0) {
    params.o_partial = reinterpret_cast<float*>(workspace.ptr() + plan.workspace.o_partial_offset);
    params.lse_partial = reinterpret_cast<float*>(workspace.ptr() + plan.workspace.lse_partial_offset);
  }
  KvTensorMaps maps;
  for (const codegen::LaunchShape& l : plan.launches) {
    GQF_ASSIGN_OR_RETURN(Function fn, kernel->function(l.entry));
    // Above 48 KB a CTA's dynamic shared memory must be opted into.
    if (l.dynamic_shared_bytes > 48 * 1024) GQF_RETURN_IF_ERROR(fn.set_max_dynamic_shared(l.dynamic_shared_bytes));
    if (l.kv_map_rows > 0) {
      GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
      GQF_RETURN_IF_ERROR(encode_kv_maps(*api, params, problem.head_dim, l.kv_map_rows, &maps));
    }
    GQF_RETURN_IF_ERROR(fn.launch(l.grid, l.block, l.dynamic_shared_bytes, stream, &params, l.programmatic,
                                  l.kv_map_rows > 0 ? &maps : nullptr));
  }
  return ok_status();
}

}  // namespace gqaforge::runtime
