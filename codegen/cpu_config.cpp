// The CPU families' configs: field tables, validation, heuristics, work decomposition.
#include "codegen/cpu_config.h"

#include <algorithm>

#include "core/int_math.h"
#include "core/sha256.h"

namespace gqaforge::codegen {
namespace {

const std::vector<int> kTiles = {16, 32, 64, 128, 256};

/// head_block 0 = the whole group.
int resolved_head_block(const AttentionProblem& pr, int head_block) {
  return head_block == 0 ? pr.group() : std::min(head_block, pr.group());
}

/// What both families' decompositions share: threads, (sequence, KV head) pairs, head blocks;
/// one query block and one split until the family says otherwise.
CpuWork common_work(const AttentionProblem& pr, const CpuKernelSpec& spec, int threads, const DeviceLimits& limits) {
  CpuWork w;
  w.threads = threads > 0 ? threads : std::max(1, limits.cpu_threads);
  w.seq_heads = pr.batch * pr.n_kv_heads;
  w.head_blocks = spec.head_blocks();
  return w;
}

/// The rules both CPU families share; `tokens` is the query tokens of one item.
Status validate_common(const AttentionProblem& pr, const DeviceLimits& limits, int block_n, int vec, int head_block,
                       const CpuKernelSpec& spec) {
  if (limits.cpu_vector_floats <= 0) {
    return invalid_argument("CPU kernels need a CPU target (the device limits are a GPU's)");
  }
  if (vec > limits.cpu_vector_floats) {
    return invalid_argument("vec={} exceeds the {} fp32 lanes of this CPU's vectors", vec, limits.cpu_vector_floats);
  }
  if (pr.head_dim % vec != 0) return invalid_argument("vec={} does not divide head dim {}", vec, pr.head_dim);
  if (block_n % vec != 0) return invalid_argument("vec={} does not divide block_n={}", vec, block_n);
  if (head_block < 0 || head_block > pr.group()) {
    return invalid_argument("head_block={} must be 0 (the whole group) or in 1..{} (G)", head_block, pr.group());
  }
  if (spec.item_bytes() > kCpuMaxItemBytes) {
    return resource_exhausted(
        "a work item of {} rows (head_block {} x {} tokens) at head dim {} and block_n={} needs {} KB, above the {} KB "
        "limit; lower head_block{}",
        spec.rows(), spec.head_block, spec.block_m, pr.head_dim, block_n, spec.item_bytes() >> 10,
        kCpuMaxItemBytes >> 10, pr.phase == Phase::kPrefill ? " or block_m" : "");
  }
  return ok_status();
}

CpuKernelSpec spec_of(const AttentionProblem& pr, int block_m, int block_n, int vec, int head_block) {
  CpuKernelSpec s;
  s.dtype = pr.dtype;
  s.head_dim = pr.head_dim;
  s.group = pr.group();
  s.head_block = resolved_head_block(pr, head_block);
  s.block_m = block_m;
  s.block_n = block_n;
  s.vec = vec;
  s.causal = pr.causal;
  return s;
}

/// The largest head block (a divisor of G when one fits) whose item fits the stack budget.
int fitting_head_block(const AttentionProblem& pr, int block_m, int block_n, int vec) {
  for (int hb = pr.group(); hb >= 1; --hb) {
    if (pr.group() % hb != 0) continue;
    if (spec_of(pr, block_m, block_n, vec, hb).item_bytes() <= kCpuMaxItemBytes) return hb == pr.group() ? 0 : hb;
  }
  return 1;
}

int host_vec(const AttentionProblem& pr, const DeviceLimits& limits) {
  int vec = std::max(4, std::min(16, limits.cpu_vector_floats));
  while (vec > 4 && pr.head_dim % vec != 0) vec /= 2;
  return vec;
}

}  // namespace

int64_t CpuKernelSpec::item_bytes() const {
  // Q and O rows, the K and V tiles, one score row per block of keys.
  return 4LL * (2LL * rows() * head_dim + 2LL * block_n * head_dim + block_n);
}

std::string CpuKernelSpec::text() const {
  return fmt::format("cpu-attention v2 {} d{} g{} hb{} bm{} bn{} v{} {}", dtype_name(dtype), head_dim, group,
                     head_block, block_m, block_n, vec, causal ? "causal" : "full");
}

std::string CpuKernelSpec::symbol() const {
  return "gqaforge_cpu_" + sha256_hex(text()).substr(0, 16);
}

int64_t CpuWork::items() const {
  return seq_heads * head_blocks * q_blocks * num_splits;
}

std::span<const ConfigField<CpuDecodeConfig>> CpuDecodeConfig::fields() {
  using F = ConfigField<CpuDecodeConfig>;
  using L = LegalValues;
  static const F table[] = {
      {"block_n", &CpuDecodeConfig::block_n, L::one_of(kTiles), {32, 64, 128, 256}, "", "keys per tile"},
      {"vec", &CpuDecodeConfig::vec, L::one_of({4, 8, 16}), {8, 16}, "", "fp32 lanes per vector"},
      {"head_block", &CpuDecodeConfig::head_block, L::any(), {0}, "", "query heads of a group per item (0 = all)"},
      {"threads", &CpuDecodeConfig::threads, L::range(0, 1024), {0}, "", "worker threads (0 = every core)"},
      {"num_splits",
       &CpuDecodeConfig::num_splits,
       L::range(0, 65535),
       {0, 1, 2, 4, 8, 16, 32},
       "",
       "key chunks per (sequence, KV head), 0 = chosen at launch"},
  };
  return table;
}

std::span<const ConfigField<CpuPrefillConfig>> CpuPrefillConfig::fields() {
  using F = ConfigField<CpuPrefillConfig>;
  using L = LegalValues;
  static const F table[] = {
      {"block_m",
       &CpuPrefillConfig::block_m,
       L::one_of({1, 2, 4, 8, 16, 32, 64}),
       {4, 8, 16, 32},
       "",
       "query tokens per item"},
      {"block_n", &CpuPrefillConfig::block_n, L::one_of(kTiles), {32, 64, 128}, "", "keys per tile"},
      {"vec", &CpuPrefillConfig::vec, L::one_of({4, 8, 16}), {8, 16}, "", "fp32 lanes per vector"},
      {"head_block", &CpuPrefillConfig::head_block, L::any(), {0}, "", "query heads of a group per item (0 = all)"},
      {"threads", &CpuPrefillConfig::threads, L::range(0, 1024), {0}, "", "worker threads (0 = every core)"},
  };
  return table;
}

std::string CpuDecodeConfig::canonical() const {
  return fields::canonical(fields(), *this);
}

std::string CpuPrefillConfig::canonical() const {
  return fields::canonical(fields(), *this);
}

CpuKernelSpec cpu_kernel_spec(const AttentionProblem& pr, const CpuDecodeConfig& c) {
  return spec_of(pr, static_cast<int>(pr.q_len), c.block_n, c.vec, c.head_block);
}

CpuKernelSpec cpu_kernel_spec(const AttentionProblem& pr, const CpuPrefillConfig& c) {
  return spec_of(pr, c.block_m, c.block_n, c.vec, c.head_block);
}

Status CpuDecodeConfig::validate(const AttentionProblem& pr, const DeviceLimits& limits) const {
  GQF_RETURN_IF_ERROR(pr.validate());
  if (pr.phase != Phase::kDecode) {
    return invalid_argument("cpu_decode config used for a {} problem", phase_name(pr.phase));
  }
  GQF_RETURN_IF_ERROR(fields::check(fields(), *this));
  return validate_common(pr, limits, block_n, vec, head_block, cpu_kernel_spec(pr, *this));
}

Status CpuPrefillConfig::validate(const AttentionProblem& pr, const DeviceLimits& limits) const {
  GQF_RETURN_IF_ERROR(pr.validate());
  if (pr.phase != Phase::kPrefill) {
    return invalid_argument("cpu_prefill config used for a {} problem", phase_name(pr.phase));
  }
  GQF_RETURN_IF_ERROR(fields::check(fields(), *this));
  return validate_common(pr, limits, block_n, vec, head_block, cpu_kernel_spec(pr, *this));
}

CpuDecodeConfig default_cpu_decode_config(const AttentionProblem& pr, const DeviceLimits& limits) {
  CpuDecodeConfig c;
  c.vec = host_vec(pr, limits);
  // ~32 KB of bf16 K+V per tile keeps both converted tiles (fp32, twice that) in L2.
  c.block_n = pr.head_dim <= 64 ? 128 : (pr.head_dim <= 128 ? 64 : 32);
  c.head_block = fitting_head_block(pr, static_cast<int>(pr.q_len), c.block_n, c.vec);
  c.num_splits = 0;
  return c;
}

CpuPrefillConfig default_cpu_prefill_config(const AttentionProblem& pr, const DeviceLimits& limits) {
  CpuPrefillConfig c;
  c.vec = host_vec(pr, limits);
  // ~128 rows per item over 128-key tiles amortise each converted K/V tile and the per-tile
  // softmax (2 cores, Xeon, 2K tokens: 32:8 d128 55 -> 110 GFLOP/s, 16:2 121 -> 145, 8:1 118 -> 130
  // against 16 x 8 rows over 64-key tiles); the fp32 working set stays in L2.
  c.block_n = pr.head_dim <= 128 ? 128 : 64;
  c.block_m = 32;
  while (c.block_m > 1 && c.block_m * pr.group() > 128) c.block_m /= 2;
  c.head_block = fitting_head_block(pr, c.block_m, c.block_n, c.vec);
  return c;
}

Result<CpuWork> cpu_decode_work(const AttentionProblem& pr, const CpuDecodeConfig& c, const DeviceLimits& limits) {
  GQF_RETURN_IF_ERROR(c.validate(pr, limits));
  CpuWork w = common_work(pr, cpu_kernel_spec(pr, c), c.threads, limits);
  const int64_t tiles = std::max<int64_t>(1, ceil_div(pr.kv_len, c.block_n));
  int64_t splits = c.num_splits;
  if (splits == 0) {
    // About four items per thread balance the threads; each split keeps at least 8 tiles.
    const int64_t base = pr.batch * pr.n_kv_heads * w.head_blocks;
    splits = std::clamp<int64_t>(ceil_div(4LL * w.threads, base), 1, std::max<int64_t>(1, tiles / 8));
  }
  splits = std::min(splits, tiles);
  const int64_t len = ceil_div(tiles, splits) * c.block_n;
  w.num_splits = static_cast<int>(ceil_div(std::max<int64_t>(pr.kv_len, 1), len));
  w.split_len = w.num_splits > 1 ? static_cast<int>(len) : 0;
  return w;
}

Result<CpuWork> cpu_prefill_work(const AttentionProblem& pr, const CpuPrefillConfig& c, const DeviceLimits& limits) {
  GQF_RETURN_IF_ERROR(c.validate(pr, limits));
  CpuWork w = common_work(pr, cpu_kernel_spec(pr, c), c.threads, limits);
  w.q_blocks = ceil_div(pr.q_len, c.block_m);
  return w;
}

}  // namespace gqaforge::codegen
