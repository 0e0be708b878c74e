// DeviceAttention: uploads and params.
#include "runtime/device_attention.h"

#include <cmath>

namespace gqaforge::runtime {

using codegen::AttentionProblem;

GqaParams fixed_layout_params(const AttentionProblem& pr, bool kv_head_major) {
  GqaParams p{};
  const long long d = pr.head_dim;
  p.q_stride_h = p.k_stride_h = p.v_stride_h = p.o_stride_h = d;
  p.q_stride_s = p.o_stride_s = d * pr.n_q_heads;
  p.k_stride_s = p.v_stride_s = d * pr.n_kv_heads;
  p.q_stride_b = p.o_stride_b = p.q_stride_s * pr.q_len;
  p.k_stride_b = p.v_stride_b = p.k_stride_s * pr.kv_len;
  if (kv_head_major) {
    p.k_stride_s = p.v_stride_s = d;
    p.k_stride_h = p.v_stride_h = d * pr.kv_len;
  }
  p.batch = static_cast<int>(pr.batch);
  p.q_len = static_cast<int>(pr.q_len);
  p.kv_len = static_cast<int>(pr.kv_len);
  p.n_q_heads = pr.n_q_heads;
  p.n_kv_heads = pr.n_kv_heads;
  p.num_splits = 1;
  p.split_len = static_cast<int>(pr.kv_len);
  p.scale_log2 = static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(pr.head_dim)));
  return p;
}

GqaParams host_layout_params(const HostAttention& h, bool kv_head_major) {
  GqaParams p = fixed_layout_params(h.problem, kv_head_major);
  if (h.varlen) {
    // Packed tokens: the batch strides are unused.
    p.q_stride_b = p.k_stride_b = p.v_stride_b = p.o_stride_b = 0;
    int max_q = 0, max_k = 0;
    for (int x : h.q_lens) max_q = std::max(max_q, x);
    for (int x : h.kv_lens) max_k = std::max(max_k, x);
    p.q_len = max_q;
    p.kv_len = max_k;
  }
  return p;
}

Result<DeviceAttention> DeviceAttention::allocate(const AttentionProblem& pr, bool with_lse, bool kv_head_major) {
  DeviceAttention d;
  size_t e = 2;
  size_t q_elems = static_cast<size_t>(pr.batch * pr.q_len * pr.n_q_heads * pr.head_dim);
  size_t kv_elems = static_cast<size_t>(pr.batch * pr.kv_len * pr.n_kv_heads * pr.head_dim);
  GQF_ASSIGN_OR_RETURN(d.q, DeviceBuffer::alloc(q_elems * e));
  GQF_ASSIGN_OR_RETURN(d.k, DeviceBuffer::alloc(kv_elems * e));
  GQF_ASSIGN_OR_RETURN(d.v, DeviceBuffer::alloc(kv_elems * e));
  GQF_ASSIGN_OR_RETURN(d.o, DeviceBuffer::alloc(q_elems * e));
  if (with_lse) {
    GQF_ASSIGN_OR_RETURN(d.lse, DeviceBuffer::alloc(static_cast<size_t>(pr.batch * pr.q_len * pr.n_q_heads) * 4));
  }
  d.params = fixed_layout_params(pr, kv_head_major);
  d.bind_buffers();
  return d;
}

void DeviceAttention::bind_buffers() {
  params.q = reinterpret_cast<const void*>(q.ptr());
  params.k = reinterpret_cast<const void*>(k.ptr());
  params.v = reinterpret_cast<const void*>(v.ptr());
  params.o = reinterpret_cast<void*>(o.ptr());
  params.lse = lse.size() > 0 ? reinterpret_cast<float*>(lse.ptr()) : nullptr;
}

namespace {

// [B, S, H, D] -> [B, H, S, D].
std::vector<uint16_t> to_head_major(const std::vector<uint16_t>& x, const AttentionProblem& p) {
  std::vector<uint16_t> out(x.size());
  const int64_t s_len = p.kv_len, h_n = p.n_kv_heads, d = p.head_dim;
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t s = 0; s < s_len; ++s)
      for (int64_t h = 0; h < h_n; ++h)
        std::copy_n(x.begin() + ((b * s_len + s) * h_n + h) * d, d, out.begin() + ((b * h_n + h) * s_len + s) * d);
  return out;
}

}  // namespace

