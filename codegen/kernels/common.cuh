// Device helpers shared by every generated kernel: element types without CUDA headers,
// conversions, tensor-core mma, ldmatrix, cp.async, vector and cache-controlled loads and
// stores, fast exp2 and warp reductions, as thin inline PTX.
// Compiled by NVRTC from memory; depends on no toolkit header so that it compiles on any
// machine with NVRTC alone.
#pragma once

#include "params.h"

namespace gqf {

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned long long u64;

/// Type selection without the standard library: Select<c, A, B>::type is A if c, else B.
template <bool kCond, typename A, typename B>
struct Select {
  typedef A type;
};
template <typename A, typename B>
struct Select<false, A, B> {
  typedef B type;
};

/// 16-bit storage types; arithmetic happens in fp32.
struct bf16 {
  u16 bits;
};
struct fp16 {
  u16 bits;
};

__device__ __forceinline__ float to_float(bf16 x) {
  return __uint_as_float(static_cast<u32>(x.bits) << 16);
}
__device__ __forceinline__ float to_float(fp16 x) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x.bits));
  return f;
}

template <typename T>
__device__ __forceinline__ T from_float(float f);
template <>
__device__ __forceinline__ bf16 from_float<bf16>(float f) {
  bf16 r;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r.bits) : "f"(f));
  return r;
}
template <>
__device__ __forceinline__ fp16 from_float<fp16>(float f) {
  fp16 r;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r.bits) : "f"(f));
  return r;
}

