// The tune loop on the synthetic backend recording into an in-memory sink: every status is
// recorded and the sweep goes on, the default is always measured, winners are re-measured and
// exactly one is marked best, budgets hold, resuming skips measured keys, shards split the work.
#include <gtest/gtest.h>

#include <set>

#include "autotune/family_space.h"
#include "autotune/synthetic_backend.h"
#include "autotune/tuner.h"
#include "codegen/decode_config.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;

namespace {

using testing::MemorySink;

TuneOptions quiet(const std::string& strategy) {
  TuneOptions o;
  o.strategy = strategy;
  o.show_progress = false;
  o.command_line = "test";
  return o;
}

TEST(Tuner, RecordsEveryStatusAndKeepsGoing) {
  SyntheticOptions so;
  so.fault_rates = {{MeasureStatus::kRejected, 0.05},
                    {MeasureStatus::kCompileFailed, 0.05},
                    {MeasureStatus::kWrongResult, 0.05},
                    {MeasureStatus::kLaunchFailed, 0.05},
                    {MeasureStatus::kTimeout, 0.05}};
  SyntheticBackend backend(so);
  MemorySink sink;
  TuneOptions o = quiet("exhaustive");
  Tuner tuner(backend, sink, o);
  const AttentionProblem problem = testing::decode_problem(8, 1, 128, 1, 16384);
  auto report = tuner.run({problem});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->problems.size(), 1u);
  const ProblemOutcome& out = report->problems[0];
  // Time accounting: measuring happens inside the sweep's wall time; every compiled try counts.
  EXPECT_GT(report->wall_s, 0);
  EXPECT_LE(report->measure_s, report->wall_s);
  EXPECT_GT(report->kernels_compiled + report->compile_cache_hits, 0);
  EXPECT_EQ(report->compile_cpu_s, 0) << "no invented compile time";

  auto fs = make_family_space(problem, codegen::DeviceLimits{});
  const size_t valid = fs->space.valid_points().size();
  // Every valid point was tried once (the default is one of them or one more), plus re-measures.
  EXPECT_GE(out.tried, static_cast<int64_t>(valid));
  EXPECT_LE(out.tried, static_cast<int64_t>(valid) + 1);
  for (MeasureStatus s : {MeasureStatus::kOk, MeasureStatus::kRejected, MeasureStatus::kCompileFailed,
                          MeasureStatus::kWrongResult, MeasureStatus::kLaunchFailed, MeasureStatus::kTimeout}) {
    EXPECT_GT(sink.count(s), 0) << measure_status_name(s);
  }
  for (const MeasurementRecord& r : sink.rows) {
    EXPECT_EQ(r.run_id, report->run_id);
    EXPECT_EQ(r.env_key, report->env_key);
    EXPECT_FALSE(r.kernel_key.empty());
    EXPECT_FALSE(r.measured_at.empty());
    EXPECT_EQ(r.problem.family, "decode");
    const MeasureStatus injected = backend.fault_of(problem, r.config);
    EXPECT_EQ(r.status, injected) << r.config;
    if (r.status == MeasureStatus::kOk) {
      EXPECT_GT(r.median_us, 0);
      EXPECT_GT(r.tbps, 0);
      EXPECT_EQ(r.compile_ms, 0) << "the synthetic backend compiles nothing";
    } else {
      EXPECT_FALSE(r.message.empty()) << measure_status_name(r.status);
      EXPECT_EQ(r.median_us, 0) << "a failed variant is never timed";
    }
    if (r.status == MeasureStatus::kRejected) {
      EXPECT_NE(r.message.find("spills"), std::string::npos);
    }
    if (r.status == MeasureStatus::kWrongResult) {
      EXPECT_GT(r.max_error, r.error_bound);
    }
  }
  // The measurement budget: only compiled, resource-checked variants reach measure().
  EXPECT_EQ(backend.measure_calls(), sink.count(MeasureStatus::kOk) + sink.count(MeasureStatus::kWrongResult) +
                                         sink.count(MeasureStatus::kLaunchFailed) +
                                         sink.count(MeasureStatus::kTimeout));
  // Exactly one best, the fastest ok variant.
  int64_t best_rows = 0;
  double fastest = INFINITY;
  for (const MeasurementRecord& r : sink.rows) {
    if (r.is_best) ++best_rows;
    if (r.status == MeasureStatus::kOk) fastest = std::min(fastest, r.median_us);
  }
  EXPECT_EQ(best_rows, 1);
  ASSERT_TRUE(out.best.has_value());
  EXPECT_TRUE(out.best->is_best);
  EXPECT_DOUBLE_EQ(out.best->median_us, fastest);
  ASSERT_TRUE(out.default_row.has_value());
  EXPECT_EQ(out.default_row->config, fs->family->canonical(fs->default_config));
  EXPECT_EQ(sink.ended, std::vector<int64_t>{report->run_id});
}

