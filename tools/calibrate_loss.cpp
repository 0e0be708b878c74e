// gqaforge_calibrate_loss: the offline calibration that produced data/loss-model-default.json
// (see docs/loss-model.md). It searches the few free constants of the parametric loss model
// so that the recipe's argmins reproduce the paper's Table 4, while the model keeps the
// published anchors: the Llama-3 GQA reference losses and the App. I head-count laws.
//
//   gqaforge_calibrate_loss START.json [all|table|table-e] [ROUNDS] > loss-model.json
//
// `all` refines the parametric form (restarted Nelder-Mead); `table` / `table-e` climb free
// per-H coefficients (shared / per-H E), a diagnostic of what any power-law table can reach.
// Settings and penalty weights come from GQAFORGE_CAL_UNITS, GQAFORGE_CAL_EMBED,
// GQAFORGE_CAL_INTERP, GQAFORGE_CAL_ANCHOR_WEIGHT, GQAFORGE_CAL_HEAD_WEIGHT,
// GQAFORGE_CAL_SEC54_WEIGHT, GQAFORGE_CAL_HEADLINE_WEIGHT (the older GQF_ spelling still works).
// Deterministic (fixed seed); prints progress and the final cell-by-cell comparison to stderr.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <random>
#include <vector>

#include "core/env.h"
#include "core/fs.h"
#include "costmodel/loss_model.h"
#include "costmodel/table4.h"

using namespace gqaforge;
using namespace gqaforge::costmodel;

namespace {

// Anchors (published in the paper; docs/loss-model.md, "Why the default has to be derived"):
// predicted losses of the Llama-3 GQA configuration (d / d_h, 8) at the real models'
// non-embedding parameter counts (Llama-3.2-1B, Llama-3.2-3B, Llama-3.1-8B).
struct Anchor {
  HeadConfig heads;
  double params;
  double loss;
};
const Anchor kAnchors[] = {
    {{32, 8}, 973146112.0, 2.615},   // d = 2048 -> n_h = 32
    {{48, 8}, 2818747392.0, 2.448},  // d = 3072 -> n_h = 48
    {{64, 8}, 6979588096.0, 2.362},  // d = 4096 -> n_h = 64
};

// App. I head-count laws as 8K-context shapes: L(n_h) - L(1) at a fixed model size, MHA.
// The 470M law is published at 8K; the 680M and 1.2B ones at 1K are scaled by the 470M
// 8K/1K ratio of their amplitudes (1.356 / 1.513 ... applied to the gap, see the docs).
struct HeadLawAnchor {
  double params;
  double a, b;  // L(n_h) - L(1) = a (n_h^b - 1)
};
const HeadLawAnchor kHeadLaws[] = {
    {471859200.0, 1.356, -0.044},
    {679477248.0, 0.398 * 0.95, -0.177},
    {1019215872.0, 0.301 * 0.95, -0.227},
};

std::vector<double> pack(const ParametricLaw& p) {
  std::vector<double> v(13);
  for (size_t i = 0; i < 6; ++i) v[i] = p.log_a[i];
  for (size_t i = 0; i < 6; ++i) v[6 + i] = p.b[i];
  v[12] = p.e;
  return v;
}

ParametricLaw unpack(const std::vector<double>& v) {
  ParametricLaw p;
  for (size_t i = 0; i < 6; ++i) p.log_a[i] = v[i];
  for (size_t i = 0; i < 6; ++i) p.b[i] = v[6 + i];
  p.e = v[12];
  return p;
}

struct Scorer {
  std::vector<AspectPoint> table;
  SearchSettings base;
  double anchor_weight = 400.0;
  double head_law_weight = 40.0;
  double sec54_weight = 50.0;
  double headline_weight = 100.0;

  // Smooth surrogate: hinge on each cell's log-margin, plus anchor and head-law penalties.
  double score(const ParametricLaw& p, int* matches) const {
    return score_model(LossModel::from_parametric(p), matches);
  }

