// The linear layers' loop on a CPU backend: every shape timed once and recorded as its best,
// a second run skips what the sink holds, the callback can stop the loop, and a backend
// without a GEMM library fails each shape with a row that says so.
#include <gtest/gtest.h>

#include "autotune/linear_tuner.h"
#include "autotune/synthetic_backend.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {
namespace {

using testing::MemorySink;

/// The synthetic backend's device, with GEMMs that take m microseconds (m = 7 fails).
class GemmBackend final : public Backend {
 public:
  std::string name() const override { return "gemm-test"; }
  Result<BackendInfo> info() override { return synthetic_.info(); }
  Result<std::string> kernel_key(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                                 const codegen::KernelConfig& config) override {
    return synthetic_.kernel_key(problem, family, config);
  }
  std::vector<CompileResult> compile(const std::vector<Candidate>& candidates) override {
    return synthetic_.compile(candidates);
  }
  MeasureResult measure(const Candidate& candidate, const MeasureOptions& options) override {
    return synthetic_.measure(candidate, options);
  }
  MeasureResult measure_gemm(int64_t m, int64_t, int64_t, const MeasureOptions&) override {
    ++calls;
    MeasureResult r;
    if (m == 7) {
      r.status = MeasureStatus::kLaunchFailed;
      r.message = "no such shape";
      return r;
    }
    r.median_us = r.min_us = static_cast<double>(m);
    r.repetitions = 5;
    return r;
  }
  int calls = 0;

 private:
  SyntheticBackend synthetic_;
};

LinearTuneOptions quiet() {
  LinearTuneOptions o;
  o.show_progress = false;
  o.command_line = "test";
  return o;
}

bool keep_going(const GemmShape&, const MeasurementRecord&) {
  return true;
}

TEST(LinearTuner, TimesEachShapeOnceAndResumes) {
  GemmBackend backend;
  MemorySink sink;
  const std::vector<GemmShape> gemms = {{"o", 16, 4096, 4096}, {"down", 4, 4096, 14336}};
  auto first = tune_linear(backend, sink, gemms, quiet(), keep_going);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->timed, 2);
  EXPECT_EQ(first->failures, 0);
  ASSERT_EQ(sink.rows.size(), 2u);
  ASSERT_EQ(sink.runs.size(), 1u);
  EXPECT_EQ(sink.runs[0].strategy, "linear");
  EXPECT_EQ(sink.ended, std::vector<int64_t>{first->run_id});
  const MeasurementRecord& row = sink.rows[0];
  EXPECT_EQ(row.problem.canonical(), linear_problem_record(gemms[0]).canonical());
  EXPECT_EQ(row.kernel_key, linear_kernel_key(gemms[0], row.env_key));
  EXPECT_TRUE(row.is_best);
  EXPECT_DOUBLE_EQ(row.tflops, gemm_flops(gemms[0]) / 16e-6 / 1e12);
  EXPECT_FALSE(row.measured_at.empty());

  auto second = tune_linear(backend, sink, gemms, quiet(), keep_going);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->timed, 0);
  EXPECT_EQ(second->skipped, 2);
  EXPECT_EQ(backend.calls, 2);
}

TEST(LinearTuner, CountsFailuresAndStopsWhenTheCallbackSaysSo) {
  GemmBackend backend;
  MemorySink sink;
  const std::vector<GemmShape> gemms = {{"a", 7, 8, 8}, {"b", 16, 8, 8}, {"c", 32, 8, 8}};
  std::vector<std::string> seen;
  auto stop_after_b = [&](const GemmShape& g, const MeasurementRecord&) {
    seen.push_back(g.name);
    return g.name != "b";
  };
  auto report = tune_linear(backend, sink, gemms, quiet(), stop_after_b);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(report->failures, 1);
  ASSERT_EQ(sink.rows.size(), 2u);
  EXPECT_EQ(sink.rows[0].status, MeasureStatus::kLaunchFailed);
  EXPECT_FALSE(sink.rows[0].is_best);
  EXPECT_EQ(sink.ended.size(), 1u);
}

TEST(LinearTuner, ABackendWithoutGemmsRecordsWhy) {
  SyntheticBackend backend;
  MemorySink sink;
  auto report = tune_linear(backend, sink, {{"o", 1, 64, 64}}, quiet(), keep_going);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failures, 1);
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_NE(sink.rows[0].message.find("synthetic backend does not time GEMMs"), std::string::npos);
}

TEST(LinearTuner, ASinkErrorFailsTheRun) {
  GemmBackend backend;
  MemorySink sink;
  sink.fail_after = 0;
  auto report = tune_linear(backend, sink, {{"o", 1, 64, 64}, {"d", 2, 64, 64}}, quiet(), keep_going);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("disk is full"), std::string::npos);
  EXPECT_EQ(backend.calls, 1);  // the loop stopped at the first failed write
}

}  // namespace
}  // namespace gqaforge::autotune
