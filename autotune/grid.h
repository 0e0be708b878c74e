// The problems of a tune: the Cartesian product of lists of phases, head configurations, head
// dims, masks, batch sizes and lengths, or with `buckets` the representatives of the
// batch/kv-len buckets (buckets.h) that cover the lists' values.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "codegen/problem.h"
#include "core/status.h"

namespace gqaforge::autotune {

struct ProblemGrid {
  std::vector<codegen::Phase> phases;
  std::vector<std::pair<int, int>> heads;  // query, KV
  std::vector<int64_t> head_dims;
  codegen::DType dtype = codegen::DType::kBF16;
  std::vector<int64_t> batches, kv_lens;
  std::optional<std::vector<int64_t>> q_lens;  // none: 1 for decode, q_len = kv_len for prefill
  std::vector<bool> causal = {true};           // prefill masks (decode is always causal)
  bool buckets = false;                        // bucket representatives instead of the values
};

/// The grid's problems in order, each once; fails naming the first invalid problem. The
/// batch and kv-len lists must not be empty.
Result<std::vector<codegen::AttentionProblem>> grid_problems(const ProblemGrid& grid);

}  // namespace gqaforge::autotune
