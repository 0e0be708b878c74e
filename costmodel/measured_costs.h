// MeasuredCosts: empirical costs built from tuning-database rows (status ok). It models
//  - decode attention time per (n_h, n_kv, d_h): piecewise-linear in (log bytes, log time)
//    between measured points, affine time = a + b * bytes beyond them (flagged), and a pooled
//    fit over all head configurations of the head size when a configuration was never tuned;
//  - prefill attention time per (n_h, n_kv, d_h), causal and non-causal apart: log-log in the
//    call's attention FLOPs between measured points, scaled by FLOPs beyond them (flagged), and
//    a pooled log-log fit over the head size's configurations for one never tuned (flagged);
//  - GEMM time (family "linear"): exact point, else log-log interpolation in m at the same
//    (n, k), else a roofline fit time = a + max(flops / F, bytes / B), scaled through the
//    nearest tuned m of the same (n, k) when there is one (flagged outside the tuned range);
// and composes them, kernel by kernel with a launch floor, into the latency of one decode step
// and of a whole prompt (prefill), and a decode tokens/s figure (measured_compose.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "records/records.h"
#include "core/status.h"
#include "costmodel/model_shape.h"

namespace gqaforge::costmodel {

/// An estimate and whether it left the measured range.
struct Estimate {
  double value = 0;
  bool extrapolated = false;
  std::string note;  // why it is extrapolated ("" when interpolated)
  int kernels = 1;   // launches behind `value` (2: split-KV decode with a separate combine kernel)
};

/// Settings of the composition into model-level numbers.
struct MeasuredSettings {
  double elementwise_bandwidth = 3.0e12;  // bytes/s assumed for norms, activations, residuals
  double bytes_per_value = 2;             // bf16
  double gpu_memory_bytes = 141e9;        // capacity for the throughput objective (H200)
  double memory_headroom = 0.9;           // fraction of capacity usable by weights + KV cache
  int64_t max_batch = 4096;               // largest batch the throughput search considers
  /// Host time per kernel launch: no kernel of a step finishes sooner than launches arrive, so
  /// each costs max(its time, launch_us). 3.2 us is the driver's cuLaunchKernel floor measured
  /// on the H200 (bench/RESULTS.md, run 19); 0 models CUDA-graph replay.
  double launch_us = 3.2;
};

/// The time of one decode step or one prompt of a model, with its parts. Every kernel counts
/// max(its time, launch_us); the parts include that floor.
struct LatencyBreakdown {
  double attention_us = 0;     // all layers
  double linear_us = 0;        // QKV, O, FFN, LM head
  double elementwise_us = 0;   // embedding, norms, RoPE, KV append, residuals, activation (bandwidth estimate)
  int64_t kernels = 0;         // kernel launches
  double launch_us = 0;        // the per-launch floor used (MeasuredSettings::launch_us)
  double launch_bound_us = 0;  // of the total, what the floor added to kernels shorter than it
  bool extrapolated = false;
  std::vector<std::string> notes;

  double total_us() const { return attention_us + linear_us + elementwise_us; }
};

/// The time to process a T-token prompt for `batch` sequences (prefill, up to the first token).
struct PromptEstimate {
  int64_t batch = 0;
  int64_t tokens = 0;  // T, per sequence
  LatencyBreakdown time;

  /// batch * T / time.
  double tokens_per_s() const;
};

/// Tokens/s at a batch whose decode attention was measured: a floor of the throughput at any
/// larger batch (throughput rises with the batch).
struct ThroughputFloor {
  int64_t batch = 0;
  double tokens_per_s = 0;
  bool extrapolated = false;  // parts other than the batch left the measured range (e.g. GEMM shapes)
};

/// Tokens/s per GPU at the largest batch that fits (capped by MeasuredSettings::max_batch).
struct ThroughputEstimate {
  double tokens_per_s = 0;
  int64_t batch = 0;
  LatencyBreakdown step;  // at that batch
  /// Decode batches measured for the configuration (0, 0 when it was never tuned for decode).
  int64_t measured_batch_min = 0, measured_batch_max = 0;
  /// `batch` exceeds measured_batch_max: the estimate extrapolates in the batch (`note` says so,
  /// and step.extrapolated is set).
  bool beyond_measured_batches = false;
  std::string note;
  /// Tokens/s at the largest measured batch <= `batch`; absent when no batch was measured.
  std::optional<ThroughputFloor> floor;
};

/// Attention FLOPs of one prefill call: 4 * batch * n_h * d_h per (query, key) pair, over
/// q_len * kv_len pairs, or the q_len * kv_len - q_len * (q_len - 1) / 2 pairs a bottom-right
/// causal mask keeps (about half when q_len = kv_len).
double prefill_attention_flops(int64_t n_heads, int64_t head_dim, int64_t batch, int64_t q_len, int64_t kv_len,
                               bool causal);

namespace detail {
/// y at x on the straight line through (x0, y0) and (x1, y1) in (log x, log y): the
/// interpolation between two measured points of every kernel model here.
double log_interp(double x, double x0, double y0, double x1, double y1);
}  // namespace detail

class MeasuredCosts {
 public:
  /// Builds the models from measurement rows; rows that are not ok, or not decode, prefill or
  /// linear, are ignored. Fails when no usable row remains.
  static Result<MeasuredCosts> build(const std::vector<MeasurementRecord>& rows, const MeasuredSettings& settings = {});

