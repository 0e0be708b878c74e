// The loss-model calibration: inputs, score, restarted Nelder-Mead, cross-validation.
#include "costmodel/loss_calibration.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "core/json.h"

namespace gqaforge::costmodel {
namespace {

constexpr const char* kFormat = "gqaforge-loss-calibration";
constexpr double kInvalid = 1e12;  // score of a law outside the form's domain

// The fit's coordinates: log a, log b, E, logit kappa, log beta_q, logit(beta_kv / beta_q),
// log gamma_q, log gamma_kv. Every point of R^8 is a valid law with beta_kv < beta_q.
double logit(double p) {
  return std::log(p / (1.0 - p));
}
double logistic(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

std::vector<double> pack(const HeadFactorLaw& l) {
  return {std::log(l.a),       std::log(l.b),       l.e,
          logit(l.kappa),      std::log(l.beta_q),  logit(l.beta_kv / l.beta_q),
          std::log(l.gamma_q), std::log(l.gamma_kv)};
}

HeadFactorLaw unpack(const std::vector<double>& x) {
  HeadFactorLaw l;
  l.a = std::exp(x[0]);
  l.b = std::exp(x[1]);
  l.e = x[2];
  l.kappa = logistic(x[3]);
  l.beta_q = std::exp(x[4]);
  l.beta_kv = l.beta_q * logistic(x[5]);
  l.gamma_q = std::exp(x[6]);
  l.gamma_kv = std::exp(x[7]);
  return l;
}

using ScoreFn = std::function<double(const std::vector<double>&)>;

// Nelder-Mead with the standard coefficients (reflection 1, expansion 2, contraction 1/2,
// shrink 1/2) for a fixed number of iterations.
std::vector<double> nelder_mead(const ScoreFn& f, const std::vector<double>& x0, const std::vector<double>& step,
                                int iterations) {
  const size_t n = x0.size();
  std::vector<std::vector<double>> pts(n + 1, x0);
  for (size_t j = 1; j <= n; ++j) pts[j][j - 1] += step[j - 1];
  std::vector<double> val(n + 1);
  for (size_t j = 0; j <= n; ++j) val[j] = f(pts[j]);
  std::vector<size_t> order(n + 1);
  for (int it = 0; it < iterations; ++it) {
    for (size_t j = 0; j <= n; ++j) order[j] = j;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return val[a] < val[b]; });
    std::vector<std::vector<double>> sorted_pts;
    std::vector<double> sorted_val;
    for (size_t j : order) {
      sorted_pts.push_back(pts[j]);
      sorted_val.push_back(val[j]);
    }
    pts = std::move(sorted_pts);
    val = std::move(sorted_val);
    std::vector<double> centroid(n, 0.0);
    for (size_t j = 0; j < n; ++j) {
      for (size_t i = 0; i < n; ++i) centroid[i] += pts[j][i] / static_cast<double>(n);
    }
    auto along = [&](double t) {
      std::vector<double> z(n);
      for (size_t i = 0; i < n; ++i) z[i] = centroid[i] + t * (pts[n][i] - centroid[i]);
      return z;
    };
    std::vector<double> reflected = along(-1.0);
    const double fr = f(reflected);
    if (fr < val[0]) {
      std::vector<double> expanded = along(-2.0);
      const double fe = f(expanded);
      pts[n] = fe < fr ? expanded : reflected;
      val[n] = std::min(fe, fr);
    } else if (fr < val[n - 1]) {
      pts[n] = reflected;
      val[n] = fr;
    } else {
      std::vector<double> contracted = along(0.5);
      const double fc = f(contracted);
      if (fc < val[n]) {
        pts[n] = contracted;
        val[n] = fc;
      } else {
        for (size_t j = 1; j <= n; ++j) {
          for (size_t i = 0; i < n; ++i) pts[j][i] = pts[0][i] + 0.5 * (pts[j][i] - pts[0][i]);
          val[j] = f(pts[j]);
        }
      }
    }
  }
  return pts[static_cast<size_t>(std::min_element(val.begin(), val.end()) - val.begin())];
}

Result<HeadFactorLaw> parse_start(const Json& doc) {
  GQF_ASSIGN_OR_RETURN(const Json* s, json_object_at(doc, "start"));
  auto fill = [&]() -> Result<HeadFactorLaw> {
    GQF_ASSIGN_OR_RETURN(double e, json_number_at(*s, "E"));
    GQF_ASSIGN_OR_RETURN(HeadFactorLaw l, HeadFactorLaw::from_json(*s, e));
    if (!(l.kappa > 0) || !(l.beta_kv > 0) || !(l.beta_kv < l.beta_q) || !(l.gamma_q > 0) || !(l.gamma_kv > 0)) {
      return invalid_argument(
          "the start needs 0 < kappa < 1, 0 < beta_kv < beta_q and positive gammas (got kappa {}, betas {}, {}, "
          "gammas {}, {})",
          l.kappa, l.beta_q, l.beta_kv, l.gamma_q, l.gamma_kv);
    }
    return l;
  };
  auto l = fill();
  if (!l.ok()) return l.status().with_context("start");
  return l;
}

}  // namespace

