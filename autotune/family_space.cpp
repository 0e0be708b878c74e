// The tuning registry and the search space of a family.
#include "autotune/family_space.h"

#include <limits>

namespace gqaforge::autotune {

using codegen::AttentionProblem;
using codegen::DeviceLimits;
using codegen::KernelConfig;
using codegen::KernelFamily;

// The families the tuner searches, each defined in its autotune/<name>_tuning.cpp.
const TuningFamily& decode_tuning();
const TuningFamily& prefill_tuning();
const TuningFamily& cpu_decode_tuning();
const TuningFamily& cpu_prefill_tuning();

std::span<const TuningFamily* const> tuning_families() {
  static const TuningFamily* const all[] = {&decode_tuning(), &prefill_tuning(), &cpu_decode_tuning(),
                                            &cpu_prefill_tuning()};
  return all;
}

Result<const TuningFamily*> find_tuning(const KernelFamily& family) {
  for (const TuningFamily* t : tuning_families()) {
    if (&t->kernel() == &family) return t;
  }
  return invalid_argument("the {} family has nothing to tune", family.name());
}

std::vector<int> TuningFamily::axis(const codegen::FieldInfo& field, const AttentionProblem&,
                                    const DeviceLimits&) const {
  return field.tuned;
}

double predict_us(const AttentionProblem& problem, const KernelFamily& family, const KernelConfig& config,
                  const DeviceLimits& limits, const Roofline& roof) {
  auto tuning = find_tuning(family);
  return tuning.ok() ? (*tuning)->predict_us(problem, config, limits, roof) : std::numeric_limits<double>::infinity();
}

KernelConfig FamilySpace::config(const Point& point) const {
  return family->from_values(PointValues(space, point).all());
}

std::string FamilySpace::config_text(const Point& point) const {
  return family->canonical(config(point));
}

std::optional<Point> FamilySpace::point_of(const KernelConfig& c) const {
  return space.point_from_values(family->values(c));
}

double FamilySpace::predict_us(const Point& point) const {
  return tuning->predict_us(problem, config(point), limits, Roofline{});
}

Result<FamilySpace> make_family_space(const AttentionProblem& problem, const DeviceLimits& limits,
                                      codegen::Target target) {
  GQF_RETURN_IF_ERROR(problem.validate());
  FamilySpace fs;
  fs.family = &family_for(problem, target);
  GQF_ASSIGN_OR_RETURN(fs.tuning, find_tuning(*fs.family));
  fs.problem = problem;
  fs.limits = limits;
  for (const codegen::FieldInfo& field : fs.family->fields()) {
    fs.space.add_param(field.name, fs.tuning->axis(field, problem, limits));
  }
  fs.tuning->add_constraints(fs.space, problem, limits);
  const KernelFamily* family = fs.family;
  fs.space.add_constraint("device_limits", [family, problem, limits](const PointValues& v) {
    return family->validate(problem, family->from_values(v.all()), limits).ok();
  });
  fs.default_config = family->default_config(problem, limits);
  return fs;
}

std::string canonical_recorded_config(const std::string& family, const std::string& config_text) {
  auto f = codegen::find_family(family);
  if (!f.ok()) return config_text;
  auto c = (*f)->parse(config_text, (*f)->field_defaults());
  return c.ok() ? (*f)->canonical(*c) : config_text;
}

}  // namespace gqaforge::autotune
