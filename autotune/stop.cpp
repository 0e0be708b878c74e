// Stop conditions.
#include "autotune/stop.h"

#include <cmath>

#include <fmt/format.h>

namespace gqaforge::autotune {

bool SearchTracker::add(double cost) {
  if (std::isnan(cost)) return false;
  ++progress_.evaluations;
  if (cost < progress_.best_cost) {
    progress_.best_cost = cost;
    progress_.since_improvement = 0;
    return true;
  }
  ++progress_.since_improvement;
  return false;
}

std::string EvaluationBudget::reason() const {
  return fmt::format("evaluation budget {} reached", max_);
}
std::string TimeBudget::reason() const {
  return fmt::format("time budget {:g} s reached", seconds_);
}
std::string Patience::reason() const {
  return fmt::format("no improvement in {} tries", k_);
}

bool AnyStop::done(const SearchProgress& p) const {
  for (const auto& c : conditions_) {
    if (c->done(p)) {
      reason_ = c->reason();
      return true;
    }
  }
  return false;
}

}  // namespace gqaforge::autotune
