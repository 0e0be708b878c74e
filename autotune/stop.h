// Stop conditions of a search: evaluation budget, wall-time budget, no improvement in k tries,
// and any-of. They look at a SearchProgress snapshot, so tests can feed them any clock.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace gqaforge::autotune {

/// Where a search stands; SearchTracker keeps it up to date.
struct SearchProgress {
  int64_t evaluations = 0;        // costs reported (failures included)
  double elapsed_s = 0;           // wall time since the search started
  int64_t since_improvement = 0;  // evaluations since the best cost last improved
  double best_cost = std::numeric_limits<double>::infinity();
};

/// Updates a SearchProgress from reported costs (NaN = unknown: counted as no evaluation).
class SearchTracker {
 public:
  /// Records one evaluation; returns true when it improved the best cost.
  bool add(double cost);
  void set_elapsed(double seconds) { progress_.elapsed_s = seconds; }
  const SearchProgress& progress() const { return progress_; }

 private:
  SearchProgress progress_;
};

class StopCondition {
 public:
  virtual ~StopCondition() = default;
  /// True when the search should stop.
  virtual bool done(const SearchProgress& progress) const = 0;
  /// Why it stops, e.g. "evaluation budget 40 reached".
  virtual std::string reason() const = 0;
};

class EvaluationBudget final : public StopCondition {
 public:
  explicit EvaluationBudget(int64_t max_evaluations) : max_(max_evaluations) {}
  bool done(const SearchProgress& p) const override { return p.evaluations >= max_; }
  std::string reason() const override;

 private:
  int64_t max_;
};

class TimeBudget final : public StopCondition {
 public:
  explicit TimeBudget(double seconds) : seconds_(seconds) {}
  bool done(const SearchProgress& p) const override { return p.elapsed_s >= seconds_; }
  std::string reason() const override;

 private:
  double seconds_;
};

/// No improvement of the best cost in `k` consecutive evaluations (after a first success).
class Patience final : public StopCondition {
 public:
  explicit Patience(int64_t k) : k_(k) {}
  bool done(const SearchProgress& p) const override { return p.since_improvement >= k_; }
  std::string reason() const override;

 private:
  int64_t k_;
};

/// Stops when any of its conditions does; reason() names the first that fired last checked.
class AnyStop final : public StopCondition {
 public:
  void add(std::unique_ptr<StopCondition> c) { conditions_.push_back(std::move(c)); }
  bool empty() const { return conditions_.empty(); }
  bool done(const SearchProgress& p) const override;
  std::string reason() const override { return reason_; }

 private:
  std::vector<std::unique_ptr<StopCondition>> conditions_;
  mutable std::string reason_;
};

}  // namespace gqaforge::autotune
