// The Levenberg-Marquardt solver, its standard errors, ordinary least squares, and the loss
// fits recovering known coefficients from noisy, seeded synthetic data.
#include "costmodel/fit.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "costmodel/loss_fit.h"

namespace gqaforge::costmodel {
namespace {

TEST(LevenbergMarquardt, RecoversAnExponentialDecay) {
  // y = 3 exp(-0.7 x) + 0.5, exact data: the solution is exact.
  std::vector<double> xs, ys;
  for (int i = 0; i < 20; ++i) {
    xs.push_back(0.25 * i);
    ys.push_back(3.0 * std::exp(-0.7 * 0.25 * i) + 0.5);
  }
  ResidualFn f = [&](const std::vector<double>& p, std::vector<double>& out) {
    for (size_t i = 0; i < xs.size(); ++i) out[i] = p[0] * std::exp(-p[1] * xs[i]) + p[2] - ys[i];
  };
  auto r = levenberg_marquardt(f, xs.size(), {1.0, 0.1, 0.0});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->converged);
  EXPECT_NEAR(r->params[0], 3.0, 1e-6);
  EXPECT_NEAR(r->params[1], 0.7, 1e-6);
  EXPECT_NEAR(r->params[2], 0.5, 1e-6);
  EXPECT_LT(r->rss, 1e-12);
}

TEST(LevenbergMarquardt, RefusesUnderdeterminedProblems) {
  ResidualFn f = [](const std::vector<double>& p, std::vector<double>& out) { out[0] = p[0] + p[1]; };
  auto r = levenberg_marquardt(f, 1, {0.0, 0.0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "1 data points cannot determine 2 parameters");
}

TEST(LevenbergMarquardt, StandardErrorsMatchOrdinaryLeastSquares) {
  // A straight line with alternating noise: the covariance must be s^2 (X^T X)^-1.
  std::vector<double> xs, ys;
  for (int i = 0; i < 12; ++i) {
    xs.push_back(i);
    ys.push_back(1.0 + 2.0 * i + (i % 2 == 0 ? 0.1 : -0.1));
  }
  ResidualFn f = [&](const std::vector<double>& p, std::vector<double>& out) {
    for (size_t i = 0; i < xs.size(); ++i) out[i] = p[0] + p[1] * xs[i] - ys[i];
  };
  auto r = levenberg_marquardt(f, xs.size(), {0.0, 0.0});
  ASSERT_TRUE(r.ok());
  const double m = static_cast<double>(xs.size()), mean = 5.5;
  double sxx = 0;
  for (double x : xs) sxx += (x - mean) * (x - mean);
  const double s2 = r->rss / (m - 2);
  EXPECT_NEAR(r->std_errors[1], std::sqrt(s2 / sxx), 1e-9);
  EXPECT_NEAR(r->std_errors[0], std::sqrt(s2 * (1 / m + mean * mean / sxx)), 1e-9);
  ASSERT_EQ(r->covariance.size(), 2u);
  EXPECT_NEAR(r->covariance[0][1], -s2 * mean / sxx, 1e-9);
  EXPECT_DOUBLE_EQ(r->covariance[0][1], r->covariance[1][0]);
}

TEST(LevenbergMarquardt, AParameterTheResidualsIgnoreHasNoStandardError) {
  ResidualFn f = [](const std::vector<double>& p, std::vector<double>& out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[0] - static_cast<double>(i);
  };
  auto r = levenberg_marquardt(f, 5, {0.0, 7.0});
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->params[0], 2.0, 1e-9);
  EXPECT_EQ(r->params[1], 7.0);
  EXPECT_TRUE(std::isnan(r->std_errors[0]) && std::isnan(r->std_errors[1]));
  EXPECT_TRUE(r->covariance.empty());
}

TEST(LinearLeastSquares, FitsALineAndRefusesRankDeficientDesigns) {
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (double v : {1e6, 2e6, 4e6, 8e6}) {
    x.push_back({1.0, v});
    y.push_back(3.5 + 2e-6 * v);
  }
  std::vector<double> c;
  ASSERT_TRUE(linear_least_squares(x, y, c));
  ASSERT_EQ(c.size(), 2u);
  EXPECT_NEAR(c[0], 3.5, 1e-6);
  EXPECT_NEAR(c[1], 2e-6, 1e-12);
  EXPECT_FALSE(linear_least_squares({{1, 0}, {1, 0}, {1, 0}}, {1, 2, 3}, c));  // a zero column
  EXPECT_FALSE(linear_least_squares({{1, 2}, {1}}, {1, 2}, c));                // ragged rows
  EXPECT_FALSE(linear_least_squares({}, {}, c));
}

// Synthetic training runs: L = (a_H / N)^b_H + E plus Gaussian noise.
std::vector<LossPoint> synthetic(double noise, uint64_t seed, bool per_h_e) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, noise);
  struct Truth {
    HeadConfig h;
    double a, b, e;
  };
  const Truth truth[] = {
      {{8, 1}, 2.0e8, 0.40, 2.0}, {{32, 8}, 1.0e8, 0.45, per_h_e ? 1.9 : 2.0}, {{16, 16}, 5.0e7, 0.35, 2.0}};
  std::vector<LossPoint> out;
  int line = 2;
  for (const Truth& t : truth) {
    for (double n = 2e7; n <= 2.1e10; n *= 2) {
      out.push_back({t.h, n, std::pow(t.a / n, t.b) + t.e + gauss(rng), line++});
    }
  }
  return out;
}

