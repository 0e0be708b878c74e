// Searchers.
#include "autotune/searcher.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autotune/stop.h"

namespace gqaforge::autotune {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::optional<Point> ExhaustiveSearcher::next() {
  if (pos_ >= points_.size()) return std::nullopt;
  return points_[pos_++];
}

RandomSearcher::RandomSearcher(std::vector<Point> valid, int64_t budget, uint64_t seed) : points_(std::move(valid)) {
  const size_t n = points_.size();
  const size_t take = budget <= 0 ? n : std::min(n, static_cast<size_t>(budget));
  uint64_t state = seed;
  // Partial Fisher-Yates: the first `take` entries become the sample, in drawing order.
  for (size_t i = 0; i < take; ++i) {
    const size_t j = i + static_cast<size_t>(splitmix64(state) % (n - i));
    std::swap(points_[i], points_[j]);
  }
  points_.resize(take);
}

std::optional<Point> RandomSearcher::next() {
  if (pos_ >= points_.size()) return std::nullopt;
  return points_[pos_++];
}

GuidedSearcher::GuidedSearcher(const SearchSpace& space, std::vector<Point> valid,
                               std::function<double(const Point&)> predict, GuidedOptions options)
    : space_(space), valid_(std::move(valid)), restarts_left_(options.max_restarts) {
  for (const Point& p : valid_) predicted_[p] = predict(p);
  std::vector<Point> ranked = valid_;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [this](const Point& a, const Point& b) { return predicted_[a] < predicted_[b]; });
  size_t seeds = options.seeds > 0
                     ? static_cast<size_t>(options.seeds)
                     : std::max<size_t>(6, static_cast<size_t>(std::ceil(0.03 * static_cast<double>(ranked.size()))));
  if (options.exhaust_if_small && ranked.size() <= 12) seeds = ranked.size();
  seeds = std::min(seeds, ranked.size());
  for (size_t i = 0; i < seeds; ++i) {
    queue_.push_back(ranked[i]);
    proposed_.insert(ranked[i]);
  }
}

std::optional<Point> GuidedSearcher::next() {
  if (queue_.empty()) return std::nullopt;
  Point p = queue_.front();
  queue_.erase(queue_.begin());
  ++outstanding_;
  return p;
}

void GuidedSearcher::expand(const Point& center) {
  expanded_.insert(center);
  std::vector<Point> fresh;
  for (Point& n : neighbours(space_, valid_, center)) {
    if (proposed_.count(n) == 0) fresh.push_back(std::move(n));
  }
  std::stable_sort(fresh.begin(), fresh.end(),
                   [this](const Point& a, const Point& b) { return predicted_[a] < predicted_[b]; });
  for (Point& n : fresh) {
    proposed_.insert(n);
    queue_.push_back(std::move(n));
  }
}

bool GuidedSearcher::restart() {
  const Point* best = nullptr;
  double best_cost = std::numeric_limits<double>::infinity();
  for (const auto& [p, c] : cost_) {
    if (std::isfinite(c) && c < best_cost && expanded_.count(p) == 0) {
      best_cost = c;
      best = &p;
    }
  }
  if (best == nullptr) return false;
  center_ = *best;
  center_cost_ = best_cost;
  expand(*center_);
  return true;
}

void GuidedSearcher::report(const Point& point, double cost) {
  if (outstanding_ > 0) --outstanding_;
  cost_[point] = std::isnan(cost) ? std::numeric_limits<double>::infinity() : cost;
  while (queue_.empty() && outstanding_ == 0) {
    if (seeding_) {
      seeding_ = false;
      if (!restart()) return;
      continue;
    }
    // The neighbourhood of the centre is measured: move to the best point if it improved.
    const Point* best = nullptr;
    double best_cost = center_cost_;
    for (const auto& [p, c] : cost_) {
      if (c < best_cost && expanded_.count(p) == 0) {
        best_cost = c;
        best = &p;
      }
    }
    if (best != nullptr) {
      center_ = *best;
      center_cost_ = best_cost;
      expand(*center_);
      continue;
    }
    if (restarts_left_ <= 0) return;  // finished: a local optimum and no restarts left
    --restarts_left_;
    if (!restart()) return;
  }
}

Result<std::unique_ptr<Searcher>> make_searcher(const std::string& strategy, const SearchSpace& space,
                                                std::vector<Point> valid, std::function<double(const Point&)> predict,
                                                int64_t budget, uint64_t seed) {
  if (strategy == "exhaustive") return std::unique_ptr<Searcher>(new ExhaustiveSearcher(std::move(valid)));
  if (strategy == "random") return std::unique_ptr<Searcher>(new RandomSearcher(std::move(valid), budget, seed));
  if (strategy == "guided") {
    // Under an evaluation budget, at most half of it goes to the predicted-best seeds so that
    // the climb around the best of them gets the other half.
    GuidedOptions options;
    if (budget > 0) {
      const int64_t default_seeds =
          std::max<int64_t>(6, static_cast<int64_t>(std::ceil(0.03 * static_cast<double>(valid.size()))));
      options.seeds = static_cast<int>(std::clamp<int64_t>(budget / 2, 1, default_seeds));
    }
    return std::unique_ptr<Searcher>(new GuidedSearcher(space, std::move(valid), std::move(predict), options));
  }
  return invalid_argument("unknown strategy '{}' (expected exhaustive, random or guided)", strategy);
}

SearchOutcome drive(Searcher& searcher, const std::function<double(const Point&)>& cost, const StopCondition* stop) {
  SearchOutcome out;
  out.best_cost = std::numeric_limits<double>::infinity();
  SearchTracker tracker;
  while (true) {
    if (stop != nullptr && stop->done(tracker.progress())) {
      out.stop_reason = stop->reason();
      break;
    }
    std::optional<Point> p = searcher.next();
    if (!p) break;
    const double c = cost(*p);
    tracker.add(c);
    searcher.report(*p, c);
    ++out.evaluations;
    if (c < out.best_cost) {
      out.best_cost = c;
      out.best = *p;
    }
  }
  return out;
}

}  // namespace gqaforge::autotune
