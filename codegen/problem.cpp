// AttentionProblem validation, naming and work counts.
#include "codegen/problem.h"

#include <algorithm>

#include "core/strings.h"

namespace gqaforge::codegen {

const char* phase_name(Phase p) {
  return p == Phase::kPrefill ? "prefill" : "decode";
}
const char* dtype_name(DType d) {
  return d == DType::kBF16 ? "bf16" : "fp16";
}

Result<Phase> parse_phase(const std::string& text) {
  if (text == "prefill") return Phase::kPrefill;
  if (text == "decode") return Phase::kDecode;
  return invalid_argument("unknown phase '{}' (expected prefill or decode)", text);
}

Result<DType> parse_dtype(const std::string& text) {
  std::string t = to_lower(text);
  if (t == "bf16" || t == "bfloat16") return DType::kBF16;
  if (t == "fp16" || t == "float16" || t == "half") return DType::kFP16;
  return invalid_argument("unknown dtype '{}' (expected bf16 or fp16)", text);
}

Status parse_heads(const std::string& text, int* n_q, int* n_kv) {
  auto parts = split(text, ':');
  if (parts.size() != 2) {
    return invalid_argument("heads '{}' must be QUERY:KV, e.g. 32:8", text);
  }
  auto q = parse_int(parts[0]);
  auto kv = parse_int(parts[1]);
  if (!q.ok() || !kv.ok() || *q <= 0 || *kv <= 0) {
    return invalid_argument("heads '{}' must be two positive integers QUERY:KV, e.g. 32:8", text);
  }
  if (*q > kMaxHeads || *kv > kMaxHeads) {
    return invalid_argument("heads '{}': gqaforge supports at most {} query heads and {} KV heads", text, kMaxHeads,
                            kMaxHeads);
  }
  if (*q % *kv != 0) {
    return invalid_argument("heads '{}': {} query heads are not divisible by {} KV heads", text, *q, *kv);
  }
  *n_q = static_cast<int>(*q);
  *n_kv = static_cast<int>(*kv);
  return ok_status();
}

AttentionProblem make_problem(Phase phase, int n_q_heads, int n_kv_heads, int head_dim, DType dtype, bool causal,
                              int64_t batch, int64_t q_len, int64_t kv_len) {
  AttentionProblem p;
  p.phase = phase;
  p.n_q_heads = n_q_heads;
  p.n_kv_heads = n_kv_heads;
  p.head_dim = head_dim;
  p.dtype = dtype;
  p.causal = causal;
  p.batch = batch;
  p.q_len = q_len;
  p.kv_len = kv_len;
  return p;
}

Status AttentionProblem::validate() const {
  if (n_q_heads <= 0 || n_kv_heads <= 0) {
    return invalid_argument("heads {}:{} must be positive", n_q_heads, n_kv_heads);
  }
  if (n_q_heads % n_kv_heads != 0) {
    return invalid_argument("heads {}:{}: query heads are not divisible by KV heads", n_q_heads, n_kv_heads);
  }
  if (std::find(std::begin(kSupportedHeadDims), std::end(kSupportedHeadDims), head_dim) ==
      std::end(kSupportedHeadDims)) {
    return invalid_argument("head dim {} is not supported (supported: 64, 96, 128, 256)", head_dim);
  }
  if (batch <= 0) return invalid_argument("batch {} must be at least 1", batch);
  if (q_len <= 0) return invalid_argument("q_len {} must be at least 1", q_len);
  if (kv_len <= 0) {
    return invalid_argument("kv_len {} must be at least 1 (an empty cache has nothing to attend to)", kv_len);
  }
  if (kv_len > (int64_t{1} << 30) || q_len > (int64_t{1} << 30) || batch > (int64_t{1} << 20)) {
    return invalid_argument("sizes batch={} q_len={} kv_len={} are out of range", batch, q_len, kv_len);
  }
  if (phase == Phase::kDecode && q_len > kMaxDecodeQLen) {
    return invalid_argument("decode q_len {} exceeds {} (use the prefill phase)", q_len, kMaxDecodeQLen);
  }
  return ok_status();
}

std::string AttentionProblem::static_key() const {
  std::string key = fmt::format("phase={};hq={};hkv={};d={};dtype={};causal={}", phase_name(phase), n_q_heads,
                                n_kv_heads, head_dim, dtype_name(dtype), causal ? 1 : 0);
  if (phase == Phase::kDecode) key += fmt::format(";q={}", q_len);
  return key;
}

std::string AttentionProblem::kernel_class() const {
  std::string key = fmt::format("phase={};g={};d={};dtype={};causal={}", phase_name(phase), group(), head_dim,
                                dtype_name(dtype), causal ? 1 : 0);
  if (phase == Phase::kDecode) key += fmt::format(";q={}", q_len);
  return key;
}

std::string AttentionProblem::name() const {
  return fmt::format("{} {}:{} d{} {}{} b{} q{} kv{}", phase_name(phase), n_q_heads, n_kv_heads, head_dim,
                     dtype_name(dtype), causal ? " causal" : "", batch, format_count(q_len), format_count(kv_len));
}

double AttentionProblem::visible_pairs() const {
  double q = static_cast<double>(q_len), k = static_cast<double>(kv_len);
  if (!causal) return q * k;
  // Row i sees min(k, max(0, i + 1 + k - q)) keys.
  double offset = k - q;
  double total = 0;
  if (offset >= 0) {
    total = q * (offset + 1) + q * (q - 1) / 2;  // rows see offset+1 .. offset+q keys
  } else {
    double first_row = -offset;  // rows before this see nothing
    double rows = q - first_row;
    total = rows * (rows + 1) / 2;
  }
  return std::min(total, q * k);
}

double AttentionProblem::flops() const {
  return 4.0 * static_cast<double>(batch) * n_q_heads * head_dim * visible_pairs();
}

double AttentionProblem::kv_bytes() const {
  return 2.0 * static_cast<double>(batch) * static_cast<double>(kv_len) * n_kv_heads * head_dim * dtype_bytes(dtype);
}

double AttentionProblem::min_bytes() const {
  double b = static_cast<double>(batch), e = dtype_bytes(dtype);
  double q_bytes = b * static_cast<double>(q_len) * n_q_heads * head_dim * e;
  return 2.0 * q_bytes + kv_bytes();
}

}  // namespace gqaforge::codegen
