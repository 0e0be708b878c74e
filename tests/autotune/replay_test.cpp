// Searcher replay: a landscape built from the rows of an exhaustive synthetic tune holds every
// valid point with its cost (failures as +inf), exhaustive replay finds the optimum after
// exactly the valid points (plus the default when it is not one of them), and the guided and
// random strategies spend fewer evaluations for a bounded distance from it.
#include <gtest/gtest.h>

#include <cmath>

#include "autotune/replay.h"
#include "autotune/synthetic_backend.h"
#include "autotune/tuner.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;
using codegen::DeviceLimits;

namespace {

using testing::MemorySink;

MemorySink exhaustive_rows(const AttentionProblem& problem, const SyntheticOptions& so) {
  SyntheticBackend backend(so);
  MemorySink sink;
  TuneOptions o;
  o.strategy = "exhaustive";
  o.show_progress = false;
  Tuner tuner(backend, sink, o);
  EXPECT_TRUE(tuner.run({problem}).ok());
  return sink;
}

TEST(Replay, LandscapeHoldsEveryValidPointAndTheOptimum) {
  const AttentionProblem problem = testing::prefill_problem(32, 8, 128, 1, 4096);
  SyntheticOptions so;
  so.fault_rates = {{MeasureStatus::kWrongResult, 0.1}};
  MemorySink sink = exhaustive_rows(problem, so);
  auto l = landscape_from_rows(problem, sink.rows, DeviceLimits{});
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  auto fs = make_family_space(problem, DeviceLimits{});
  EXPECT_EQ(l->valid.size(), fs->space.valid_points().size());
  EXPECT_EQ(l->unmeasured, 0);
  double best = INFINITY;
  int failed = 0;
  for (const MeasurementRecord& r : sink.rows) {
    if (r.status == MeasureStatus::kOk) best = std::min(best, r.median_us);
  }
  for (const auto& [point, cost] : l->cost) failed += std::isinf(cost) ? 1 : 0;
  EXPECT_GT(failed, 0);
  EXPECT_DOUBLE_EQ(l->best_us, best);

  auto ex = replay(*l, "exhaustive", 0, 1, 1.03);
  ASSERT_TRUE(ex.ok());
  EXPECT_DOUBLE_EQ(ex->best_us, best);
  EXPECT_GE(ex->evaluations, static_cast<int64_t>(l->valid.size()));
  EXPECT_LE(ex->evaluations, static_cast<int64_t>(l->valid.size()) + 1);
  EXPECT_GE(ex->evals_to_target, 1);
}

TEST(Replay, GuidedAndRandomSpendFewerEvaluations) {
  const AttentionProblem problem = testing::decode_problem(8, 1, 128, 1, 16384);
  MemorySink sink = exhaustive_rows(problem, SyntheticOptions{});
  auto l = landscape_from_rows(problem, sink.rows, DeviceLimits{});
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  const int64_t n = static_cast<int64_t>(l->valid.size());
  auto guided = replay(*l, "guided", 0, 1, 1.03);
  ASSERT_TRUE(guided.ok());
  EXPECT_LT(guided->evaluations, n * 3 / 10);
  EXPECT_LE(guided->best_us, 1.03 * l->best_us);
  auto random = replay(*l, "random", 50, 7, 1.03);
  ASSERT_TRUE(random.ok());
  EXPECT_EQ(random->evaluations, 50);
  EXPECT_GE(random->best_us, l->best_us);
  // Without the heuristic default, guided still ends within the target.
  auto alone = replay(*l, "guided", 0, 1, 1.03, false);
  ASSERT_TRUE(alone.ok());
  EXPECT_LE(alone->best_us, 1.03 * l->best_us);
  EXPECT_GE(alone->evals_to_target, 1);
}

TEST(Replay, RowsRecordedBeforeTheWgmmaFieldMatchTheMmaSyncPoints) {
  // Prefill rows written before `wgmma` existed lack the key; they ran the mma.sync kernel.
  const AttentionProblem problem = testing::prefill_problem(8, 1, 64, 2, 2048);
  MemorySink sink = exhaustive_rows(problem, SyntheticOptions{});
  std::vector<MeasurementRecord> old_rows;
  for (MeasurementRecord r : sink.rows) {
    const std::string suffix = ",wgmma=0";
    if (r.config.size() > suffix.size() &&
        r.config.compare(r.config.size() - suffix.size(), suffix.size(), suffix) == 0) {
      r.config.resize(r.config.size() - suffix.size());
      old_rows.push_back(r);
    }
  }
  ASSERT_FALSE(old_rows.empty());
  auto l = landscape_from_rows(problem, old_rows, DeviceLimits{});
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  EXPECT_EQ(l->valid.size() + static_cast<size_t>(l->unmeasured),
            make_family_space(problem, DeviceLimits{})->space.valid_points().size());
  for (const Point& p : l->valid) {
    EXPECT_NE(l->space.config_text(p).find("wgmma=0"), std::string::npos);
  }
  EXPECT_GT(l->valid.size(), 0u);
}

TEST(Replay, PartialRowsCountAsUnmeasuredAndNoPassingRowFails) {
  const AttentionProblem problem = testing::prefill_problem(8, 1, 64, 2, 2048);
  MemorySink sink = exhaustive_rows(problem, SyntheticOptions{});
  std::vector<MeasurementRecord> half(sink.rows.begin(), sink.rows.begin() + static_cast<long>(sink.rows.size() / 2));
  auto l = landscape_from_rows(problem, half, DeviceLimits{});
  ASSERT_TRUE(l.ok());
  EXPECT_GT(l->unmeasured, 0);
  for (MeasurementRecord& r : half) r.status = MeasureStatus::kTimeout;
  EXPECT_FALSE(landscape_from_rows(problem, half, DeviceLimits{}).ok());
  // Rows of another problem are ignored.
  EXPECT_FALSE(landscape_from_rows(testing::prefill_problem(8, 1, 64, 1, 2048), sink.rows, DeviceLimits{}).ok());
}

}  // namespace
}  // namespace gqaforge::autotune