Result<DeviceAttention> DeviceAttention::upload(const HostAttention& h, bool with_lse, bool kv_head_major) {
  if (kv_head_major && h.varlen) return invalid_argument("the head-major K/V layout needs fixed-length sequences");
  DeviceAttention d;
  const AttentionProblem& pr = h.problem;
  GQF_ASSIGN_OR_RETURN(d.q, DeviceBuffer::alloc(h.q.size() * 2));
  GQF_ASSIGN_OR_RETURN(d.k, DeviceBuffer::alloc(std::max<size_t>(h.k.size(), 8) * 2));
  GQF_ASSIGN_OR_RETURN(d.v, DeviceBuffer::alloc(std::max<size_t>(h.v.size(), 8) * 2));
  GQF_ASSIGN_OR_RETURN(d.o, DeviceBuffer::alloc(h.q.size() * 2));
  GQF_RETURN_IF_ERROR(d.q.upload(h.q.data(), h.q.size() * 2));
  if (kv_head_major) {
    std::vector<uint16_t> k = to_head_major(h.k, pr), v = to_head_major(h.v, pr);
    GQF_RETURN_IF_ERROR(d.k.upload(k.data(), k.size() * 2));
    GQF_RETURN_IF_ERROR(d.v.upload(v.data(), v.size() * 2));
  } else {
    GQF_RETURN_IF_ERROR(d.k.upload(h.k.data(), h.k.size() * 2));
    GQF_RETURN_IF_ERROR(d.v.upload(h.v.data(), h.v.size() * 2));
  }
  if (with_lse) {
    GQF_ASSIGN_OR_RETURN(d.lse, DeviceBuffer::alloc(static_cast<size_t>(h.q_rows() * pr.n_q_heads) * 4));
  }
  d.params = host_layout_params(h, kv_head_major);
  GQF_ASSIGN_OR_RETURN(d.kv_lens, DeviceBuffer::alloc(h.kv_lens.size() * 4));
  GQF_RETURN_IF_ERROR(d.kv_lens.upload(h.kv_lens.data(), h.kv_lens.size() * 4));
  d.params.kv_lens = reinterpret_cast<const int*>(d.kv_lens.ptr());
  if (h.varlen) {
    GQF_ASSIGN_OR_RETURN(d.cu_q, DeviceBuffer::alloc(h.cu_q.size() * 4));
    GQF_ASSIGN_OR_RETURN(d.cu_k, DeviceBuffer::alloc(h.cu_k.size() * 4));
    GQF_RETURN_IF_ERROR(d.cu_q.upload(h.cu_q.data(), h.cu_q.size() * 4));
    GQF_RETURN_IF_ERROR(d.cu_k.upload(h.cu_k.data(), h.cu_k.size() * 4));
    d.params.cu_seqlens_q = reinterpret_cast<const int*>(d.cu_q.ptr());
    d.params.cu_seqlens_k = reinterpret_cast<const int*>(d.cu_k.ptr());
  }
  d.bind_buffers();
  return d;
}

Status DeviceAttention::poison(CUstream stream) {
  GQF_RETURN_IF_ERROR(o.fill_u32(uint32_t{kPoison16} | (uint32_t{kPoison16} << 16), stream));
  if (lse.size() > 0) GQF_RETURN_IF_ERROR(lse.fill_u32(kPoison32, stream));
  return ok_status();
}

Result<std::vector<uint16_t>> DeviceAttention::download_o() const {
  std::vector<uint16_t> out(o.size() / 2);
  GQF_RETURN_IF_ERROR(o.download(out.data(), out.size() * 2));
  return out;
}

Result<std::vector<float>> DeviceAttention::download_lse() const {
  std::vector<float> out(lse.size() / 4);
  GQF_RETURN_IF_ERROR(lse.download(out.data(), out.size() * 4));
  return out;
}

}  // namespace gqaforge::runtime
