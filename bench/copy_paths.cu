// Copy-path ceilings for decode's K/V stream (issue 17): how fast can one CTA per (sequence,
// KV head) pull its K and V rows from HBM into shared memory, by each way the GPU offers, with
// no attention math in the way? Every variant reads the same bytes and folds every 32-bit word
// it received into one checksum, which must match the plain-load variant's, so a variant that
// skips or misplaces bytes is reported as wrong instead of fast.
//
// Variants (all on a head-major cache [pairs][rows][head_dim], bf16, as bench's K/V layout):
//   ldg        ld.global.nc.v4 straight into registers (no shared memory): the plain-load rate
//   cpasync    per-thread 16-byte cp.async into a padded ring, kStages deep (decode's path),
//              with or without the .L2::128B prefetch hint, K and V copies interleaved or K first
//   tma        a producer warp issues cp.async.bulk.tensor tiles (tensor maps, 128-byte swizzle)
//              into an mbarrier-tracked ring; four consumer warps read each stage and release it
//
// Build: nvcc -O3 -std=c++17 -arch=sm_90a -o copy_paths bench/copy_paths.cu -lcuda
// Run:   copy_paths [head_dim] [pairs] [rows]   (defaults 128 128 131072: 32:8 b16 128K)
#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

typedef unsigned int u32;

#define CHECK(x)                                                                               \
  do {                                                                                         \
    cudaError_t e_ = (x);                                                                      \
    if (e_ != cudaSuccess) {                                                                   \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                            \
    }                                                                                          \
  } while (0)

__device__ __forceinline__ u32 smem_addr(const void* p) {
  return static_cast<u32>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ u32 fold4(uint4 x) {
  return x.x + x.y + x.z + x.w;
}

__device__ __forceinline__ uint4 ld_shared_v4(u32 addr) {
  uint4 r;
  asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n" : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "r"(addr));
  return r;
}

// ---------------------------------------------------------------- ldg
template <int D>
__global__ void __launch_bounds__(256)
    ldg_kernel(const uint4* k, const uint4* v, long long rows, int splits, u32* out) {
  const int pair = blockIdx.x / splits, split = blockIdx.x % splits;
  constexpr int kChunks = D / 8;
  const long long per = rows / splits * kChunks;
  const uint4* kp = k + (pair * rows * kChunks) + split * per;
  const uint4* vp = v + (pair * rows * kChunks) + split * per;
  u32 acc = 0;
  constexpr int kUnroll = 4;
  for (long long c = threadIdx.x; c < per; c += 256 * kUnroll) {
    uint4 a[kUnroll], b[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const long long i = c + u * 256;
      if (i < per) {
        asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(a[u].x), "=r"(a[u].y), "=r"(a[u].z), "=r"(a[u].w)
                     : "l"(kp + i));
        asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(b[u].x), "=r"(b[u].y), "=r"(b[u].z), "=r"(b[u].w)
                     : "l"(vp + i));
      } else {
        a[u] = b[u] = make_uint4(0, 0, 0, 0);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) acc += fold4(a[u]) + fold4(b[u]);
  }
  atomicAdd(out, acc);
}

// ---------------------------------------------------------------- cp.async ring
template <bool kHint>
__device__ __forceinline__ void cp16(u32 dst, const void* src) {
  if constexpr (kHint) {
    asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16;\n" ::"r"(dst), "l"(src));
  } else {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src));
  }
}

