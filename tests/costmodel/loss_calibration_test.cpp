// The loss-model calibration: its inputs file, the score's terms, that the fit improves on its
// start, and that the bundled default's recorded statistics are what its coefficients give.
#include "costmodel/loss_calibration.h"

#include <gtest/gtest.h>

#include "core/fs.h"

namespace gqaforge::costmodel {
namespace {

CalibrationInputs shipped_inputs() {
  const std::string path = GQAFORGE_SOURCE_DIR "/data/loss-calibration.json";
  auto inputs = parse_calibration(*read_file(path), path);
  EXPECT_TRUE(inputs.ok()) << inputs.status().to_string();
  return *inputs;
}

LossCalibration shipped() {
  return LossCalibration(shipped_inputs(), Presets::bundled()->aspect_table(), SearchSettings{});
}

TEST(LossCalibration, ShippedInputsParse) {
  CalibrationInputs in = shipped_inputs();
  ASSERT_EQ(in.anchors.size(), 3u);
  EXPECT_EQ(in.anchors[0].heads, (HeadConfig{32, 8}));
  EXPECT_DOUBLE_EQ(in.anchors[0].loss, 2.615);
  EXPECT_EQ(in.head_laws.size(), 6u);
  EXPECT_EQ(in.fitted_head_laws.size(), 4u);
  EXPECT_EQ(in.range.max_heads, 64);
}

TEST(LossCalibration, BadInputsNameTheKey) {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {R"({"format": "x", "version": 1})", "cal.json: format 'x' is not 'gqaforge-loss-calibration'"},
      {R"({"format": "gqaforge-loss-calibration", "version": 1, "anchors": [{"label": "a", "n_h": 4, "n_kv": 8,
          "params": 1e9, "loss": 2.6}]})",
       "cal.json: anchors[0]: heads (4,8) at N = 1000000000 are not a valid configuration"},
      {R"({"format": "gqaforge-loss-calibration", "version": 1, "anchors": []})",
       "cal.json: missing key 'anchor_sigma'"},
  };
  for (const Case& c : cases) {
    auto r = parse_calibration(c.text, "cal.json");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status().message();
  }
}

// The bundled default is what the calibration wrote: its notes' in-sample Table 4 count is
// what its coefficients give, and it has no shape violation in its range.
TEST(LossCalibration, BundledDefaultScoresAsRecorded) {
  LossCalibration cal = shipped();
  auto model = LossModel::bundled_default();
  ASSERT_TRUE(model.ok());
  CalibrationScore s = cal.score(model->head_factor(), Table4Selection{});
  EXPECT_EQ(s.table4_cells, 40);
  const Json* recorded = json_find(model->notes(), "table4_in_sample");
  ASSERT_NE(recorded, nullptr);
  EXPECT_EQ(recorded->get<std::string>(), fmt::format("{}/40", s.table4_matches));
  EXPECT_EQ(s.shape_hinge, 0.0);
  EXPECT_EQ(shape_violations(model->head_factor(), model->range()), 0.0);
}

TEST(LossCalibration, ShapeViolationsSeeAcceleratingReturns) {
  ValidRange range{1e8, 1e10, 32};
  HeadFactorLaw good{5e7, 0.3, 2.0, 0.5, 0.2, 0.1, 0.01, 0.01};
  EXPECT_EQ(shape_violations(good, range), 0.0);
  // kappa = 0 and a large beta_q is still monotone and diminishing ...
  HeadFactorLaw steep{5e7, 0.3, 2.0, 0.0, 1.5, 0.1, 0.0, 0.0};
  EXPECT_EQ(shape_violations(steep, range), 0.0);
  // ... but exponents that grow fast with n_h reverse the order below a = 5e9: more heads, higher loss.
  HeadFactorLaw crossing{5e9, 0.3, 2.0, 0.9, 0.01, 0.01, 0.2, 0.0};
  EXPECT_GT(shape_violations(crossing, range), 0.0);
}

// A short fit (a few starts, a few hundred simplex steps) must beat its start: the optimizer
// and the score are wired together.
TEST(LossCalibration, FitImprovesOnItsStart) {
  CalibrationInputs in = shipped_inputs();
  in.random_starts = 4;
  in.rounds = 1;
  in.iterations = 60;
  LossCalibration cal(in, Presets::bundled()->aspect_table(), SearchSettings{});
  Table4Selection one_column;
  one_column.held_out_context = 8192;  // and fewer cells, for speed
  const double start = cal.score(in.start, one_column).total;
  const HeadFactorLaw fitted = cal.fit(one_column, "test", nullptr);
  EXPECT_LT(cal.score(fitted, one_column).total, start);
  EXPECT_TRUE(fitted.validate().ok());
  EXPECT_LT(fitted.beta_kv, fitted.beta_q);  // the parameterization keeps Sec. 5.4's order
}

}  // namespace
}  // namespace gqaforge::costmodel
