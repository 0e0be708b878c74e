// AttentionOp: one configured attention kernel (family + config for a problem), ready to emit,
// compile and launch. The CLI, the checker and the tuner all go through it.
#pragma once

#include <string>
#include <vector>

#include "runtime/attention.h"

namespace gqaforge::rt {

/// How one entry point of the op is launched.
struct LaunchShape {
  std::string entry;        // "gqaforge_decode"
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  int dynamic_shared_bytes = 0;
  int threads() const { return static_cast<int>(block[0] * block[1] * block[2]); }
};

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
  /// The launches run() makes for the problem (the reference kernel's too), in order.
  Result<std::vector<LaunchShape>> launches() const;

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
