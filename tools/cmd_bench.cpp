// `gqaforge bench`: times attention kernels on the GPU after they pass the correctness gate.
// One problem from the flags, or a whole suite (--suite decode|prefill) as the benchmark
// reports of bench/RESULTS.md use. Inputs are filled on the device with random values and
// rotated through enough copies to exceed the L2 cache; each timing is the median of graph-
// captured repetitions (autotune/timing.h).
#include <cstdio>
#include <optional>
#include <fstream>

#include "backends/cuda/kernel_bench.h"
#include "core/progress.h"
#include "core/strings.h"
#include "core/units.h"
#include "runtime/checker.h"
#include "runtime/device_attention.h"
#include "runtime/device_info.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/cpu_commands.h"
#include "tools/gpu_session.h"
#include "tools/problem_flags.h"
#include "tools/validators.h"

namespace gqaforge::tools {

using codegen::AttentionProblem;
using codegen::Phase;

namespace {

// K/V as [batch, n_kv, kv_len, head_dim], the layout the peers get in bench/peers.py.
constexpr bool kKvHeadMajor = true;

struct BenchRow {
  AttentionProblem problem;
  std::string config;
  std::string gate;
  backends::cuda::TimingStats timing;
  double tbps = 0, tflops = 0;
  std::string error;
};

std::vector<AttentionProblem> decode_suite() {
  std::vector<AttentionProblem> out;
  std::vector<std::tuple<int, int, int>> heads = {{32, 8, 128}, {32, 32, 128}, {8, 1, 128}, {16, 2, 128}, {28, 4, 128},
                                                  {40, 8, 128}, {64, 8, 128},  {32, 8, 64}, {8, 1, 64}};
  for (auto [hq, hkv, d] : heads) {
    for (int b : {1, 4, 16, 64}) {
      for (int kv : {1024, 4096, 16384, 65536, 131072}) {
        // Skip what does not fit comfortably: KV cache above 40 GB.
        if (2.0 * b * kv * hkv * d * 2 > 40e9) continue;
        out.push_back(codegen::make_problem(Phase::kDecode, hq, hkv, d, codegen::DType::kBF16, true, b, 1, kv));
      }
    }
  }
  // Speculative decoding: 2-16 query tokens per step (bench/peers.py times the peers unmasked).
  for (auto [hq, hkv, d, b, kv] : std::vector<std::tuple<int, int, int, int, int>>{
           {32, 8, 128, 16, 16384}, {8, 1, 128, 1, 131072}, {16, 2, 128, 4, 32768}}) {
    for (int q : {2, 4, 8, 16}) {
      out.push_back(codegen::make_problem(Phase::kDecode, hq, hkv, d, codegen::DType::kBF16, true, b, q, kv));
    }
  }
  return out;
}

std::vector<AttentionProblem> prefill_suite() {
  std::vector<AttentionProblem> out;
  std::vector<std::tuple<int, int, int>> heads = {{32, 8, 128}, {32, 32, 128}, {8, 1, 128},
                                                  {16, 2, 128}, {32, 8, 64},   {16, 2, 256}};
  for (auto [hq, hkv, d] : heads) {
    for (bool causal : {true, false}) {
      for (int seq : {512, 2048, 8192, 16384, 65536}) {
        int64_t batch = seq == 65536 ? 1 : 16384 / seq;
        out.push_back(
            codegen::make_problem(Phase::kPrefill, hq, hkv, d, codegen::DType::kBF16, causal, batch, seq, seq));
      }
    }
  }
  return out;
}

// Runs one problem through the shared measurement (autotune/kernel_bench.h) as a table row.
BenchRow bench_one(backends::cuda::KernelBench& bench, const AttentionProblem& problem,
                   const std::string& config_text) {
  BenchRow row;
  row.problem = problem;
  auto op = runtime::AttentionOp::create(problem, "", config_text, bench.info().limits());
  auto out = op.ok() ? bench.run(*op, runtime::gate_seed(problem)) : Result<backends::cuda::BenchOutcome>(op.status());
  if (!out.ok()) {
    row.error = out.status().message();
    return row;
  }
  row.config = out->config;
  row.gate = out->gate_passed ? "pass" : "FAIL";
  if (!out->gate_passed) {
    row.error = "correctness gate failed: " + out->gate.summary();
    return row;
  }
  row.timing = out->timing;
  row.tbps = out->tbps;
  row.tflops = out->tflops;
  return row;
}

std::string csv_line(const BenchRow& r) {
  const AttentionProblem& p = r.problem;
  return fmt::format("{},{},{},{},{},{},{},{},{},\"{}\",{},{:.3f},{:.3f},{:.3f},{:.4f},{:.2f},\"{}\"\n",
                     codegen::phase_name(p.phase), p.n_q_heads, p.n_kv_heads, p.head_dim, codegen::dtype_name(p.dtype),
                     p.causal ? 1 : 0, p.batch, p.q_len, p.kv_len, r.config, r.gate, r.timing.median_us,
                     r.timing.min_us, r.timing.stddev_us, r.tbps, r.tflops, r.error);
}

// One line per problem as it finishes (a suite takes minutes): fixed columns within 120, the
// config only with --wide (it is in the CSV too).
void print_row(const BenchRow& r, bool wide) {
  const std::string name = pad_right(truncate_to_width(r.problem.name(), 44), 44);
  if (!r.error.empty()) {
    std::printf("%s  ERROR %s\n", name.c_str(), r.error.c_str());
    return;
  }
  std::string rate, share;
  if (r.problem.phase == Phase::kDecode) {
    rate = fmt::format("{:.2f} TB/s", r.tbps);
    share = format_percent(r.tbps / kDecodeCeilingTBps);
  } else {
    rate = fmt::format("{:.0f} TFLOP/s", r.tflops);
    share = format_percent(r.tflops / kGemmCeilingTflops);
  }
  std::string line = fmt::format("{}  {:>10}  {:>12}  {:>6} of ceiling  gate {}", name,
                                 format_time_us(r.timing.median_us), rate, share, r.gate);
  if (wide) line += fmt::format("  [{}]", r.config);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

struct BenchFlags {
  ProblemFlags problem;
  KernelFlags kernel;
  std::optional<std::string> suite;
  std::optional<std::string> csv;
  int device = 0;
  bool wide = false;
  std::string backend = "cuda";
};

int run_bench(const BenchFlags& f) {
  std::vector<AttentionProblem> problems;
  const bool cpu = f.backend == "cpu";
  if (f.suite) {
    if (cpu) {
      problems = *f.suite == "decode" ? cpu_decode_suite() : cpu_prefill_suite();
    } else {
      problems = *f.suite == "decode" ? decode_suite() : prefill_suite();
    }
  } else {
    auto problem = problem_from_flags(f.problem, f.kernel.causal);
    if (!problem.ok()) return report_failure(problem.status());
    problems.push_back(*problem);
  }
  if (cpu) return run_bench_cpu(problems, f.kernel.config, f.csv, f.wide);
  auto gpu = open_gpu_session(f.device);
  if (!gpu.ok()) return report_failure(gpu.status());
  const runtime::DeviceInfo& info = (*gpu)->info;
  std::ofstream csv;
  if (const std::optional<std::string>& path = f.csv) {
    csv.open(*path);
    if (!csv) return report_failure(unavailable("cannot write '{}'", *path));
    csv << "phase,hq,hkv,d,dtype,causal,batch,q_len,kv_len,config,gate,median_us,min_us,stddev_us,tbps,tflops,error\n";
  }
  std::printf("%s, %d SMs, driver %d, nvrtc %s\n", info.name.c_str(), info.sm_count, info.driver_version,
              info.nvrtc_version.c_str());
  backends::cuda::KernelBench bench(info, &(*gpu)->jit, (*gpu)->stream.get(), kKvHeadMajor);
  int failures = 0, wrong = 0;
  for (const AttentionProblem& problem : problems) {
    BenchRow row = bench_one(bench, problem, f.kernel.config);
    if (!row.error.empty()) ++failures;
    if (row.gate == "FAIL") ++wrong;
    print_row(row, f.wide);
    if (csv) csv << csv_line(row) << std::flush;
  }
  // A kernel that failed the correctness gate (3) outranks one that could not be run (1).
  return wrong > 0 ? kWrongResult : failures > 0 ? kFailure : 0;
}

CommandAction declare_bench(CLI::App& app) {
  app.description(
      "Times a kernel (after the correctness gate) with CUDA graphs over rotated inputs, and reports "
      "microseconds, TB/s of K+V read (decode) or TFLOP/s (prefill); with --backend cpu, the generated CPU "
      "kernel on the host's cores (GB/s, GFLOP/s).");
  auto f = std::make_shared<BenchFlags>();
  add_problem_flags(app, f->problem, ProblemForm::kOne);
  add_kernel_flags(app, f->kernel, /*with_family=*/false);
  app.add_option("--suite", f->suite, "run the benchmark grid of bench/RESULTS.md instead of one problem")
      ->type_name("decode|prefill")
      ->check(one_of({"decode", "prefill"}));
  app.add_option("--csv", f->csv, "also write the rows as CSV")->type_name("FILE");
  add_device_flag(app, f->device);
  add_backend_flag(app, f->backend);
  add_switch(app, "--wide", f->wide, "also print each kernel's config (lines then exceed 120 columns)");
  return [f](const Args&) { return run_bench(*f); };
}

}  // namespace
GQF_REGISTER_COMMAND("bench", "time kernels after the correctness gate", 31, declare_bench);
}  // namespace gqaforge::tools
