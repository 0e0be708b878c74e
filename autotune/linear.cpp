// Linear-layer GEMM shapes.
#include "autotune/linear.h"

#include <map>
#include <tuple>

#include "core/sha256.h"
#include "core/strings.h"

namespace gqaforge::autotune {

std::vector<GemmShape> model_gemms(const LinearDims& d, int64_t tokens) {
  return {
      {"qkv", tokens, d.q_width + 2 * d.kv_width, d.hidden},
      {"o", tokens, d.hidden, d.q_width},
      {"gate/up", tokens, d.ffn, d.hidden},
      {"down", tokens, d.hidden, d.ffn},
      {"lm_head", tokens, d.vocab, d.hidden},
  };
}

Result<std::vector<GemmShape>> parse_gemm_list(const std::string& text) {
  std::vector<GemmShape> out;
  for (const std::string& raw : split(text, ',')) {
    const std::string item = trim(raw);
    if (item.empty()) continue;
    const std::vector<std::string> parts = split(to_lower(item), 'x');
    if (parts.size() != 3) return invalid_argument("gemm '{}' is not MxNxK", item);
    int64_t dims[3];
    for (int i = 0; i < 3; ++i) {
      auto v = parse_count(parts[static_cast<size_t>(i)]);
      if (!v.ok() || *v <= 0)
        return invalid_argument("gemm '{}': '{}' is not a positive count", item, parts[static_cast<size_t>(i)]);
      dims[i] = *v;
    }
    out.push_back({"", dims[0], dims[1], dims[2]});
  }
  if (out.empty()) return invalid_argument("gemm list '{}' is empty", text);
  return out;
}

std::vector<GemmShape> unique_gemms(const std::vector<GemmShape>& shapes) {
  std::vector<GemmShape> out;
  std::map<std::tuple<int64_t, int64_t, int64_t>, size_t> index;
  for (const GemmShape& s : shapes) {
    auto key = std::make_tuple(s.m, s.n, s.k);
    if (auto it = index.find(key); it != index.end()) {
      GemmShape& kept = out[it->second];
      if (!s.name.empty() && kept.name.find(s.name) == std::string::npos) {
        kept.name += kept.name.empty() ? s.name : "+" + s.name;
      }
      continue;
    }
    index[key] = out.size();
    out.push_back(s);
  }
  return out;
}

ProblemRecord linear_problem_record(const GemmShape& s) {
  ProblemRecord r;
  r.family = "linear";
  r.dtype = "bf16";
  r.gemm_m = s.m;
  r.gemm_n = s.n;
  r.gemm_k = s.k;
  return r;
}

std::string linear_kernel_key(const GemmShape& s, const std::string& env_key) {
  return sha256_hex(fmt::format("cublaslt bf16 tn v1\nenv={}\nm={}\nn={}\nk={}\n", env_key, s.m, s.n, s.k));
}

double gemm_flops(const GemmShape& s) {
  return 2.0 * double(s.m) * double(s.n) * double(s.k);
}

}  // namespace gqaforge::autotune