  double score_model(const LossModel& m, int* matches) const {
    double s = 0;
    int ok = 0;
    for (const Table4Cell& cell : table4_cells()) {
      SearchSettings st = base;
      st.target_loss = cell.target_loss;
      st.context = cell.context;
      st.baseline = cell.expected;
      auto r = run_search(m, table, st, nullptr);
      if (!r.ok() || !r->baseline) return 1e9;
      double expected = r->baseline->objective;
      double best_other = INFINITY;
      for (const CandidateResult& c : r->ranked) {
        if (c.heads != cell.expected) best_other = std::min(best_other, c.objective);
      }
      double margin = std::log(expected / best_other);
      if (margin < 0) ++ok;
      s += std::max(0.0, margin + 0.002);
    }
    for (const Anchor& a : kAnchors) {
      auto pred = m.predict(a.params, a.heads);
      if (!pred.ok()) continue;  // a table model has no (48,8), (64,8)
      double d = *pred - a.loss;
      s += anchor_weight * d * d;
    }
    for (const HeadLawAnchor& h : kHeadLaws) {
      double l1 = *m.predict(h.params, {1, 1});
      for (int64_t n : {2, 4, 8, 16, 32}) {
        double want = h.a * (std::pow(static_cast<double>(n), h.b) - 1.0);
        double got = *m.predict(h.params, {n, n}) - l1;
        s += head_law_weight * (got - want) * (got - want);
      }
    }
    // Sec. 5.2 headline: at T = 128K and L* = 2.615, (8,1) needs 50.8% less memory and 57.8%
    // fewer FLOPs than Llama-3.2-1B's (32,8) at the same loss.
    if (headline_weight > 0) {
      SearchSettings st = base;
      st.target_loss = 2.615;
      st.context = 131072;
      st.baseline = HeadConfig{32, 8};
      auto r = run_search(m, table, st, nullptr);
      if (!r.ok() || !r->baseline) return 1e9;
      for (const CandidateResult& c : r->ranked) {
        if (c.heads != HeadConfig{8, 1}) continue;
        double dm = reduction(c.memory_bytes, r->baseline->memory_bytes) - 0.508;
        double df = reduction(c.flops, r->baseline->flops) - 0.578;
        s += headline_weight * (dm * dm + df * df);
      }
    }
    // Sec. 5.4: doubling n_h lowers the loss more than doubling n_kv (from any (h, kv)).
    for (double n : {3e8, 1e9, 3e9}) {
      for (int64_t h = 2; h <= 16; h *= 2) {
        for (int64_t kv = 1; 2 * kv <= h; kv *= 2) {
          double more_q = *m.predict(n, {2 * h, kv});
          double more_kv = *m.predict(n, {h, 2 * kv});
          s += sec54_weight * std::max(0.0, more_q - more_kv + 0.001);
        }
      }
    }
    for (int64_t h = 1; h <= 64; h *= 2) {
      for (int64_t kv = 1; kv <= h; kv *= 2) {
        auto law = m.law_for({h, kv});
        if (law.ok() && law->b <= 0.02) s += 10.0;
      }
    }
    if (matches) *matches = ok;
    return s;
  }
};

// Nelder-Mead on the free coordinates.
std::vector<double> nelder_mead(const Scorer& sc, std::vector<double> x0, const std::vector<size_t>& free,
                                const std::vector<double>& step, int iterations) {
  size_t n = free.size();
  auto eval = [&](const std::vector<double>& z) {
    std::vector<double> full = x0;
    for (size_t i = 0; i < n; ++i) full[free[i]] = z[i];
    return sc.score(unpack(full), nullptr);
  };
  std::vector<std::vector<double>> pts(n + 1, std::vector<double>(n));
  for (size_t i = 0; i < n; ++i) pts[0][i] = x0[free[i]];
  for (size_t j = 1; j <= n; ++j) {
    pts[j] = pts[0];
    pts[j][j - 1] += step[j - 1];
  }
  std::vector<double> f(n + 1);
  for (size_t j = 0; j <= n; ++j) f[j] = eval(pts[j]);
  for (int it = 0; it < iterations; ++it) {
    std::vector<size_t> order(n + 1);
    for (size_t j = 0; j <= n; ++j) order[j] = j;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f[a] < f[b]; });
    std::vector<std::vector<double>> p2;
    std::vector<double> f2;
    for (size_t j : order) {
      p2.push_back(pts[j]);
      f2.push_back(f[j]);
    }
    pts = p2;
    f = f2;
    std::vector<double> c(n, 0.0);
    for (size_t j = 0; j < n; ++j)
      for (size_t i = 0; i < n; ++i) c[i] += pts[j][i] / static_cast<double>(n);
    auto lerp = [&](double t) {
      std::vector<double> z(n);
      for (size_t i = 0; i < n; ++i) z[i] = c[i] + t * (pts[n][i] - c[i]);
      return z;
    };
    auto xr = lerp(-1.0);
    double fr = eval(xr);
    if (fr < f[0]) {
      auto xe = lerp(-2.0);
      double fe = eval(xe);
      if (fe < fr) {
        pts[n] = xe;
        f[n] = fe;
      } else {
        pts[n] = xr;
        f[n] = fr;
      }
    } else if (fr < f[n - 1]) {
      pts[n] = xr;
      f[n] = fr;
    } else {
      auto xc = lerp(0.5);
      double fc = eval(xc);
      if (fc < f[n]) {
        pts[n] = xc;
        f[n] = fc;
      } else {
        for (size_t j = 1; j <= n; ++j) {
          for (size_t i = 0; i < n; ++i) pts[j][i] = pts[0][i] + 0.5 * (pts[j][i] - pts[0][i]);
          f[j] = eval(pts[j]);
        }
      }
    }
  }
  size_t best = static_cast<size_t>(std::min_element(f.begin(), f.end()) - f.begin());
  std::vector<double> out = x0;
  for (size_t i = 0; i < n; ++i) out[free[i]] = pts[best][i];
  return out;
}

