// Resuming is replaying: a sweep stopped at any point (a kill emulated by a sink that stops
// storing, an interrupt between tries) and then run again ends with exactly the rows, winners
// and summary of a sweep that was never stopped. Also: the winner is chosen among every stored
// ok row, a problem without a best is re-measured, a sink error stops the sweep at once, and
// --retry-failed measures infrastructure failures again.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <ostream>
#include <set>
#include <tuple>

#include "autotune/synthetic_backend.h"
#include "autotune/tune_rows.h"
#include "autotune/tuner.h"
#include "core/interrupt.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;

namespace {

using testing::MemorySink;

TuneOptions quiet(const std::string& strategy, int64_t budget = 0) {
  TuneOptions o;
  o.strategy = strategy;
  o.budget = budget;
  o.show_progress = false;
  o.command_line = "test";
  return o;
}

SyntheticOptions faulty() {
  SyntheticOptions so;
  so.fault_rates = {{MeasureStatus::kRejected, 0.04},
                    {MeasureStatus::kCompileFailed, 0.03},
                    {MeasureStatus::kWrongResult, 0.03},
                    {MeasureStatus::kLaunchFailed, 0.03},
                    {MeasureStatus::kTimeout, 0.02}};
  return so;
}

/// What a sweep leaves behind, without what legitimately differs between runs (run ids,
/// timestamps): per kernel, config, status, timing, message and the best mark.
using Row = std::tuple<std::string, std::string, double, int, std::string, bool>;
std::map<std::string, Row> final_state(MemorySink& sink, const std::string& env,
                                       const std::vector<AttentionProblem>& problems) {
  std::map<std::string, Row> out;
  for (const AttentionProblem& p : problems) {
    for (const MeasurementRecord& r : sink.stored_rows(env, to_problem_record(p))) {
      out[p.name() + " " + r.kernel_key] = {
          r.config, measure_status_name(r.status), r.median_us, r.repetitions, r.message, r.is_best};
    }
  }
  return out;
}

/// The summary columns of each problem: best config and time, default's time, tries.
using Summary = std::tuple<std::string, double, double, int64_t, std::string>;
std::vector<Summary> summary(const TuneReport& report) {
  std::vector<Summary> out;
  for (const ProblemOutcome& o : report.problems) {
    out.emplace_back(o.best ? o.best->config : "-", o.best ? o.best->median_us : 0,
                     o.default_row ? o.default_row->median_us : 0, o.tried + o.skipped, o.stop_reason);
  }
  return out;
}

struct Sweep {
  std::string strategy;
  int64_t budget;
  std::vector<AttentionProblem> problems;
};

void PrintTo(const Sweep& s, std::ostream* os) {
  *os << s.strategy << " budget " << s.budget << ", " << s.problems.size() << " problem(s)";
}

class ResumeEqualsUninterrupted : public ::testing::TestWithParam<Sweep> {};

TEST_P(ResumeEqualsUninterrupted, AtEveryInterruptionPoint) {
  const Sweep& sweep = GetParam();
  SyntheticBackend reference_backend(faulty());
  MemorySink reference;
  auto whole = Tuner(reference_backend, reference, quiet(sweep.strategy, sweep.budget)).run(sweep.problems);
  ASSERT_TRUE(whole.ok()) << whole.status().to_string();
  const std::string env = whole->env_key;
  const auto expected = final_state(reference, env, sweep.problems);
  const auto expected_summary = summary(*whole);
  const int64_t total_rows = static_cast<int64_t>(reference.rows.size());
  ASSERT_GT(total_rows, 10);

  // Kill points spread over the whole sweep, re-measures included, and the last row.
  std::vector<int64_t> points;
  const int64_t step = std::max<int64_t>(1, total_rows / 23);
  for (int64_t k = 0; k < total_rows; k += step) points.push_back(k);
  points.push_back(total_rows - 1);
  std::printf("%s: %zu kill points over %lld rows\n", ::testing::PrintToString(sweep).c_str(), points.size(),
              static_cast<long long>(total_rows));
  for (int64_t k : points) {
    SCOPED_TRACE("killed after " + std::to_string(k) + " of " + std::to_string(total_rows) + " rows");
    SyntheticBackend backend(faulty());
    MemorySink sink;
    sink.fail_after = k;  // row k and everything after it is lost, as when the process dies
    auto stopped = Tuner(backend, sink, quiet(sweep.strategy, sweep.budget)).run(sweep.problems);
    EXPECT_FALSE(stopped.ok());
    EXPECT_EQ(sink.failed_records, 1) << "the sweep goes on after the sink failed";
    sink.fail_after = -1;
    sink.error = ok_status();
    auto resumed = Tuner(backend, sink, quiet(sweep.strategy, sweep.budget)).run(sweep.problems);
    ASSERT_TRUE(resumed.ok()) << resumed.status().to_string();
    EXPECT_EQ(final_state(sink, env, sweep.problems), expected);
    EXPECT_EQ(summary(*resumed), expected_summary);
    // A third run finds everything done: nothing measured, the same answer.
    const size_t rows = sink.rows.size();
    auto again = Tuner(backend, sink, quiet(sweep.strategy, sweep.budget)).run(sweep.problems);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(sink.rows.size(), rows);
    EXPECT_EQ(summary(*again), expected_summary);
    if (HasFailure()) break;  // one broken point says enough
  }
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, ResumeEqualsUninterrupted,
    ::testing::Values(Sweep{"exhaustive", 0, {testing::prefill_problem(8, 1, 128, 1, 4096)}},
                      Sweep{"guided", 0, {testing::decode_problem(8, 1, 128, 1, 8192)}},
                      Sweep{"guided",
                            16,
                            {testing::decode_problem(16, 2, 128, 1, 4096), testing::prefill_problem(8, 1, 64, 1, 2048),
                             testing::decode_problem(32, 8, 64, 16, 32768)}},
                      Sweep{"random", 30, {testing::decode_problem(8, 1, 64, 1, 16384), testing::prefill_problem()}}),
    [](const ::testing::TestParamInfo<Sweep>& param_info) {
      const Sweep& s = param_info.param;
      return s.strategy + "_budget" + std::to_string(s.budget) + "_" + std::to_string(s.problems.size()) + "problems";
    });

TEST(Resume, ATimeBudgetAnywhereThenResumeEqualsUninterrupted) {
  const std::vector<AttentionProblem> problems = {testing::prefill_problem(8, 1, 128, 1, 4096),
                                                  testing::decode_problem(16, 2, 128, 1, 8192)};
  SyntheticOptions so = faulty();
  so.measure_delay_ms = 0.5;  // a measurement takes time, so the budget lands inside the sweep
  SyntheticBackend reference_backend(so);
  MemorySink reference;
  auto whole = Tuner(reference_backend, reference, quiet("guided", 40)).run(problems);
  ASSERT_TRUE(whole.ok());
  int stopped_inside = 0;
  for (double budget_s : {0.002, 0.01, 0.02, 0.035, 0.05, 0.07}) {
    SCOPED_TRACE("time budget " + std::to_string(budget_s) + " s");
    SyntheticBackend backend(so);
    MemorySink sink;
    TuneOptions o = quiet("guided", 40);
    o.time_budget_s = budget_s;
    auto first = Tuner(backend, sink, o).run(problems);
    ASSERT_TRUE(first.ok());
    stopped_inside += first->time_budget_hit ? 1 : 0;
    auto resumed = Tuner(backend, sink, quiet("guided", 40)).run(problems);
    ASSERT_TRUE(resumed.ok());
    EXPECT_EQ(final_state(sink, whole->env_key, problems), final_state(reference, whole->env_key, problems));
    EXPECT_EQ(summary(*resumed), summary(*whole));
  }
  EXPECT_GE(stopped_inside, 3) << "most budgets should end the sweep part-way";
}

/// Calls request_interrupt() after `after` measurements, as a SIGINT arriving mid-sweep would.
class InterruptingBackend final : public Backend {
 public:
  InterruptingBackend(Backend& inner, int64_t after) : inner_(inner), after_(after) {}
  std::string name() const override { return "interrupting"; }
  Result<BackendInfo> info() override { return inner_.info(); }
  Result<std::string> kernel_key(const AttentionProblem& p, const codegen::KernelFamily& f,
                                 const codegen::KernelConfig& c) override {
    return inner_.kernel_key(p, f, c);
  }
  std::vector<CompileResult> compile(const std::vector<Candidate>& c) override { return inner_.compile(c); }
  MeasureResult measure(const Candidate& c, const MeasureOptions& o) override {
    MeasureResult r = inner_.measure(c, o);
    if (++calls_ == after_) request_interrupt();
    return r;
  }