template <int D, int BN, int ST, bool kHint, bool kKFirst>
__global__ void __launch_bounds__(128)
    cpasync_kernel(const char* k, const char* v, long long rows, int splits, u32* out) {
  extern __shared__ __align__(16) unsigned char smem[];
  constexpr int kChunks = D / 8, kRowBytes = D * 2 + 16, kTile = BN * kRowBytes, kStage = 2 * kTile;
  constexpr int kRowsPerIter = 128 / kChunks, kIters = BN / kRowsPerIter;
  const int pair = blockIdx.x / splits, split = blockIdx.x % splits;
  const long long per = rows / splits;
  const int tid = threadIdx.x, col = tid % kChunks, row0 = tid / kChunks;
  const long long base = (pair * rows + split * per) * D * 2;
  const char* kp = k + base + row0 * D * 2 + col * 16;
  const char* vp = v + base + row0 * D * 2 + col * 16;
  const u32 ring = smem_addr(smem);
  const int n_tiles = static_cast<int>(per / BN);
  auto issue = [&](int t) {
    if (t < n_tiles) {
      const u32 st = ring + (t % ST) * kStage + row0 * kRowBytes + col * 16;
      const long long off = static_cast<long long>(t) * BN * D * 2;
      if constexpr (kKFirst) {
#pragma unroll
        for (int i = 0; i < kIters; ++i)
          cp16<kHint>(st + i * kRowsPerIter * kRowBytes, kp + off + i * kRowsPerIter * D * 2);
#pragma unroll
        for (int i = 0; i < kIters; ++i)
          cp16<kHint>(st + kTile + i * kRowsPerIter * kRowBytes, vp + off + i * kRowsPerIter * D * 2);
      } else {
#pragma unroll
        for (int i = 0; i < kIters; ++i) {
          cp16<kHint>(st + i * kRowsPerIter * kRowBytes, kp + off + i * kRowsPerIter * D * 2);
          cp16<kHint>(st + kTile + i * kRowsPerIter * kRowBytes, vp + off + i * kRowsPerIter * D * 2);
        }
      }
    }
    asm volatile("cp.async.commit_group;\n" ::);
  };
  for (int s = 0; s < ST - 1; ++s) issue(s);
  u32 acc = 0;
  for (int t = 0; t < n_tiles; ++t) {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(ST - 2));
    __syncthreads();
    issue(t + ST - 1);
    const u32 st = ring + (t % ST) * kStage;
    // Every 16-byte chunk of the stage, once, by some thread.
#pragma unroll
    for (int c = tid; c < 2 * BN * kChunks; c += 128) {
      const int r = c / kChunks, cc = c % kChunks;
      acc += fold4(ld_shared_v4(st + r * kRowBytes + cc * 16));
    }
  }
  asm volatile("cp.async.wait_group 0;\n" ::);
  atomicAdd(out, acc);
}

// ---------------------------------------------------------------- TMA ring
__device__ __forceinline__ void mbar_init(u32 bar, u32 count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count));
}
__device__ __forceinline__ void mbar_expect_tx(u32 bar, u32 bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes));
}
__device__ __forceinline__ void mbar_arrive(u32 bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar));
}
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity) {
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "WAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      "@!p bra WAIT_%=;\n"
      "}\n" ::"r"(bar),
      "r"(parity));
}
__device__ __forceinline__ void tma_load_3d(u32 dst, const CUtensorMap* map, int c0, int c1, int c2, u32 bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], "
      "[%5];\n" ::"r"(dst),
      "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
      : "memory");
}

template <int D, int BN, int ST>
__global__ void __launch_bounds__(160)
    tma_kernel(const __grid_constant__ CUtensorMap kmap, const __grid_constant__ CUtensorMap vmap, long long rows,
               int splits, u32* out) {
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  constexpr int kBox = 64;                   // elements per box row: 128 bytes, the swizzle span
  constexpr int kBoxes = D / kBox;           // boxes per tile per tensor
  constexpr int kBoxBytes = BN * kBox * 2;   // one box
  constexpr int kTile = kBoxes * kBoxBytes;  // K (or V) of one tile
  constexpr int kStage = 2 * kTile;
  const u32 base = (smem_addr(smem_raw) + 1023u) & ~1023u;
  const u32 ring = base;
  const u32 bars = ring + ST * kStage;  // full[ST], then empty[ST]
  const int pair = blockIdx.x / splits, split = blockIdx.x % splits;
  const long long per = rows / splits;
  const int row_begin = static_cast<int>(split * per);
  const int n_tiles = static_cast<int>(per / BN);
  const int tid = threadIdx.x, warp = tid >> 5;
  if (tid == 0) {
    for (int s = 0; s < ST; ++s) {
      mbar_init(bars + 8 * s, 1);
      mbar_init(bars + 8 * (ST + s), 4);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::);
  }
  __syncthreads();
  if (warp == 4) {
    if (tid == 128) {
      for (int t = 0; t < n_tiles; ++t) {
        const int s = t % ST;
        if (t >= ST) mbar_wait(bars + 8 * (ST + s), ((t / ST) - 1) & 1);
        const u32 full = bars + 8 * s;
        mbar_expect_tx(full, kStage);
        const u32 dst = ring + s * kStage;
        const int r = row_begin + t * BN;
#pragma unroll
        for (int b = 0; b < kBoxes; ++b) {
          tma_load_3d(dst + b * kBoxBytes, &kmap, b * kBox, r, pair, full);
          tma_load_3d(dst + kTile + b * kBoxBytes, &vmap, b * kBox, r, pair, full);
        }
      }
    }
    return;
  }
  u32 acc = 0;
  for (int t = 0; t < n_tiles; ++t) {
    const int s = t % ST;
    mbar_wait(bars + 8 * s, (t / ST) & 1);
    const u32 st = ring + s * kStage;
#pragma unroll
    for (int c = tid; c < kStage / 16; c += 128) acc += fold4(ld_shared_v4(st + c * 16));
    __syncwarp();
    if ((tid & 31) == 0) mbar_arrive(bars + 8 * (ST + s));
  }
  atomicAdd(out, acc);
}