// Free per-H coefficients (a diagnostic: how many cells any power-law table can reproduce
// under the cost conventions). Random coordinate hill climbing from `start`.
LossModel table_climb(const Scorer& sc, const LossModel& start, int iterations, std::mt19937_64& rng, bool per_h_e) {
  std::vector<HeadConfig> heads = candidate_heads(32);
  const size_t stride = per_h_e ? 3 : 2;
  std::vector<double> x;
  for (const HeadConfig& h : heads) {
    PowerLaw law = *start.law_for(h);
    x.push_back(std::log(law.a));
    x.push_back(law.b);
    if (per_h_e) x.push_back(law.e);
  }
  if (!per_h_e) x.push_back(start.law_for({1, 1})->e);
  auto build = [&](const std::vector<double>& v) {
    std::vector<std::pair<HeadConfig, PowerLaw>> laws;
    for (size_t i = 0; i < heads.size(); ++i) {
      PowerLaw law;
      law.a = std::exp(v[stride * i]);
      law.b = v[stride * i + 1];
      law.e = per_h_e ? v[stride * i + 2] : v.back();
      laws.emplace_back(heads[i], law);
    }
    return LossModel::from_table(laws, !per_h_e);
  };
  int matches = 0;
  double best = sc.score_model(build(x), &matches);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<size_t> pick(0, x.size() - 1);
  for (int it = 0; it < iterations; ++it) {
    std::vector<double> y = x;
    size_t c = pick(rng);
    size_t role = (!per_h_e && c + 1 == x.size()) ? 2 : c % stride;
    double scale = role == 0 ? 0.2 : 0.01;
    y[c] += scale * normal(rng);
    if (role == 1 && y[c] <= 0.02) continue;
    if (role == 2 && y[c] >= 2.34) continue;
    int m2 = 0;
    double v = sc.score_model(build(y), &m2);
    if (v < best) {
      best = v;
      x = y;
      matches = m2;
    }
    if (it % 500 == 0) std::fprintf(stderr, "climb %d: score %.5f, %d/40\n", it, best, matches);
  }
  return build(x);
}

// Prints, per Table 4 cell, the paper's configuration, the model's and the gap.
void print_table4_check(const LossModel& model, const Scorer& sc) {
  auto check = check_table4(model, sc.table, sc.base);
  if (!check.ok()) return;
  for (const Table4Outcome& o : check->cells) {
    std::fprintf(stderr, "L*=%.2f T=%6.0f paper %-8s got %-8s %s gap %.4f\n", o.cell.target_loss, o.cell.context,
                 o.cell.expected.to_string().c_str(), o.got.to_string().c_str(), o.match ? "ok " : "MISS", o.gap);
  }
  std::fprintf(stderr, "%d/40 cells\n", check->matches);
}

}  // namespace