TEST(Tuner, MeasuresTheDefaultEvenWhenTheBudgetIsTiny) {
  SyntheticBackend backend;
  MemorySink sink;
  TuneOptions o = quiet("random");
  o.budget = 3;
  Tuner tuner(backend, sink, o);
  const AttentionProblem problem = testing::decode_problem();
  auto report = tuner.run({problem});
  ASSERT_TRUE(report.ok());
  const ProblemOutcome& out = report->problems[0];
  EXPECT_EQ(out.tried, 3);
  EXPECT_NE(out.stop_reason.find("evaluation budget 3"), std::string::npos);
  ASSERT_TRUE(out.default_row.has_value());
  EXPECT_EQ(out.default_row->config, codegen::default_decode_config(problem, codegen::DeviceLimits{}).canonical());
}

TEST(Tuner, GuidedFindsNearlyTheExhaustiveBestWithFewTries) {
  const AttentionProblem problem = testing::decode_problem(8, 1, 128, 1, 131072);
  SyntheticBackend b1, b2;
  MemorySink s1, s2;
  auto full = Tuner(b1, s1, quiet("exhaustive")).run({problem});
  auto guided = Tuner(b2, s2, quiet("guided")).run({problem});
  ASSERT_TRUE(full.ok() && guided.ok());
  const ProblemOutcome& f = full->problems[0];
  const ProblemOutcome& g = guided->problems[0];
  ASSERT_TRUE(f.best && g.best);
  EXPECT_LE(g.best->median_us, f.best->median_us * 1.03);
  EXPECT_LE(double(g.tried), 0.3 * double(f.tried));
}

TEST(Tuner, ResumeSkipsMeasuredKeys) {
  SyntheticOptions so;
  so.fault_rates = {{MeasureStatus::kLaunchFailed, 0.1}};
  SyntheticBackend backend(so);
  MemorySink sink;
  TuneOptions o = quiet("random");
  o.budget = 20;
  const std::vector<AttentionProblem> problems = {testing::decode_problem(),
                                                  testing::prefill_problem(8, 1, 64, 1, 4096)};
  auto first = Tuner(backend, sink, o).run(problems);
  ASSERT_TRUE(first.ok());
  const size_t rows_after_first = sink.rows.size();
  std::set<std::string> first_keys;
  for (const MeasurementRecord& r : sink.rows) first_keys.insert(r.kernel_key);
  const int64_t measured_before = backend.measure_calls();

  auto second = Tuner(backend, sink, o).run(problems);
  ASSERT_TRUE(second.ok());
  for (const ProblemOutcome& p : second->problems) {
    EXPECT_EQ(p.tried, 0) << p.problem.name();
    EXPECT_GT(p.skipped, 0);
  }
  EXPECT_EQ(sink.rows.size(), rows_after_first);
  EXPECT_EQ(backend.measure_calls(), measured_before);

  // A bigger budget measures only the new variants.
  o.budget = 30;
  auto third = Tuner(backend, sink, o).run(problems);
  ASSERT_TRUE(third.ok());
  for (const ProblemOutcome& p : third->problems) {
    EXPECT_GT(p.tried, 0);
    EXPECT_GT(p.skipped, 0);
  }
  for (size_t i = rows_after_first; i < sink.rows.size(); ++i) {
    if (!sink.rows[i].is_best && sink.rows[i].message.rfind("re-measured", 0) != 0) {
      EXPECT_EQ(first_keys.count(sink.rows[i].kernel_key), 0u) << sink.rows[i].config;
    }
  }
}

