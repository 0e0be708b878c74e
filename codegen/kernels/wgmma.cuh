// Hopper warpgroup matrix multiply (wgmma, sm_90a): shared-memory matrix descriptors, the
// fences around asynchronous tensor-core work, and the declarations of the m64nNk16 products.
//
// The products themselves are emitted per kernel by the code generator (codegen/wgmma_ops.cpp)
// as explicit specializations of mma_ss / mma_rs for the N values the kernel uses: one inline
// PTX statement with N/2 fp32 accumulator operands each, which no header can spell generically.
//
// Shared-memory operands use the 128-byte swizzle: a tile of R rows by 64 16-bit elements (one
// "panel", 128 bytes per row) is stored row after row, and the 16-byte chunk c of row r lands at
// chunk c ^ (r % 8). Panels are 1024-byte aligned (the hardware applies the XOR on address bits,
// so the pattern is relative to a 1024-byte boundary). A tile wider than 64 elements is a
// sequence of panels, panel p holding columns 64p .. 64p + 63.
#pragma once

#include "common.cuh"

namespace gqf {
namespace wgmma {

/// Byte offset of element (row, col) in a swizzled tile of `rows` rows (a multiple of 8).
__device__ __forceinline__ u32 swizzled_offset(int row, int col, int rows) {
  const int panel = col / 64, chunk = (col % 64) / 8;
  return static_cast<u32>(panel * rows * 128 + row * 128 + ((chunk ^ (row % 8)) * 16) + (col % 8) * 2);
}

/// Matrix descriptor of a 128-byte-swizzled operand starting at shared address `addr`.
/// K-major operands (rows of K contiguous): `sbo` = 1024, the stride of 8-row groups; `lbo` is
/// unused. MN-major operands (rows of MN contiguous, transposed by the instruction): `lbo` = the
/// stride between 64-element panels along MN, `sbo` = 1024, the stride of 8-row groups along K.
__device__ __forceinline__ u64 make_desc(u32 addr, u32 lbo, u32 sbo) {
  return static_cast<u64>((addr & 0x3ffffu) >> 4) | (static_cast<u64>((lbo >> 4) & 0x3fffu) << 16) |
         (static_cast<u64>((sbo >> 4) & 0x3fffu) << 32) | (1ull << 62);
}

/// Orders this warpgroup's earlier register writes before the next wgmma reads them.
__device__ __forceinline__ void fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
/// Waits until at most N committed groups of this warpgroup are still running.
template <int N>
__device__ __forceinline__ void wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
/// Makes this thread's generic-proxy shared-memory writes (stores, cp.async) visible to the
/// async proxy (wgmma operand reads); a barrier must follow before another thread's wgmma.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

/// Keeps the compiler from moving reads or writes of accumulator / fragment registers across
/// the asynchronous window between an mma issue and its wait.
template <int R, int C>
__device__ __forceinline__ void pin(float (&x)[R][C]) {
#pragma unroll
  for (int i = 0; i < R; ++i)
#pragma unroll
    for (int j = 0; j < C; ++j) asm volatile("" : "+f"(x[i][j])::"memory");
}
template <int R, int C>
__device__ __forceinline__ void pin(u32 (&x)[R][C]) {
#pragma unroll
  for (int i = 0; i < R; ++i)
#pragma unroll
    for (int j = 0; j < C; ++j) asm volatile("" : "+r"(x[i][j])::"memory");
}

/// d (+)= A B for one warpgroup, m64nNk16: A (64 x 16) and B (16 x N, K-major) from shared
/// memory. `accumulate` = 0 overwrites d. d is N/8 m16n8-style tiles of this warp's 16 rows:
/// d[t][0..1] row lane/4, d[t][2..3] row lane/4 + 8, columns 8t + 2 (lane % 4) + {0, 1}.
template <int N, typename Element>
__device__ void mma_ss(float (&d)[N / 8][4], u64 desc_a, u64 desc_b, int accumulate);

/// d (+)= A B, m64nNk16, A from registers (this warp's 16 x 16 slice, the mma.sync m16n8k16
/// A-fragment layout), B (16 x N) MN-major from shared memory.
template <int N, typename Element>
__device__ void mma_rs(float (&d)[N / 8][4], const u32 (&a)[4], u64 desc_b, int accumulate);

}  // namespace wgmma
}  // namespace gqf
