// Benchmarks of the C API on a GPU (bench/run_capi.sh runs them; bench/RESULTS.md records them):
//
//   overhead LIB       host time of one gqaforge_plan_run call against the driver's floor (an
//                      empty kernel taking the same parameter block, through cuLaunchKernel)
//   first LIB|-        time from gqaforge_library_open to the first result (open, plan, run,
//                      synchronize) in a process whose CUDA context exists; `-` = JIT only.
//                      GQAFORGE_CACHE_DIR pointing at an empty directory makes the cache cold
//   compare LIB CSV    the tuned plan and the heuristic default of each benchmark shape, both
//                      through the C API, timed as bench/peers.py times PyTorch SDPA (inputs
//                      rotated past the L2 cache, CUDA-graph replay, CUDA events, median of 15)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "codegen/kernels/params.h"
#include "gqaforge/gqaforge.h"
#include "runtime/device_info.h"
#include "runtime/handles.h"
#include "runtime/nvrtc_compiler.h"

namespace gqaforge::bench {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "capi_bench: %s\n", what.c_str());
  std::exit(1);
}

void check(gqaforge_status s, const char* what) {
  if (s != GQAFORGE_STATUS_OK) die(fmt::format("{}: {} ({})", what, gqaforge_last_error(), gqaforge_status_name(s)));
}

void check(const Status& s, const char* what) {
  if (!s.ok()) die(fmt::format("{}: {}", what, s.message()));
}

