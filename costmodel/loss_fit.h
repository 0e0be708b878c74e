// Fitting the loss model from training runs: CSV reading (n_h,n_kv,N,loss), the per-H power
// law L(N; H) = (a_H / N)^b_H + E (shared E or one E per H) by Levenberg-Marquardt with a in
// log space, and the App. I head-count law L(n_h) = a n_h^b + c at fixed model size.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "costmodel/fit.h"
#include "costmodel/loss_model.h"

namespace gqaforge::costmodel {

/// One training run.
struct LossPoint {
  HeadConfig heads;
  double params = 0;  // non-embedding N
  double loss = 0;
  int line = 0;  // line in the source file (1-based), for messages
};

/// Parses CSV text with a header naming the columns n_h, n_kv, N, loss (any order, extra
/// columns ignored, blank lines and '#' comments skipped). Errors name the source, the line
/// and the bad value: "losses.csv:7: N 'abc' is not a number".
Result<std::vector<LossPoint>> parse_loss_csv(std::string_view text, const std::string& source);

struct LossFitOptions {
  bool shared_e = true;  // one E for all H (the paper's form) or one per H
};

/// Fit quality of one head configuration.
struct HeadFitStats {
  HeadConfig heads;
  int points = 0;
  double r2 = 0;
  double rmse = 0;
  std::vector<double> residuals;  // observed - predicted, in input order for this H
};

struct LossFitReport {
  LossModel model;
  double r2 = 0;  // over all points
  double rmse = 0;
  int points = 0;
  int parameters = 0;
  bool converged = false;
  std::vector<HeadFitStats> per_head;
};

/// Fits the power-law form. Needs, per H, at least 2 distinct N (3 with per-H E), and more
/// points than parameters overall.
Result<LossFitReport> fit_power_laws(const std::vector<LossPoint>& points, const LossFitOptions& options);

/// Result of the head-count fits; groups that could not be fitted are listed in `notes`.
struct HeadLawFitReport {
  std::vector<HeadCountLaw> laws;
  std::vector<std::string> notes;
};
/// Fits L(n_h) = a n_h^b + c (App. I) to each group of points sharing the same N (n_kv as
/// trained). A group needs at least 3 distinct n_h; smaller groups are skipped with a note.
/// Fails when no group can be fitted.
Result<HeadLawFitReport> fit_head_laws(const std::vector<LossPoint>& points, double context);

}  // namespace gqaforge::costmodel
