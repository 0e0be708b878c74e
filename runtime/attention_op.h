// AttentionOp: one configured attention kernel (a family and its typed config for a problem),
// ready to emit, compile and launch. The CLI, the checker and the tuner all go through it, and
// every family launches the same way: the family's launch plan (codegen/family.h) run here.
#pragma once

#include <string>
#include <vector>

#include "codegen/family.h"
#include "runtime/attention.h"

namespace gqaforge::rt {

class AttentionOp {
 public:
  /// `config` validated for the problem and device.
  static Result<AttentionOp> create(const AttentionProblem& problem, const KernelFamily& family,
                                    const KernelConfig& config, const DeviceLimits& limits);
  /// From text (the CLI): `family` is a registry name ("" = the problem's phase), `config_text`
  /// ("key=value,...") overrides the family's heuristic default.
  static Result<AttentionOp> create(const AttentionProblem& problem, const std::string& family,
                                    const std::string& config_text, const DeviceLimits& limits);

  const AttentionProblem& problem() const { return problem_; }
  const KernelFamily& kernel_family() const { return *family_; }
  const KernelConfig& kernel_config() const { return config_; }
  /// The family's name.
  std::string family() const { return family_->name(); }
  /// Canonical config text ("" for the reference).
  std::string config() const { return family_->canonical(config_); }
  KernelSource source() const { return family_->emit(problem_, config_); }
  /// The launches run() makes for the problem, in order.
  Result<std::vector<LaunchShape>> launches() const;

  /// Launches on `stream` (the workspace is kept for the next call).
  Status run(Jit& jit, const GqaParams& params, CUstream stream);

 private:
  AttentionProblem problem_;
  DeviceLimits limits_;
  const KernelFamily* family_ = nullptr;
  KernelConfig config_;
  Workspace workspace_;
};

/// One call of `family` with `config` (validated by the launch plan): emit, load, prepare the
/// workspace, fill the split fields of `params`, and launch the plan's entry points in order.
Status launch_family(Jit& jit, const KernelFamily& family, const AttentionProblem& problem, const KernelConfig& config,
                     const DeviceLimits& limits, GqaParams params, Workspace& workspace, CUstream stream);

}  // namespace gqaforge::rt
