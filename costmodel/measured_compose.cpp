// The composition of MeasuredCosts' kernel models into model-level numbers: one decode step, one
// prompt (prefill), and decode throughput at the largest batch that fits. A step is counted
// kernel by kernel, each costing max(its time, launch_us): the host issues one launch at a time,
// so a kernel shorter than a launch leaves the GPU waiting for the next, while a long kernel
// hides the launches queued behind it.
#include <algorithm>
#include <cmath>

#include "costmodel/measured_costs.h"

namespace gqaforge::costmodel {
namespace {

/// Accumulates kernels into a LatencyBreakdown.
class StepBuilder {
 public:
  StepBuilder(double launch_us, double bytes_per_value, double elementwise_bandwidth)
      : bytes_per_value_(bytes_per_value), bandwidth_(elementwise_bandwidth) {
    out_.launch_us = launch_us;
  }

  /// `calls` calls of a kernel estimated as `e` (e.kernels launches per call) into `slot`.
  void add(const Estimate& e, int64_t calls, double LatencyBreakdown::*slot) {
    const double floor = out_.launch_us * e.kernels;
    const double per_call = std::max(e.value, floor);
    const auto n = static_cast<double>(calls);
    out_.*slot += per_call * n;
    out_.launch_bound_us += (per_call - e.value) * n;
    out_.kernels += calls * e.kernels;
    if (e.extrapolated) {
      out_.extrapolated = true;
      if (std::find(out_.notes.begin(), out_.notes.end(), e.note) == out_.notes.end()) out_.notes.push_back(e.note);
    }
  }

  /// `calls` calls of an element-wise kernel that moves `values` values: a bandwidth estimate.
  void add_elementwise(double values, int64_t calls) {
    add(Estimate{values * bytes_per_value_ / bandwidth_ * 1e6, false, ""}, calls, &LatencyBreakdown::elementwise_us);
  }

  LatencyBreakdown& out() { return out_; }

