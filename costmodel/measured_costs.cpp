// Empirical cost models built from tuning measurements, and their composition into model-level
// decode latency and throughput.
#include "costmodel/measured_costs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "codegen/decode_config.h"
#include "codegen/family.h"
#include "costmodel/fit.h"

namespace gqaforge::costmodel {
namespace {

double gemm_flops(double m, double n, double k) {
  return 2.0 * m * n * k;
}
double gemm_bytes(double m, double n, double k, double bpv) {
  return bpv * (m * k + k * n + m * n);
}

// Kernels one decode call of a measured variant launches: the split pass, plus
// gqaforge_decode_combine when the KV is split and the merge is not fused. The split count is
// resolved as the runtime resolves it (num_splits 0 is chosen at launch), on a device with
// DeviceLimits' defaults (the H200's 132 SMs, where the bundled rows come from); a row whose
// config does not resolve counts by its text, and one without a config (an unknown variant) as
// one launch.
int decode_kernels(const ProblemRecord& p, const std::string& config_text) {
  if (config_text.empty()) return 1;
  auto config = codegen::DecodeConfig::parse(config_text, codegen::DecodeConfig{});
  if (!config.ok()) return 1;
  auto dtype = codegen::parse_dtype(p.dtype.empty() ? "bf16" : p.dtype);
  const codegen::AttentionProblem problem =
      codegen::make_problem(codegen::Phase::kDecode, p.n_q_heads, p.n_kv_heads, p.head_dim,
                            dtype.ok() ? *dtype : codegen::DType::kBF16, p.causal, p.batch, p.q_len, p.kv_len);
  auto launch = codegen::decode_launch(problem, *config, codegen::DeviceLimits{});
  if (launch.ok()) return launch->needs_combine_kernel ? 2 : 1;
  return config->num_splits > 1 && !config->fused_combine ? 2 : 1;
}

}  // namespace

double detail::log_interp(double x, double x0, double y0, double x1, double y1) {
  if (x1 == x0) return y0;
  double t = (std::log(x) - std::log(x0)) / (std::log(x1) - std::log(x0));
  return std::exp(std::log(y0) + t * (std::log(y1) - std::log(y0)));
}

double prefill_attention_flops(int64_t n_heads, int64_t head_dim, int64_t batch, int64_t q_len, int64_t kv_len,
                               bool causal) {
  const double q = static_cast<double>(q_len), kv = static_cast<double>(kv_len);
  const double pairs = causal ? q * kv - q * (q - 1) / 2 : q * kv;
  return 4.0 * static_cast<double>(batch) * static_cast<double>(n_heads) * static_cast<double>(head_dim) * pairs;
}

double MeasuredCosts::kv_bytes(int64_t n_kv_heads, int64_t head_dim, int64_t batch, int64_t kv_len) const {
  return 2.0 * static_cast<double>(batch) * static_cast<double>(kv_len) * static_cast<double>(n_kv_heads) *
         static_cast<double>(head_dim) * settings_.bytes_per_value;
}

size_t MeasuredCosts::decode_point_count() const {
  size_t n = 0;
  for (const auto& [key, g] : decode_) n += g.points.size();
  return n;
}

std::vector<std::tuple<int64_t, int64_t, int64_t>> MeasuredCosts::decode_configs() const {
  std::vector<std::tuple<int64_t, int64_t, int64_t>> out;
  for (const auto& [key, g] : decode_) out.push_back(key);
  return out;
}

Result<MeasuredCosts> MeasuredCosts::build(const std::vector<MeasurementRecord>& rows,
                                           const MeasuredSettings& settings) {
  MeasuredCosts mc;
  mc.settings_ = settings;
  // Distinct points; repeated measurements of one point keep the fastest (best kernel).
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::map<double, DecodePoint>> decode_raw;
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::set<int64_t>> decode_batches;
  std::map<PrefillKey, std::map<double, PrefillPoint>> prefill_raw;
  std::map<std::tuple<int64_t, int64_t, int64_t>, double> gemm_raw;
  struct PooledRow {
    double bytes, flops, us;
  };
  std::map<int64_t, std::vector<PooledRow>> pooled_rows;
  // The attention models are fitted to the rows of the families that serve each phase.
  const std::string decode_family = codegen::family_for(codegen::Phase::kDecode).name();
  const std::string prefill_family = codegen::family_for(codegen::Phase::kPrefill).name();
  for (const MeasurementRecord& r : rows) {
    if (r.status != MeasureStatus::kOk || !(r.median_us > 0) || !std::isfinite(r.median_us)) continue;
    const ProblemRecord& p = r.problem;
    if (p.family == decode_family) {
      if (p.n_q_heads <= 0 || p.n_kv_heads <= 0 || p.head_dim <= 0 || p.batch <= 0 || p.kv_len <= 0) continue;
      double bytes = mc.kv_bytes(p.n_kv_heads, p.head_dim, p.batch, p.kv_len);
      const auto key = std::make_tuple<int64_t, int64_t, int64_t>(p.n_q_heads, p.n_kv_heads, p.head_dim);
      auto& slot = decode_raw[key];
      auto it = slot.find(bytes);
      if (it == slot.end() || r.median_us < it->second.us)
        slot[bytes] = {bytes, r.median_us, decode_kernels(p, r.config)};
      decode_batches[key].insert(p.batch);
      double flops = 4.0 * static_cast<double>(p.batch) * static_cast<double>(p.kv_len) * p.n_q_heads * p.head_dim;
      pooled_rows[p.head_dim].push_back({bytes, flops, r.median_us});
    } else if (p.family == prefill_family) {
      if (p.n_q_heads <= 0 || p.n_kv_heads <= 0 || p.head_dim <= 0 || p.batch <= 0 || p.q_len <= 0 || p.kv_len <= 0) {
        continue;
      }
      const double flops = prefill_attention_flops(p.n_q_heads, p.head_dim, p.batch, p.q_len, p.kv_len, p.causal);
      auto& slot = prefill_raw[{p.n_q_heads, p.n_kv_heads, p.head_dim, p.causal}];
      auto it = slot.find(flops);
      if (it == slot.end() || r.median_us < it->second.us) slot[flops] = {flops, r.median_us, p.batch, p.q_len};
    } else if (p.family == "linear") {
      if (p.gemm_m <= 0 || p.gemm_n <= 0 || p.gemm_k <= 0) continue;
      auto key = std::make_tuple(p.gemm_m, p.gemm_n, p.gemm_k);
      auto it = gemm_raw.find(key);
      if (it == gemm_raw.end() || r.median_us < it->second) gemm_raw[key] = r.median_us;
    }
  }
  if (decode_raw.empty() && prefill_raw.empty() && gemm_raw.empty()) {
    return failed_precondition(
        "no usable measurements: need ok rows of family 'decode', 'prefill' or 'linear' "
        "({} rows given)",
        rows.size());
  }
  for (auto& [key, pts] : decode_raw) {
    DecodeGroup g;
    for (auto& [bytes, point] : pts) g.points.push_back(point);
    const std::set<int64_t>& batches = decode_batches[key];
    g.batches.assign(batches.begin(), batches.end());
    if (g.points.size() >= 2) {
      std::vector<std::vector<double>> x;
      std::vector<double> y;
      for (const DecodePoint& d : g.points) {
        x.push_back({1.0, d.bytes});
        y.push_back(d.us);
      }
      std::vector<double> c;
      if (linear_least_squares(x, y, c)) {
        g.a = std::max(0.0, c[0]);
        g.b = std::max(0.0, c[1]);
      }
    }
    mc.decode_[key] = std::move(g);
  }
  mc.build_prefill(prefill_raw);
  for (auto& [dh, prs] : pooled_rows) {
    if (prs.size() < 3) continue;
    std::vector<std::vector<double>> x;
    std::vector<double> y;
    for (const PooledRow& pr : prs) {
      x.push_back({1.0, pr.bytes, pr.flops});
      y.push_back(pr.us);
    }
    std::vector<double> c;
    if (linear_least_squares(x, y, c)) mc.pooled_[dh] = {std::max(0.0, c[0]), c[1], c[2], true};
  }
  for (const auto& [key, us] : gemm_raw) {
    mc.gemm_.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), us});
  }
  if (mc.gemm_.size() >= 3) {
    // Roofline: us = a + max(flops / F, bytes / B), fitted on log time; parameters in log space.
    const double bpv = settings.bytes_per_value;
    const auto& pts = mc.gemm_;
    ResidualFn f = [&pts, bpv](const std::vector<double>& th, std::vector<double>& out) {
      double a = std::exp(th[0]), fl = std::exp(th[1]), bw = std::exp(th[2]);
      for (size_t i = 0; i < pts.size(); ++i) {
        double m = static_cast<double>(pts[i].m), n = static_cast<double>(pts[i].n), k = static_cast<double>(pts[i].k);
        double t = a + std::max(gemm_flops(m, n, k) / fl, gemm_bytes(m, n, k, bpv) / bw);
        out[i] = std::log(t) - std::log(pts[i].us);
      }
    };
    // Start: 5 us launch floor, 500 TFLOP/s, 3 TB/s (in per-microsecond units).
    auto fit = levenberg_marquardt(f, pts.size(), {std::log(5.0), std::log(5e8), std::log(3e6)});
    if (fit.ok()) {
      mc.roof_a_ = std::exp(fit->params[0]);
      mc.roof_flops_ = std::exp(fit->params[1]);
      mc.roof_bw_ = std::exp(fit->params[2]);
      mc.roof_valid_ = true;
    }
  }
  return mc;
}

