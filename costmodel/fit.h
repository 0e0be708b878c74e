// Levenberg-Marquardt nonlinear least squares with standard errors from the Jacobian at the
// solution, and ordinary least squares; Eigen does the linear algebra (inside fit.cpp: the
// interface stays std::vector). Small dense problems only (tens of parameters, thousands of
// residuals).
#pragma once

#include <functional>
#include <vector>

#include "core/status.h"

namespace gqaforge::costmodel {

/// residuals(params, out): fills `out` (num_residuals values) for the parameter vector.
using ResidualFn = std::function<void(const std::vector<double>& params, std::vector<double>& out)>;

struct LmOptions {
  int max_iterations = 500;
  double initial_damping = 1e-3;  // lambda of the first step (relative to diag(J^T J))
  double step_tolerance = 1e-12;  // stop when |delta| <= tol * (|params| + tol)
  double cost_tolerance = 1e-15;  // stop when the relative decrease of the RSS is below this
  double jacobian_step = 1e-7;    // relative central-difference step
};

struct LmResult {
  std::vector<double> params;
  std::vector<double> std_errors;               // sqrt(diag(cov)); NaN when singular
  std::vector<std::vector<double>> covariance;  // s^2 (J^T J)^-1, s^2 = RSS / (m - n)
  std::vector<double> residuals;                // at the solution
  double rss = 0;                               // sum of squared residuals
  int iterations = 0;
  bool converged = false;
};

/// Minimises sum(residuals^2) from `initial`. The Jacobian is taken by central differences.
/// Fails on non-finite residuals at the start, or when m < n.
Result<LmResult> levenberg_marquardt(const ResidualFn& residuals, size_t num_residuals, std::vector<double> initial,
                                     const LmOptions& options = {});

/// Ordinary least squares y ~ X c (X rows are samples, all of one length); false when the
/// design is rank deficient (or the rows disagree in length).
bool linear_least_squares(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                          std::vector<double>& coefficients);

}  // namespace gqaforge::costmodel
