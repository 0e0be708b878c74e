// Stop conditions: evaluation budget, time budget, patience and any-of, on a tracker fed by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "autotune/searcher.h"
#include "autotune/stop.h"

namespace gqaforge::autotune {
namespace {

TEST(SearchTracker, CountsEvaluationsAndImprovements) {
  SearchTracker t;
  EXPECT_TRUE(t.add(10));
  EXPECT_FALSE(t.add(12));
  EXPECT_FALSE(t.add(INFINITY));  // a failure is an evaluation without improvement
  EXPECT_FALSE(t.add(NAN));       // unknown: not an evaluation
  EXPECT_EQ(t.progress().evaluations, 3);
  EXPECT_EQ(t.progress().since_improvement, 2);
  EXPECT_TRUE(t.add(9));
  EXPECT_EQ(t.progress().since_improvement, 0);
  EXPECT_EQ(t.progress().best_cost, 9);
}

TEST(StopConditions, EachFiresAtItsLimit) {
  SearchProgress p;
  EvaluationBudget budget(5);
  TimeBudget time(60);
  Patience patience(3);
  EXPECT_FALSE(budget.done(p));
  p.evaluations = 5;
  EXPECT_TRUE(budget.done(p));
  EXPECT_NE(budget.reason().find("5"), std::string::npos);
  p.elapsed_s = 59.9;
  EXPECT_FALSE(time.done(p));
  p.elapsed_s = 60;
  EXPECT_TRUE(time.done(p));
  p.since_improvement = 2;
  EXPECT_FALSE(patience.done(p));
  p.since_improvement = 3;
  EXPECT_TRUE(patience.done(p));
}

TEST(StopConditions, AnyStopNamesTheConditionThatFired) {
  AnyStop any;
  EXPECT_TRUE(any.empty());
  any.add(std::make_unique<EvaluationBudget>(100));
  any.add(std::make_unique<Patience>(4));
  SearchProgress p;
  p.evaluations = 10;
  p.since_improvement = 4;
  EXPECT_TRUE(any.done(p));
  EXPECT_NE(any.reason().find("no improvement in 4"), std::string::npos);
}

TEST(StopConditions, DriveStopsAtTheBudget) {
  SearchSpace s;
  s.add_param("x", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  ExhaustiveSearcher ex(s.valid_points());
  EvaluationBudget budget(4);
  int64_t calls = 0;
  SearchOutcome out = drive(
      ex,
      [&](const Point& p) {
        ++calls;
        return double(10 - p[0]);
      },
      &budget);
  EXPECT_EQ(out.evaluations, 4);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(out.stop_reason, budget.reason());
  // Patience: a landscape that only gets worse stops after k tries past the first.
  ExhaustiveSearcher ex2(s.valid_points());
  Patience patience(3);
  SearchOutcome out2 = drive(
      ex2, [](const Point& p) { return double(p[0]); }, &patience);
  EXPECT_EQ(out2.evaluations, 4);
}

}  // namespace
}  // namespace gqaforge::autotune