Result<Estimate> MeasuredCosts::decode_us(int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t batch,
                                          int64_t kv_len) const {
  if (n_heads <= 0 || n_kv_heads <= 0 || head_dim <= 0 || batch <= 0 || kv_len <= 0) {
    return invalid_argument("decode problem ({},{}) d_h {} batch {} kv_len {} has a non-positive dimension", n_heads,
                            n_kv_heads, head_dim, batch, kv_len);
  }
  double bytes = kv_bytes(n_kv_heads, head_dim, batch, kv_len);
  auto pooled = pooled_.find(head_dim);
  const bool have_pooled = pooled != pooled_.end() && pooled->second.valid;
  // The pooled fit over every tuned configuration of the head size.
  auto pooled_us = [&](double b, double kv_tokens_times_batch) {
    const PooledDecode& p = pooled->second;
    const double flops = 4.0 * kv_tokens_times_batch * static_cast<double>(n_heads) * static_cast<double>(head_dim);
    return std::max(p.c0, p.c0 + p.c1 * b + p.c2 * flops);
  };
  auto it = decode_.find({n_heads, n_kv_heads, head_dim});
  if (it != decode_.end() && !it->second.points.empty()) {
    const auto& pts = it->second.points;
    if (pts.size() == 1) {
      if (pts[0].bytes == bytes) return Estimate{pts[0].us, false, "", pts[0].kernels};
      // One point fixes the level, the pooled fit the shape (launch-bound small calls and
      // bandwidth-bound large ones scale differently; a byte ratio alone would not).
      if (have_pooled) {
        const double tokens_at_point = pts[0].bytes / kv_bytes(n_kv_heads, head_dim, 1, 1);
        const double us = pts[0].us * pooled_us(bytes, static_cast<double>(batch) * static_cast<double>(kv_len)) /
                          pooled_us(pts[0].bytes, tokens_at_point);
        return Estimate{us, true,
                        fmt::format("decode ({},{}) d_h {} has one tuned point; pooled fit scaled through it", n_heads,
                                    n_kv_heads, head_dim),
                        pts[0].kernels};
      }
      return Estimate{
          pts[0].us * bytes / pts[0].bytes, true,
          fmt::format("decode ({},{}) d_h {} has one tuned point; scaled by bytes", n_heads, n_kv_heads, head_dim),
          pts[0].kernels};
    }
    if (bytes >= pts.front().bytes && bytes <= pts.back().bytes) {
      for (size_t i = 0; i + 1 < pts.size(); ++i) {
        if (bytes <= pts[i + 1].bytes) {
          // The launches of the point nearer in log bytes (the split count changes between points).
          const bool upper = std::log(bytes / pts[i].bytes) > std::log(pts[i + 1].bytes / bytes);
          return Estimate{detail::log_interp(bytes, pts[i].bytes, pts[i].us, pts[i + 1].bytes, pts[i + 1].us), false,
                          "", upper ? pts[i + 1].kernels : pts[i].kernels};
        }
      }
    }
    const DecodeGroup& g = it->second;
    double us = g.a + g.b * bytes;
    // Below the measured range the affine fit can undershoot; never go under the launch floor.
    if (bytes < pts.front().bytes) us = std::min(pts.front().us, std::max(us, g.a));
    return Estimate{us, true,
                    fmt::format("decode ({},{}) d_h {} at batch {} kv_len {} is outside the tuned range; "
                                "affine fit in bytes",
                                n_heads, n_kv_heads, head_dim, batch, kv_len),
                    bytes < pts.front().bytes ? pts.front().kernels : pts.back().kernels};
  }
  if (!have_pooled) {
    return failed_precondition("no decode measurements for head dim {} (needed for heads ({},{}))", head_dim, n_heads,
                               n_kv_heads);
  }
  const double us = pooled_us(bytes, static_cast<double>(batch) * static_cast<double>(kv_len));
  // Which variant (and so whether a combine kernel runs) is unknown here: one launch is counted.
  return Estimate{us, true,
                  fmt::format("decode ({},{}) d_h {} was never tuned; pooled fit over the tuned configurations",
                              n_heads, n_kv_heads, head_dim),
                  1};
}

