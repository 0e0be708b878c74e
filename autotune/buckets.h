// Shape buckets for the dynamic dims. A kernel is tuned at one representative point per
// bucket (the bucket's upper edge: its longest, most demanding shape); at run time
// bucket_for() maps any shape to the bucket whose tuned entry serves it, and says when the
// shape lies outside every tuned range (the entry is then an extrapolation).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/problem.h"

namespace gqaforge::autotune {

/// An inclusive range [lo, hi] of one dynamic dim, tuned at `representative`.
struct Bucket {
  int64_t lo = 1;
  int64_t hi = 1;
  int64_t representative = 1;

  bool contains(int64_t v) const { return v >= lo && v <= hi; }
  /// "5-16" or "1".
  std::string label() const;
};

/// Batch buckets 1, 2-4, 5-16, 17-64, ... (powers of 4) up to the one holding `max_batch`.
std::vector<Bucket> batch_buckets(int64_t max_batch);
/// Length buckets by powers of `factor` (2 or 4): [min_len/factor+1 .. min_len], ... up to
/// the bucket holding `max_len`; the first bucket starts at 1. Lengths are token counts.
std::vector<Bucket> length_buckets(int64_t min_len, int64_t max_len, int factor = 4);
/// The buckets (from `all`) that hold at least one of `values`, in order.
std::vector<Bucket> buckets_covering(const std::vector<Bucket>& all, const std::vector<int64_t>& values);

/// Which tuned bucket serves a shape.
struct BucketMatch {
  size_t batch_index = 0;
  size_t q_index = 0;  // prefill only (0 for decode)
  size_t kv_index = 0;
  codegen::AttentionProblem representative;  // the tuned point that serves the shape
  bool extrapolating = false;                // some dim lies outside the tuned ranges
  std::string note;                          // which dim, e.g. "kv_len 300000 above the tuned 65537-262144"
};

/// The tuned buckets of one static problem (heads, head dim, dtype, phase, causal).
class BucketTable {
 public:
  /// `q` is ignored for decode (q_len is a static dim there); the lists must be non-empty.
  BucketTable(std::vector<Bucket> batch, std::vector<Bucket> q, std::vector<Bucket> kv)
      : batch_(std::move(batch)), q_(std::move(q)), kv_(std::move(kv)) {}

  /// The representative problems to tune for `base`'s static dims.
  std::vector<codegen::AttentionProblem> representatives(const codegen::AttentionProblem& base) const;
  /// The bucket of `problem`; a dim outside the tuned ranges maps to the nearest bucket and
  /// sets `extrapolating`.
  BucketMatch bucket_for(const codegen::AttentionProblem& problem) const;

  const std::vector<Bucket>& batch() const { return batch_; }
  const std::vector<Bucket>& q() const { return q_; }
  const std::vector<Bucket>& kv() const { return kv_; }

 private:
  std::vector<Bucket> batch_, q_, kv_;
};

}  // namespace gqaforge::autotune
