// Loss model evaluation, JSON round trip and the errors for malformed files and unreachable
// targets.
#include "costmodel/loss_model.h"

#include <cmath>

#include <gtest/gtest.h>

namespace gqaforge::costmodel {
namespace {

TEST(PowerLaw, PredictsAndInverts) {
  PowerLaw law{1e8, 0.5, 2.0, {}, {}, {}};
  EXPECT_DOUBLE_EQ(law.predict(4e8), 2.5);
  auto n = law.required_params(2.5);
  ASSERT_TRUE(n.ok());
  EXPECT_NEAR(*n, 4e8, 1e-3);
}

TEST(PowerLaw, RefusesTargetsAtOrBelowE) {
  PowerLaw law{1e8, 0.5, 2.1, {}, {}, {}};
  for (double target : {2.1, 2.0}) {
    auto n = law.required_params(target);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(n.status().message().find(fmt::format("target loss {}", target)), std::string::npos);
    EXPECT_NE(n.status().message().find("E = 2.1"), std::string::npos) << n.status().message();
  }
}

TEST(LossModel, ParametricFormEvaluatesTheQuadratics) {
  ParametricLaw p;
  p.log_a = {std::log(1e8), -0.1, -0.05, 0.01, 0.002, 0.003};
  p.b = {0.4, 0.01, 0.02, 0.0, 0.001, 0.0};
  p.e = 2.0;
  PowerLaw law = p.at({8, 2});  // x = 3, y = 1
  EXPECT_NEAR(std::log(law.a), std::log(1e8) - 0.3 - 0.05 + 0.09 + 0.006 + 0.003, 1e-12);
  EXPECT_NEAR(law.b, 0.4 + 0.03 + 0.02 + 0.003, 1e-12);
  LossModel m = LossModel::from_parametric(p);
  EXPECT_TRUE(m.covers({48, 8}));        // not a power of two: still defined
  EXPECT_FALSE(m.law_for({4, 8}).ok());  // n_kv > n_h
}

TEST(LossModel, JsonRoundTripOfBothForms) {
  ParametricLaw p;
  p.log_a = {19.1, -0.2, 0.01, 0.013, 0.04, -0.02};
  p.b = {0.37, 0.018, 0.005, -0.004, 0.011, -0.0004};
  p.e = 2.25;
  LossModel m = LossModel::from_parametric(p);
  m.set_description("test");
  m.set_head_laws({{"470M", 4.7e8, 8192, 1.356, -0.044, 1.53, {}, {}, {}, 0}});
  auto back = LossModel::parse(dump_json(m.to_json()), "mem");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(dump_json(back->to_json()), dump_json(m.to_json()));
  EXPECT_DOUBLE_EQ(*back->predict(1e9, {8, 1}), *m.predict(1e9, {8, 1}));
  ASSERT_EQ(back->head_laws().size(), 1u);
  EXPECT_DOUBLE_EQ(back->head_laws()[0].predict(32), 1.356 * std::pow(32.0, -0.044) + 1.53);

  PowerLaw law{2e8, 0.4, 2.0, 1e7, 0.01, 0.02};
  LossModel t = LossModel::from_table({{{8, 1}, law}}, true);
  auto tb = LossModel::parse(dump_json(t.to_json()), "mem");
  ASSERT_TRUE(tb.ok()) << tb.status().to_string();
  EXPECT_EQ(dump_json(tb->to_json()), dump_json(t.to_json()));
  EXPECT_DOUBLE_EQ(*tb->law_for({8, 1})->se_b, 0.01);
}

TEST(LossModel, TableLacksAConfiguration) {
  LossModel t = LossModel::from_table({{{8, 1}, PowerLaw{2e8, 0.4, 2.0, {}, {}, {}}}}, true);
  auto r = t.law_for({16, 2});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "the loss model has no law for heads (16,2) (it has (8,1))");
}

TEST(LossModel, MalformedFilesNameTheProblem) {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"{", "f.json: line 1, column 2: expected a quoted key"},
      {R"({"format": "other", "version": 1, "form": "table"})", "format 'other' is not 'gqaforge-loss-model'"},
      {R"({"format": "gqaforge-loss-model", "version": 2, "form": "table"})", "unsupported loss-model version 2"},
      {R"({"format": "gqaforge-loss-model", "version": 1, "form": "spline"})",
       "form 'spline' is not 'table' or 'parametric'"},
      {R"({"format": "gqaforge-loss-model", "version": 1, "form": "table", "shared_E": true, "laws": []})",
       "key 'laws' is empty"},
      {R"({"format": "gqaforge-loss-model", "version": 1, "form": "table", "shared_E": true,
          "laws": [{"n_h": 8, "n_kv": 1, "a": "big", "b": 0.4, "E": 2}]})",
       "laws[0]: key 'a' is a string, expected a number"},
      {R"({"format": "gqaforge-loss-model", "version": 1, "form": "table", "shared_E": true,
          "laws": [{"n_h": 8, "n_kv": 1, "a": 1e8, "b": -0.4, "E": 2}]})",
       "laws[0]: law: b = -0.4 must be positive"},
      {R"({"format": "gqaforge-loss-model", "version": 1, "form": "table", "shared_E": true,
          "laws": [{"n_h": 4, "n_kv": 8, "a": 1e8, "b": 0.4, "E": 2}]})",
       "laws[0]: heads (4,8) are invalid"},
      {R"({"format": "gqaforge-loss-model", "version": 1, "form": "parametric", "E": 2,
          "parametric": {"log_a": [1, 2, 3], "b": [0, 0, 0, 0, 0, 0]}})",
       "parametric: key 'log_a' must list 6 coefficients"},
  };
  for (const Case& c : cases) {
    auto r = LossModel::parse(c.text, "f.json");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().rfind("f.json", 0), 0u) << r.status().message();
  }
}

TEST(LossModel, BundledDefaultLoads) {
  auto m = LossModel::bundled_default();
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(m->form(), LossModel::Form::kParametric);
  EXPECT_FALSE(m->description().empty());
  // Sec. 5.4: from any (h, kv), doubling n_h lowers the loss more than doubling n_kv.
  for (double n : {3e8, 1e9, 3e9}) {
    for (int64_t h = 2; h <= 16; h *= 2) {
      for (int64_t kv = 1; 2 * kv <= h; kv *= 2) {
        EXPECT_LT(*m->predict(n, {2 * h, kv}), *m->predict(n, {h, 2 * kv})) << "N=" << n << " h=" << h << " kv=" << kv;
      }
    }
  }
  // More heads never hurt at a fixed size.
  for (int64_t h = 1; h < 32; h *= 2) EXPECT_LT(*m->predict(1e9, {2 * h, 1}), *m->predict(1e9, {h, 1}));
}

}  // namespace
}  // namespace gqaforge::costmodel
