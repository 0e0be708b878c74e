// The prefill attention model of MeasuredCosts: time as a function of the call's attention
// FLOPs per (n_h, n_kv, d_h) and mask. Between measured points log-log interpolation; beyond
// them the time scales with the FLOPs from the nearest point (a long prefill is compute-bound,
// so its time grows with its FLOPs; flagged); a configuration never tuned gets a log-log fit
// pooled over the head size's tuned configurations of the same mask (flagged).
#include <algorithm>
#include <cmath>

#include "costmodel/fit.h"
#include "costmodel/measured_costs.h"

namespace gqaforge::costmodel {
namespace {

const char* mask_name(bool causal) {
  return causal ? "causal" : "non-causal";
}

}  // namespace

void MeasuredCosts::build_prefill(const std::map<PrefillKey, std::map<double, PrefillPoint>>& raw) {
  struct Pooled {
    std::vector<std::vector<double>> x;
    std::vector<double> y;
    double lo = 0, hi = 0;
  };
  std::map<std::pair<int64_t, bool>, Pooled> pooled;
  for (const auto& [key, points] : raw) {
    std::vector<PrefillPoint>& group = prefill_[key];
    Pooled& p = pooled[{std::get<2>(key), std::get<3>(key)}];
    for (const auto& [flops, point] : points) {
      group.push_back(point);
      p.x.push_back({1.0, std::log(flops)});
      p.y.push_back(std::log(point.us));
      p.lo = p.lo == 0 ? flops : std::min(p.lo, flops);
      p.hi = std::max(p.hi, flops);
    }
  }
  for (const auto& [key, p] : pooled) {
    std::vector<double> c;
    // Needs two distinct FLOP counts; a design of one is rank deficient and gives no fit.
    if (p.lo < p.hi && linear_least_squares(p.x, p.y, c)) pooled_prefill_[key] = {c[0], c[1], p.lo, p.hi};
  }
}

size_t MeasuredCosts::prefill_point_count() const {
  size_t n = 0;
  for (const auto& [key, g] : prefill_) n += g.size();
  return n;
}

Result<Estimate> MeasuredCosts::prefill_us(int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t batch,
                                           int64_t tokens, bool causal) const {
  if (n_heads <= 0 || n_kv_heads <= 0 || head_dim <= 0 || batch <= 0 || tokens <= 0) {
    return invalid_argument("prefill problem ({},{}) d_h {} batch {} tokens {} has a non-positive dimension", n_heads,
                            n_kv_heads, head_dim, batch, tokens);
  }
  const double flops = prefill_attention_flops(n_heads, head_dim, batch, tokens, tokens, causal);
  const std::string what = fmt::format("prefill ({},{}) d_h {} {} at batch {} T {}", n_heads, n_kv_heads, head_dim,
                                       mask_name(causal), batch, tokens);
  auto it = prefill_.find({n_heads, n_kv_heads, head_dim, causal});
  if (it != prefill_.end() && !it->second.empty()) {
    const std::vector<PrefillPoint>& pts = it->second;
    if (flops >= pts.front().flops && flops <= pts.back().flops) {
      if (pts.size() == 1) return Estimate{pts[0].us, false, ""};
      for (size_t i = 0; i + 1 < pts.size(); ++i) {
        if (flops <= pts[i + 1].flops) {
          return Estimate{detail::log_interp(flops, pts[i].flops, pts[i].us, pts[i + 1].flops, pts[i + 1].us), false,
                          ""};
        }
      }
    }
    const bool above = flops > pts.back().flops;
    const PrefillPoint& near = above ? pts.back() : pts.front();
    // Below the measured FLOPs a small call is less efficient than this scaling assumes: it is
    // optimistic there (the launch floor of the composition still applies).
    return Estimate{near.us * flops / near.flops, true,
                    fmt::format("{} is {} the measured FLOPs ({} at batch {} T {}); time scaled by FLOPs", what,
                                above ? "beyond" : "below", above ? "largest" : "smallest", near.batch, near.q_len)};
  }
  auto pooled = pooled_prefill_.find({head_dim, causal});
  if (pooled == pooled_prefill_.end()) {
    return failed_precondition("no {} prefill measurements for head dim {} (needed for heads ({},{}))",
                               mask_name(causal), head_dim, n_heads, n_kv_heads);
  }
  const PooledPrefill& p = pooled->second;
  const double inside = std::clamp(flops, p.lo, p.hi);
  const double us = std::exp(p.c0 + p.c1 * std::log(inside)) * flops / inside;
  return Estimate{us, true,
                  fmt::format("prefill ({},{}) d_h {} {} was never tuned; fit pooled over the tuned configurations "
                              "of d_h {}{}",
                              n_heads, n_kv_heads, head_dim, mask_name(causal), head_dim,
                              inside != flops ? ", scaled by FLOPs beyond their range" : "")};
}

}  // namespace gqaforge::costmodel
