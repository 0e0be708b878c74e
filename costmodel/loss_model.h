// The loss model: L(N; H) = (a_H / N)^b_H + E_H per head configuration H = (n_h, n_kv), with
// N the non-embedding parameter count. Coefficients come from a table (one fitted power law
// per H, what `gqaforge fit` writes), from the head-factor form (one power law in N whose
// reducible part a head-count factor scales: the bundled default, monotone with diminishing
// returns in n_h and n_kv by construction), or from a quadratic form in (log2 n_h, log2 n_kv)
// (an older form, still read). A model states the range of N and heads its data covers.
// Optionally carries App. I head-count laws L(n_h) = a n_h^b + c.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "costmodel/head_config.h"

namespace gqaforge::costmodel {

/// L(N) = (a / N)^b + e, with optional standard errors from the fit.
struct PowerLaw {
  double a = 0;                            // parameters at which the reducible loss is 1
  double b = 0;                            // exponent
  double e = 0;                            // irreducible loss E
  std::optional<double> se_a, se_b, se_e;  // standard errors (fits only)

  double predict(double params) const;
  /// N*(L*) = a / (L* - e)^(1/b). Refuses L* <= e with both numbers in the message.
  Result<double> required_params(double target_loss) const;
};

/// Smooth coefficients: log a and b are quadratics in x = log2 n_h, y = log2 n_kv:
/// f(x, y) = c0 + c1 x + c2 y + c3 x^2 + c4 x y + c5 y^2. E is shared.
struct ParametricLaw {
  std::array<double, 6> log_a{};  // natural log of a
  std::array<double, 6> b{};
  double e = 0;

  PowerLaw at(const HeadConfig& h) const;
};

/// The head-factor form: L(N; H) = f(H) (a / N)^b_H + E with
///   f(H) = kappa + (1 - kappa) n_h^(-beta_q) n_kv^(-beta_kv)   (the head-count factor, <= 1)
///   b_H  = b + gamma_q log2 n_h + gamma_kv log2 n_kv            (more heads: a steeper law)
/// i.e. the paper's per-H power law with a_H = a f(H)^(1/b_H). For 0 <= kappa < 1 and
/// beta, gamma >= 0, at every N above a the loss falls with every extra head, each doubling
/// gains less than the one before (the reducible loss is log-convex in log2 n_h and
/// log2 n_kv), and no two laws cross; below a the exponents' spread can reverse the order, so
/// a model's valid range starts above a.
struct HeadFactorLaw {
  double a = 0;  // the N at which every configuration's exponent term is 1
  double b = 0;  // exponent of a single head
  double e = 0;  // irreducible loss E
  double kappa = 0;
  double beta_q = 0;
  double beta_kv = 0;
  double gamma_q = 0;
  double gamma_kv = 0;

  /// f(H), in (kappa, 1]; 1 for a single head.
  double factor(double n_heads, double n_kv_heads) const;
  double exponent(double n_heads, double n_kv_heads) const;
  PowerLaw at(const HeadConfig& h) const;
  /// Names the first coefficient outside its domain.
  Status validate() const;
  /// Reads a, b, kappa, beta_q, beta_kv, gamma_q and gamma_kv from `object`, takes E = `e`, and
  /// validates; errors name the key or the coefficient.
  static Result<HeadFactorLaw> from_json(const Json& object, double e);
};

/// The N and head counts a model's calibration data covers. Predictions outside are
/// extrapolations: the search warns about them.
struct ValidRange {
  double min_params = 0;
  double max_params = 0;  // 0: unbounded
  int64_t max_heads = 0;  // largest n_h covered; 0: unbounded

  bool bounded() const { return max_params > 0 || max_heads > 0; }
  bool contains_params(double params) const;
  /// "N from 100M to 30.0B, n_h up to 64" (or "unbounded").
  std::string describe() const;
  /// Reads {"params": [min, max], "max_heads": K} (max 0 = unbounded); errors name the key.
  static Result<ValidRange> from_json(const Json& object);
};

/// App. I: L(n_h) = a n_h^b + c at a fixed model size and context.
struct HeadCountLaw {
  std::string label;   // "470M"
  double params = 0;   // model size the law was fitted at (0 = unknown)
  double context = 0;  // training context length
  double a = 0, b = 0, c = 0;
  std::optional<double> se_a, se_b, se_c;
  double r2 = 0;  // of the fit, 0 when not fitted here

  double predict(double n_heads) const;
  /// Reads label, params, context, a, b, c and the optional se_a, se_b, se_c, r2; other keys are
  /// ignored. Errors name the key.
  static Result<HeadCountLaw> from_json(const Json& object);
};

class LossModel {
 public:
  enum class Form { kTable, kParametric, kHeadFactor };

  /// A table model (one law per head configuration).
  static LossModel from_table(std::vector<std::pair<HeadConfig, PowerLaw>> laws, bool shared_e);
  /// A quadratic-form model.
  static LossModel from_parametric(const ParametricLaw& law);
  /// A head-factor model.
  static LossModel from_head_factor(const HeadFactorLaw& law);

  /// The bundled default (data/loss-model-default.json, embedded at build time).
  static Result<LossModel> bundled_default();
  /// Reads a loss-model JSON file; errors name the file and the bad key or value.
  static Result<LossModel> load(const std::filesystem::path& path);
  /// Parses a loss-model document; `source` names it in errors.
  static Result<LossModel> parse(std::string_view text, const std::string& source);
  static Result<LossModel> from_json(const Json& doc);
  Json to_json() const;

  Form form() const { return form_; }
  bool shared_e() const { return shared_e_; }
  /// The law for H; not_found for a table model that lacks H (the message lists what it has).
  Result<PowerLaw> law_for(const HeadConfig& h) const;
  /// Whether law_for(h) succeeds.
  bool covers(const HeadConfig& h) const;
  /// Predicted loss of a model with `params` non-embedding parameters and heads H.
  Result<double> predict(double params, const HeadConfig& h) const;
  /// N*(H) for a target loss (refused when target <= E).
  Result<double> required_params(double target_loss, const HeadConfig& h) const;

  const std::vector<std::pair<HeadConfig, PowerLaw>>& table() const { return table_; }
  const ParametricLaw& parametric() const { return parametric_; }
  const HeadFactorLaw& head_factor() const { return head_factor_; }
  /// E shared by every H (the table's first law's E for a per-H table).
  double irreducible_loss() const;
  const ValidRange& range() const { return range_; }
  void set_range(const ValidRange& r) { range_ = r; }
  const std::vector<HeadCountLaw>& head_laws() const { return head_laws_; }
  void set_head_laws(std::vector<HeadCountLaw> laws) { head_laws_ = std::move(laws); }
  const std::string& description() const { return description_; }
  void set_description(std::string d) { description_ = std::move(d); }
  /// Training context the laws hold at (the paper fits at 8K and reuses them for every T).
  double context() const { return context_; }
  void set_context(double c) { context_ = c; }
  /// Free-form provenance/fit statistics carried through to_json/from_json unchanged.
  const Json& notes() const { return notes_; }
  void set_notes(Json notes) { notes_ = std::move(notes); }

 private:
  Form form_ = Form::kTable;
  bool shared_e_ = true;
  std::vector<std::pair<HeadConfig, PowerLaw>> table_;
  ParametricLaw parametric_;
  HeadFactorLaw head_factor_;
  ValidRange range_;
  std::vector<HeadCountLaw> head_laws_;
  std::string description_;
  double context_ = 8192;
  Json notes_ = Json::object();
};

}  // namespace gqaforge::costmodel
