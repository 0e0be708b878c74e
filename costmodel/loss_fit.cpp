// Loss CSV parsing and the power-law / head-count fits.
#include "costmodel/loss_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "core/strings.h"

namespace gqaforge::costmodel {
namespace {

// Least-squares line y = c0 + c1 x.
bool fit_line(const std::vector<double>& x, const std::vector<double>& y, double& c0, double& c1) {
  size_t n = x.size();
  if (n < 2) return false;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (!(sxx > 0)) return false;
  c1 = sxy / sxx;
  c0 = my - c1 * mx;
  return true;
}

double r_squared(const std::vector<double>& observed, const std::vector<double>& residuals) {
  double mean = 0;
  for (double v : observed) mean += v;
  mean /= static_cast<double>(observed.size());
  double tss = 0, rss = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    tss += (observed[i] - mean) * (observed[i] - mean);
    rss += residuals[i] * residuals[i];
  }
  return tss > 0 ? 1.0 - rss / tss : (rss == 0 ? 1.0 : 0.0);
}

// For a fixed asymptote e, the log-linear fit of log(L - e) = b (theta - log N) per group;
// returns the RSS in loss space (infinite when some L <= e).
double init_for_e(const std::vector<const LossPoint*>& pts, double e, double& theta, double& b) {
  std::vector<double> x, y;
  for (const LossPoint* p : pts) {
    if (p->loss <= e) return std::numeric_limits<double>::infinity();
    x.push_back(std::log(p->params));
    y.push_back(std::log(p->loss - e));
  }
  double c0 = 0, c1 = 0;
  if (!fit_line(x, y, c0, c1) || !(c1 < 0)) return std::numeric_limits<double>::infinity();
  b = -c1;
  theta = c0 / b;
  double rss = 0;
  for (const LossPoint* p : pts) {
    double pred = std::exp(b * (theta - std::log(p->params))) + e;
    rss += (pred - p->loss) * (pred - p->loss);
  }
  return rss;
}

}  // namespace

Result<std::vector<LossPoint>> parse_loss_csv(std::string_view text, const std::string& source) {
  std::vector<LossPoint> out;
  std::vector<std::string> header;
  std::optional<size_t> col_h, col_kv, col_n, col_loss;  // field indices, once the header named them
  auto lines = split(text, '\n');
  for (size_t li = 0; li < lines.size(); ++li) {
    const int line_no = static_cast<int>(li) + 1;
    std::string line = trim(lines[li]);
    if (line.empty() || line[0] == '#') continue;
    auto fields = split(line, ',');
    for (std::string& f : fields) f = trim(f);
    if (header.empty()) {
      header = fields;
      for (size_t i = 0; i < fields.size(); ++i) {
        std::string name = to_lower(fields[i]);
        std::optional<size_t>* slot = name == "n_h"    ? &col_h
                                      : name == "n_kv" ? &col_kv
                                      : name == "n"    ? &col_n
                                      : name == "loss" ? &col_loss
                                                       : nullptr;
        if (slot == nullptr) continue;
        if (slot->has_value())
          return invalid_argument("{}:{}: column '{}' appears twice in the header", source, line_no, fields[i]);
        *slot = i;
      }
      std::vector<std::string> missing;
      if (!col_h) missing.push_back("n_h");
      if (!col_kv) missing.push_back("n_kv");
      if (!col_n) missing.push_back("N");
      if (!col_loss) missing.push_back("loss");
      if (!missing.empty()) {
        std::string m;
        for (const auto& s : missing) {
          if (!m.empty()) m += ", ";
          m += s;
        }
        return invalid_argument("{}:{}: the header must name the columns n_h, n_kv, N, loss (missing {}; got '{}')",
                                source, line_no, m, line);
      }
      continue;
    }
    if (fields.size() != header.size()) {
      return invalid_argument("{}:{}: expected {} fields like the header, got {} ('{}')", source, line_no,
                              header.size(), fields.size(), line);
    }
    LossPoint p;
    p.line = line_no;
    auto h = parse_int(fields[*col_h]);
    if (!h.ok() || *h <= 0)
      return invalid_argument("{}:{}: n_h '{}' is not a positive integer", source, line_no, fields[*col_h]);
    auto kv = parse_int(fields[*col_kv]);
    if (!kv.ok() || *kv <= 0)
      return invalid_argument("{}:{}: n_kv '{}' is not a positive integer", source, line_no, fields[*col_kv]);
    if (*kv > *h || *h % *kv != 0) {
      return invalid_argument("{}:{}: n_kv {} must divide n_h {}", source, line_no, *kv, *h);
    }
    auto n = parse_double(fields[*col_n]);
    if (!n.ok() || !std::isfinite(*n) || *n <= 0) {
      return invalid_argument("{}:{}: N '{}' is not a positive number of parameters", source, line_no, fields[*col_n]);
    }
    auto loss = parse_double(fields[*col_loss]);
    if (!loss.ok() || !std::isfinite(*loss) || *loss <= 0) {
      return invalid_argument("{}:{}: loss '{}' is not a positive number", source, line_no, fields[*col_loss]);
    }
    p.heads = {*h, *kv};
    p.params = *n;
    p.loss = *loss;
    out.push_back(p);
  }
  if (header.empty())
    return invalid_argument("{}: empty file (expected a header n_h,n_kv,N,loss and data rows)", source);
  if (out.empty()) return invalid_argument("{}: no data rows after the header", source);
  return out;
}

