// The CPU kernel families (backends/cpu/, LLVM ORC JIT): their tunable configs, validation
// against a problem and a host, the untuned heuristic, and the work decomposition the runner
// spreads over threads. Nothing here needs LLVM: the generator itself lives in the CPU module.
//
// One generated function serves both phases. A work item is one (sequence, KV head, block of
// the group's query heads, block of query tokens, key split); it computes every row of that
// block against the split's keys, with the K/V of each key tile converted to fp32 once and
// reused by all of the block's rows (so each K/V element is read once per head block).
//   cpu_decode   tokens per item = q_len (all of the step's tokens), split-KV over the keys
//   cpu_prefill  tokens per item = block_m, no splits
// Legal values (each config's field table has the single-field rules; validate() the rest):
//   block_m     prefill: 1, 2, 4, 8, 16, 32 or 64 query tokens per item
//   block_n     16, 32, 64, 128 or 256 keys per tile; a multiple of vec
//   vec         4, 8 or 16 fp32 lanes per vector, at most the host's (16 AVX-512, 8 AVX2, 4 SSE);
//               the head dim is a multiple of it
//   head_block  0 (the whole group) or 1..G query heads of a KV head per item
//   threads     0 (every core) or 1..1024 worker threads
//   num_splits  decode: 0 (chosen from batch, KV heads, keys and threads) or 1..65535
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "codegen/config_fields.h"
#include "codegen/device_limits.h"
#include "codegen/problem.h"
#include "codegen/source.h"
#include "core/status.h"

namespace gqaforge::codegen {

/// Largest fp32 working set of one work item (Q rows, O rows, one K and one V tile), bytes. Work
/// items run on worker threads' stacks, which the runner sizes for it.
inline constexpr int64_t kCpuMaxItemBytes = int64_t{4} << 20;

struct CpuDecodeConfig {
  int block_n = 64;    // keys per tile
  int vec = 16;        // fp32 lanes per vector
  int head_block = 0;  // query heads of a group per item (0 = all)
  int threads = 0;     // worker threads (0 = every core)
  int num_splits = 0;  // key chunks per (sequence, KV head); 0 = chosen at launch

  static constexpr const char* kFamily = "cpu_decode";
  static std::span<const ConfigField<CpuDecodeConfig>> fields();
  Status validate(const AttentionProblem& problem, const DeviceLimits& limits) const;
  std::string canonical() const;
  bool operator==(const CpuDecodeConfig&) const = default;
};

struct CpuPrefillConfig {
  int block_m = 16;    // query tokens per item
  int block_n = 64;    // keys per tile
  int vec = 16;        // fp32 lanes per vector
  int head_block = 0;  // query heads of a group per item (0 = all)
  int threads = 0;     // worker threads (0 = every core)

  static constexpr const char* kFamily = "cpu_prefill";
  static std::span<const ConfigField<CpuPrefillConfig>> fields();
  Status validate(const AttentionProblem& problem, const DeviceLimits& limits) const;
  std::string canonical() const;
  bool operator==(const CpuPrefillConfig&) const = default;
};

/// What one generated CPU function computes: everything that is compile-time in it.
struct CpuKernelSpec {
  DType dtype = DType::kBF16;
  int head_dim = 128;
  int group = 1;       // query heads per KV head
  int head_block = 1;  // query heads per item (divides nothing: the last block may be short)
  int block_m = 1;     // query tokens per item
  int block_n = 64;    // keys per tile
  int vec = 16;        // fp32 lanes per vector
  bool causal = true;  // bottom-right aligned

  /// Rows of one item (head_block * block_m).
  int rows() const { return head_block * block_m; }
  /// Head blocks per KV head.
  int head_blocks() const { return (group + head_block - 1) / head_block; }
  /// fp32 bytes one item keeps: Q and O rows, one K and one V tile, the score row.
  int64_t item_bytes() const;
  /// "cpu-attention v2 bf16 d128 g8 hb8 bm1 bn64 v16 causal": the generated function's source
  /// identity (the compile-cache and kernel-key input besides the LLVM version and CPU features).
  /// The version counts generator changes that change the code (v2: up to four rows per pass);
  /// the object cache also keys on the generator's source hash, so a missed bump stays safe.
  std::string text() const;
  /// The generated function's symbol name (unique per spec).
  std::string symbol() const;
};

/// The spec of a CPU family's config for a problem (head_block 0 resolved).
CpuKernelSpec cpu_kernel_spec(const AttentionProblem& problem, const CpuDecodeConfig& config);
CpuKernelSpec cpu_kernel_spec(const AttentionProblem& problem, const CpuPrefillConfig& config);

/// How a call is spread: work items = batch * n_kv * head_blocks * q_blocks * splits.
struct CpuWork {
  int64_t seq_heads = 1;  // batch * n_kv_heads
  int head_blocks = 1;
  int64_t q_blocks = 1;
  int num_splits = 1;
  int split_len = 0;  // keys per split, a multiple of block_n (0 when not split)
  int threads = 1;    // worker threads the call uses
  int64_t items() const;
};

/// Heuristics for an untuned call; decode picks splits so that every thread has ~4 items.
CpuDecodeConfig default_cpu_decode_config(const AttentionProblem& problem, const DeviceLimits& limits);
CpuPrefillConfig default_cpu_prefill_config(const AttentionProblem& problem, const DeviceLimits& limits);

Result<CpuWork> cpu_decode_work(const AttentionProblem& problem, const CpuDecodeConfig& config,
                                const DeviceLimits& limits);
Result<CpuWork> cpu_prefill_work(const AttentionProblem& problem, const CpuPrefillConfig& config,
                                 const DeviceLimits& limits);

}  // namespace gqaforge::codegen
