// HeadConfig formatting and the candidate set.
#include "costmodel/head_config.h"

#include <fmt/format.h>

namespace gqaforge::costmodel {

std::string HeadConfig::to_string() const {
  return fmt::format("({},{})", n_heads, n_kv_heads);
}

std::vector<HeadConfig> candidate_heads(int64_t max_heads) {
  int64_t top = 1;
  while (top < max_heads) top *= 2;
  std::vector<HeadConfig> out;
  for (int64_t h = 1; h <= top; h *= 2) {
    for (int64_t kv = 1; kv <= h; kv *= 2) out.push_back({h, kv});
  }
  return out;
}

}  // namespace gqaforge::costmodel