Result<LossFitReport> fit_power_laws(const std::vector<LossPoint>& points, const LossFitOptions& options) {
  std::map<HeadConfig, std::vector<const LossPoint*>> groups;
  for (const LossPoint& p : points) groups[p.heads].push_back(&p);
  if (groups.empty()) return invalid_argument("no loss points to fit");
  const size_t need = options.shared_e ? 2 : 3;
  double min_loss = std::numeric_limits<double>::infinity();
  for (const auto& [h, pts] : groups) {
    std::set<double> distinct;
    for (const LossPoint* p : pts) {
      distinct.insert(p->params);
      min_loss = std::min(min_loss, p->loss);
    }
    if (distinct.size() < need) {
      return invalid_argument("heads {} have {} distinct model size(s); the {} form needs at least {}", h.to_string(),
                              distinct.size(), options.shared_e ? "shared-E" : "per-H-E", need);
    }
  }
  const size_t per_group = options.shared_e ? 2 : 3;
  const size_t num_params = groups.size() * per_group + (options.shared_e ? 1 : 0);
  if (points.size() <= num_params) {
    return invalid_argument(
        "{} points cannot determine {} parameters with any residual degrees of freedom; "
        "add training runs",
        points.size(), num_params);
  }
  // Initial values: scan the asymptote and fit log(L - E) linearly in log N.
  std::vector<double> init(num_params, 0.0);
  auto scan = [&](const std::vector<const LossPoint*>& pts, double lo_loss, double& e_best, double& th, double& b) {
    double best = std::numeric_limits<double>::infinity();
    for (int i = 1; i <= 400; ++i) {
      double e = lo_loss * (1.0 - static_cast<double>(i) / 400.0) - 1e-9;
      double t = 0, bb = 0;
      double rss = init_for_e(pts, e, t, bb);
      if (rss < best) {
        best = rss;
        e_best = e;
        th = t;
        b = bb;
      }
    }
    return best;
  };
  if (options.shared_e) {
    double best = std::numeric_limits<double>::infinity();
    for (int i = 1; i <= 400; ++i) {
      double e = min_loss * (1.0 - static_cast<double>(i) / 400.0) - 1e-9;
      double total = 0;
      std::vector<double> trial;
      for (const auto& [h, pts] : groups) {
        double t = 0, bb = 0;
        total += init_for_e(pts, e, t, bb);
        trial.push_back(t);
        trial.push_back(bb);
      }
      if (total < best) {
        best = total;
        init[0] = e;
        std::copy(trial.begin(), trial.end(), init.begin() + 1);
      }
    }
    if (!std::isfinite(best)) {
      return invalid_argument(
          "cannot find starting values: the losses do not decrease with N for every head configuration");
    }
  } else {
    size_t g = 0;
    for (const auto& [h, pts] : groups) {
      double lo = std::numeric_limits<double>::infinity();
      for (const LossPoint* p : pts) lo = std::min(lo, p->loss);
      double e = 0, t = 0, b = 0;
      if (!std::isfinite(scan(pts, lo, e, t, b))) {
        return invalid_argument("cannot find starting values for heads {}: its losses do not decrease with N",
                                h.to_string());
      }
      init[g * 3] = t;
      init[g * 3 + 1] = b;
      init[g * 3 + 2] = e;
      ++g;
    }
  }
  // Residuals in loss units; a_H enters as theta = log a_H.
  std::vector<const LossPoint*> order;
  std::vector<size_t> group_of;
  {
    size_t g = 0;
    for (const auto& [h, pts] : groups) {
      for (const LossPoint* p : pts) {
        order.push_back(p);
        group_of.push_back(g);
      }
      ++g;
    }
  }
  const bool shared = options.shared_e;
  ResidualFn f = [&](const std::vector<double>& th, std::vector<double>& out) {
    for (size_t i = 0; i < order.size(); ++i) {
      size_t g = group_of[i];
      double theta = shared ? th[1 + 2 * g] : th[3 * g];
      double b = shared ? th[2 + 2 * g] : th[3 * g + 1];
      double e = shared ? th[0] : th[3 * g + 2];
      out[i] = std::exp(b * (theta - std::log(order[i]->params))) + e - order[i]->loss;
    }
  };
  GQF_ASSIGN_OR_RETURN(LmResult lm, levenberg_marquardt(f, order.size(), init));

  LossFitReport report;
  report.points = static_cast<int>(order.size());
  report.parameters = static_cast<int>(num_params);
  report.converged = lm.converged;
  std::vector<std::pair<HeadConfig, PowerLaw>> laws;
  size_t g = 0;
  for (const auto& [h, pts] : groups) {
    size_t it = shared ? 1 + 2 * g : 3 * g, ib = it + 1, ie = shared ? 0 : 3 * g + 2;
    PowerLaw law;
    law.a = std::exp(lm.params[it]);
    law.b = lm.params[ib];
    law.e = lm.params[ie];
    law.se_a = law.a * lm.std_errors[it];  // delta method: d a = a d theta
    law.se_b = lm.std_errors[ib];
    law.se_e = lm.std_errors[ie];
    if (!(law.b > 0)) {
      return invalid_argument("the fit for heads {} gave exponent b = {} <= 0: its loss does not fall with N",
                              h.to_string(), law.b);
    }
    laws.emplace_back(h, law);
    HeadFitStats st;
    st.heads = h;
    std::vector<double> observed;
    for (size_t i = 0; i < order.size(); ++i) {
      if (group_of[i] != g) continue;
      st.residuals.push_back(-lm.residuals[i]);
      observed.push_back(order[i]->loss);
    }
    st.points = static_cast<int>(observed.size());
    st.r2 = r_squared(observed, st.residuals);
    double ss = 0;
    for (double r : st.residuals) ss += r * r;
    st.rmse = std::sqrt(ss / static_cast<double>(st.points));
    report.per_head.push_back(st);
    ++g;
  }
  std::vector<double> observed;
  for (const LossPoint* p : order) observed.push_back(p->loss);
  report.r2 = r_squared(observed, lm.residuals);
  report.rmse = std::sqrt(lm.rss / static_cast<double>(order.size()));
  report.model = LossModel::from_table(std::move(laws), options.shared_e);
  // The fit says nothing outside the sizes and head counts it saw.
  ValidRange range;
  range.min_params = std::numeric_limits<double>::infinity();
  for (const LossPoint* p : order) {
    range.min_params = std::min(range.min_params, p->params);
    range.max_params = std::max(range.max_params, p->params);
    range.max_heads = std::max(range.max_heads, p->heads.n_heads);
  }
  report.model.set_range(range);
  return report;
}

