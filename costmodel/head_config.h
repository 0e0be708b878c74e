// HeadConfig: one grouped-query attention head configuration H = (n_h, n_kv), and the
// paper's candidate set (powers of two, n_kv <= n_h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gqaforge::costmodel {

struct HeadConfig {
  int64_t n_heads = 0;     // n_h, query heads
  int64_t n_kv_heads = 0;  // n_kv, key/value heads

  friend bool operator==(const HeadConfig&, const HeadConfig&) = default;
  friend auto operator<=>(const HeadConfig&, const HeadConfig&) = default;

  /// "(32,8)".
  std::string to_string() const;
};

/// Candidates of Sec. 4.1: n_h, n_kv in {1, 2, 4, ..., max_heads} with n_kv <= n_h, sorted by
/// (n_h, n_kv). max_heads is rounded up to a power of two; 32 gives the paper's 21 pairs.
std::vector<HeadConfig> candidate_heads(int64_t max_heads);

}  // namespace gqaforge::costmodel
