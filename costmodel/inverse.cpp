// The inverse query: the lowest loss within a cost budget.
#include "costmodel/inverse.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"
#include "core/units.h"

namespace gqaforge::costmodel {
namespace {

// The largest model the bisection considers: far beyond any model anyone trains, so a budget
// above its cost is a mistake in the budget rather than an answer.
constexpr double kMaxParams = 1e14;

// The objective of a costed shape (the analytical cases of evaluate_candidate).
double objective_of(const InferenceCost& cost, const SearchSettings& s) {
  switch (s.objective) {
    case Objective::kMemory:
      return cost.memory_values() * s.cost.bytes_per_value;
    case Objective::kFlops:
      return cost.flops();
    default:
      return z_value(cost, s.context, s.z, s.cost);
  }
}

}  // namespace

const char* budget_unit(Objective objective) {
  switch (objective) {
    case Objective::kMemory:
      return "B";
    case Objective::kFlops:
      return "FLOP";
    default:
      return "";
  }
}

std::string format_objective_value(double value, Objective objective) {
  switch (objective) {
    case Objective::kMemory:
      return format_bytes(value);
    case Objective::kFlops:
      return format_flops(value);
    default:
      return fmt::format("Z {}", format_decimal(value, 5));
  }
}

Result<BudgetSpec> parse_budget(const std::string& text, Objective objective) {
  BudgetSpec spec;
  if (to_lower(trim(text)) == "baseline") {
    spec.baseline = true;
    return spec;
  }
  if (objective_is_measured(objective)) {
    return invalid_argument("a cost budget needs an analytical objective (z, memory or flops), not '{}'",
                            objective_name(objective));
  }
  const std::string unit = budget_unit(objective);
  auto value = parse_si(text, unit);
  if (!value.ok()) {
    if (objective == Objective::kZ) {
      return invalid_argument(
          "budget '{}' is neither 'baseline' nor a number (Z is dimensionless: give a plain number such as 2100)",
          trim(text));
    }
    return invalid_argument("budget '{}' is neither 'baseline' nor a number of {} (e.g. 4.5e9, 4.5G or 4.5 G{})",
                            trim(text), objective == Objective::kMemory ? "bytes" : "FLOPs per token", unit);
  }
  if (!(*value > 0) || !std::isfinite(*value)) {
    return invalid_argument("budget '{}' must be a positive {}", trim(text),
                            objective == Objective::kZ        ? "Z value"
                            : objective == Objective::kMemory ? "number of bytes"
                                                              : "number of FLOPs per token");
  }
  spec.value = *value;
  return spec;
}

Result<double> objective_at(const std::vector<AspectPoint>& table, const HeadConfig& heads, double params,
                            const SearchSettings& settings) {
  GQF_ASSIGN_OR_RETURN(RealShape shape, solve_shape(table, params, static_cast<double>(heads.n_heads),
                                                    static_cast<double>(heads.n_kv_heads),
                                                    static_cast<double>(settings.head_dim), settings.shape));
  return objective_of(inference_cost(shape.cost_shape(), settings.context, settings.cost), settings);
}

Result<BudgetCandidate> largest_within_budget(const LossModel& loss, const std::vector<AspectPoint>& table,
                                              const HeadConfig& heads, double budget, const SearchSettings& settings) {
  if (table.empty()) return invalid_argument("the aspect table needs at least 2 shapes");
  BudgetCandidate c;
  c.heads = heads;
  GQF_ASSIGN_OR_RETURN(c.law, loss.law_for(heads));
  auto at = [&](double n) { return objective_at(table, heads, n, settings); };
  const double n_min = table.front().params;
  GQF_ASSIGN_OR_RETURN(double smallest, at(n_min));
  if (smallest > budget) {
    return resource_exhausted("heads {}: even the smallest model (N = {}) costs {}, over the budget {}",
                              heads.to_string(), format_scale(n_min),
                              format_objective_value(smallest, settings.objective),
                              format_objective_value(budget, settings.objective));
  }
  // Bracket on a log grid (8 points per decade), checking on the way that the objective grows
  // with N: the shape solver moves L and d with the aspect table, and a cost that fell with N
  // would make "the largest N within the budget" ambiguous.
  double lo = n_min, lo_value = smallest, hi = 0;
  const double step = std::pow(10.0, 1.0 / 8);
  for (double n = n_min * step; n <= kMaxParams * step; n *= step) {
    GQF_ASSIGN_OR_RETURN(double v, at(n));
    if (!(v > lo_value)) {
      return failed_precondition(
          "objective {} of heads {} is not increasing in N: {} at N = {} but {} at N = {}; the largest model within "
          "a budget is not well defined",
          objective_name(settings.objective), heads.to_string(), format_objective_value(lo_value, settings.objective),
          format_scale(lo), format_objective_value(v, settings.objective), format_scale(n));
    }
    if (v > budget) {
      hi = n;
      break;
    }
    lo = n;
    lo_value = v;
  }
  if (hi == 0) {
    return invalid_argument("heads {}: the budget {} is above the cost of a {}-parameter model; give a smaller budget",
                            heads.to_string(), format_objective_value(budget, settings.objective),
                            format_scale(kMaxParams));
  }
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = std::sqrt(lo * hi);
    GQF_ASSIGN_OR_RETURN(double v, at(mid));
    (v <= budget ? lo : hi) = mid;
  }
  GQF_ASSIGN_OR_RETURN(c.shape,
                       solve_shape(table, lo, static_cast<double>(heads.n_heads), static_cast<double>(heads.n_kv_heads),
                                   static_cast<double>(settings.head_dim), settings.shape));
  c.rounded = round_shape(c.shape, settings.shape);
  c.rounded.name = fmt::format("gqa-{}-{}", heads.n_heads, heads.n_kv_heads);
  c.loss = c.law.predict(c.shape.params);
  c.rounded_loss = c.law.predict(static_cast<double>(c.rounded.non_embedding_params()));
  c.cost = inference_cost(c.shape.cost_shape(), settings.context, settings.cost);
  c.memory_bytes = c.cost.memory_values() * settings.cost.bytes_per_value;
  c.flops = c.cost.flops();
  c.z = z_value(c.cost, settings.context, settings.z, settings.cost);
  c.objective = objective_of(c.cost, settings);
  return c;
}

