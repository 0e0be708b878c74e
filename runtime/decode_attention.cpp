// Launch of the decode family: main kernel, then the combine kernel when split-KV needs it.
#include "codegen/emit_families.h"
#include "runtime/attention.h"

namespace gqaforge::rt {

Status DecodeWorkspace::ensure(const DecodeLaunch& launch, int64_t batch, int n_kv_heads, CUstream stream) {
  if (launch.workspace_bytes == 0) return ok_status();
  std::string layout = fmt::format("{}:{}:{}:{}:{}:{}:{}", launch.workspace_bytes, launch.o_partial_offset,
                                   launch.lse_partial_offset, launch.counters_offset, launch.counters_bytes, batch,
                                   n_kv_heads);
  if (buffer_.size() >= launch.workspace_bytes && layout == layout_) return ok_status();
  if (buffer_.size() < launch.workspace_bytes) {
    buffer_ = DeviceBuffer();
    GQF_ASSIGN_OR_RETURN(buffer_, DeviceBuffer::alloc(launch.workspace_bytes));
  }
  // The fused combine's counters must start at zero; the kernel leaves them zero after every
  // launch. Only they are zeroed: the partials are written before they are read (every split
  // the combine reads holds keys), and leaving them alone lets initcheck prove it. The zeroing
  // is enqueued on the launch stream: on the legacy stream it could still be running (or not
  // yet started) when the split pass counts in, or, when it covered the whole workspace as
  // it once did, after the split pass wrote its partials.
  if (launch.counters_bytes > 0) {
    GQF_RETURN_IF_ERROR(buffer_.fill_bytes(0, stream, launch.counters_offset, launch.counters_bytes));
  }
  layout_ = layout;
  return ok_status();
}

Status decode_attention(Jit& jit, const AttentionProblem& problem, const DecodeConfig& config,
                        const DeviceLimits& limits, GqaParams params, DecodeWorkspace& workspace,
                        CUstream stream) {
  GQF_RETURN_IF_ERROR(problem.validate());
  if (problem.phase != Phase::kDecode) return invalid_argument("decode_attention needs a decode problem");
  GQF_ASSIGN_OR_RETURN(DecodeLaunch launch, decode_launch(problem, config, limits));
  GQF_ASSIGN_OR_RETURN(const LoadedKernel* kernel, jit.load(emit_decode(problem, config)));
  GQF_ASSIGN_OR_RETURN(Function main_fn, kernel->function("gqaforge_decode"));
  GQF_RETURN_IF_ERROR(workspace.ensure(launch, problem.batch, problem.n_kv_heads, stream));
  params.num_splits = launch.num_splits;
  params.split_len = launch.split_len;
  if (launch.workspace_bytes > 0) {
    params.o_partial = reinterpret_cast<float*>(workspace.ptr() + launch.o_partial_offset);
    params.lse_partial = reinterpret_cast<float*>(workspace.ptr() + launch.lse_partial_offset);
  }
  if (launch.shared_bytes > 48 * 1024) GQF_RETURN_IF_ERROR(main_fn.set_max_dynamic_shared(launch.shared_bytes));
  GQF_RETURN_IF_ERROR(main_fn.launch(launch.grid, launch.block, launch.shared_bytes, stream, &params));
  if (launch.needs_combine_kernel) {
    GQF_ASSIGN_OR_RETURN(Function combine_fn, kernel->function("gqaforge_decode_combine"));
    if (launch.combine_shared_bytes > 48 * 1024) {
      GQF_RETURN_IF_ERROR(combine_fn.set_max_dynamic_shared(launch.combine_shared_bytes));
    }
    GQF_RETURN_IF_ERROR(combine_fn.launch(launch.combine_grid, launch.combine_block, launch.combine_shared_bytes,
                                          stream, &params));
  }
  return ok_status();
}

}  // namespace gqaforge::rt