TEST(Tuner, TheDefaultIsReMeasuredWithTheWinners) {
  SyntheticBackend backend;
  MemorySink sink;
  TuneOptions o = quiet("guided");
  o.remeasure_top = 1;
  const AttentionProblem problem = testing::decode_problem(32, 8, 128, 1, 32768);
  auto report = Tuner(backend, sink, o).run({problem});
  ASSERT_TRUE(report.ok());
  const ProblemOutcome& out = report->problems[0];
  ASSERT_TRUE(out.best && out.default_row);
  int remeasured = 0;
  for (const MeasurementRecord& r : sink.rows) {
    if (r.message.rfind("re-measured", 0) == 0) ++remeasured;
  }
  if (out.best->config == out.default_row->config) {
    EXPECT_EQ(remeasured, 1);
  } else {
    EXPECT_EQ(remeasured, 2);
    EXPECT_EQ(out.default_row->message, "re-measured heuristic default");
  }
}

TEST(Tuner, ShardsSplitTheSweepDisjointly) {
  const AttentionProblem problem = testing::decode_problem(16, 2, 128, 1, 8192);
  std::set<std::string> all;
  int64_t total = 0;
  for (int i = 0; i < 3; ++i) {
    SyntheticBackend backend;
    MemorySink sink;
    TuneOptions o = quiet("exhaustive");
    o.shard = Shard{i, 3};
    auto r = Tuner(backend, sink, o).run({problem});
    ASSERT_TRUE(r.ok());
    std::set<std::string> mine;
    for (const MeasurementRecord& row : sink.rows) {
      mine.insert(row.config);
      EXPECT_FALSE(row.is_best) << "no shard sees the whole space";
    }
    for (const std::string& c : mine) EXPECT_TRUE(all.insert(c).second) << "config in two shards: " << c;
    total += static_cast<int64_t>(mine.size());
  }
  SyntheticBackend backend;
  MemorySink sink;
  auto r = Tuner(backend, sink, quiet("exhaustive")).run({problem});
  ASSERT_TRUE(r.ok());
  std::set<std::string> whole;
  for (const MeasurementRecord& row : sink.rows) whole.insert(row.config);
  EXPECT_EQ(all, whole);
}

TEST(Tuner, TimeBudgetEndsTheSweep) {
  SyntheticBackend backend;
  MemorySink sink;
  TuneOptions o = quiet("exhaustive");
  o.time_budget_s = 1e-9;
  auto r = Tuner(backend, sink, o).run({testing::decode_problem(), testing::decode_problem(8, 1)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->time_budget_hit);
  EXPECT_EQ(r->problems.size(), 1u);
  EXPECT_LE(r->problems[0].tried, 1);
}

TEST(Tuner, RejectsAnUnknownStrategyBeforeRecordingAnything) {
  SyntheticBackend backend;
  MemorySink sink;
  auto r = Tuner(backend, sink, quiet("annealing")).run({testing::decode_problem()});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'annealing'"), std::string::npos);
  EXPECT_TRUE(sink.runs.empty());
  EXPECT_TRUE(sink.rows.empty());
}

TEST(Tuner, RegisterLimitRejectsAfterCompiling) {
  SyntheticBackend backend;
  MemorySink sink;
  TuneOptions o = quiet("random");
  o.budget = 10;
  o.max_registers = 100;  // the synthetic backend reports 64..184 registers
  auto r = Tuner(backend, sink, o).run({testing::decode_problem()});
  ASSERT_TRUE(r.ok());
  int64_t over = 0;
  for (const MeasurementRecord& row : sink.rows) {
    if (row.registers > 100) {
      EXPECT_EQ(row.status, MeasureStatus::kRejected);
      EXPECT_NE(row.message.find("registers"), std::string::npos);
      ++over;
    }
  }
  EXPECT_GT(over, 0);
}

}  // namespace
}  // namespace gqaforge::autotune