 private:
  double bytes_per_value_, bandwidth_;
  LatencyBreakdown out_;
};

/// Every kernel of `s` but attention, for `rows` tokens through the layers and `head_rows` tokens
/// through the final norm and the LM head. Per layer: RMSNorm, QKV GEMM, RoPE on q and k, KV
/// append, O GEMM, residual add, RMSNorm, gate and up GEMMs (the tuner times them apart, as two
/// (tokens, d_ff, d) products: autotune::model_gemms) or the up GEMM alone without a gate, the
/// activation, down GEMM, residual add. Once: the embedding lookup, final norm and LM head.
Status add_non_attention(const MeasuredCosts& mc, const ModelShape& s, int64_t rows, int64_t head_rows,
                         StepBuilder& b) {
  const int64_t q_width = s.n_heads * s.head_dim;
  const int64_t kv_width = s.n_kv_heads * s.head_dim;
  const double m = static_cast<double>(rows);
  const double d = static_cast<double>(s.hidden);
  const bool gated = s.ffn_matrices == 3;
  auto gemm = [&](int64_t m_rows, int64_t n, int64_t k, int64_t calls) -> Status {
    GQF_ASSIGN_OR_RETURN(Estimate e, mc.gemm_us(m_rows, n, k));
    b.add(e, calls, &LatencyBreakdown::linear_us);
    return ok_status();
  };
  const int64_t layers = s.layers;
  // Element-wise work in values moved: a norm reads and writes d per token, a residual add reads
  // two and writes one, RoPE reads and writes q and k, the append writes k and v of the step.
  b.add_elementwise(2 * m * d, 2 * layers);
  GQF_RETURN_IF_ERROR(gemm(rows, q_width + 2 * kv_width, s.hidden, layers));
  b.add_elementwise(2 * m * static_cast<double>(q_width + kv_width), layers);
  b.add_elementwise(2 * m * static_cast<double>(kv_width), layers);
  GQF_RETURN_IF_ERROR(gemm(rows, s.hidden, q_width, layers));
  b.add_elementwise(3 * m * d, 2 * layers);
  GQF_RETURN_IF_ERROR(gemm(rows, s.ffn, s.hidden, (gated ? 2 : 1) * layers));
  b.add_elementwise((gated ? 3.0 : 2.0) * m * static_cast<double>(s.ffn), layers);
  GQF_RETURN_IF_ERROR(gemm(rows, s.hidden, s.ffn, layers));
  b.add_elementwise(m * d, 1);                                   // embedding lookup
  b.add_elementwise(2 * static_cast<double>(head_rows) * d, 1);  // final norm
  return gemm(head_rows, s.vocab, s.hidden, 1);
}

}  // namespace

double PromptEstimate::tokens_per_s() const {
  const double us = time.total_us();
  return us > 0 ? static_cast<double>(batch) * static_cast<double>(tokens) / (us * 1e-6) : 0.0;
}

std::vector<int64_t> MeasuredCosts::decode_batches(int64_t n_heads, int64_t n_kv_heads, int64_t head_dim) const {
  auto it = decode_.find({n_heads, n_kv_heads, head_dim});
  return it == decode_.end() ? std::vector<int64_t>{} : it->second.batches;
}

Result<LatencyBreakdown> MeasuredCosts::token_latency(const ModelShape& s, int64_t batch, int64_t context) const {
  GQF_RETURN_IF_ERROR(s.validate());
  if (batch <= 0) return invalid_argument("batch {} must be positive", batch);
  if (context <= 0) return invalid_argument("context {} must be positive", context);
  StepBuilder b(settings_.launch_us, settings_.bytes_per_value, settings_.elementwise_bandwidth);
  GQF_ASSIGN_OR_RETURN(Estimate att, decode_us(s.n_heads, s.n_kv_heads, s.head_dim, batch, context));
  b.add(att, s.layers, &LatencyBreakdown::attention_us);
  GQF_RETURN_IF_ERROR(add_non_attention(*this, s, batch, batch, b));
  return b.out();
}

Result<PromptEstimate> MeasuredCosts::prompt_latency(const ModelShape& s, int64_t batch, int64_t tokens) const {
  GQF_RETURN_IF_ERROR(s.validate());
  if (batch <= 0) return invalid_argument("batch {} must be positive", batch);
  if (tokens <= 0) return invalid_argument("prompt length {} must be positive", tokens);
  StepBuilder b(settings_.launch_us, settings_.bytes_per_value, settings_.elementwise_bandwidth);
  GQF_ASSIGN_OR_RETURN(Estimate att, prefill_us(s.n_heads, s.n_kv_heads, s.head_dim, batch, tokens, true));
  b.add(att, s.layers, &LatencyBreakdown::attention_us);
  GQF_RETURN_IF_ERROR(add_non_attention(*this, s, batch * tokens, batch, b));
  PromptEstimate p;
  p.batch = batch;
  p.tokens = tokens;
  p.time = std::move(b.out());
  return p;
}

Result<ThroughputEstimate> MeasuredCosts::throughput(const ModelShape& s, int64_t context) const {
  GQF_RETURN_IF_ERROR(s.validate());
  const double bpv = settings_.bytes_per_value;
  double weights = static_cast<double>(s.total_params()) * bpv;
  double kv_per_seq = 2.0 * static_cast<double>(context) * static_cast<double>(s.layers) *
                      static_cast<double>(s.n_kv_heads) * static_cast<double>(s.head_dim) * bpv;
  double budget = settings_.gpu_memory_bytes * settings_.memory_headroom - weights;
  if (budget < kv_per_seq) {
    return resource_exhausted(
        "{} does not fit one sequence of {} tokens: weights {:.1f} GB + KV cache {:.1f} GB "
        "exceed {:.1f} GB usable",
        s.describe(), context, weights / 1e9, kv_per_seq / 1e9,
        settings_.gpu_memory_bytes * settings_.memory_headroom / 1e9);
  }
  auto batch = static_cast<int64_t>(std::floor(budget / kv_per_seq));
  batch = std::min(batch, settings_.max_batch);
  ThroughputEstimate t;
  t.batch = batch;
  GQF_ASSIGN_OR_RETURN(t.step, token_latency(s, batch, context));
  t.tokens_per_s = static_cast<double>(batch) / (t.step.total_us() * 1e-6);

  const std::vector<int64_t> measured = decode_batches(s.n_heads, s.n_kv_heads, s.head_dim);
  const std::string heads = fmt::format("({},{}) d_h {}", s.n_heads, s.n_kv_heads, s.head_dim);
  if (measured.empty()) {
    t.note = fmt::format("no decode batch of {} was measured: batch {} rests on the pooled fit", heads, batch);
    return t;
  }
  t.measured_batch_min = measured.front();
  t.measured_batch_max = measured.back();
  if (batch > measured.back()) {
    t.beyond_measured_batches = true;
    t.note = fmt::format("batch {} is beyond the measured batches ({}..{}) of {}", batch, measured.front(),
                         measured.back(), heads);
    t.step.extrapolated = true;
    t.step.notes.push_back(t.note);
  } else if (batch < measured.front()) {
    t.note = fmt::format("batch {} is below the measured batches ({}..{}) of {}", batch, measured.front(),
                         measured.back(), heads);
  }
  auto at_or_below = std::upper_bound(measured.begin(), measured.end(), batch);
  if (at_or_below == measured.begin()) return t;
  const int64_t floor_batch = *std::prev(at_or_below);
  if (floor_batch == batch) {
    t.floor = ThroughputFloor{batch, t.tokens_per_s, t.step.extrapolated};
    return t;
  }
  GQF_ASSIGN_OR_RETURN(LatencyBreakdown at_floor, token_latency(s, floor_batch, context));
  t.floor = ThroughputFloor{floor_batch, static_cast<double>(floor_batch) / (at_floor.total_us() * 1e-6),
                            at_floor.extrapolated};
  return t;
}

}  // namespace gqaforge::costmodel
