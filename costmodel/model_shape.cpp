// ModelShape parameter counting and validation.
#include "costmodel/model_shape.h"

#include <algorithm>

#include "core/strings.h"

namespace gqaforge::costmodel {

Status ModelShape::validate() const {
  auto positive = [](const char* field, int64_t v) -> Status {
    if (v <= 0) return invalid_argument("{} must be positive, got {}", field, v);
    return ok_status();
  };
  GQF_RETURN_IF_ERROR(positive("layers", layers));
  GQF_RETURN_IF_ERROR(positive("hidden size", hidden));
  GQF_RETURN_IF_ERROR(positive("query heads", n_heads));
  GQF_RETURN_IF_ERROR(positive("kv heads", n_kv_heads));
  GQF_RETURN_IF_ERROR(positive("head dim", head_dim));
  GQF_RETURN_IF_ERROR(positive("ffn size", ffn));
  GQF_RETURN_IF_ERROR(positive("vocabulary size", vocab));
  if (n_heads % n_kv_heads != 0) {
    return invalid_argument("kv heads {} must divide query heads {}", n_kv_heads, n_heads);
  }
  if (ffn_matrices != 2 && ffn_matrices != 3) {
    return invalid_argument("ffn matrix count must be 2 or 3, got {}", ffn_matrices);
  }
  return ok_status();
}

int64_t ModelShape::params_per_layer() const {
  int64_t q = hidden * n_heads * head_dim;
  int64_t kv = 2 * hidden * n_kv_heads * head_dim;
  int64_t o = n_heads * head_dim * hidden;
  int64_t bias = qkv_bias ? (n_heads + 2 * n_kv_heads) * head_dim : 0;
  int64_t mlp = static_cast<int64_t>(ffn_matrices) * hidden * ffn;
  int64_t norms = count_norms ? 2 * hidden : 0;
  return q + kv + o + bias + mlp + norms;
}

int64_t ModelShape::non_embedding_params() const {
  return layers * params_per_layer() + (count_norms ? hidden : 0);
}

int64_t ModelShape::embedding_params() const {
  return (tied_embeddings ? 1 : 2) * vocab * hidden;
}

int64_t ModelShape::total_params() const {
  return non_embedding_params() + embedding_params();
}

std::string ModelShape::describe() const {
  return fmt::format("L={} d={} H=({},{}) d_h={} d_ff={} V={} {}{}", layers, hidden, n_heads, n_kv_heads, head_dim, ffn,
                     vocab, tied_embeddings ? "tied" : "untied", ffn_matrices == 3 ? "" : " 2-matrix-ffn");
}

int64_t paper_ffn_size(int64_t hidden, int64_t multiple) {
  // The multiple k*m closest to 8d/3 (App. D), halves rounded up, in integers:
  // k = floor(8d / (3m) + 1/2) = floor((16d + 3m) / (6m)).
  const int64_t k = (16 * hidden + 3 * multiple) / (6 * multiple);
  return std::max<int64_t>(1, k) * multiple;
}

Status parse_head_pair(const std::string& text, int64_t& n_heads, int64_t& n_kv_heads) {
  auto parts = split(text, ':');
  if (parts.size() != 2) {
    return invalid_argument("heads '{}' must be QUERY:KV, e.g. 32:8", text);
  }
  auto h = parse_int(parts[0]);
  auto kv = parse_int(parts[1]);
  if (!h.ok() || !kv.ok() || *h <= 0 || *kv <= 0) {
    return invalid_argument("heads '{}' must be two positive integers QUERY:KV, e.g. 32:8", text);
  }
  if (*h % *kv != 0) {
    return invalid_argument("heads '{}': kv heads {} must divide query heads {}", text, *kv, *h);
  }
  n_heads = *h;
  n_kv_heads = *kv;
  return ok_status();
}

}  // namespace gqaforge::costmodel