// ---------------------------------------------------------------- host
__global__ void fill_kernel(u32* p, long long n, u32 seed) {
  for (long long i = blockIdx.x * 256LL + threadIdx.x; i < n; i += 256LL * gridDim.x) {
    u32 x = static_cast<u32>(i) * 2654435761u ^ seed ^ static_cast<u32>(i >> 32);
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    p[i] = x;
  }
}

typedef CUresult (*EncodeTiled)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static EncodeTiled encoder() {
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult q;
  CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &q));
  if (fn == nullptr) {
    std::fprintf(stderr, "no cuTensorMapEncodeTiled\n");
    std::exit(1);
  }
  return reinterpret_cast<EncodeTiled>(fn);
}

static CUtensorMap make_map(const void* ptr, int d, long long rows, int pairs, int box_rows,
                            CUtensorMapL2promotion promo) {
  CUtensorMap m;
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(d), static_cast<cuuint64_t>(rows),
                              static_cast<cuuint64_t>(pairs)};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(d) * 2, static_cast<cuuint64_t>(rows) * d * 2};
  const cuuint32_t box[3] = {64, static_cast<cuuint32_t>(box_rows), 1};
  const cuuint32_t elem[3] = {1, 1, 1};
  CUresult r =
      encoder()(&m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3, const_cast<void*>(ptr), dims, strides, box, elem,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, promo, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    std::fprintf(stderr, "cuTensorMapEncodeTiled failed: %d\n", static_cast<int>(r));
    std::exit(1);
  }
  return m;
}

struct Result {
  std::string name;
  int ctas;
  double us;
  u32 sum;
};

static Result time_it(const std::string& name, int ctas, const std::function<void()>& launch, u32* d_out,
                      double bytes) {
  for (int i = 0; i < 2; ++i) launch();
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  std::vector<double> t;
  u32 sum = 0;
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int rep = 0; rep < 9; ++rep) {
    CHECK(cudaMemset(d_out, 0, 4));
    CHECK(cudaEventRecord(a));
    launch();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms * 1e3);
    CHECK(cudaMemcpy(&sum, d_out, 4, cudaMemcpyDeviceToHost));
  }
  std::sort(t.begin(), t.end());
  Result r{name, ctas, t[t.size() / 2], sum};
  std::printf("%-44s ctas %5d  %9.1f us  %5.3f TB/s  sum %08x\n", name.c_str(), ctas, r.us, bytes / r.us * 1e-6, sum);
  std::fflush(stdout);
  return r;
}

