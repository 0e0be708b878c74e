// Searchers: what to measure next. One small interface (next / report) with three strategies:
// exhaustive (every valid point, in order), random (a seeded sample of at most `budget`
// points) and guided (rank every valid point by a cheap prediction, measure the top few, then
// hill-climb over neighbours of the best, restarting from the next best local optimum).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "autotune/search_space.h"
#include "core/status.h"

namespace gqaforge::autotune {

class Searcher {
 public:
  virtual ~Searcher() = default;
  /// The next point to measure, or nullopt when there is nothing to propose until more
  /// reports arrive. Once every proposed point has been reported, nullopt means finished.
  virtual std::optional<Point> next() = 0;
  /// The cost (lower is better, e.g. microseconds) of a proposed point; +infinity for a point
  /// that failed, NaN for one whose cost is unknown (measured by an earlier run).
  virtual void report(const Point& point, double cost) = 0;
  virtual std::string name() const = 0;
};

/// Every valid point in the given order.
class ExhaustiveSearcher final : public Searcher {
 public:
  explicit ExhaustiveSearcher(std::vector<Point> valid) : points_(std::move(valid)) {}
  std::optional<Point> next() override;
  void report(const Point&, double) override {}
  std::string name() const override { return "exhaustive"; }

 private:
  std::vector<Point> points_;
  size_t pos_ = 0;
};

/// A uniform sample without replacement of min(budget, |valid|) points, fixed by `seed`
/// (its own Fisher-Yates over splitmix64, so the order is the same on every platform).
class RandomSearcher final : public Searcher {
 public:
  RandomSearcher(std::vector<Point> valid, int64_t budget, uint64_t seed);
  std::optional<Point> next() override;
  void report(const Point&, double) override {}
  std::string name() const override { return "random"; }

 private:
  std::vector<Point> points_;
  size_t pos_ = 0;
};

struct GuidedOptions {
  int seeds = 0;                 // top-predicted points measured first; 0 = max(6, 3% of the valid points)
  int max_restarts = 3;          // hill climbs started from the next-best measured points after the first
  bool exhaust_if_small = true;  // spaces of at most 12 points are simply measured in full
};

/// Prediction-ranked seeding followed by first-improvement hill climbing over neighbours().
class GuidedSearcher final : public Searcher {
 public:
  GuidedSearcher(const SearchSpace& space, std::vector<Point> valid, std::function<double(const Point&)> predict,
                 GuidedOptions options = {});
  std::optional<Point> next() override;
  void report(const Point& point, double cost) override;
  std::string name() const override { return "guided"; }

 private:
  /// Queues the unvisited neighbours of `center`, best predicted first.
  void expand(const Point& center);
  /// Picks the next climb start: the best measured point not expanded yet.
  bool restart();

  const SearchSpace& space_;
  std::vector<Point> valid_;
  std::map<Point, double> predicted_;
  std::vector<Point> queue_;      // proposals not yet handed out (front = next)
  std::set<Point> proposed_;      // handed out or queued
  std::map<Point, double> cost_;  // reported
  std::set<Point> expanded_;
  size_t outstanding_ = 0;       // handed out, not reported
  std::optional<Point> center_;  // current climb centre
  double center_cost_ = 0;
  int restarts_left_ = 0;
  bool seeding_ = true;
};

/// Strategy names accepted by make_searcher.
inline constexpr const char* kStrategies[] = {"exhaustive", "random", "guided"};

/// Builds a searcher by name; invalid_argument naming the strategy otherwise. `budget` bounds
/// the random sample (<= 0: all points) and caps guided's seeds at half of it.
Result<std::unique_ptr<Searcher>> make_searcher(const std::string& strategy, const SearchSpace& space,
                                                std::vector<Point> valid, std::function<double(const Point&)> predict,
                                                int64_t budget, uint64_t seed);

/// Outcome of driving a searcher to the end over a cost function (tests, demos).
struct SearchOutcome {
  std::optional<Point> best;
  double best_cost = 0;
  int64_t evaluations = 0;
  std::string stop_reason;  // "" when the searcher finished by itself
};

class StopCondition;

/// Runs `searcher` over `cost` until it finishes or `stop` (may be null) says so.
SearchOutcome drive(Searcher& searcher, const std::function<double(const Point&)>& cost,
                    const StopCondition* stop = nullptr);

}  // namespace gqaforge::autotune
