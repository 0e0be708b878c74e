// The calibration of the bundled loss model: the head-factor form fitted, by weighted least
// squares, to what the paper publishes about its (unpublished) loss fits — the predicted losses
// of Llama-3's GQA configurations (anchors), the App. I head-count laws (as the loss gained by
// more heads at a fixed size) and the argmins of Table 4 (a hinge on each cell's margin) — plus
// the cross-validation that says how well Table 4 is predicted rather than fitted.
// data/loss-calibration.json holds the inputs; `gqaforge_calibrate_loss` runs it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "costmodel/loss_model.h"
#include "costmodel/presets.h"
#include "costmodel/search.h"
#include "costmodel/table4.h"

namespace gqaforge::costmodel {

/// A published loss of one configuration at one size.
struct LossAnchor {
  std::string label;
  HeadConfig heads;
  double params = 0;
  double loss = 0;
};

struct CalibrationInputs {
  std::vector<LossAnchor> anchors;
  double anchor_sigma = 0.005;
  /// Every App. I law (carried into the model); `fitted_head_laws` indexes the ones fitted.
  std::vector<HeadCountLaw> head_laws;
  std::vector<size_t> fitted_head_laws;
  std::vector<int64_t> head_law_heads;  // n at which the gain L(1,1) - L(n,n) is compared
  double head_law_sigma = 0.005;
  double table4_weight = 1000;
  double table4_margin = 0.002;
  double sec54_weight = 1e4;         // hinge on L(2h, kv) < L(h, 2kv) (Sec. 5.4)
  std::vector<double> sec54_params;  // sizes at which Sec. 5.4 is imposed
  int64_t sec54_max_heads = 32;      // ... from every base (h, kv) with 2h up to this
  HeadFactorLaw start;
  int random_starts = 64;  // scattered around `start`; the best 4 are refined
  int rounds = 12;
  int iterations = 1500;
  uint64_t seed = 20250309;
  ValidRange range;
};

/// Parses data/loss-calibration.json; errors name the source and the key.
Result<CalibrationInputs> parse_calibration(std::string_view text, const std::string& source);

/// How far `law` is from monotone with diminishing returns in each head count, at 13 sizes
/// log-spaced over the range and every candidate up to its max_heads: the sum of the loss
/// increases from a doubling and of the gains that grow from one doubling to the next (0 when
/// the law has both properties there).
double shape_violations(const HeadFactorLaw& law, const ValidRange& range);

/// Which Table 4 cells the fit sees.
struct Table4Selection {
  bool use = true;
  std::optional<double> held_out_context;  // leave this column out
  bool includes(const Table4Cell& cell) const;
};

/// The terms of the fit at one model.
struct CalibrationScore {
  double total = 0;
  double anchors_chi2 = 0;
  double head_laws_chi2 = 0;
  double table4_hinge = 0;
  double sec54_hinge = 0;  // Sec. 5.4 violations
  double shape_hinge = 0;  // monotonicity / diminishing-returns violations in the valid range
  int table4_matches = 0;  // over the cells the selection includes
  int table4_cells = 0;
};

class LossCalibration {
 public:
  LossCalibration(CalibrationInputs inputs, std::vector<AspectPoint> table, SearchSettings base);

  /// The score of `law` with the selected Table 4 cells.
  CalibrationScore score(const HeadFactorLaw& law, const Table4Selection& selection) const;
  /// Restarted Nelder-Mead from the inputs' start (deterministic: the inputs' seed).
  /// `progress` (may be null) is told "label: round k/K, score s, m/n cells".
  HeadFactorLaw fit(const Table4Selection& selection, const std::string& label,
                    void (*progress)(const std::string&)) const;

  /// The gain L(1,1) - L(n,n) at the law's size, model vs App. I law.
  struct HeadLawResidual {
    std::string label;
    int64_t n = 0;
    double model_gain = 0, paper_gain = 0;
  };
  std::vector<HeadLawResidual> head_law_residuals(const HeadFactorLaw& law) const;

  const CalibrationInputs& inputs() const { return inputs_; }
  const std::vector<AspectPoint>& table() const { return table_; }
  const SearchSettings& base() const { return base_; }

 private:
  CalibrationInputs inputs_;
  std::vector<AspectPoint> table_;
  SearchSettings base_;
};

/// The whole calibration: the fit on everything, one fit per left-out Table 4 column, and one
/// fit without Table 4; the model carries the results in its notes.
struct CalibrationReport {
  LossModel model;
  CalibrationScore in_sample;
  struct Fold {
    double context = 0;
    int held_out_matches = 0;  // of the column's 8 cells, predicted by a fit that never saw them
  };
  std::vector<Fold> folds;
  int no_table4_matches = 0;  // of 40, by the fit to anchors and App. I alone
};
Result<CalibrationReport> run_calibration(const LossCalibration& calibration, bool cross_validate,
                                          void (*progress)(const std::string&));

}  // namespace gqaforge::costmodel
