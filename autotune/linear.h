// Linear layers for the cost model's latency objective: the bf16 GEMMs of a transformer block
// (QKV, O, SwiGLU gate/up/down) and the LM head, for M tokens, and their database form
// (ProblemRecord family "linear" with gemm_m, gemm_n, gemm_k).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "records/records.h"
#include "core/status.h"

namespace gqaforge::autotune {

/// One GEMM: Y[m, n] = X[m, k] W[n, k]^T.
struct GemmShape {
  std::string name;  // "qkv", "o", "gate/up", "down", "lm_head" or "" for explicit shapes
  int64_t m = 0;     // tokens
  int64_t n = 0;     // output features
  int64_t k = 0;     // input features
};

/// What the linear layers of a model see: the widths of its projections. `tune --model` builds
/// it from the cost model's ModelShape (linear_dims in tools/cmd_tune.cpp), so the tuner needs
/// no cost model.
struct LinearDims {
  int64_t hidden = 0;    // residual width: the input of QKV, gate/up and the LM head
  int64_t q_width = 0;   // query heads * head size: Q's output, O's input
  int64_t kv_width = 0;  // KV heads * head size: K's output, and V's
  int64_t ffn = 0;       // FFN inner size
  int64_t vocab = 0;
};

/// QKV, O, gate/up (one shape, two GEMMs), down and LM-head GEMMs for `tokens` rows.
std::vector<GemmShape> model_gemms(const LinearDims& dims, int64_t tokens);
/// Parses "MxNxK[,MxNxK...]" (counts accept k/m suffixes); errors name the item.
Result<std::vector<GemmShape>> parse_gemm_list(const std::string& text);
/// Removes repeated (m, n, k), keeping the first and joining names ("gate/up+o").
std::vector<GemmShape> unique_gemms(const std::vector<GemmShape>& shapes);

/// The database form: family "linear", dtype "bf16", gemm_m/n/k.
ProblemRecord linear_problem_record(const GemmShape& shape);
/// Kernel key of the cuBLASLt GEMM of a shape on an environment.
std::string linear_kernel_key(const GemmShape& shape, const std::string& env_key);
/// FLOPs of the GEMM (2 m n k).
double gemm_flops(const GemmShape& shape);

}  // namespace gqaforge::autotune
