// check and bench on the CPU backend (cpu_commands.h).
#include "tools/cpu_commands.h"

#include <cstdio>
#include <fstream>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_loader.h"
#include "codegen/family.h"
#include "core/strings.h"
#include "core/units.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace gqaforge::tools {
namespace {

using codegen::AttentionProblem;
using codegen::Phase;

Result<const codegen::KernelFamily*> cpu_family(const AttentionProblem& problem, const std::string& name) {
  if (name.empty()) return &codegen::family_for(problem, codegen::Target::kCpu);
  GQF_ASSIGN_OR_RETURN(const codegen::KernelFamily* f, codegen::find_family(name));
  if (f->target() != codegen::Target::kCpu) {
    return invalid_argument("--family {} runs on CUDA GPUs; with --backend cpu use cpu_decode or cpu_prefill",
                            f->name());
  }
  return f;
}

std::string host_line(const cpu::CpuKernels& k) {
  const cpu::HostCpu& h = k.host();
  return fmt::format("{} ({}), {} threads, {}-lane fp32 vectors [{}], LLVM {} ({})", h.model, h.llvm_cpu, h.threads,
                     h.vector_floats, h.features, h.llvm_version, cpu::cpu_module_path());
}

}  // namespace

std::vector<AttentionProblem> cpu_decode_suite() {
  std::vector<AttentionProblem> out;
  for (auto [hq, hkv, d] :
       std::vector<std::tuple<int, int, int>>{{32, 8, 128}, {8, 1, 128}, {16, 2, 128}, {32, 4, 64}, {8, 1, 64}}) {
    for (int b : {1, 4}) {
      for (int kv : {4096, 16384, 32768}) {
        out.push_back(codegen::make_problem(Phase::kDecode, hq, hkv, d, codegen::DType::kBF16, true, b, 1, kv));
      }
    }
  }
  return out;
}

std::vector<AttentionProblem> cpu_prefill_suite() {
  std::vector<AttentionProblem> out;
  for (auto [hq, hkv, d] :
       std::vector<std::tuple<int, int, int>>{{32, 8, 128}, {8, 1, 128}, {16, 2, 128}, {8, 1, 64}}) {
    for (int seq : {1024, 4096}) {
      out.push_back(codegen::make_problem(Phase::kPrefill, hq, hkv, d, codegen::DType::kBF16, true, 1, seq, seq));
    }
  }
  return out;
}

// The kernels, the family and the config one problem's command runs.
struct CpuKernel {
  std::unique_ptr<cpu::CpuKernels> kernels;
  const codegen::KernelFamily* family = nullptr;
  codegen::KernelConfig config;
};

Result<CpuKernel> cpu_kernel(const AttentionProblem& problem, const std::string& family, const std::string& config) {
  CpuKernel k;
  GQF_ASSIGN_OR_RETURN(k.kernels, cpu::CpuKernels::open());
  GQF_ASSIGN_OR_RETURN(k.family, cpu_family(problem, family));
  GQF_ASSIGN_OR_RETURN(k.config, k.family->configure(problem, config, k.kernels->limits()));
  return k;
}

int run_check_cpu(const AttentionProblem& problem, const std::string& family, const std::string& config, uint64_t seed,
                  const std::vector<int>& kv_lens) {
  auto k = cpu_kernel(problem, family, config);
  if (!k.ok()) return report_failure(k.status());
  auto result = k->kernels->check(problem, *k->family, k->config, seed, kv_lens);
  if (!result.ok()) return report_failure(result.status());
  std::printf("%s\n%s  [%s] seed=%llu oracle=cpu-fp64\n%s\n", host_line(*k->kernels).c_str(), problem.name().c_str(),
              result->config.c_str(), static_cast<unsigned long long>(seed), result->report.summary().c_str());
  return result->report.passed ? 0 : kWrongResult;
}

int run_emit_cpu(const AttentionProblem& problem, const std::string& family, const std::string& config,
                 bool optimized) {
  auto k = cpu_kernel(problem, family, config);
  if (!k.ok()) return report_failure(k.status());
  auto spec = cpu::cpu_spec(problem, *k->family, k->config);
  if (!spec.ok()) return report_failure(spec.status());
  auto jit = cpu::cpu_jit();
  if (!jit.ok()) return report_failure(jit.status());
  auto ir = (*jit)->ir_text(*spec, optimized);
  if (!ir.ok()) return report_failure(ir.status());
  std::printf("; %s [%s]\n; %s\n%s", problem.name().c_str(), k->family->canonical(k->config).c_str(),
              spec->text().c_str(), ir->c_str());
  return 0;
}