TEST(LossFit, RecoversKnownCoefficientsWithSharedE) {
  auto pts = synthetic(0.002, 42, false);
  auto r = fit_power_laws(pts, LossFitOptions{});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_GT(r->r2, 0.999);
  const auto& laws = r->model.table();
  ASSERT_EQ(laws.size(), 3u);
  // Sorted by H: (8,1), (16,16), (32,8).
  EXPECT_EQ(laws[0].first, (HeadConfig{8, 1}));
  const double want_a[] = {2.0e8, 5.0e7, 1.0e8}, want_b[] = {0.40, 0.35, 0.45};
  for (size_t i = 0; i < 3; ++i) {
    const PowerLaw& law = laws[i].second;
    EXPECT_NEAR(law.e, 2.0, 0.03);
    EXPECT_NEAR(law.b, want_b[i], 0.03) << i;
    EXPECT_NEAR(std::log(law.a), std::log(want_a[i]), 0.25) << i;
    // The standard errors are meaningful: the truth lies within 4 sigma.
    ASSERT_TRUE(law.se_b && law.se_e && law.se_a);
    EXPECT_LT(std::fabs(law.b - want_b[i]), 4 * *law.se_b + 1e-9) << i;
    EXPECT_LT(std::fabs(law.e - 2.0), 4 * *law.se_e + 1e-9);
    EXPECT_GT(*law.se_b, 0);
  }
  ASSERT_EQ(r->per_head.size(), 3u);
  EXPECT_EQ(r->per_head[0].residuals.size(), 11u);
}

TEST(LossFit, PerHeadEFitsSeparateAsymptotes) {
  auto pts = synthetic(0.001, 7, true);
  LossFitOptions o;
  o.shared_e = false;
  auto r = fit_power_laws(pts, o);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(r->model.shared_e());
  EXPECT_NEAR(r->model.table()[2].second.e, 1.9, 0.05);  // (32,8)
  EXPECT_NEAR(r->model.table()[0].second.e, 2.0, 0.05);  // (8,1)
}

TEST(LossFit, RefusesTooFewSizes) {
  std::vector<LossPoint> pts = {{{8, 1}, 1e8, 3.0, 2}, {{8, 1}, 1e8, 3.01, 3}, {{8, 1}, 1e8, 2.99, 4}};
  auto r = fit_power_laws(pts, LossFitOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("heads (8,1) have 1 distinct model size"), std::string::npos)
      << r.status().message();
}

TEST(HeadLawFit, RecoversTheAppendixIForm) {
  // 470M at 1K context (App. I): L = 0.579 n_h^-0.124 + 2.473.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> gauss(0.0, 0.0005);
  std::vector<LossPoint> pts;
  for (int64_t h : {1, 2, 4, 8, 16, 32, 64}) {
    pts.push_back({{h, 1}, 4.7e8, 0.579 * std::pow(static_cast<double>(h), -0.124) + 2.473 + gauss(rng), 0});
  }
  auto r = fit_head_laws(pts, 1024);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->laws.size(), 1u);
  EXPECT_NEAR(r->laws[0].b, -0.124, 0.03);
  EXPECT_NEAR(r->laws[0].a + r->laws[0].c, 0.579 + 2.473, 0.01);  // L(1)
  EXPECT_GT(r->laws[0].r2, 0.99);
}

TEST(LossCsv, ParsesWithAnyColumnOrderAndComments) {
  auto r = parse_loss_csv("# runs\nloss, N, n_kv, n_h, note\n3.1, 1e8, 1, 8, a\n\n2.9, 4e8, 1, 8, b\n", "x.csv");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].heads, (HeadConfig{8, 1}));
  EXPECT_DOUBLE_EQ((*r)[1].params, 4e8);
  EXPECT_DOUBLE_EQ((*r)[1].loss, 2.9);
  EXPECT_EQ((*r)[1].line, 5);
}

TEST(LossCsv, MalformedRowsNameTheLineAndValue) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"n_h,n_kv,N\n8,1,1e8\n", "losses.csv:1: the header must name the columns n_h, n_kv, N, loss (missing loss"},
      {"n_h,n_kv,N,loss\n8,1,abc,3.0\n", "losses.csv:2: N 'abc' is not a positive number of parameters"},
      {"n_h,n_kv,N,loss\n8,1,1e8,3.0\nx,1,1e8,3\n", "losses.csv:3: n_h 'x' is not a positive integer"},
      {"n_h,n_kv,N,loss\n8,3,1e8,3.0\n", "losses.csv:2: n_kv 3 must divide n_h 8"},
      {"n_h,n_kv,N,loss\n8,1,1e8\n", "losses.csv:2: expected 4 fields like the header, got 3"},
      {"n_h,n_kv,N,loss\n8,1,1e8,-1\n", "losses.csv:2: loss '-1' is not a positive number"},
      {"n_h,n_kv,N,loss\n", "losses.csv: no data rows after the header"},
      {"", "losses.csv: empty file"},
  };
  for (const Case& c : cases) {
    auto r = parse_loss_csv(c.text, "losses.csv");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().message().rfind(c.message, 0), 0u) << r.status().message();
  }
}

}  // namespace
}  // namespace gqaforge::costmodel
