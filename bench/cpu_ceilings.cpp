// The host's measured ceilings for the CPU benchmarks (bench/run_cpu.sh): streaming read
// bandwidth with every thread, and the fp32 FMA rate of the widest vectors the CPU runs (chosen
// at run time, so the binary runs on any x86-64). Prints one line each as "name value unit".
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

template <class F>
double best_of(int reps, F&& run) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    run();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

void parallel(int threads, const std::function<void(int)>& fn) {
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back(fn, t);
  for (auto& t : ts) t.join();
}

// Each thread sums its slice of a 1 GB array of 64-bit words: bytes read per second.
double read_bandwidth(int threads) {
  const size_t n = size_t{128} << 20;  // words
  std::vector<uint64_t> a(n, 1);
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  const double s = best_of(3, [&] {
    parallel(threads, [&](int t) {
      uint64_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
      const size_t b = n / static_cast<size_t>(threads) * static_cast<size_t>(t);
      const size_t e = b + n / static_cast<size_t>(threads);
      for (size_t i = b; i + 4 <= e; i += 4) {
        acc0 += a[i];
        acc1 += a[i + 1];
        acc2 += a[i + 2];
        acc3 += a[i + 3];
      }
      sums[static_cast<size_t>(t)] = acc0 + acc1 + acc2 + acc3;
    });
  });
  uint64_t total = 0;
  for (uint64_t x : sums) total += x;
  if (total != n) std::fprintf(stderr, "cpu_ceilings: read check failed\n");
  return static_cast<double>(n * sizeof(uint64_t)) / s;
}

typedef float V16 __attribute__((vector_size(64)));
typedef float V8 __attribute__((vector_size(32)));
typedef float V4 __attribute__((vector_size(16)));

template <class V>
struct Fma {
  // 12 independent chains hide the FMA latency on every core of this decade.
  static inline __attribute__((always_inline)) double run(int64_t iters) {
    V acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = V{} + static_cast<float>(i);
    const V m = V{} + 0.999999f, c = V{} + 1e-7f;
    for (int64_t it = 0; it < iters; ++it) {
      for (int i = 0; i < 12; ++i) acc[i] = acc[i] * m + c;
    }
    float s = 0;
    for (int i = 0; i < 12; ++i) s += acc[i][0];
    return static_cast<double>(s);
  }
};

__attribute__((target("avx512f,fma"))) double fma512(int64_t iters) {
  return Fma<V16>::run(iters);
}
__attribute__((target("avx2,fma"))) double fma256(int64_t iters) {
  return Fma<V8>::run(iters);
}
double fma128(int64_t iters) {
  return Fma<V4>::run(iters);
}

double fma_rate(int threads, int* lanes) {
  __builtin_cpu_init();
  double (*fn)(int64_t) = fma128;
  *lanes = 4;
  if (__builtin_cpu_supports("avx512f")) {
    fn = fma512;
    *lanes = 16;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    fn = fma256;
    *lanes = 8;
  }
  const int64_t iters = 50'000'000;
  std::vector<double> sink(static_cast<size_t>(threads));
  const double s = best_of(3, [&] { parallel(threads, [&](int t) { sink[static_cast<size_t>(t)] = fn(iters); }); });
  return 2.0 * 12 * *lanes * static_cast<double>(iters) * threads / s;
}

}  // namespace

int main() {
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int lanes = 0;
  const double flops = fma_rate(threads, &lanes);
  std::printf("threads %d\n", threads);
  std::printf("read_bandwidth %.2f GB/s\n", read_bandwidth(threads) / 1e9);
  std::printf("fma_peak %.1f GFLOP/s (%d-lane fp32 FMA)\n", flops / 1e9, lanes);
  return 0;
}