std::string cpu_rate_text(bool bytes, double tbps, double tflops) {
  return bytes ? fmt::format("{:.1f} GB/s", tbps * 1e3) : fmt::format("{:.1f} GFLOP/s", tflops * 1e3);
}

int run_bench_cpu(const std::vector<AttentionProblem>& problems, const std::string& config,
                  const std::optional<std::string>& csv_path, bool wide) {
  auto kernels = cpu::CpuKernels::open();
  if (!kernels.ok()) return report_failure(kernels.status());
  cpu::CpuKernels& k = **kernels;
  std::ofstream csv;
  if (csv_path) {
    csv.open(*csv_path);
    if (!csv) return report_failure(unavailable("cannot write '{}'", *csv_path));
    csv << "phase,hq,hkv,d,dtype,causal,batch,q_len,kv_len,config,gate,median_us,min_us,stddev_us,tbps,tflops,error\n";
  }
  std::printf("%s\n", host_line(k).c_str());
  int failures = 0, wrong = 0;
  for (const AttentionProblem& problem : problems) {
    const codegen::KernelFamily& family = codegen::family_for(problem, codegen::Target::kCpu);
    const std::string name = pad_right(truncate_to_width(problem.name(), 44), 44);
    std::string error, gate = "", cfg_text;
    cpu::CpuTiming t;
    auto cfg = family.configure(problem, config, k.limits());
    if (!cfg.ok()) {
      error = cfg.status().message();
    } else {
      auto pinned = family.resolve(problem, *cfg, k.limits());
      cfg_text = family.canonical(pinned.ok() ? *pinned : *cfg);
      auto check =
          k.check(runtime::gate_problem(problem), family, pinned.ok() ? *pinned : *cfg, runtime::gate_seed(problem));
      if (!check.ok()) {
        error = check.status().message();
      } else if (!check->report.passed) {
        gate = "FAIL";
        error = "correctness gate failed: " + check->report.summary();
      } else {
        gate = "pass";
        // K/V as [batch, n_kv, kv_len, head_dim], the layout bench/cpu_peers.py gives PyTorch.
        auto timed = k.time(problem, family, *cfg, 0, /*kv_head_major=*/true);
        if (timed.ok()) {
          t = *timed;
        } else {
          error = timed.status().message();
        }
      }
    }
    const double s = t.median_us * 1e-6;
    const double gbps = s > 0 ? problem.kv_bytes() / s / 1e9 : 0;
    const double gflops = s > 0 ? problem.flops() / s / 1e9 : 0;
    if (!error.empty()) {
      ++failures;
      if (gate == "FAIL") ++wrong;
      std::printf("%s  ERROR %s\n", name.c_str(), error.c_str());
    } else {
      const std::string rate = cpu_rate_text(problem.phase == Phase::kDecode, gbps * 1e-3, gflops * 1e-3);
      std::string line = fmt::format("{}  {:>10}  {:>14}  gate {}", name, format_time_us(t.median_us), rate, gate);
      if (wide) line += fmt::format("  [{}]", cfg_text);
      std::printf("%s\n", line.c_str());
    }
    std::fflush(stdout);
    if (csv) {
      csv << fmt::format("{},{},{},{},{},{},{},{},{},\"{}\",{},{:.3f},{:.3f},{:.3f},{:.6f},{:.5f},\"{}\"\n",
                         codegen::phase_name(problem.phase), problem.n_q_heads, problem.n_kv_heads, problem.head_dim,
                         codegen::dtype_name(problem.dtype), problem.causal ? 1 : 0, problem.batch, problem.q_len,
                         problem.kv_len, cfg_text, gate, t.median_us, t.min_us, t.stddev_us, gbps / 1e3, gflops / 1e3,
                         error)
          << std::flush;
    }
  }
  return wrong > 0 ? kWrongResult : failures > 0 ? kFailure : 0;
}

}  // namespace gqaforge::tools