Result<HeadLawFitReport> fit_head_laws(const std::vector<LossPoint>& points, double context) {
  std::map<double, std::vector<const LossPoint*>> groups;
  for (const LossPoint& p : points) groups[p.params].push_back(&p);
  HeadLawFitReport report;
  for (const auto& [n, pts] : groups) {
    std::set<int64_t> distinct;
    for (const LossPoint* p : pts) distinct.insert(p->heads.n_heads);
    if (distinct.size() < 3 || pts.size() < 4) {
      report.notes.push_back(
          fmt::format("N = {:.4g}: {} point(s) with {} distinct n_h; the head-count law needs "
                      "at least 4 points and 3 distinct n_h",
                      n, pts.size(), distinct.size()));
      continue;
    }
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (const LossPoint* p : pts) {
      lo = std::min(lo, p->loss);
      hi = std::max(hi, p->loss);
    }
    // Start: scan c below the lowest loss, log-linear fit of log(L - c) on log n_h.
    double best = std::numeric_limits<double>::infinity(), c0 = 0, la0 = 0, b0 = 0;
    for (int i = 1; i <= 400; ++i) {
      double c = lo - (hi - lo + 0.05 * lo) * static_cast<double>(i) / 100.0;
      std::vector<double> x, y;
      for (const LossPoint* p : pts) {
        x.push_back(std::log(static_cast<double>(p->heads.n_heads)));
        y.push_back(std::log(p->loss - c));
      }
      double k0 = 0, k1 = 0;
      if (!fit_line(x, y, k0, k1)) continue;
      double rss = 0;
      for (const LossPoint* p : pts) {
        double pred = std::exp(k0) * std::pow(static_cast<double>(p->heads.n_heads), k1) + c;
        rss += (pred - p->loss) * (pred - p->loss);
      }
      if (rss < best) {
        best = rss;
        c0 = c;
        la0 = k0;
        b0 = k1;
      }
    }
    ResidualFn f = [&pts](const std::vector<double>& th, std::vector<double>& out) {
      for (size_t i = 0; i < pts.size(); ++i) {
        out[i] = th[0] * std::pow(static_cast<double>(pts[i]->heads.n_heads), th[1]) + th[2] - pts[i]->loss;
      }
    };
    auto lm = levenberg_marquardt(f, pts.size(), {std::exp(la0), b0, c0});
    if (!lm.ok()) {
      report.notes.push_back(fmt::format("N = {:.4g}: {}", n, lm.status().message()));
      continue;
    }
    HeadCountLaw law;
    law.label = fmt::format("N={:.4g}", n);
    law.params = n;
    law.context = context;
    law.a = lm->params[0];
    law.b = lm->params[1];
    law.c = lm->params[2];
    law.se_a = lm->std_errors[0];
    law.se_b = lm->std_errors[1];
    law.se_c = lm->std_errors[2];
    std::vector<double> observed;
    for (const LossPoint* p : pts) observed.push_back(p->loss);
    law.r2 = r_squared(observed, lm->residuals);
    report.laws.push_back(law);
  }
  if (report.laws.empty()) {
    std::string why = report.notes.empty() ? "no points" : report.notes.front();
    return invalid_argument("no group of equal N could be fitted with the head-count law: {}", why);
  }
  return report;
}

}  // namespace gqaforge::costmodel
