// The tune grid.
#include "autotune/grid.h"

#include <algorithm>
#include <set>
#include <string>

#include "autotune/buckets.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;
using codegen::Phase;

namespace {

/// The dynamic points of one static problem. A q_len of 0 in `qs` stands for q_len = kv_len.
std::vector<AttentionProblem> dynamic_points(const ProblemGrid& grid, const AttentionProblem& base,
                                             const std::vector<int64_t>& qs) {
  const std::vector<int64_t>& batches = grid.batches;
  const std::vector<int64_t>& kv_lens = grid.kv_lens;
  std::vector<AttentionProblem> out;
  if (grid.buckets) {
    const int64_t max_b = *std::max_element(batches.begin(), batches.end());
    const int64_t min_kv = *std::min_element(kv_lens.begin(), kv_lens.end());
    const int64_t max_kv = *std::max_element(kv_lens.begin(), kv_lens.end());
    BucketTable table(buckets_covering(batch_buckets(max_b), batches), {},
                      buckets_covering(length_buckets(min_kv, max_kv, 4), kv_lens));
    for (int64_t ql : qs) {
      AttentionProblem b = base;
      b.q_len = ql == 0 ? 1 : ql;
      for (AttentionProblem r : table.representatives(b)) {
        if (ql == 0) r.q_len = r.kv_len;
        out.push_back(r);
      }
    }
    return out;
  }
  for (int64_t b : batches) {
    for (int64_t ql : qs) {
      for (int64_t kvl : kv_lens) {
        AttentionProblem r = base;
        r.batch = b;
        r.kv_len = kvl;
        r.q_len = ql == 0 ? kvl : ql;
        out.push_back(r);
      }
    }
  }
  return out;
}

}  // namespace

Result<std::vector<AttentionProblem>> grid_problems(const ProblemGrid& grid) {
  std::vector<AttentionProblem> problems;
  std::set<std::string> seen;
  for (Phase phase : grid.phases) {
    for (auto [q, kv] : grid.heads) {
      for (int64_t d : grid.head_dims) {
        for (bool causal : grid.causal) {
          AttentionProblem base;
          base.phase = phase;
          base.n_q_heads = q;
          base.n_kv_heads = kv;
          base.head_dim = static_cast<int>(d);
          base.dtype = grid.dtype;
          base.causal = phase == Phase::kDecode || causal;
          const std::vector<int64_t> qs =
              grid.q_lens ? *grid.q_lens : std::vector<int64_t>{phase == Phase::kDecode ? 1 : 0};
          for (const AttentionProblem& r : dynamic_points(grid, base, qs)) {
            Status s = r.validate();
            if (!s.ok()) return invalid_argument("problem '{}': {}", r.name(), s.message());
            if (seen.insert(r.name()).second) problems.push_back(r);
          }
        }
      }
    }
  }
  return problems;
}

}  // namespace gqaforge::autotune