Result<BudgetResult> run_budget_search(const LossModel& loss, const std::vector<AspectPoint>& table,
                                       const SearchSettings& settings, const BudgetSpec& budget) {
  if (objective_is_measured(settings.objective)) {
    return invalid_argument("a cost budget needs an analytical objective (z, memory or flops), not '{}'",
                            objective_name(settings.objective));
  }
  if (table.size() < 2) return invalid_argument("the aspect table needs at least 2 shapes");
  BudgetResult result;
  result.settings = settings;
  result.min_params = table.front().params;
  // The baseline at the target loss: it defines a "baseline" budget and is the comparison.
  if (settings.target_loss > 0) {
    GQF_ASSIGN_OR_RETURN(SearchResult search, run_search(loss, table, settings, nullptr));
    result.baseline = search.baseline;
    result.baseline_in_candidates = search.baseline_in_candidates;
    result.baseline_note = search.baseline_note;
    for (const std::string& w : search.warnings) {
      // The search's ranking at the target loss is not shown here, so neither is its warning
      // that the baseline beats that ranking's winner; the budget's own comparison is below.
      if (w.find("would be better than the best candidate") == std::string::npos) result.warnings.push_back(w);
    }
  }
  if (budget.baseline) {
    if (!(settings.target_loss > 0)) {
      return invalid_argument("a 'baseline' budget needs a target loss (the baseline is costed at that loss)");
    }
    if (!result.baseline) return failed_precondition("a 'baseline' budget needs a baseline, and there is none");
    result.budget = result.baseline->objective;
    result.budget_source = fmt::format("the baseline {} at L* = {}", result.baseline->heads.to_string(),
                                       format_decimal(settings.target_loss));
  } else {
    result.budget = budget.value;
    result.budget_source = "given";
  }
  std::optional<std::pair<HeadConfig, double>> cheapest;  // over the budget: the lowest smallest-model cost
  for (const HeadConfig& h : candidate_heads(settings.max_heads)) {
    auto c = largest_within_budget(loss, table, h, result.budget, settings);
    if (c.ok()) {
      result.ranked.push_back(std::move(*c));
      continue;
    }
    const StatusCode code = c.status().code();
    if (code != StatusCode::kNotFound && code != StatusCode::kResourceExhausted) return c.status();
    if (code == StatusCode::kResourceExhausted) {
      auto smallest = objective_at(table, h, result.min_params, settings);
      if (smallest.ok() && *smallest > result.budget && (!cheapest || *smallest < cheapest->second)) {
        cheapest = std::pair{h, *smallest};
      }
    }
    result.skipped.push_back({h, code == StatusCode::kNotFound, c.status().message()});
  }
  if (result.ranked.empty()) {
    if (cheapest) {
      return invalid_argument(
          "budget {} is below the cost of every candidate's smallest model (N = {}, the aspect table's smallest "
          "shape): the cheapest, {}, costs {}",
          format_objective_value(result.budget, settings.objective), format_scale(result.min_params),
          cheapest->first.to_string(), format_objective_value(cheapest->second, settings.objective));
    }
    return invalid_argument("no candidate head configuration fits the budget {}: {}",
                            format_objective_value(result.budget, settings.objective),
                            result.skipped.empty() ? "no candidates" : result.skipped.front().reason);
  }
  std::stable_sort(result.ranked.begin(), result.ranked.end(), [](const BudgetCandidate& a, const BudgetCandidate& b) {
    if (std::fabs(a.loss - b.loss) > 1e-12) return a.loss < b.loss;
    if (a.heads.n_kv_heads != b.heads.n_kv_heads) return a.heads.n_kv_heads < b.heads.n_kv_heads;
    return a.heads.n_heads < b.heads.n_heads;
  });
  if (result.baseline) {
    auto b = largest_within_budget(loss, table, result.baseline->heads, result.budget, settings);
    if (b.ok()) {
      result.baseline_at_budget = std::move(*b);
      const BudgetCandidate& best = result.ranked.front();
      if (result.baseline_at_budget->loss < best.loss - 1e-12) {
        result.warnings.push_back(fmt::format(
            "the baseline {} would reach a lower loss than the best candidate {} within the budget ({:.4f} against "
            "{:.4f}): {}",
            result.baseline->heads.to_string(), best.heads.to_string(), result.baseline_at_budget->loss, best.loss,
            result.baseline_in_candidates ? "it was not ranked" : result.baseline_note));
      }
    } else {
      result.warnings.push_back(fmt::format("the baseline at the budget: {}", b.status().message()));
    }
  }
  return result;
}

}  // namespace gqaforge::costmodel