double shape_violations(const HeadFactorLaw& law, const ValidRange& range) {
  double total = 0;
  const double lo = std::log(std::max(range.min_params, 1.0));
  const double hi = std::log(range.max_params > 0 ? range.max_params : 1e12);
  const int64_t max_heads = range.max_heads > 0 ? range.max_heads : 64;
  constexpr int kSteps = 12;
  for (int i = 0; i <= kSteps; ++i) {
    const double n = std::exp(lo + (hi - lo) * i / kSteps);
    auto loss = [&](int64_t h, int64_t kv) { return law.at({h, kv}).predict(n); };
    for (int64_t h = 1; h <= max_heads; h *= 2) {
      for (int64_t kv = 1; kv <= h; kv *= 2) {
        // Monotone: one more doubling of either count never raises the loss.
        if (2 * h <= max_heads) total += std::max(0.0, loss(2 * h, kv) - loss(h, kv));
        if (2 * kv <= h) total += std::max(0.0, loss(h, 2 * kv) - loss(h, kv));
        // Diminishing: the next doubling gains no more than this one.
        if (4 * h <= max_heads) {
          total += std::max(0.0, (loss(2 * h, kv) - loss(4 * h, kv)) - (loss(h, kv) - loss(2 * h, kv)));
        }
        if (4 * kv <= h) {
          total += std::max(0.0, (loss(h, 2 * kv) - loss(h, 4 * kv)) - (loss(h, kv) - loss(h, 2 * kv)));
        }
      }
    }
  }
  return total;
}

bool Table4Selection::includes(const Table4Cell& cell) const {
  return use && (!held_out_context || cell.context != *held_out_context);
}

