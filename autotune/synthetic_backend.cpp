// Synthetic backend.
#include "autotune/synthetic_backend.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "autotune/predict.h"
#include "autotune/shard.h"
#include "codegen/source.h"
#include "core/build_info.h"
#include "core/sha256.h"
#include "core/strings.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;

namespace {

/// Uniform in [0, 1) from a key.
double unit_hash(const std::string& key) {
  return double(shard_hash(key) >> 11) * 0x1.0p-53;
}

}  // namespace

Result<MeasureStatus> status_from_name(const std::string& name) {
  auto s = parse_measure_status(name);
  if (!s) {
    return invalid_argument(
        "unknown status '{}' (expected ok, rejected, compile_failed, launch_failed, "
        "wrong_result or timeout)",
        name);
  }
  return *s;
}

Result<std::map<MeasureStatus, double>> parse_fault_rates(const std::string& text) {
  std::map<MeasureStatus, double> out;
  for (const std::string& raw : split(text, ',')) {
    const std::string item = trim(raw);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) return invalid_argument("fault rate '{}' is not status=fraction", item);
    GQF_ASSIGN_OR_RETURN(MeasureStatus s, status_from_name(trim(item.substr(0, eq))));
    auto rate = parse_double(trim(item.substr(eq + 1)));
    if (!rate.ok() || *rate < 0 || *rate > 1) {
      return invalid_argument("fault rate '{}' needs a fraction in 0..1", item);
    }
    if (s == MeasureStatus::kOk) return invalid_argument("fault rate '{}': ok is not a fault", item);
    out[s] = *rate;
  }
  return out;
}

std::string format_fault_rates(const std::map<MeasureStatus, double>& rates) {
  std::string out;
  for (const auto& [s, r] : rates) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}={}", measure_status_name(s), r);
  }
  return out;
}

Result<BackendInfo> SyntheticBackend::info() {
  BackendInfo info;
  info.limits = options_.limits;
  info.arch = "sm_90a";
  Environment& e = info.environment;
  e.gpu_name = "synthetic";
  e.sm_count = options_.limits.sm_count;
  e.cc_major = options_.limits.cc_major;
  e.cc_minor = options_.limits.cc_minor;
  e.nvrtc_version = fmt::format("synthetic-{}", options_.seed);
  e.codegen_version = codegen::kCodegenVersion;
  e.codegen_hash = codegen::codegen_fingerprint();
  e.gqaforge_commit = gqaforge_git_commit();
  e.build_type = gqaforge_build_type();
  e.host = host_name();
  return info;
}

Result<std::string> SyntheticBackend::kernel_key(const AttentionProblem& problem, const codegen::KernelFamily& family,
                                                 const codegen::KernelConfig& config) {
  return sha256_hex(fmt::format("synthetic v1\nseed={}\nfamily={}\nproblem={}\nconfig={}\n", options_.seed,
                                family.name(), problem.static_key(), family.canonical(config)));
}

MeasureStatus SyntheticBackend::fault_of(const AttentionProblem& problem, const std::string& config) const {
  if (auto it = options_.inject.find(config); it != options_.inject.end()) return it->second;
  // One draw per config decides among the statuses: consecutive slices of [0, 1).
  const double u = unit_hash(fmt::format("fault {} {} {}", options_.seed, problem.static_key(), config));
  double edge = 0;
  for (const auto& [status, rate] : options_.fault_rates) {
    edge += rate;
    if (u < edge) return status;
  }
  return MeasureStatus::kOk;
}

double SyntheticBackend::true_cost_us(const AttentionProblem& problem, const codegen::KernelFamily& family,
                                      const codegen::KernelConfig& config) const {
  const double base = predict_us(problem, family, config, options_.limits);
  // Only slower than the roofline, never faster: the prediction is a bound, as on hardware.
  const double u = unit_hash(fmt::format("cost {} {} {}", options_.seed, problem.name(), family.canonical(config)));
  return base * (1.0 + options_.ruggedness * u);
}

std::vector<CompileResult> SyntheticBackend::compile(const std::vector<Candidate>& candidates) {
  std::vector<CompileResult> out;
  for (const Candidate& c : candidates) {
    const std::string config = c.config_text();
    CompileResult r;
    r.compile_ms = 0;  // nothing is compiled: the report must not invent compile time
    r.registers = 64 + static_cast<int>(unit_hash("regs " + config) * 128) / 8 * 8;
    switch (fault_of(c.problem, config)) {
      case MeasureStatus::kRejected:
        r.spill_bytes = 96;  // the tune loop's resource check rejects it
        break;
      case MeasureStatus::kCompileFailed:
        r.status = MeasureStatus::kCompileFailed;
        r.message = fmt::format("synthetic compile error for '{}'", config);
        break;
      default:
        break;
    }
    out.push_back(r);
  }
  return out;
}

MeasureResult SyntheticBackend::measure(const Candidate& c, const MeasureOptions& options) {
  ++measure_calls_;
  if (options_.measure_delay_ms > 0) {
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(options_.measure_delay_ms));
  }
  const std::string config = c.config_text();
  MeasureResult r;
  r.error_bound = 4e-3;
  switch (fault_of(c.problem, config)) {
    case MeasureStatus::kWrongResult:
      r.status = MeasureStatus::kWrongResult;
      r.max_error = 0.25;
      r.message = fmt::format("correctness gate failed (seed {}): max error 0.25 > bound 0.004", options.seed);
      return r;
    case MeasureStatus::kLaunchFailed:
      if (options_.real_faults) std::abort();
      r.status = MeasureStatus::kLaunchFailed;
      r.message = "synthetic launch failure: CUDA_ERROR_ILLEGAL_ADDRESS";
      return r;
    case MeasureStatus::kTimeout:
      if (options_.real_faults) {
        while (true) pause();
      }
      r.status = MeasureStatus::kTimeout;
      r.message = "synthetic hang: the kernel did not finish in time";
      return r;
    default:
      break;
  }
  const double cost = true_cost_us(c.problem, *c.family, c.config);
  double factor = 1.0;
  if (options_.jitter > 0) {
    factor +=
        options_.jitter * (2.0 * unit_hash(fmt::format("jitter {} {} {}", options.seed, config, measure_calls_)) - 1.0);
  }
  r.max_error = 1e-3;
  r.repetitions = options.repetitions > 0 ? options.repetitions : 15;
  r.median_us = cost * factor;
  r.min_us = r.median_us * 0.98;
  r.stddev_us = r.median_us * 0.01;
  return r;
}

}  // namespace gqaforge::autotune
