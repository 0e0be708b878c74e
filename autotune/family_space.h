// The search space of each kernel family, built from its config struct: one parameter per
// config field with the legal values listed in codegen/decode_config.h and
// codegen/prefill_config.h, named constraints for the rules between fields, and last the
// device-limit check (config.validate) as the constraint "device_limits", so that only points
// that would be accepted before compiling are ever proposed.
#pragma once

#include <string>

#include "autotune/search_space.h"
#include "codegen/device_limits.h"
#include "codegen/problem.h"

namespace gqaforge::tune {

struct FamilySpace {
  std::string family;          // "decode" | "prefill"
  AttentionProblem problem;
  DeviceLimits limits;
  SearchSpace space;
  std::string default_config;  // canonical text of the family's heuristic default

  /// Canonical config text of a point (the config struct's canonical()).
  std::string config_of(const Point& point) const;
  /// Predicted microseconds per call (autotune/predict.h).
  double predict_us(const Point& point) const;
};

/// The family of a problem: "decode" or "prefill" (its phase).
std::string family_of(const AttentionProblem& problem);

/// Builds the space of the problem's family.
Result<FamilySpace> make_family_space(const AttentionProblem& problem, const DeviceLimits& limits);

/// Parses `config_text` over the family's default and validates it against the problem and
/// the device; returns the canonical text or the status that rejects it.
Result<std::string> canonical_config(const AttentionProblem& problem, const std::string& family,
                                     const std::string& config_text, const DeviceLimits& limits);

/// The canonical text of a config as a database recorded it. Keys that rows from before a
/// field existed lack take the config struct's own defaults (what those kernels ran with, e.g.
/// prefill wgmma=0), never the device's heuristic; text that does not parse comes back as is.
std::string canonical_recorded_config(const std::string& family, const std::string& config_text);

}  // namespace gqaforge::tune