/// Packs two floats into one 32-bit register of two 16-bit values: `lo` in bits 0..15.
template <typename T>
__device__ __forceinline__ u32 pack2(float lo, float hi);
template <>
__device__ __forceinline__ u32 pack2<bf16>(float lo, float hi) {
  u32 r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
template <>
__device__ __forceinline__ u32 pack2<fp16>(float lo, float hi) {
  u32 r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

/// Unpacks a register of two 16-bit values into floats (lo = bits 0..15).
__device__ __forceinline__ void unpack2(bf16, u32 v, float& lo, float& hi) {
  lo = __uint_as_float(v << 16);
  hi = __uint_as_float(v & 0xffff0000u);
}
__device__ __forceinline__ void unpack2(fp16, u32 v, float& lo, float& hi) {
  u16 a = static_cast<u16>(v & 0xffffu), b = static_cast<u16>(v >> 16);
  asm("cvt.f32.f16 %0, %1;" : "=f"(lo) : "h"(a));
  asm("cvt.f32.f16 %0, %1;" : "=f"(hi) : "h"(b));
}

/// D += A * B with A 16x16 (row), B 16x8 (col), fp32 accumulators (m16n8k16).
__device__ __forceinline__ void mma_16816(bf16, float (&d)[4], const u32 (&a)[4], const u32 (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void mma_16816(fp16, float (&d)[4], const u32 (&a)[4], const u32 (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/// Shared-memory address of a generic pointer, for ldmatrix / cp.async.
__device__ __forceinline__ u32 smem_addr(const void* p) {
  return static_cast<u32>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrix_x4(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x2(u32 (&r)[2], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x2_trans(u32 (&r)[2], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
}

/// 16-byte asynchronous global->shared copy; when `valid` is false the destination is
/// zero-filled and nothing is read (out-of-range rows).
__device__ __forceinline__ void cp_async_16(u32 smem, const void* gmem, bool valid) {
  int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(gmem), "r"(src_bytes));
}
/// cp_async_16 that also asks L2 to fetch the whole 128-byte line around the source: for
/// streams read once front to back (decode's K/V), where it raised the read rate ~2% on the H200.
__device__ __forceinline__ void cp_async_16_l2_128(u32 smem, const void* gmem, bool valid) {
  int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(gmem), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// ---------------------------------------------------------------------------------------------
// 16-byte vector loads and stores, and the other memory accesses the kernels spell in PTX.
// ---------------------------------------------------------------------------------------------

/// Sixteen bytes in registers (four 32-bit words), as moved by one vector load or store.
struct alignas(16) u32x4 {
  u32 x, y, z, w;
};

/// Sixteen zero bytes into shared memory.
__device__ __forceinline__ void st_shared_zero_16(u32 addr) {
  asm volatile("st.shared.v4.u32 [%0], {%1, %1, %1, %1};\n" ::"r"(addr), "r"(0u) : "memory");
}
/// 16-byte shared-memory load; the memory clobber keeps ordinary stores to the same buffer
/// (e.g. staging writes before a __syncwarp) from being moved past it.
__device__ __forceinline__ u32x4 ld_shared_16(u32 addr) {
  u32x4 v;
  asm volatile("ld.shared.v4.b32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "r"(addr)
               : "memory");
  return v;
}

/// 16-byte global store; `p` must be 16-byte aligned.
__device__ __forceinline__ void st_global_16(void* p, const u32x4& v) {
  asm volatile("st.global.v4.b32 [%0], {%1,%2,%3,%4};\n" ::"l"(p), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w) : "memory");
}

/// 16-byte read-only global load (data read once per CTA, such as decode's Q).
__device__ __forceinline__ u32x4 ld_global_nc_16(const void* p) {
  u32x4 v;
  asm volatile("ld.global.nc.v4.b32 {%0,%1,%2,%3}, [%4];\n" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  return v;
}

/// L2-coherent loads, for data that other CTAs of the same launch write (decode's split
/// workspace when the combine is fused), so L1 must not serve them.
__device__ __forceinline__ void ld_cg_f32x4(const float* p, float (&v)[4]) {
  asm volatile("ld.global.cg.v4.f32 {%0,%1,%2,%3}, [%4];\n" : "=f"(v[0]), "=f"(v[1]), "=f"(v[2]), "=f"(v[3]) : "l"(p));
}
__device__ __forceinline__ float ld_cg_f32(const float* p) {
  float v;
  asm volatile("ld.global.cg.f32 %0, [%1];\n" : "=f"(v) : "l"(p));
  return v;
}
__device__ __forceinline__ void st_global_f32x4(float* p, float a, float b, float c, float d) {
  asm volatile("st.global.v4.f32 [%0], {%1,%2,%3,%4};\n" ::"l"(p), "f"(a), "f"(b), "f"(c), "f"(d) : "memory");
}

/// Eight 16-bit values (one 16-byte chunk) to floats.
template <typename Element>
__device__ __forceinline__ void unpack8(const u32x4& v, float (&f)[8]) {
  unpack2(Element(), v.x, f[0], f[1]);
  unpack2(Element(), v.y, f[2], f[3]);
  unpack2(Element(), v.z, f[4], f[5]);
  unpack2(Element(), v.w, f[6], f[7]);
}

/// Programmatic dependent launch (sm_90+; no-ops before): a primary grid's CTAs allow the
/// dependent grid to be scheduled, and the dependent grid waits until the primary grid has
/// completed and its memory operations are visible. Without a programmatic launch both do nothing.
__device__ __forceinline__ void launch_dependent_grids() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void grid_dependency_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

/// Tensor-memory-access (TMA) tile copies tracked by mbarriers (sm_90+). A barrier in shared
/// memory counts one arrival (the thread that posts the expected bytes) plus the bytes the
/// copies deliver; a phase completes when both are in, and waiters name the phase by parity.
__device__ __forceinline__ void mbar_init(u32 bar, u32 arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(arrivals) : "memory");
}
/// Makes initialised barriers visible to the copy engine (before any copy signals them).
__device__ __forceinline__ void mbar_init_fence() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void mbar_arrive_expect_tx(u32 bar, u32 bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
#endif
}
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "{\n"
      ".reg .pred done;\n"
      "GQF_MBAR_WAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra GQF_MBAR_WAIT_%=;\n"
      "}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
#endif
}
/// One box of a rank-4 tensor map (innermost coordinate first) into shared memory at `dst`,
/// completing bytes on the barrier `bar`; out-of-range elements arrive as zeros.
__device__ __forceinline__ void tma_load_4d(u32 dst, const void* map, int c0, int c1, int c2, int c3, u32 bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, "
      "%5}], [%6];\n" ::"r"(dst),
      "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
      : "memory");
#endif
}

/// The dynamic shared memory size the CTA was launched with (guards host/device drift).
__device__ __forceinline__ u32 dynamic_smem_size() {
  u32 r;
  asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(r));
  return r;
}

/// 2^x with the hardware approximation (rel. error ~2^-22), flushing denormals.
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ float neg_inf() {
  return __int_as_float(0xff800000);
}
__device__ __forceinline__ float pos_inf() {
  return __int_as_float(0x7f800000);
}

template <int kWidth>
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = kWidth / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
template <int kWidth>
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = kWidth / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// Natural-log LSE from a running max (already in log2 units, scaled) and sum of 2^(s - max).
__device__ __forceinline__ float lse_from_log2(float max_log2, float sum) {
  if (sum == 0.0f || max_log2 == neg_inf()) return neg_inf();
  return (max_log2 + __log2f(sum)) * 0.69314718055994530942f;
}

__device__ __forceinline__ int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}
__device__ __forceinline__ int imin(int a, int b) {
  return a < b ? a : b;
}
__device__ __forceinline__ int imax(int a, int b) {
  return a > b ? a : b;
}

}  // namespace gqf
