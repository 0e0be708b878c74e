// Device-side random fill for benchmark inputs: a counter-based hash turned into an
// approximately normal value (sum of uniforms), written as bf16 or fp16. Never zeros.
#pragma once

#include "common.cuh"

namespace gqf {

__device__ __forceinline__ u32 hash_u32(u64 x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return static_cast<u32>(x);
}

}  // namespace gqf

#define GQF_FILL_ENTRY_POINTS(Traits)                                                                            \
  extern "C" __global__ void gqaforge_fill_random(typename Traits::Element* out, unsigned long long n,           \
                                                  unsigned long long seed) {                                     \
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;                                      \
    for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n; i += stride) { \
      gqf::u32 h1 = gqf::hash_u32(seed * 0x9e3779b97f4a7c15ull + 2 * i);                                         \
      gqf::u32 h2 = gqf::hash_u32(seed * 0x9e3779b97f4a7c15ull + 2 * i + 1);                                     \
      float s = ((h1 & 0xffff) + (h1 >> 16) + (h2 & 0xffff) + (h2 >> 16)) * (1.0f / 65536.0f) - 2.0f;            \
      out[i] = gqf::from_float<typename Traits::Element>(s * 1.7320508f);                                        \
    }                                                                                                            \
  }
