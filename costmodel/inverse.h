// The inverse query (the paper's "0.117 lower loss at the same cost", Sec. 5.2): for a cost
// budget under one of the analytical objectives, the largest model of each head configuration
// whose cost fits (bisection on N along the shape solver) and the loss it reaches; ranked by
// that loss, lowest first. The budget is a number in the objective's unit or the cost of the
// baseline (Llama-3's GQA by THE rule, or --baseline) at the target loss.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "costmodel/search.h"

namespace gqaforge::costmodel {

/// A budget as given: the baseline's objective at the target loss, or a value.
struct BudgetSpec {
  bool baseline = false;
  double value = 0;  // in the objective's unit (Z dimensionless, memory bytes, flops FLOPs per token)
};

/// "baseline", or a positive number in the objective's unit: Z a plain number; memory bytes,
/// also "4.5GB" / "4.5 GB" / "4.5e9"; flops FLOPs per token, also "3.2TFLOP" / "3.2e12". Errors
/// name the text (negative, zero, unknown words, a unit the objective does not have).
Result<BudgetSpec> parse_budget(const std::string& text, Objective objective);

/// The unit a budget is in: "" (Z), "B", "FLOP".
const char* budget_unit(Objective objective);
/// A budget or objective value with its unit: "4.12 GB", "21.4 GFLOP", "Z 1234".
std::string format_objective_value(double value, Objective objective);

/// One head configuration at the largest size within the budget.
struct BudgetCandidate {
  HeadConfig heads;
  PowerLaw law;
  RealShape shape;          // the largest real-valued shape with objective <= budget
  ModelShape rounded;       // integer model
  double loss = 0;          // L(N; H) of `shape`: the loss at the budget
  double rounded_loss = 0;  // of `rounded`
  InferenceCost cost;       // per token at T
  double memory_bytes = 0;
  double flops = 0;
  double z = 0;
  double objective = 0;  // <= budget
};

struct BudgetResult {
  SearchSettings settings;
  double budget = 0;                      // in the objective's unit
  std::string budget_source;              // "the baseline (32,8) at L* = 2.615" or "given"
  double min_params = 0;                  // the smallest model considered (the aspect table's first shape)
  std::vector<BudgetCandidate> ranked;    // lowest loss first
  std::vector<SkippedCandidate> skipped;  // no law, or even the smallest model is over the budget
  /// The baseline at the target loss (when a target loss or --baseline was given) and the same
  /// head configuration at the budget, for "reaches X lower loss than the baseline".
  std::optional<CandidateResult> baseline;
  std::optional<BudgetCandidate> baseline_at_budget;
  bool baseline_in_candidates = true;
  std::string baseline_note;
  std::vector<std::string> warnings;
};

/// The objective of head configuration H at `params` non-embedding parameters (z, memory or
/// flops), shaped by the solver as the search does.
Result<double> objective_at(const std::vector<AspectPoint>& table, const HeadConfig& heads, double params,
                            const SearchSettings& settings);

/// The largest N in [min_params, 1e14] with objective_at(N) <= budget, and what it reaches.
/// Fails when the objective is not increasing in N over the range searched (naming H and the
/// two sizes), when even min_params is over the budget (resource_exhausted), or when the budget
/// is above the cost at 1e14 (invalid_argument).
Result<BudgetCandidate> largest_within_budget(const LossModel& loss, const std::vector<AspectPoint>& table,
                                              const HeadConfig& heads, double budget, const SearchSettings& settings);

/// Runs the inverse query over the candidates of settings.max_heads. Only the analytical
/// objectives (z, memory, flops) are supported. A "baseline" budget needs settings.target_loss.
/// Fails naming the budget when it is below every candidate's smallest model.
Result<BudgetResult> run_budget_search(const LossModel& loss, const std::vector<AspectPoint>& table,
                                       const SearchSettings& settings, const BudgetSpec& budget);

}  // namespace gqaforge::costmodel