template <int D>
static void run_all(int pairs, long long rows) {
  const long long elems = static_cast<long long>(pairs) * rows * D;
  const double bytes = 2.0 * elems * 2;
  char *k, *v;
  CHECK(cudaMalloc(&k, elems * 2));
  CHECK(cudaMalloc(&v, elems * 2));
  fill_kernel<<<4096, 256>>>(reinterpret_cast<u32*>(k), elems / 2, 1u);
  fill_kernel<<<4096, 256>>>(reinterpret_cast<u32*>(v), elems / 2, 2u);
  u32* out;
  CHECK(cudaMalloc(&out, 4));
  CHECK(cudaDeviceSynchronize());
  std::printf("head_dim %d, %d pairs x %lld rows, K+V %.2f GB\n", D, pairs, rows, bytes / 1e9);
  std::vector<Result> results;
  for (int splits : {1, 8}) {
    const int ctas = pairs * splits;
    results.push_back(time_it(
        "ldg 256 thr", ctas,
        [&] {
          ldg_kernel<D>
              <<<ctas, 256>>>(reinterpret_cast<const uint4*>(k), reinterpret_cast<const uint4*>(v), rows, splits, out);
        },
        out, bytes));
  }
  auto cp = [&](const char* name, auto kernel, int bn, int st, int splits) {
    const int smem = st * 2 * bn * (D * 2 + 16);
    CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    const int ctas = pairs * splits;
    char label[96];
    std::snprintf(label, sizeof label, "%s bn%d st%d", name, bn, st);
    results.push_back(time_it(
        label, ctas, [&] { kernel<<<ctas, 128, smem>>>(k, v, rows, splits, out); }, out, bytes));
  };
  constexpr int BN = D <= 64 ? 128 : (D <= 128 ? 64 : 32);
  for (int splits : {1, 8}) {
    cp("cpasync hint interleaved", cpasync_kernel<D, BN, 4, true, false>, BN, 4, splits);
    cp("cpasync nohint interleaved", cpasync_kernel<D, BN, 4, false, false>, BN, 4, splits);
    cp("cpasync hint k-first", cpasync_kernel<D, BN, 4, true, true>, BN, 4, splits);
  }
  cp("cpasync hint interleaved", cpasync_kernel<D, BN, 2, true, false>, BN, 2, 1);
  auto tma = [&](const char* name, auto kernel, int bn, int st, int splits, CUtensorMapL2promotion promo) {
    const int smem = st * 2 * bn * D * 2 + 1024 + 16 * st;
    CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    const CUtensorMap km = make_map(k, D, rows, pairs, bn, promo), vm = make_map(v, D, rows, pairs, bn, promo);
    const int ctas = pairs * splits;
    char label[96];
    std::snprintf(label, sizeof label, "%s bn%d st%d", name, bn, st);
    results.push_back(time_it(
        label, ctas, [&] { kernel<<<ctas, 160, smem>>>(km, vm, rows, splits, out); }, out, bytes));
  };
  for (int splits : {1, 8}) {
    tma("tma l2promo128", tma_kernel<D, BN, 4>, BN, 4, splits, CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
    tma("tma l2promo256", tma_kernel<D, BN, 4>, BN, 4, splits, CU_TENSOR_MAP_L2_PROMOTION_L2_256B);
  }
  // Ring depth and tile size, with the better L2 promotion.
  tma("tma l2promo128", tma_kernel<D, BN, 2>, BN, 2, 1, CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
  tma("tma l2promo128", tma_kernel<D, BN, 3>, BN, 3, 1, CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
  tma("tma l2promo128", tma_kernel<D, BN, 6>, BN, 6, 1, CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
  tma("tma l2promo128", tma_kernel<D, 2 * BN, 3>, 2 * BN, 3, 1, CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
  tma("tma l2promo128", tma_kernel<D, BN / 2, 4>, BN / 2, 4, 1, CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
  int wrong = 0;
  for (const Result& r : results)
    if (r.sum != results[0].sum) {
      std::printf("WRONG: %s (ctas %d) checksum %08x, plain loads %08x\n", r.name.c_str(), r.ctas, r.sum,
                  results[0].sum);
      ++wrong;
    }
  std::printf("%s\n", wrong ? "checksums DIFFER" : "all checksums agree");
  CHECK(cudaFree(k));
  CHECK(cudaFree(v));
  CHECK(cudaFree(out));
}

int main(int argc, char** argv) {
  const int d = argc > 1 ? std::atoi(argv[1]) : 128;
  const int pairs = argc > 2 ? std::atoi(argv[2]) : 128;
  const long long rows = argc > 3 ? std::atoll(argv[3]) : 131072;
  if (rows % (8 * 256) != 0) {
    std::fprintf(stderr, "rows=%lld must be a multiple of 2048\n", rows);
    return 2;
  }
  switch (d) {
    case 64:
      run_all<64>(pairs, rows);
      break;
    case 128:
      run_all<128>(pairs, rows);
      break;
    case 256:
      run_all<256>(pairs, rows);
      break;
    default:
      std::fprintf(stderr, "head_dim=%d: 64, 128 or 256\n", d);
      return 2;
  }
  return 0;
}