double MeasuredCosts::roof_us(double m, double n, double k) const {
  return roof_a_ +
         std::max(gemm_flops(m, n, k) / roof_flops_, gemm_bytes(m, n, k, settings_.bytes_per_value) / roof_bw_);
}

Result<Estimate> MeasuredCosts::gemm_us(int64_t m, int64_t n, int64_t k) const {
  if (m <= 0 || n <= 0 || k <= 0) return invalid_argument("GEMM {}x{}x{} has a non-positive dimension", m, n, k);
  std::vector<const GemmPoint*> same;
  for (const GemmPoint& g : gemm_) {
    if (g.m == m && g.n == n && g.k == k) return Estimate{g.us, false, ""};
    if (g.n == n && g.k == k) same.push_back(&g);
  }
  std::sort(same.begin(), same.end(), [](const GemmPoint* a, const GemmPoint* b) { return a->m < b->m; });
  if (same.size() >= 2 && m >= same.front()->m && m <= same.back()->m) {
    for (size_t i = 0; i + 1 < same.size(); ++i) {
      if (m <= same[i + 1]->m) {
        return Estimate{detail::log_interp(static_cast<double>(m), static_cast<double>(same[i]->m), same[i]->us,
                                           static_cast<double>(same[i + 1]->m), same[i + 1]->us),
                        false, ""};
      }
    }
  }
  if (!roof_valid_) {
    return failed_precondition("no GEMM measurement near {}x{}x{} and too few (< 3) for a roofline fit", m, n, k);
  }
  double fm = static_cast<double>(m), fn = static_cast<double>(n), fk = static_cast<double>(k);
  if (!same.empty()) {
    // Beyond the tuned m of this (n, k): the roofline's shape (flat while memory-bound, linear
    // in m once compute-bound) scaled through the nearest tuned m, whose level it keeps.
    const GemmPoint& near = m < same.front()->m ? *same.front() : *same.back();
    const double us = near.us * roof_us(fm, fn, fk) / roof_us(static_cast<double>(near.m), fn, fk);
    return Estimate{us, true,
                    fmt::format("GEMM {}x{}x{} is beyond the tuned m ({}..{}) of {}x{}; roofline fit scaled "
                                "through m={}",
                                m, n, k, same.front()->m, same.back()->m, n, k, near.m)};
  }
  double us = roof_us(fm, fn, fk);
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  int64_t max_m = 0;
  for (const GemmPoint& g : gemm_) {
    double fl = gemm_flops(static_cast<double>(g.m), static_cast<double>(g.n), static_cast<double>(g.k));
    lo = std::min(lo, fl);
    hi = std::max(hi, fl);
    max_m = std::max(max_m, g.m);
  }
  double fl = gemm_flops(fm, fn, fk);
  // A shape never tuned is modelled, not extrapolated, while its FLOPs and its m lie within
  // those the fit saw (a prompt's m of 128K tokens does not, however few its FLOPs).
  bool outside = fl < lo || fl > hi || m > max_m;
  return Estimate{us, outside,
                  outside ? fmt::format("GEMM {}x{}x{} is outside the tuned range{}; roofline fit", m, n, k,
                                        m > max_m ? fmt::format(" (tuned m up to {})", max_m) : "")
                          : ""};
}

}  // namespace gqaforge::costmodel