int main(int argc, char** argv) {
  auto presets = Presets::bundled();
  if (!presets.ok()) {
    std::fprintf(stderr, "%s\n", presets.status().message().c_str());
    return 1;
  }
  Scorer sc;
  sc.table = presets->aspect_table();
  // Conventions under study (environment variables keep the tool's interface small).
  if (auto u = env_setting("CAL_UNITS")) {
    auto units = parse_z_units(*u);
    if (!units.ok()) {
      std::fprintf(stderr, "GQAFORGE_CAL_UNITS: %s\n", units.status().message().c_str());
      return 2;
    }
    sc.base.z.units = *units;
  }
  if (auto e = env_setting("CAL_EMBED")) sc.base.cost.count_embedding = *e == "1";
  if (auto i = env_setting("CAL_INTERP")) {
    sc.base.shape.interpolation = *i == "params" ? RatioInterpolation::kParams : RatioInterpolation::kLogParams;
  }
  const std::pair<const char*, double*> weights[] = {{"CAL_ANCHOR_WEIGHT", &sc.anchor_weight},
                                                     {"CAL_HEAD_WEIGHT", &sc.head_law_weight},
                                                     {"CAL_SEC54_WEIGHT", &sc.sec54_weight},
                                                     {"CAL_HEADLINE_WEIGHT", &sc.headline_weight}};
  for (const auto& [name, weight] : weights) {
    auto value = env_number(name);
    if (!value.ok()) {
      std::fprintf(stderr, "%s\n", value.status().message().c_str());
      return 2;
    }
    if (*value) *weight = **value;
  }
  ParametricLaw start;
  if (argc > 1) {
    auto m = LossModel::load(argv[1]);
    if (!m.ok() || m->form() != LossModel::Form::kParametric) {
      std::fprintf(stderr, "cannot use '%s' as a parametric start\n", argv[1]);
      return 1;
    }
    start = m->parametric();
  } else {
    start.log_a = {std::log(1e9), -0.5, -0.2, 0, 0, 0};
    start.b = {0.3, 0.0, 0.0, 0, 0, 0};
    start.e = 1.9;
  }
  std::vector<size_t> free;
  std::vector<double> steps;
  const std::string which = argc > 2 ? argv[2] : "all";
  for (size_t i = 0; i < 13; ++i) {
    free.push_back(i);
    steps.push_back(i < 6 ? 0.3 : (i < 12 ? 0.02 : 0.05));
  }
  std::vector<double> x = pack(start);
  std::mt19937_64 rng(20250309);
  if (which == "table" || which == "table-e") {
    LossModel t = table_climb(sc, LossModel::from_parametric(start), argc > 3 ? std::atoi(argv[3]) : 5000, rng,
                              which == "table-e");
    print_table4_check(t, sc);
    std::fputs(dump_json(t.to_json()).c_str(), stdout);
    return 0;
  }
  int matches = 0;
  double best = sc.score(unpack(x), &matches);
  std::fprintf(stderr, "start: score %.4f, %d/40\n", best, matches);
  for (int round = 0; round < (argc > 3 ? std::atoi(argv[3]) : 20); ++round) {
    std::vector<double> s2 = steps;
    std::uniform_real_distribution<double> u(0.5, 1.5);
    for (double& s : s2) s *= u(rng);
    auto y = nelder_mead(sc, x, free, s2, 1500);
    int m2 = 0;
    double v = sc.score(unpack(y), &m2);
    if (v < best) {
      best = v;
      x = y;
      matches = m2;
    }
    std::fprintf(stderr, "round %d: score %.5f, %d/40\n", round, best, matches);
  }
  ParametricLaw p = unpack(x);
  LossModel model = LossModel::from_parametric(p);
  print_table4_check(model, sc);
  for (const Anchor& a : kAnchors) {
    std::fprintf(stderr, "anchor %s N=%.3g: %.4f (paper %.3f)\n", a.heads.to_string().c_str(), a.params,
                 p.at(a.heads).predict(a.params), a.loss);
  }
  std::fputs(dump_json(model.to_json()).c_str(), stdout);
  return 0;
}