 private:
  Backend& inner_;
  int64_t after_;
  int64_t calls_ = 0;
};

TEST(Resume, AnInterruptStopsBetweenTriesLeavesTheRunUnfinishedAndResumes) {
  const std::vector<AttentionProblem> problems = {testing::decode_problem(8, 1, 128, 1, 8192),
                                                  testing::decode_problem(16, 2, 64, 1, 4096)};
  SyntheticBackend reference_backend(faulty());
  MemorySink reference;
  auto whole = Tuner(reference_backend, reference, quiet("guided", 20)).run(problems);
  ASSERT_TRUE(whole.ok());

  SyntheticBackend inner(faulty());
  InterruptingBackend backend(inner, 7);
  MemorySink sink;
  auto stopped = Tuner(backend, sink, quiet("guided", 20)).run(problems);
  clear_interrupt();
  ASSERT_TRUE(stopped.ok());
  EXPECT_TRUE(stopped->interrupted);
  EXPECT_TRUE(sink.ended.empty()) << "an interrupted run stays unfinished";
  EXPECT_EQ(stopped->problems.size(), 1u) << "no problem starts after the interrupt";
  EXPECT_FALSE(stopped->problems[0].best.has_value()) << "no winner is marked from a partial search";
  EXPECT_EQ(inner.measure_calls(), 7) << "the interrupt is seen before the next try";
  for (const MeasurementRecord& r : sink.rows) EXPECT_FALSE(r.is_best);

  auto resumed = Tuner(inner, sink, quiet("guided", 20)).run(problems);
  ASSERT_TRUE(resumed.ok());
  EXPECT_FALSE(resumed->interrupted);
  EXPECT_EQ(sink.ended.size(), 1u);
  EXPECT_EQ(final_state(sink, whole->env_key, problems), final_state(reference, whole->env_key, problems));
  EXPECT_EQ(summary(*resumed), summary(*whole));
}

TEST(Resume, TheWinnerIsTheFastestStoredRowNotOnlyThisRunsTries) {
  const AttentionProblem problem = testing::decode_problem(8, 1, 128, 1, 8192);
  SyntheticBackend backend;
  MemorySink sink;
  // A wide random sample first, then a small guided search that measures a few new variants.
  ASSERT_TRUE(Tuner(backend, sink, quiet("random", 200)).run({problem}).ok());
  auto second = Tuner(backend, sink, quiet("guided", 40)).run({problem});
  ASSERT_TRUE(second.ok());
  ASSERT_GT(second->problems[0].tried, 0) << "the test needs the second run to measure something new";
  double fastest = INFINITY;
  int bests = 0;
  std::string best_key;
  for (const MeasurementRecord& r : sink.stored_rows(second->env_key, to_problem_record(problem))) {
    if (r.status == MeasureStatus::kOk) fastest = std::min(fastest, r.median_us);
    if (r.is_best) {
      ++bests;
      best_key = r.kernel_key;
    }
  }
  EXPECT_EQ(bests, 1);
  ASSERT_TRUE(second->problems[0].best.has_value());
  EXPECT_EQ(second->problems[0].best->kernel_key, best_key);
  EXPECT_DOUBLE_EQ(second->problems[0].best->median_us, fastest);
}

TEST(Resume, AProblemStoppedBeforeItsReMeasureGetsItsBestOnResume) {
  const AttentionProblem problem = testing::prefill_problem(8, 1, 128, 1, 4096);
  SyntheticBackend backend;
  MemorySink reference;
  auto whole = Tuner(backend, reference, quiet("exhaustive")).run({problem});
  ASSERT_TRUE(whole.ok());
  int64_t remeasured = 0;
  for (const MeasurementRecord& r : reference.rows) remeasured += r.message.rfind("re-measured", 0) == 0 ? 1 : 0;
  ASSERT_GE(remeasured, 1);

  MemorySink sink;
  sink.fail_after = static_cast<int64_t>(reference.rows.size()) - remeasured;  // every try, no re-measure
  ASSERT_FALSE(Tuner(backend, sink, quiet("exhaustive")).run({problem}).ok());
  sink.fail_after = -1;
  sink.error = ok_status();
  auto resumed = Tuner(backend, sink, quiet("exhaustive")).run({problem});
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->problems[0].tried, 0) << "every try was stored";
  ASSERT_TRUE(resumed->problems[0].best.has_value()) << "resume re-measures a problem that lacks a best";
  EXPECT_EQ(resumed->problems[0].best->kernel_key, whole->problems[0].best->kernel_key);
  EXPECT_EQ(final_state(sink, whole->env_key, {problem}), final_state(reference, whole->env_key, {problem}));
}

