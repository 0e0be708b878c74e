// The tuner's side of the kernel families (codegen/family.h): per family, the values its
// search space tries for each config field, the named rules between fields, and the
// prediction the guided searcher ranks by. The space has one parameter per field of the
// family's table (in table order, with the table's tuned values), the family's constraints,
// and last the family's own validate() as the constraint "device_limits", so that only points
// that would be accepted before compiling are ever proposed.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autotune/predict.h"
#include "autotune/search_space.h"
#include "codegen/device_limits.h"
#include "codegen/family.h"
#include "codegen/problem.h"

namespace gqaforge::autotune {

class TuningFamily {
 public:
  virtual ~TuningFamily() = default;
  virtual const codegen::KernelFamily& kernel() const = 0;
  /// The values the space tries for `field`: the table's tuned values unless the problem or
  /// the device rules some out.
  virtual std::vector<int> axis(const codegen::FieldInfo& field, const codegen::AttentionProblem& problem,
                                const codegen::DeviceLimits& limits) const;
  /// Named rules between fields (a point that breaks one is never proposed).
  virtual void add_constraints(SearchSpace& space, const codegen::AttentionProblem& problem,
                               const codegen::DeviceLimits& limits) const = 0;
  /// Predicted microseconds per call; +infinity when the config cannot launch.
  virtual double predict_us(const codegen::AttentionProblem& problem, const codegen::KernelConfig& config,
                            const codegen::DeviceLimits& limits, const Roofline& roof) const = 0;
};

/// Every family the tuner can search, in registry order.
std::span<const TuningFamily* const> tuning_families();
/// The tuning side of `family`; fails for a family with nothing to tune (the reference).
Result<const TuningFamily*> find_tuning(const codegen::KernelFamily& family);

struct FamilySpace {
  const codegen::KernelFamily* family = nullptr;
  const TuningFamily* tuning = nullptr;
  codegen::AttentionProblem problem;
  codegen::DeviceLimits limits;
  SearchSpace space;
  codegen::KernelConfig default_config;  // the family's heuristic default

  /// The config of a point.
  codegen::KernelConfig config(const Point& point) const;
  /// Its canonical text (the form in rows and kernel keys).
  std::string config_text(const Point& point) const;
  /// The point of a config, or nullopt when one of its values is not on the space's axes.
  std::optional<Point> point_of(const codegen::KernelConfig& config) const;
  /// Predicted microseconds per call (TuningFamily::predict_us).
  double predict_us(const Point& point) const;
};

/// Builds the space of the problem's family on `target`.
Result<FamilySpace> make_family_space(const codegen::AttentionProblem& problem, const codegen::DeviceLimits& limits,
                                      codegen::Target target = codegen::Target::kCuda);

/// The canonical text of a config as a database recorded it. Keys that rows from before a
/// field existed lack take the config struct's own defaults (what those kernels ran with, e.g.
/// prefill wgmma=0), never the device's heuristic; text that does not parse comes back as is.
std::string canonical_recorded_config(const std::string& family, const std::string& config_text);

}  // namespace gqaforge::autotune