template <class T>
T value(Result<T> r, const char* what) {
  if (!r.ok()) die(fmt::format("{}: {}", what, r.status().message()));
  return std::move(*r);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Shape {
  gqaforge_phase phase;
  int hq, hkv, d;
  int causal;
  int64_t batch, q_len, kv_len;

  gqaforge_problem problem() const {
    return gqaforge_problem_make(phase, GQAFORGE_DTYPE_BF16, hq, hkv, d, causal, batch, q_len, kv_len);
  }
  size_t q_elems() const { return static_cast<size_t>(batch * q_len * hq * d); }
  size_t kv_elems() const { return static_cast<size_t>(batch * kv_len * hkv * d); }
  double kv_bytes() const { return 2.0 * static_cast<double>(kv_elems()) * 2; }
  // Visible (query, key) pairs under the bottom-right causal mask, as bench/peers.py counts them.
  double flops() const {
    const double q = static_cast<double>(q_len), k = static_cast<double>(kv_len);
    double pairs = q * k;
    if (causal && q_len > 1) {
      const double off = k - q;
      pairs = off >= 0 ? q * (off + 1) + q * (q - 1) / 2 : (q + off) * (q + off + 1) / 2;
    }
    return 4.0 * static_cast<double>(batch * hq * d) * pairs;
  }
  std::string csv() const {
    return fmt::format("{},{},{},{},{},{},{},{}", phase == GQAFORGE_PHASE_DECODE ? "decode" : "prefill", hq, hkv, d,
                       causal, batch, q_len, kv_len);
  }
};

// `copies` independent input sets of one shape (rotated so that each run reads past the L2),
// and the plan's workspace.
struct Tensors {
  struct Set {
    runtime::DeviceBuffer q, k, v, o;
  };
  std::vector<Set> sets;
  runtime::DeviceBuffer workspace;
  size_t workspace_bytes = 0;

  Tensors(const Shape& s, int copies, size_t ws, CUstream stream) : workspace_bytes(ws) {
    for (int i = 0; i < copies; ++i) {
      Set set;
      set.q = value(runtime::DeviceBuffer::alloc(s.q_elems() * 2), "alloc Q");
      set.k = value(runtime::DeviceBuffer::alloc(s.kv_elems() * 2), "alloc K");
      set.v = value(runtime::DeviceBuffer::alloc(s.kv_elems() * 2), "alloc V");
      set.o = value(runtime::DeviceBuffer::alloc(s.q_elems() * 2), "alloc O");
      // Small finite bf16 values (0x3c3c = 0.0115): the kernels' time does not depend on them.
      for (runtime::DeviceBuffer* b : {&set.q, &set.k, &set.v}) check(b->fill_bytes(0x3c, stream), "fill");
      sets.push_back(std::move(set));
    }
    if (ws > 0) workspace = value(runtime::DeviceBuffer::alloc(ws), "alloc workspace");
  }

  gqaforge_run_args args(const Shape& s, size_t i) const {
    const Set& set = sets[i % sets.size()];
    gqaforge_run_args a{};
    a.struct_size = sizeof(a);
    a.batch = s.batch, a.q_len = s.q_len, a.kv_len = s.kv_len;
    a.q = reinterpret_cast<const void*>(set.q.ptr());
    a.k = reinterpret_cast<const void*>(set.k.ptr());
    a.v = reinterpret_cast<const void*>(set.v.ptr());
    a.o = reinterpret_cast<void*>(set.o.ptr());
    return a;
  }
  void* ws() const { return reinterpret_cast<void*>(workspace.ptr()); }
};

int copies_for(const Shape& s, const runtime::DeviceInfo& device) {
  const double need = std::ceil(2.0 * device.l2_bytes / s.kv_bytes()) + 1;
  return static_cast<int>(std::min(64.0, std::max(2.0, need)));
}

gqaforge_library* open_library(const std::string& path) {
  gqaforge_library* lib = nullptr;
  gqaforge_open_options o{};
  o.struct_size = sizeof(o);
  check(gqaforge_library_open(path == "-" ? nullptr : path.c_str(), &o, &lib), "gqaforge_library_open");
  return lib;
}

gqaforge_plan_info describe(const gqaforge_plan* plan) {
  gqaforge_plan_info info{};
  info.struct_size = sizeof(info);
  check(gqaforge_plan_describe(plan, &info), "gqaforge_plan_describe");
  return info;
}

// Host microseconds per call of `call`, enqueueing `batch` calls between synchronizations
// (the GPU drains them meanwhile; the queue never fills), median of 31 batches.
template <class Call>
double host_us_per_call(Call&& call, const runtime::Stream& stream, int batch = 100) {
  for (int i = 0; i < 20; ++i) call();
  check(stream.synchronize(), "synchronize");
  std::vector<double> per;
  for (int rep = 0; rep < 31; ++rep) {
    const auto t0 = Clock::now();
    for (int i = 0; i < batch; ++i) call();
    per.push_back(ms_since(t0) * 1e3 / batch);
    check(stream.synchronize(), "synchronize");
  }
  return median(per);
}

int overhead(const std::string& path) {
  const runtime::Stream stream = value(runtime::Stream::create(), "stream");
  gqaforge_library* lib = open_library(path);

  // The driver's floor: an empty kernel taking a GqaParams by value.
  codegen::KernelSource empty{
      .family = "bench",
      .name = "empty",
      .code = "#include \"params.h\"\nextern \"C\" __global__ void gqaforge_empty(GqaParams p) {}\n",
      .entry_points = {"gqaforge_empty"}};
  const runtime::DeviceInfo device = value(runtime::query_device(0), "query_device");
  runtime::CompileOptions options;
  options.arch = device.default_arch();
  const runtime::CompiledKernel compiled = value(runtime::compile_nvrtc(empty, options), "compile the empty kernel");
  const runtime::Module module = value(runtime::Module::load(compiled.cubin), "load the empty kernel");
  const runtime::Function fn = value(module.function("gqaforge_empty"), "gqaforge_empty");
  GqaParams params{};
  const unsigned one[3] = {1, 1, 1};
  const double floor_us =
      host_us_per_call([&] { check(fn.launch(one, one, 0, stream.get(), &params), "cuLaunchKernel"); }, stream);
  fmt::print("driver floor (cuLaunchKernel, empty kernel, {}-byte params): {:.2f} us per call\n", sizeof(GqaParams),
             floor_us);

  const Shape shapes[] = {{GQAFORGE_PHASE_DECODE, 32, 8, 128, 1, 1, 1, 4096},
                          {GQAFORGE_PHASE_DECODE, 8, 1, 128, 1, 1, 1, 131072},
                          {GQAFORGE_PHASE_PREFILL, 32, 8, 128, 1, 1, 512, 512}};
  fmt::print("{:<40} {:>9} {:>9} {:>10} {:>8} {}\n", "shape", "run us", "floor us", "overhead", "launches", "config");
  for (const Shape& s : shapes) {
    const gqaforge_problem p = s.problem();
    gqaforge_plan* plan = nullptr;
    check(gqaforge_plan_create(lib, &p, 0, &plan), "gqaforge_plan_create");
    const gqaforge_plan_info info = describe(plan);
    Tensors t(s, 1, info.workspace_bytes, stream.get());
    const gqaforge_run_args a = t.args(s, 0);
    const double run_us = host_us_per_call(
        [&] { check(gqaforge_plan_run(plan, &a, t.ws(), t.workspace_bytes, stream.get()), "gqaforge_plan_run"); },
        stream, s.phase == GQAFORGE_PHASE_DECODE ? 100 : 20);
    // Driver calls per run: a split-KV decode makes two (the combine kernel, or the memset
    // of the fused combine's counters), so its overhead is over two floors.
    const int launches = info.workspace_bytes > 0 ? 2 : 1;
    fmt::print("{:<40} {:>9.2f} {:>9.2f} {:>10.2f} {:>8} {} [{}] workspace {} B\n", s.csv(), run_us,
               floor_us * launches, run_us - floor_us * launches, launches, info.family, info.config,
               info.workspace_bytes);
    gqaforge_plan_destroy(plan);
  }
  gqaforge_library_close(lib);
  return 0;
}

int first(const std::string& path) {
  const runtime::Stream stream = value(runtime::Stream::create(), "stream");
  const Shape shapes[] = {{GQAFORGE_PHASE_DECODE, 32, 8, 128, 1, 16, 1, 4096},
                          {GQAFORGE_PHASE_PREFILL, 32, 8, 128, 1, 4, 2048, 2048}};
  // The tensors are the caller's: allocated before the clock starts.
  std::vector<Tensors> tensors;
  for (const Shape& s : shapes) tensors.emplace_back(s, 1, size_t{64} << 20, stream.get());
  const auto t0 = Clock::now();
  gqaforge_library* lib = open_library(path);
  const double open_ms = ms_since(t0);
  for (size_t i = 0; i < std::size(shapes); ++i) {
    const Shape& s = shapes[i];
    const auto t1 = Clock::now();
    const gqaforge_problem p = s.problem();
    gqaforge_plan* plan = nullptr;
    check(gqaforge_plan_create(lib, &p, 0, &plan), "gqaforge_plan_create");
    const double plan_ms = ms_since(t1);
    const gqaforge_plan_info info = describe(plan);
    if (info.workspace_bytes > tensors[i].workspace_bytes) die("the workspace is too small");
    const gqaforge_run_args a = tensors[i].args(s, 0);
    check(gqaforge_plan_run(plan, &a, tensors[i].ws(), tensors[i].workspace_bytes, stream.get()), "gqaforge_plan_run");
    check(stream.synchronize(), "synchronize");
    fmt::print("{} {}: open {:.1f} ms, plan {:.1f} ms ({}, {}), first result {:.1f} ms after open\n",
               path == "-" ? "jit" : "library", s.csv(), open_ms, plan_ms,
               info.from_cubin ? "cubin" : "compiled through NVRTC", info.config, ms_since(t0));
    gqaforge_plan_destroy(plan);
  }
  gqaforge_library_close(lib);
  return 0;
}

// Median microseconds per run: `calls` runs over the rotated inputs captured in one graph,
// the graph replayed 15 times between events.
double time_plan(const gqaforge_plan* plan, const Shape& s, const Tensors& t, const runtime::Stream& stream) {
  const runtime::Event start = value(runtime::Event::create(), "event"),
                       stop = value(runtime::Event::create(), "event");
  auto enqueue = [&](size_t i) {
    const gqaforge_run_args a = t.args(s, i);
    return gqaforge_plan_run(plan, &a, t.ws(), t.workspace_bytes, stream.get());
  };
  for (size_t i = 0; i < 3; ++i) check(enqueue(i), "gqaforge_plan_run");
  check(start.record(stream.get()), "record");
  check(enqueue(0), "gqaforge_plan_run");
  check(stop.record(stream.get()), "record");
  check(stop.synchronize(), "synchronize");
  const double one_ms = value(stop.elapsed_ms_since(start), "elapsed");
  const size_t calls = static_cast<size_t>(std::clamp(std::ceil(2.0 / std::max(one_ms, 1e-4)), 1.0, 200.0));
  runtime::GraphExec graph = value(runtime::GraphExec::capture(stream.get(),
                                                               [&]() -> Status {
                                                                 for (size_t i = 0; i < calls; ++i) {
                                                                   if (enqueue(i) != GQAFORGE_STATUS_OK) {
                                                                     return internal_error("{}", gqaforge_last_error());
                                                                   }
                                                                 }
                                                                 return ok_status();
                                                               }),
                                   "capture");
  check(graph.launch(stream.get()), "graph launch");
  check(stream.synchronize(), "synchronize");
  std::vector<double> per;
  for (int rep = 0; rep < 15; ++rep) {
    check(start.record(stream.get()), "record");
    check(graph.launch(stream.get()), "graph launch");
    check(stop.record(stream.get()), "record");
    check(stop.synchronize(), "synchronize");
    per.push_back(value(stop.elapsed_ms_since(start), "elapsed") * 1e3 / static_cast<double>(calls));
  }
  return median(per);
}

std::vector<Shape> compare_shapes() {
  std::vector<Shape> v;
  for (auto [hq, hkv, d] : std::vector<std::tuple<int, int, int>>{{32, 8, 128}, {8, 1, 128}, {32, 8, 64}, {8, 1, 64}}) {
    for (int64_t b : {1, 16}) {
      for (int64_t kv : {4096, 65536}) v.push_back({GQAFORGE_PHASE_DECODE, hq, hkv, d, 1, b, 1, kv});
    }
  }
  for (auto [hq, hkv, d] : std::vector<std::tuple<int, int, int>>{{32, 8, 128}, {16, 2, 256}}) {
    for (int causal : {1, 0}) {
      for (int64_t seq : {2048, 16384})
        v.push_back({GQAFORGE_PHASE_PREFILL, hq, hkv, d, causal, 16384 / seq, seq, seq});
    }
  }
  return v;
}

int compare(const std::string& path, const std::string& csv_path) {
  const runtime::Stream stream = value(runtime::Stream::create(), "stream");
  const runtime::DeviceInfo device = value(runtime::query_device(0), "query_device");
  gqaforge_library* lib = open_library(path);
  std::ofstream csv(csv_path);
  csv << "phase,hq,hkv,d,causal,batch,q_len,kv_len,variant,decision,median_us,tbps,tflops,config,error\n";
  for (const Shape& s : compare_shapes()) {
    for (uint32_t flags : {0u, uint32_t{GQAFORGE_PLAN_HEURISTIC_DEFAULT}}) {
      const char* variant = flags == 0 ? "tuned" : "default";
      const gqaforge_problem p = s.problem();
      gqaforge_plan* plan = nullptr;
      if (gqaforge_plan_create(lib, &p, flags, &plan) != GQAFORGE_STATUS_OK) {
        csv << fmt::format("{},{},,,,,,\"{}\"\n", s.csv(), variant, gqaforge_last_error());
        continue;
      }
      const gqaforge_plan_info info = describe(plan);
      const char* decision = gqaforge_decision_name(info.decision);
      double us = 0;
      {
        Tensors t(s, copies_for(s, device), info.workspace_bytes, stream.get());
        us = time_plan(plan, s, t, stream);
      }
      const double tbps = s.kv_bytes() / us / 1e6, tflops = s.flops() / us / 1e6;
      csv << fmt::format("{},{},{},{:.3f},{:.3f},{:.2f},\"{}\",\n", s.csv(), variant, decision, us, tbps, tflops,
                         info.config);
      csv.flush();
      fmt::print("{:<40} {:<8} {:<8} {:>9.2f} us {:>6.2f} TB/s {:>7.1f} TFLOP/s [{}]\n", s.csv(), variant, decision, us,
                 tbps, tflops, info.config);
      gqaforge_plan_destroy(plan);
    }
  }
  gqaforge_library_close(lib);
  return 0;
}

int main_impl(int argc, char** argv) {
  const std::string usage = "usage: capi_bench overhead LIB | first LIB|- | compare LIB CSV";
  if (argc < 3) die(usage);
  const std::string mode = argv[1];
  // The process's context exists before any timing starts (a serving process has one).
  const runtime::Context ctx = value(runtime::Context::create(0), "no GPU");
  if (mode == "overhead") return overhead(argv[2]);
  if (mode == "first") return first(argv[2]);
  if (mode == "compare" && argc == 4) return compare(argv[2], argv[3]);
  die(usage);
}

}  // namespace
}  // namespace gqaforge::bench

int main(int argc, char** argv) {
  return gqaforge::bench::main_impl(argc, argv);
}
