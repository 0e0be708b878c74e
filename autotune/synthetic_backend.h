// A deterministic synthetic backend: "measures" a config as its roofline prediction
// (autotune/predict.h) times a rugged, hash-derived factor, so that the landscape has local
// optima the prediction does not know about, and injects every failure status by hash rate or
// by exact config. It compiles nothing (compile results carry no time, so the sweep's report
// shows none). With `real_faults` (inside a worker process) a launch failure aborts the
// process and a timeout hangs it, so the parent's crash handling is tested for real.
#pragma once

#include <map>
#include <string>

#include "autotune/backend.h"

namespace gqaforge::autotune {

struct SyntheticOptions {
  uint64_t seed = 1;        // landscape and fault selection
  double ruggedness = 0.3;  // true cost = prediction * (1 + ruggedness * u), u in [0, 1)
  double jitter = 0.0;      // relative spread of repeated measurements (0 = exact)
  // Fraction of configs (chosen by hash) that end in each failure status.
  std::map<MeasureStatus, double> fault_rates;
  // Exact configs (canonical text) that end in a given status; overrides the rates.
  std::map<std::string, MeasureStatus> inject;
  bool real_faults = false;      // abort on launch_failed, hang on timeout (worker processes only)
  double measure_delay_ms = 0;   // wall time one measurement takes (concurrency tests)
  codegen::DeviceLimits limits;  // H200 by default
};

/// Parses "wrong_result=0.05,launch_failed=0.02" into fault rates; errors name the item.
Result<std::map<MeasureStatus, double>> parse_fault_rates(const std::string& text);
/// The inverse of parse_fault_rates.
std::string format_fault_rates(const std::map<MeasureStatus, double>& rates);

class SyntheticBackend final : public Backend {
 public:
  explicit SyntheticBackend(SyntheticOptions options = {}) : options_(std::move(options)) {}

  std::string name() const override { return "synthetic"; }
  Result<BackendInfo> info() override;
  Result<std::string> kernel_key(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                                 const codegen::KernelConfig& config) override;
  std::vector<CompileResult> compile(const std::vector<Candidate>& candidates) override;
  MeasureResult measure(const Candidate& candidate, const MeasureOptions& options) override;

  /// The exact cost (µs) the backend reports for a config (no jitter, no faults).
  double true_cost_us(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                      const codegen::KernelConfig& config) const;
  /// The injected status of a config (ok when none).
  MeasureStatus fault_of(const codegen::AttentionProblem& problem, const std::string& config) const;
  /// Number of measure() calls so far.
  int64_t measure_calls() const { return measure_calls_; }

 private:
  SyntheticOptions options_;
  int64_t measure_calls_ = 0;
};

}  // namespace gqaforge::autotune