TEST(Resume, ASinkErrorStopsTheSweepAtOnce) {
  SyntheticBackend backend;
  MemorySink sink;
  sink.fail_after = 5;
  auto r = Tuner(backend, sink, quiet("exhaustive"))
               .run({testing::decode_problem(8, 1, 128, 1, 8192), testing::decode_problem(32, 8, 128, 1, 8192)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("disk is full"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("resume"), std::string::npos) << r.status().message();
  EXPECT_EQ(sink.failed_records, 1);
  EXPECT_EQ(backend.measure_calls(), 6) << "no measurement after the first failed write";
}

TEST(Resume, RetryFailedMeasuresInfrastructureFailuresAgainAndOnlyThose) {
  SyntheticOptions so;
  so.fault_rates = {{MeasureStatus::kLaunchFailed, 0.05},
                    {MeasureStatus::kTimeout, 0.05},
                    {MeasureStatus::kWrongResult, 0.05},
                    {MeasureStatus::kCompileFailed, 0.05}};
  SyntheticBackend backend(so);
  MemorySink sink;
  const AttentionProblem problem = testing::prefill_problem(8, 1, 128, 1, 4096);
  auto first = Tuner(backend, sink, quiet("exhaustive")).run({problem});
  ASSERT_TRUE(first.ok());
  const int64_t infra = sink.count(MeasureStatus::kLaunchFailed) + sink.count(MeasureStatus::kTimeout);
  ASSERT_GT(infra, 0);
  const int64_t calls = backend.measure_calls();
  const size_t rows = sink.rows.size();

  // By default every stored row is reused.
  ASSERT_TRUE(Tuner(backend, sink, quiet("exhaustive")).run({problem}).ok());
  EXPECT_EQ(backend.measure_calls(), calls);

  TuneOptions retry = quiet("exhaustive");
  retry.retry_failed = true;
  auto third = Tuner(backend, sink, retry).run({problem});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->problems[0].tried, infra);
  std::set<MeasureStatus> retried;
  for (size_t i = rows; i < sink.rows.size(); ++i) {
    if (sink.rows[i].message.rfind("re-measured", 0) != 0) retried.insert(sink.rows[i].status);
  }
  EXPECT_EQ(retried, (std::set<MeasureStatus>{MeasureStatus::kLaunchFailed, MeasureStatus::kTimeout}));
}

}  // namespace
}  // namespace gqaforge::autotune
