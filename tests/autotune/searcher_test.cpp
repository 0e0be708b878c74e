// Searchers on deterministic synthetic landscapes: exhaustive finds the optimum, random keeps
// to its budget and seed, and guided gets within 3 % of the exhaustive optimum with at most
// 30 % of its evaluations on several landscapes.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "autotune/family_space.h"
#include "autotune/searcher.h"
#include "autotune/shard.h"
#include "autotune/stop.h"
#include "autotune/synthetic_backend.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {
namespace {

/// An abstract 4-parameter landscape: a bowl with a rugged hash factor; the predictor knows the
/// bowl with its centre one step off and nothing of the ruggedness.
struct Bowl {
  SearchSpace space;
  Bowl() {
    for (const char* name : {"p", "q", "r", "s"}) space.add_param(name, {0, 1, 2, 3, 4, 5, 6, 7});
    space.add_constraint("p_plus_q_at_most_12", [](const PointValues& v) { return v["p"] + v["q"] <= 12; });
  }
  double cost(const Point& x, uint64_t seed) const {
    const double c[4] = {5, 2, 6, 3};
    double d = 0;
    for (size_t i = 0; i < 4; ++i) d += (x[i] - c[i]) * (x[i] - c[i]);
    const double u = double(shard_hash(fmt::format("{} {}", seed, space.config_text(x))) >> 11) * 0x1.0p-53;
    return (10.0 + d) * (1.0 + 0.1 * (2 * u - 1));
  }
  double predict(const Point& x) const {
    const double c[4] = {4, 3, 5, 3};
    double d = 0;
    for (size_t i = 0; i < 4; ++i) d += (x[i] - c[i]) * (x[i] - c[i]);
    return 10.0 + d;
  }
};

TEST(ExhaustiveSearcher, VisitsEveryValidPointOnceAndFindsTheOptimum) {
  Bowl bowl;
  std::vector<Point> valid = bowl.space.valid_points();
  ExhaustiveSearcher s(valid);
  std::set<Point> seen;
  auto cost = [&](const Point& p) {
    EXPECT_TRUE(seen.insert(p).second) << "proposed twice";
    return bowl.cost(p, 1);
  };
  SearchOutcome out = drive(s, cost);
  EXPECT_EQ(out.evaluations, static_cast<int64_t>(valid.size()));
  double best = INFINITY;
  for (const Point& p : valid) best = std::min(best, bowl.cost(p, 1));
  EXPECT_EQ(out.best_cost, best);
}

TEST(RandomSearcher, RespectsBudgetAndSeed) {
  Bowl bowl;
  std::vector<Point> valid = bowl.space.valid_points();
  auto order = [&](uint64_t seed, int64_t budget) {
    RandomSearcher s(valid, budget, seed);
    std::vector<Point> out;
    while (auto p = s.next()) out.push_back(*p);
    return out;
  };
  std::vector<Point> a = order(7, 50), b = order(7, 50), c = order(8, 50);
  EXPECT_EQ(a.size(), 50u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::set<Point>(a.begin(), a.end()).size(), 50u);
  for (const Point& p : a) EXPECT_TRUE(bowl.space.valid(p));
  // A budget above the space size (or none) gives every point once.
  EXPECT_EQ(order(7, 1 << 30).size(), valid.size());
  EXPECT_EQ(order(7, 0).size(), valid.size());
}

/// Runs guided and exhaustive on one landscape; checks quality and the share of evaluations.
void expect_guided_good(const SearchSpace& space, const std::vector<Point>& valid,
                        const std::function<double(const Point&)>& cost,
                        const std::function<double(const Point&)>& predict, const std::string& what) {
  ExhaustiveSearcher ex(valid);
  SearchOutcome full = drive(ex, cost);
  GuidedSearcher g(space, valid, predict);
  std::set<Point> seen;
  SearchOutcome out = drive(g, [&](const Point& p) {
    EXPECT_TRUE(seen.insert(p).second) << what << ": proposed twice";
    return cost(p);
  });
  ASSERT_TRUE(out.best.has_value()) << what;
  EXPECT_LE(out.best_cost, full.best_cost * 1.03)
      << what << ": guided " << out.best_cost << " vs optimum " << full.best_cost;
  EXPECT_LE(double(out.evaluations), 0.30 * double(full.evaluations))
      << what << ": " << out.evaluations << " of " << full.evaluations << " evaluations";
  std::printf("[ guided ] %-48s %4ld of %5ld evaluations, %.4f of the optimum\n", what.c_str(), long(out.evaluations),
              long(full.evaluations), out.best_cost / full.best_cost);
}

TEST(GuidedSearcher, NearOptimalWithFewEvaluationsOnAnAbstractLandscape) {
  Bowl bowl;
  std::vector<Point> valid = bowl.space.valid_points();
  for (uint64_t seed : {1u, 2u, 3u}) {
    expect_guided_good(
        bowl.space, valid, [&](const Point& p) { return bowl.cost(p, seed); },
        [&](const Point& p) { return bowl.predict(p); }, fmt::format("bowl seed {}", seed));
  }
}

TEST(GuidedSearcher, NearOptimalWithFewEvaluationsOnKernelLandscapes) {
  const codegen::DeviceLimits limits;
  const std::vector<codegen::AttentionProblem> problems = {
      testing::decode_problem(32, 8, 128, 1, 32768), testing::decode_problem(8, 1, 128, 1, 131072),
      testing::decode_problem(32, 8, 128, 16, 4096), testing::decode_problem(16, 2, 64, 4, 16384),
      testing::prefill_problem(32, 8, 128, 1, 8192), testing::prefill_problem(8, 1, 64, 1, 32768)};
  for (const codegen::AttentionProblem& problem : problems) {
    for (uint64_t seed : {1u, 2u}) {
      auto fs = make_family_space(problem, limits);
      ASSERT_TRUE(fs.ok());
      SyntheticOptions so;
      so.seed = seed;
      SyntheticBackend backend(so);
      std::vector<Point> valid = fs->space.valid_points();
      auto cost = [&](const Point& p) { return backend.true_cost_us(problem, *fs->family, fs->config(p)); };
      auto predict = [&](const Point& p) { return fs->predict_us(p); };
      expect_guided_good(fs->space, valid, cost, predict, fmt::format("{} seed {}", problem.name(), seed));
    }
  }
}

TEST(GuidedSearcher, BatchesProposalsAndWaitsForReports) {
  Bowl bowl;
  std::vector<Point> valid = bowl.space.valid_points();
  GuidedSearcher g(bowl.space, valid, [&](const Point& p) { return bowl.predict(p); });
  std::vector<Point> first;
  while (auto p = g.next()) first.push_back(*p);
  ASSERT_GE(first.size(), 6u);         // the seeds come at once (a compile batch)
  EXPECT_FALSE(g.next().has_value());  // nothing more until they are reported
  for (const Point& p : first) g.report(p, bowl.cost(p, 1));
  EXPECT_TRUE(g.next().has_value());  // the climb has started
}

TEST(GuidedSearcher, FailuresAndUnknownCostsAreNotTakenAsBest) {
  Bowl bowl;
  std::vector<Point> valid = bowl.space.valid_points();
  GuidedSearcher g(bowl.space, valid, [&](const Point& p) { return bowl.predict(p); });
  int64_t n = 0;
  while (auto p = g.next()) {
    // Every other evaluation fails, some are unknown (resumed): the search still ends.
    g.report(*p, n % 2 == 0 ? INFINITY : (n % 3 == 0 ? NAN : bowl.cost(*p, 1)));
    ASSERT_LT(++n, static_cast<int64_t>(valid.size()) + 1);
  }
  EXPECT_GT(n, 0);
}

TEST(MakeSearcher, NamesTheUnknownStrategy) {
  Bowl bowl;
  auto s = make_searcher("annealing", bowl.space, {}, nullptr, 0, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("'annealing'"), std::string::npos);
  for (const char* name : kStrategies) {
    auto ok = make_searcher(
        name, bowl.space, bowl.space.valid_points(), [](const Point&) { return 1.0; }, 5, 1);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ((*ok)->name(), name);
  }
}

}  // namespace
}  // namespace gqaforge::autotune
