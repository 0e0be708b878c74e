// Shape buckets.
#include "autotune/buckets.h"

#include <cassert>

#include <fmt/format.h>

namespace gqaforge::autotune {

using codegen::AttentionProblem;

namespace {

/// Index of the bucket holding `v`, clamped to the nearest end; `outside` is set when clamped.
size_t locate(const std::vector<Bucket>& buckets, int64_t v, bool* outside) {
  assert(!buckets.empty());
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i].contains(v)) return i;
  }
  *outside = true;
  if (v < buckets.front().lo) return 0;
  if (v > buckets.back().hi) return buckets.size() - 1;
  // In a gap between tuned buckets: the nearer one (by ratio, lengths scale geometrically).
  for (size_t i = 0; i + 1 < buckets.size(); ++i) {
    if (v > buckets[i].hi && v < buckets[i + 1].lo) {
      const double below = double(v) / double(buckets[i].hi), above = double(buckets[i + 1].lo) / double(v);
      return below <= above ? i : i + 1;
    }
  }
  return buckets.size() - 1;
}

}  // namespace

std::string Bucket::label() const {
  return lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi);
}

std::vector<Bucket> batch_buckets(int64_t max_batch) {
  std::vector<Bucket> out{{1, 1, 1}};
  for (int64_t hi = 4; out.back().hi < max_batch; hi *= 4) out.push_back({out.back().hi + 1, hi, hi});
  return out;
}

std::vector<Bucket> length_buckets(int64_t min_len, int64_t max_len, int factor) {
  assert(factor >= 2);
  int64_t edge = 1;
  while (edge < min_len) edge *= factor;
  std::vector<Bucket> out{{1, edge, edge}};
  while (out.back().hi < max_len) {
    const int64_t hi = out.back().hi * factor;
    out.push_back({out.back().hi + 1, hi, hi});
  }
  return out;
}

std::vector<Bucket> buckets_covering(const std::vector<Bucket>& all, const std::vector<int64_t>& values) {
  std::vector<Bucket> out;
  for (const Bucket& b : all) {
    for (int64_t v : values) {
      if (b.contains(v)) {
        out.push_back(b);
        break;
      }
    }
  }
  return out;
}

std::vector<AttentionProblem> BucketTable::representatives(const AttentionProblem& base) const {
  std::vector<AttentionProblem> out;
  const bool decode = base.phase == codegen::Phase::kDecode;
  const std::vector<Bucket> q_single{{base.q_len, base.q_len, base.q_len}};
  for (const Bucket& b : batch_) {
    for (const Bucket& q : decode || q_.empty() ? q_single : q_) {
      for (const Bucket& kv : kv_) {
        AttentionProblem p = base;
        p.batch = b.representative;
        p.q_len = q.representative;
        p.kv_len = kv.representative;
        out.push_back(p);
      }
    }
  }
  return out;
}

BucketMatch BucketTable::bucket_for(const AttentionProblem& problem) const {
  BucketMatch m;
  m.representative = problem;
  auto place = [&](const std::vector<Bucket>& buckets, int64_t v, const char* dim, size_t* index, int64_t* rep) {
    bool outside = false;
    *index = locate(buckets, v, &outside);
    *rep = buckets[*index].representative;
    if (outside) {
      m.extrapolating = true;
      if (!m.note.empty()) m.note += "; ";
      m.note += fmt::format("{} {} outside the tuned {}..{}", dim, v, buckets.front().lo, buckets.back().hi);
    }
  };
  place(batch_, problem.batch, "batch", &m.batch_index, &m.representative.batch);
  if (problem.phase == codegen::Phase::kPrefill && !q_.empty()) {
    place(q_, problem.q_len, "q_len", &m.q_index, &m.representative.q_len);
  }
  place(kv_, problem.kv_len, "kv_len", &m.kv_index, &m.representative.kv_len);
  return m;
}

}  // namespace gqaforge::autotune