Result<CalibrationInputs> parse_calibration(std::string_view text, const std::string& source) {
  auto parsed = parse_json(text);
  if (!parsed.ok()) return parsed.status().with_context(source);
  const Json& doc = *parsed;
  CalibrationInputs in;
  auto fill = [&]() -> Status {
    if (!doc.is_object()) return invalid_argument("a calibration file must be a JSON object");
    GQF_ASSIGN_OR_RETURN(std::string format, json_string_at(doc, "format"));
    if (format != kFormat) return invalid_argument("format '{}' is not '{}'", format, kFormat);
    GQF_ASSIGN_OR_RETURN(int64_t version, json_int_at(doc, "version"));
    if (version != 1) return invalid_argument("unsupported calibration version {} (expected 1)", version);
    GQF_ASSIGN_OR_RETURN(const Json* anchors, json_array_at(doc, "anchors"));
    for (size_t i = 0; i < anchors->size(); ++i) {
      const Json& e = (*anchors)[i];
      LossAnchor a;
      auto one = [&]() -> Status {
        if (!e.is_object()) return invalid_argument("must be an object");
        GQF_ASSIGN_OR_RETURN(a.label, json_string_at(e, "label"));
        GQF_ASSIGN_OR_RETURN(a.heads.n_heads, json_int_at(e, "n_h"));
        GQF_ASSIGN_OR_RETURN(a.heads.n_kv_heads, json_int_at(e, "n_kv"));
        GQF_ASSIGN_OR_RETURN(a.params, json_number_at(e, "params"));
        GQF_ASSIGN_OR_RETURN(a.loss, json_number_at(e, "loss"));
        if (a.heads.n_kv_heads <= 0 || a.heads.n_heads < a.heads.n_kv_heads || !(a.params > 0)) {
          return invalid_argument("heads {} at N = {} are not a valid configuration", a.heads.to_string(), a.params);
        }
        return ok_status();
      };
      GQF_RETURN_IF_ERROR_CTX(one(), fmt::format("anchors[{}]", i));
      in.anchors.push_back(a);
    }
    GQF_ASSIGN_OR_RETURN(in.anchor_sigma, json_number_at(doc, "anchor_sigma"));
    GQF_ASSIGN_OR_RETURN(const Json* laws, json_array_at(doc, "head_laws"));
    for (size_t i = 0; i < laws->size(); ++i) {
      const Json& e = (*laws)[i];
      auto one = [&]() -> Status {
        GQF_ASSIGN_OR_RETURN(HeadCountLaw l, HeadCountLaw::from_json(e));
        GQF_ASSIGN_OR_RETURN(bool fitted, json_bool_at(e, "fit"));
        if (fitted) in.fitted_head_laws.push_back(in.head_laws.size());
        in.head_laws.push_back(std::move(l));
        return ok_status();
      };
      GQF_RETURN_IF_ERROR_CTX(one(), fmt::format("head_laws[{}]", i));
    }
    GQF_ASSIGN_OR_RETURN(const Json* heads, json_array_at(doc, "head_law_heads"));
    for (size_t i = 0; i < heads->size(); ++i) {
      if (!(*heads)[i].is_number_integer() || (*heads)[i].get<int64_t>() < 2) {
        return invalid_argument("head_law_heads[{}] must be an integer >= 2", i);
      }
      in.head_law_heads.push_back((*heads)[i].get<int64_t>());
    }
    GQF_ASSIGN_OR_RETURN(in.head_law_sigma, json_number_at(doc, "head_law_sigma"));
    GQF_ASSIGN_OR_RETURN(in.table4_weight, json_number_at(doc, "table4_weight"));
    GQF_ASSIGN_OR_RETURN(in.table4_margin, json_number_at(doc, "table4_margin"));
    GQF_ASSIGN_OR_RETURN(in.sec54_weight, json_number_at(doc, "sec54_weight"));
    GQF_ASSIGN_OR_RETURN(in.sec54_max_heads, json_int_at(doc, "sec54_max_heads"));
    GQF_ASSIGN_OR_RETURN(const Json* sec54, json_array_at(doc, "sec54_params"));
    for (size_t i = 0; i < sec54->size(); ++i) {
      if (!(*sec54)[i].is_number()) return invalid_argument("sec54_params[{}] must be a number", i);
      in.sec54_params.push_back((*sec54)[i].get<double>());
    }
    if (!(in.anchor_sigma > 0) || !(in.head_law_sigma > 0) || !(in.table4_weight >= 0)) {
      return invalid_argument("anchor_sigma and head_law_sigma must be positive and table4_weight >= 0");
    }
    GQF_ASSIGN_OR_RETURN(in.start, parse_start(doc));
    GQF_ASSIGN_OR_RETURN(int64_t rounds, json_int_at(doc, "rounds"));
    GQF_ASSIGN_OR_RETURN(int64_t iterations, json_int_at(doc, "iterations"));
    GQF_ASSIGN_OR_RETURN(int64_t seed, json_int_at(doc, "seed"));
    GQF_ASSIGN_OR_RETURN(int64_t random_starts, json_int_at(doc, "random_starts"));
    if (random_starts < 0) return invalid_argument("random_starts {} must be >= 0", random_starts);
    in.random_starts = static_cast<int>(random_starts);
    if (rounds < 1 || iterations < 1) return invalid_argument("rounds and iterations must be at least 1");
    in.rounds = static_cast<int>(rounds);
    in.iterations = static_cast<int>(iterations);
    in.seed = static_cast<uint64_t>(seed);
    GQF_ASSIGN_OR_RETURN(const Json* range, json_object_at(doc, "valid_range"));
    auto valid = ValidRange::from_json(*range);
    if (!valid.ok()) return valid.status().with_context("valid_range");
    in.range = *valid;
    return ok_status();
  };
  GQF_RETURN_IF_ERROR_CTX(fill(), source);
  return in;
}

