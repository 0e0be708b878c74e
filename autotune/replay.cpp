// Searcher replay on measured landscapes.
#include "autotune/replay.h"

#include <cmath>
#include <limits>
#include <set>

#include "autotune/searcher.h"
#include "autotune/tune_rows.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

Result<AttentionProblem> problem_from_record(const ProblemRecord& r) {
  GQF_ASSIGN_OR_RETURN(const codegen::KernelFamily* family, codegen::find_family(r.family));
  if (!family->phase()) return invalid_argument("rows of the {} family are not attention problems", r.family);
  const codegen::Phase phase = *family->phase();
  GQF_ASSIGN_OR_RETURN(codegen::DType dtype, codegen::parse_dtype(r.dtype));
  AttentionProblem p =
      codegen::make_problem(phase, r.n_q_heads, r.n_kv_heads, r.head_dim, dtype, r.causal, r.batch, r.q_len, r.kv_len);
  GQF_RETURN_IF_ERROR(p.validate());
  return p;
}

Result<Landscape> landscape_from_rows(const AttentionProblem& problem, const std::vector<MeasurementRecord>& rows,
                                      const codegen::DeviceLimits& limits) {
  Landscape l;
  GQF_ASSIGN_OR_RETURN(l.space, make_family_space(problem, limits));
  const std::string want = to_problem_record(problem).canonical();
  std::map<std::string, double> by_config;
  for (const MeasurementRecord& row : rows) {
    if (row.problem.canonical() != want) continue;
    const double c = row.status == MeasureStatus::kOk && row.median_us > 0 ? row.median_us : kInf;
    auto [it, inserted] = by_config.emplace(canonical_recorded_config(l.space.family->name(), row.config), c);
    if (!inserted) it->second = std::min(it->second, c);
  }
  l.best_us = kInf;
  for (const Point& p : l.space.space.valid_points()) {
    const codegen::KernelConfig config = l.space.config(p);
    auto it = l.space.family->validate(problem, config, limits).ok() ? by_config.find(l.space.family->canonical(config))
                                                                     : by_config.end();
    if (it == by_config.end()) {
      ++l.unmeasured;
      continue;
    }
    l.valid.push_back(p);
    l.cost[p] = it->second;
    if (it->second < l.best_us) {
      l.best_us = it->second;
      l.best_config = it->first;
    }
  }
  if (!std::isfinite(l.best_us)) {
    return not_found("no passing measurement of '{}' matches a point of its {} space", problem.name(),
                     l.space.family->name());
  }
  const std::string default_text = l.space.family->canonical(l.space.default_config);
  auto d = by_config.find(default_text);
  l.default_us = d == by_config.end() ? kInf : d->second;
  return l;
}

Result<ReplayRun> replay(const Landscape& l, const std::string& strategy, int64_t budget, uint64_t seed, double target,
                         bool with_default) {
  const FamilySpace* fs = &l.space;
  GQF_ASSIGN_OR_RETURN(
      std::unique_ptr<Searcher> searcher,
      make_searcher(
          strategy, l.space.space, l.valid, [fs](const Point& p) { return fs->predict_us(p); }, budget, seed));
  ReplayRun run;
  run.best_us = kInf;
  std::set<std::string> measured;
  auto evaluate = [&](const std::string& config, double cost) {
    if (!measured.insert(config).second) return;
    ++run.evaluations;
    run.best_us = std::min(run.best_us, cost);
    if (run.evals_to_target < 0 && run.best_us <= target * l.best_us) run.evals_to_target = run.evaluations;
  };
  if (with_default) evaluate(l.space.family->canonical(l.space.default_config), l.default_us);
  while (budget <= 0 || run.evaluations < budget) {
    std::optional<Point> p = searcher->next();
    if (!p) break;
    auto it = l.cost.find(*p);
    const double cost = it == l.cost.end() ? kInf : it->second;
    evaluate(l.space.config_text(*p), cost);
    searcher->report(*p, cost);
  }
  return run;
}

}  // namespace gqaforge::autotune
