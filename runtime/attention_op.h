// AttentionOp: one configured attention kernel (family + config for a problem), ready to emit,
// compile and launch. The CLI, the checker and the tuner all go through it.
#pragma once

#include <string>

#include "runtime/attention.h"

namespace gqaforge::rt {

class AttentionOp {
 public:
  /// `family` is "decode", "prefill" or "reference" ("" = the problem's phase). `config_text`
  /// ("key=value,...") overrides the family's heuristic default; it is validated here.
  static Result<AttentionOp> create(const AttentionProblem& problem, const std::string& family,
                                    const std::string& config_text, const DeviceLimits& limits);

  const AttentionProblem& problem() const { return problem_; }
  const std::string& family() const { return family_; }
  /// Canonical config text ("" for the reference).
  std::string config() const;
  KernelSource source() const;

  /// Launches on `stream` (workspace is used by split-KV decode).
  Status run(Jit& jit, const GqaParams& params, CUstream stream);

 private:
  AttentionProblem problem_;
  DeviceLimits limits_;
  std::string family_;
  DecodeConfig decode_;
  PrefillConfig prefill_;
  DecodeWorkspace workspace_;
};

}  // namespace gqaforge::rt
