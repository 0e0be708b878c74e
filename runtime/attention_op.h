// AttentionOp: one configured attention kernel (a family and its typed config for a problem),
// ready to emit, compile and launch. The CLI, the checker and the tuner all go through it, and
// every family launches the same way: the family's launch plan (codegen/family.h) run here.
#pragma once

#include <string>
#include <vector>

#include "codegen/family.h"
#include "runtime/attention.h"

namespace gqaforge::runtime {

class AttentionOp {
 public:
  /// `config` validated for the problem and device.
  static Result<AttentionOp> create(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                                    const codegen::KernelConfig& config, const codegen::DeviceLimits& limits);
  /// From text (the CLI): `family` is a registry name ("" = the problem's phase), `config_text`
  /// ("key=value,...") overrides the family's heuristic default.
  static Result<AttentionOp> create(const codegen::AttentionProblem& problem, const std::string& family,
                                    const std::string& config_text, const codegen::DeviceLimits& limits);

  const codegen::AttentionProblem& problem() const { return problem_; }
  const codegen::KernelFamily& kernel_family() const { return *family_; }
  const codegen::KernelConfig& kernel_config() const { return config_; }
  /// The family's name.
  std::string family() const { return family_->name(); }
  /// Canonical config text ("" for the reference).
  std::string config() const { return family_->canonical(config_); }
  codegen::KernelSource source() const { return family_->emit(problem_, config_); }
  /// The launches run() makes for the problem, in order.
  Result<std::vector<codegen::LaunchShape>> launches() const;

  /// Launches on `stream` (the workspace is kept for the next call).
  Status run(Jit& jit, const GqaParams& params, CUstream stream);

 private:
  codegen::AttentionProblem problem_;
  codegen::DeviceLimits limits_;
  const codegen::KernelFamily* family_ = nullptr;
  codegen::KernelConfig config_;
  Workspace workspace_;
};

/// The base pointers of Q, K, V and O are 16-byte aligned, as the tuned families' vector loads
/// need (their strides, a multiple of 8 elements, are the caller's other half of that rule).
Status check_vector_alignment(const GqaParams& params);

/// One call of `family` with `config` (validated by the launch plan): emit, load, prepare the
/// workspace, fill the split fields of `params`, and launch the plan's entry points in order.
Status launch_family(Jit& jit, const codegen::KernelFamily& family, const codegen::AttentionProblem& problem,
                     const codegen::KernelConfig& config, const codegen::DeviceLimits& limits, GqaParams params,
                     Workspace& workspace, CUstream stream);

}  // namespace gqaforge::runtime