LossCalibration::LossCalibration(CalibrationInputs inputs, std::vector<AspectPoint> table, SearchSettings base)
    : inputs_(std::move(inputs)), table_(std::move(table)), base_(std::move(base)) {}

std::vector<LossCalibration::HeadLawResidual> LossCalibration::head_law_residuals(const HeadFactorLaw& law) const {
  std::vector<HeadLawResidual> out;
  for (size_t i : inputs_.fitted_head_laws) {
    const HeadCountLaw& h = inputs_.head_laws[i];
    const double one_head = law.at({1, 1}).predict(h.params);
    for (int64_t n : inputs_.head_law_heads) {
      HeadLawResidual r;
      r.label = h.label;
      r.n = n;
      r.model_gain = one_head - law.at({n, n}).predict(h.params);
      r.paper_gain = h.a * (1.0 - std::pow(static_cast<double>(n), h.b));
      out.push_back(r);
    }
  }
  return out;
}

CalibrationScore LossCalibration::score(const HeadFactorLaw& law, const Table4Selection& selection) const {
  CalibrationScore s;
  if (!law.validate().ok()) {
    s.total = kInvalid;
    return s;
  }
  for (const LossAnchor& a : inputs_.anchors) {
    const double r = (law.at(a.heads).predict(a.params) - a.loss) / inputs_.anchor_sigma;
    s.anchors_chi2 += r * r;
  }
  for (const HeadLawResidual& r : head_law_residuals(law)) {
    const double z = (r.model_gain - r.paper_gain) / inputs_.head_law_sigma;
    s.head_laws_chi2 += z * z;
  }
  // Sec. 5.4 at sizes across the valid range: doubling n_h lowers the loss more than doubling
  // n_kv, from every base (h, kv) of the candidates.
  for (double n : inputs_.sec54_params) {
    for (int64_t h = 1; 2 * h <= inputs_.sec54_max_heads; h *= 2) {
      for (int64_t kv = 1; 2 * kv <= h; kv *= 2) {
        const double excess = law.at({2 * h, kv}).predict(n) - law.at({h, 2 * kv}).predict(n) + 1e-4;
        if (excess > 0) s.sec54_hinge += excess;
      }
    }
  }
  s.shape_hinge = shape_violations(law, inputs_.range);
  if (selection.use) {
    auto check = check_table4(LossModel::from_head_factor(law), table_, base_,
                              [&](const Table4Cell& cell) { return selection.includes(cell); });
    if (!check.ok()) {
      s.total = kInvalid;
      return s;
    }
    for (const Table4Outcome& o : check->cells) {
      ++s.table4_cells;
      if (o.margin < 0) ++s.table4_matches;  // the paper's cell wins
      s.table4_hinge += std::max(0.0, o.margin + inputs_.table4_margin);
    }
  }
  s.total = s.anchors_chi2 + s.head_laws_chi2 + inputs_.table4_weight * s.table4_hinge +
            inputs_.sec54_weight * (s.sec54_hinge + s.shape_hinge);
  return s;
}

HeadFactorLaw LossCalibration::fit(const Table4Selection& selection, const std::string& label,
                                   void (*progress)(const std::string&)) const {
  const ScoreFn f = [&](const std::vector<double>& x) { return score(unpack(x), selection).total; };
  const std::vector<double> base_step = {0.5, 0.2, 0.1, 0.5, 0.3, 0.5, 0.5, 0.5};
  std::mt19937_64 rng(inputs_.seed);
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  std::vector<double> best = pack(inputs_.start);
  double best_score = f(best);
  // A scatter of starts around the given one (the score is piecewise in the Table 4 cells, so
  // one simplex can settle in a poor basin); the best few are refined.
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<std::pair<double, std::vector<double>>> starts;
  for (int i = 0; i < inputs_.random_starts; ++i) {
    std::vector<double> x = pack(inputs_.start);
    for (size_t k = 0; k < x.size(); ++k) x[k] += 2.0 * base_step[k] * normal(rng);
    starts.emplace_back(f(x), x);
  }
  std::sort(starts.begin(), starts.end(), [](const auto& l, const auto& r) { return l.first < r.first; });
  for (size_t i = 0; i < std::min<size_t>(starts.size(), 4); ++i) {
    std::vector<double> x = nelder_mead(f, starts[i].second, base_step, inputs_.iterations);
    const double v = f(x);
    if (v < best_score) {
      best_score = v;
      best = x;
    }
  }
  for (int round = 0; round < inputs_.rounds; ++round) {
    std::vector<double> step = base_step;
    for (double& v : step) v *= jitter(rng);
    std::vector<double> x = nelder_mead(f, best, step, inputs_.iterations);
    const double v = f(x);
    if (v < best_score) {
      best_score = v;
      best = x;
    }
    if (progress != nullptr) {
      CalibrationScore s = score(unpack(best), selection);
      progress(fmt::format("{}: round {}/{}, score {:.3f}, {}/{} Table 4 cells", label, round + 1, inputs_.rounds,
                           s.total, s.table4_matches, s.table4_cells));
    }
  }
  return unpack(best);
}

