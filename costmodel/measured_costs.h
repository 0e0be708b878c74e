// MeasuredCosts: empirical costs built from tuning-database rows (status ok). It models
//  - decode attention time per (n_h, n_kv, d_h): piecewise-linear in (log bytes, log time)
//    between measured points, affine time = a + b * bytes beyond them (flagged), and a pooled
//    fit over all head configurations of the head size when a configuration was never tuned;
//  - GEMM time (family "linear"): exact point, else log-log interpolation in m at the same
//    (n, k), else a roofline fit time = a + max(flops / F, bytes / B) (flagged);
// and composes them into a per-token decode latency of a whole model and a tokens/s figure.
#pragma once

#include <cstdint>
#include <map>
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
};

/// Settings of the composition into model-level numbers.
struct MeasuredSettings {
  double elementwise_bandwidth = 3.0e12;  // bytes/s assumed for norms, activations, residuals
  double bytes_per_value = 2;             // bf16
  double gpu_memory_bytes = 141e9;        // capacity for the throughput objective (H200)
  double memory_headroom = 0.9;           // fraction of capacity usable by weights + KV cache
  int64_t max_batch = 4096;               // largest batch the throughput search considers
};

/// Per-token decode latency of a model, with its parts.
struct LatencyBreakdown {
  double attention_us = 0;    // all layers
  double linear_us = 0;       // QKV, O, FFN, LM head
  double elementwise_us = 0;  // norms, activation, residuals, RoPE (bandwidth estimate)
  bool extrapolated = false;
  std::vector<std::string> notes;

  double total_us() const { return attention_us + linear_us + elementwise_us; }
};

/// Tokens/s per GPU at the largest batch that fits.
struct ThroughputEstimate {
  double tokens_per_s = 0;
  int64_t batch = 0;
  LatencyBreakdown step;  // at that batch
};

class MeasuredCosts {
 public:
  /// Builds the models from measurement rows; rows that are not ok, or not decode/linear,
  /// are ignored. Fails when no usable row remains.
  static Result<MeasuredCosts> build(const std::vector<MeasurementRecord>& rows, const MeasuredSettings& settings = {});

  /// Decode attention time (microseconds) for one call at (batch, kv_len).
  Result<Estimate> decode_us(int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t batch,
                             int64_t kv_len) const;
  /// GEMM time (microseconds) for an m x n x k product (m = tokens).
  Result<Estimate> gemm_us(int64_t m, int64_t n, int64_t k) const;

  /// One decode step of `shape` for `batch` sequences at context `context`.
  Result<LatencyBreakdown> token_latency(const ModelShape& shape, int64_t batch, int64_t context) const;
  /// Throughput at context T with the largest batch whose weights + KV cache fit.
  Result<ThroughputEstimate> throughput(const ModelShape& shape, int64_t context) const;

  const MeasuredSettings& settings() const { return settings_; }
  size_t decode_point_count() const;
  size_t gemm_point_count() const { return gemm_.size(); }
  /// Head configurations (n_h, n_kv, d_h) with decode measurements.
  std::vector<std::tuple<int64_t, int64_t, int64_t>> decode_configs() const;

 private:
  struct DecodePoint {
    double bytes = 0;  // KV bytes read by the call
    double us = 0;
  };
  struct DecodeGroup {
    std::vector<DecodePoint> points;  // sorted by bytes, one per distinct bytes (min time)
    double a = 0, b = 0;              // affine fit us = a + b * bytes
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

  MeasuredSettings settings_;
  std::map<std::tuple<int64_t, int64_t, int64_t>, DecodeGroup> decode_;
  std::map<int64_t, PooledDecode> pooled_;
  std::vector<GemmPoint> gemm_;
  double roof_a_ = 0, roof_flops_ = 0, roof_bw_ = 0;  // roofline fit (us, FLOP/us, bytes/us)
  bool roof_valid_ = false;
};

}  // namespace gqaforge::costmodel