  /// Decode attention time (microseconds) for one call at (batch, kv_len).
  Result<Estimate> decode_us(int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t batch,
                             int64_t kv_len) const;
  /// Prefill attention time (microseconds) for one call: `batch` sequences of `tokens` queries
  /// over as many keys.
  Result<Estimate> prefill_us(int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t batch, int64_t tokens,
                              bool causal) const;
  /// GEMM time (microseconds) for an m x n x k product (m = tokens).
  Result<Estimate> gemm_us(int64_t m, int64_t n, int64_t k) const;

  /// One decode step of `shape` for `batch` sequences at context `context`.
  Result<LatencyBreakdown> token_latency(const ModelShape& shape, int64_t batch, int64_t context) const;
  /// A causal prompt of `tokens` tokens for `batch` sequences: every layer over batch * tokens
  /// rows, the LM head over the last token of each sequence.
  Result<PromptEstimate> prompt_latency(const ModelShape& shape, int64_t batch, int64_t tokens) const;
  /// Throughput at context T with the largest batch whose weights + KV cache fit.
  Result<ThroughputEstimate> throughput(const ModelShape& shape, int64_t context) const;

  const MeasuredSettings& settings() const { return settings_; }
  size_t decode_point_count() const;
  size_t gemm_point_count() const { return gemm_.size(); }
  size_t prefill_point_count() const;
  /// Head configurations (n_h, n_kv, d_h) with decode measurements.
  std::vector<std::tuple<int64_t, int64_t, int64_t>> decode_configs() const;
  /// Decode batches measured for a head configuration, ascending (empty when never tuned).
  std::vector<int64_t> decode_batches(int64_t n_heads, int64_t n_kv_heads, int64_t head_dim) const;

 private:
  struct DecodePoint {
    double bytes = 0;  // KV bytes read by the call
    double us = 0;
    int kernels = 1;  // launches of the fastest variant
  };
  struct DecodeGroup {
    std::vector<DecodePoint> points;  // sorted by bytes, one per distinct bytes (min time)
    std::vector<int64_t> batches;     // measured batches, ascending
    double a = 0, b = 0;              // affine fit us = a + b * bytes
  };
  struct PrefillPoint {
    double flops = 0;  // attention FLOPs of the call
    double us = 0;
    int64_t batch = 0, q_len = 0;  // one call that was measured at these FLOPs (for notes)
  };
  using PrefillKey = std::tuple<int64_t, int64_t, int64_t, bool>;  // n_h, n_kv, d_h, causal
  struct PooledPrefill {  // log us = c0 + c1 * log flops over the measured FLOPs [lo, hi]
    double c0 = 0, c1 = 0, lo = 0, hi = 0;
  };
  struct GemmPoint {
    int64_t m = 0, n = 0, k = 0;
    double us = 0;
  };
  struct PooledDecode {  // us = c0 + c1 * bytes + c2 * flops, per head_dim
    double c0 = 0, c1 = 0, c2 = 0;
    bool valid = false;
  };

  double kv_bytes(int64_t n_kv_heads, int64_t head_dim, int64_t batch, int64_t kv_len) const;
  /// Fills prefill_ and pooled_prefill_ from the distinct points (measured_prefill.cpp).
  void build_prefill(const std::map<PrefillKey, std::map<double, PrefillPoint>>& raw);

  MeasuredSettings settings_;
  std::map<std::tuple<int64_t, int64_t, int64_t>, DecodeGroup> decode_;
  std::map<int64_t, PooledDecode> pooled_;
  std::map<PrefillKey, std::vector<PrefillPoint>> prefill_;           // sorted by flops
  std::map<std::pair<int64_t, bool>, PooledPrefill> pooled_prefill_;  // by (d_h, causal)
  std::vector<GemmPoint> gemm_;
  double roof_a_ = 0, roof_flops_ = 0, roof_bw_ = 0;  // roofline fit (us, FLOP/us, bytes/us)
  double roof_us(double m, double n, double k) const;
  bool roof_valid_ = false;
};

}  // namespace gqaforge::costmodel