Result<CalibrationReport> run_calibration(const LossCalibration& cal, bool cross_validate,
                                          void (*progress)(const std::string&)) {
  CalibrationReport report;
  const Table4Selection all;
  const HeadFactorLaw law = cal.fit(all, "fit", progress);
  report.in_sample = cal.score(law, all);
  if (report.in_sample.total >= kInvalid) {
    return failed_precondition("the calibration found no valid law: check the start and the anchors");
  }
  if (cross_validate) {
    for (double context : {8192.0, 16384.0, 32768.0, 65536.0, 131072.0}) {
      Table4Selection train;
      train.held_out_context = context;
      const HeadFactorLaw fold = cal.fit(train, fmt::format("without T = {:.0f}", context), progress);
      CalibrationReport::Fold f;
      f.context = context;
      const LossModel fold_model = LossModel::from_head_factor(fold);
      GQF_ASSIGN_OR_RETURN(Table4Check check, check_table4(fold_model, cal.table(), cal.base()));
      for (const Table4Outcome& o : check.cells) {
        if (o.cell.context == context && o.match) ++f.held_out_matches;
      }
      report.folds.push_back(f);
    }
    Table4Selection none;
    none.use = false;
    const HeadFactorLaw no_table4 = cal.fit(none, "without Table 4", progress);
    GQF_ASSIGN_OR_RETURN(Table4Check check,
                         check_table4(LossModel::from_head_factor(no_table4), cal.table(), cal.base()));
    report.no_table4_matches = check.matches;
  }

  LossModel model = LossModel::from_head_factor(law);
  model.set_head_laws(cal.inputs().head_laws);
  model.set_range(cal.inputs().range);
  Json notes = Json::object();
  notes["derivation"] = "docs/loss-model.md; inputs data/loss-calibration.json; `make calibrate-loss`";
  notes["table4_in_sample"] = fmt::format("{}/40", report.in_sample.table4_matches);
  if (cross_validate) {
    int held = 0;
    Json folds = Json::object();
    for (const CalibrationReport::Fold& f : report.folds) {
      held += f.held_out_matches;
      folds[fmt::format("{:.0f}", f.context)] = fmt::format("{}/8", f.held_out_matches);
    }
    notes["table4_held_out_by_column"] = folds;
    notes["table4_held_out"] = fmt::format("{}/40", held);
    notes["table4_without_table4_in_the_fit"] = fmt::format("{}/40", report.no_table4_matches);
  }
  Json anchors = Json::object();
  for (const LossAnchor& a : cal.inputs().anchors) {
    anchors[a.label] = fmt::format("{:.4f} (paper {})", law.at(a.heads).predict(a.params), a.loss);
  }
  notes["anchors"] = anchors;
  double ss = 0;
  size_t count = 0;
  for (const auto& r : cal.head_law_residuals(law)) {
    ss += (r.model_gain - r.paper_gain) * (r.model_gain - r.paper_gain);
    ++count;
  }
  notes["head_law_gain_rms"] = count > 0 ? std::sqrt(ss / static_cast<double>(count)) : 0.0;
  model.set_notes(notes);
  report.model = std::move(model);
  return report;
}

}  // namespace gqaforge::costmodel
