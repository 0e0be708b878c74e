// Host-side attention data and the CPU oracle.
//
// HostAttention holds random inputs for one problem (fixed or packed-varlen layout), the CPU
// reference computed in double precision from the same 16-bit inputs (the oracle), and the
// same computation done in the kernels' own precision (fp32 scores, probabilities rounded to
// 16 bits before P.V, output rounded to 16 bits), whose error against the oracle sets the
// correctness bound: a kernel passes when its max abs error is at most twice that error plus
// a small absolute allowance for the reference's rounding noise.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "codegen/problem.h"

namespace gqaforge::runtime {

struct HostAttention {
  codegen::AttentionProblem problem;
  bool varlen = false;            // packed tokens with cu_seqlens (prefill)
  std::vector<int> q_lens;        // per sequence (size batch)
  std::vector<int> kv_lens;       // per sequence (size batch), each <= problem.kv_len
  std::vector<int> cu_q, cu_k;    // prefix sums (varlen only), size batch + 1
  std::vector<uint16_t> q, k, v;  // 16-bit storage; fixed: [B, S, H, D]; varlen: [tokens, H, D]
  uint64_t seed = 0;

  int64_t q_rows() const;   // Q tokens stored (B*q_len or total)
  int64_t kv_rows() const;  // K/V tokens stored (B*kv_len or total)
  /// Element offset of (sequence, token, head) in Q/O and in K/V.
  int64_t q_offset(int b, int t, int h) const;
  int64_t kv_offset(int b, int t, int h) const;
  /// LSE row index of (sequence, token): b*q_len + t, or the packed token index.
  int64_t lse_row(int b, int t) const;
};

/// The correctness gate's shape for a problem: the very kernel and config, batch <= 2, at most
/// two KV heads, and lengths small enough for the CPU oracle (decode keys <= 32K; prefill
/// lengths <= 1023, a multiple of no tile, so partial last tiles run too).
codegen::AttentionProblem gate_problem(const codegen::AttentionProblem& problem);

/// Default gate seed of a problem (printed with failures so that they can be replayed).
uint64_t gate_seed(const codegen::AttentionProblem& problem);

/// Resizes `t` to `count` elements of normal(0, stddev) values rounded to 16 bits (bf16 or fp16),
/// generated on every core; the values depend on (seed, stream) only.
void fill_normal(std::vector<uint16_t>& t, size_t count, uint64_t seed, uint64_t stream, float stddev, bool bf16);

/// Fresh random inputs (normal distribution, never zeros) for `problem`. `kv_lens` empty =
/// every sequence has problem.kv_len keys; `q_lens` empty = problem.q_len queries. When
/// `varlen` is set the tensors are packed and lengths may differ per sequence (zero allowed).
HostAttention make_host_attention(const codegen::AttentionProblem& problem, uint64_t seed,
                                  std::vector<int> kv_lens = {}, std::vector<int> q_lens = {}, bool varlen = false);

struct AttentionResult {
  std::vector<double> o;    // layout of Q
  std::vector<double> lse;  // [q_rows, n_q]; -inf for rows that see no key
};

/// The oracle: double precision throughout.
AttentionResult cpu_attention_fp64(const HostAttention& in);
/// The kernels' precision, on the CPU.
AttentionResult cpu_attention_lowp(const HostAttention& in);

/// One element of O or LSE that a check singles out (the first failing one, the worst one),
/// with its flat index decoded into the problem's coordinates.
struct ElementReport {
  bool valid = false;        // false: no such element
  bool lse = false;          // an LSE element (then dim is -1), else an O element
  int64_t index = 0;         // flat index into O (layout of Q) or into LSE ([q_rows, n_q_heads])
  int batch = 0;             // sequence
  int row = 0;               // query token inside its sequence
  int head = 0;              // query head
  int kv_head = 0;           // its KV head
  int dim = -1;              // head-dim element (O only)
  double expected = 0;       // the reference (oracle) value
  double actual = 0;         // the kernel's value
  uint32_t actual_bits = 0;  // the kernel's raw bits (16-bit O, 32-bit LSE)
  double error = 0;          // |actual - expected| (inf when not comparable)
  double bound = 0;          // the bound it was held to
  std::string reason;        // "above bound", "unwritten (poison)", "non-finite", "-inf mismatch"
  /// "b=3 t=0 h=9 (kv 1) d=17 [index 6289]: expected 0.0123, got 0.345 (bits 0x3eb1), |err| 0.333 > bound 0.0041 (above
  /// bound)"
  std::string describe() const;
};

struct CheckReport {
  double max_error = 0;      // max |kernel - oracle| over O
  double lowp_error = 0;     // max |lowp - oracle| over O
  double bound = 0;          // 2 * lowp_error + absolute allowance
  double lse_max_error = 0;  // max |kernel lse - oracle lse| (finite rows)
  double lse_bound = 0;
  int64_t non_finite = 0;    // NaN/Inf in O
  int64_t unwritten = 0;     // elements still holding the poison pattern
  int64_t lse_mismatch = 0;  // -inf where finite expected or vice versa
  bool passed = false;

  // Diagnostics of a failed check (filled by locate_mismatches; they do not change `passed`).
  int64_t o_mismatch = 0;            // O elements unwritten, non-finite or above the bound
  int64_t o_mismatch_rows = 0;       // distinct (sequence, token, head) rows among them
  ElementReport first_o;             // first failing O element in index order
  ElementReport worst_o;             // O element with the largest finite error
  ElementReport first_lse;           // first failing LSE element
  std::string reference = "oracle";  // what `expected` is: "oracle" (CPU fp64) or "gpu reference"

  /// One line: PASS/FAIL, errors and bounds, counts; on failure also the first failing O and
  /// LSE elements (decoded position, expected, actual, error, bound) and the worst O element.
  std::string summary() const;
  /// Sets `passed` from the counts and errors above.
  void decide();
};

/// Compares a kernel's LSE with a reference LSE, element by element, into `report`: -inf must
/// match -inf, finite values must agree within 1e-3 * max(1, |ref|), poison is unwritten. The
/// first failing element is recorded in report.first_lse (index, values; position undecoded).
void compare_lse(const std::vector<float>& kernel_lse, const std::vector<double>& ref_lse, CheckReport& report);

/// Decodes a flat O index (layout of Q) or LSE index into sequence / token / head / dim.
ElementReport locate_o(const HostAttention& in, int64_t index);
ElementReport locate_lse(const HostAttention& in, int64_t index);

/// After `report.decide()` with the bound known: when the check failed, scans O once more for
/// the first element that is poison, non-finite or above report.bound, counts them and their
/// rows, finds the worst finite element, and decodes every recorded element's position.
/// `expected_o(i)` is the reference value of O element i. Does nothing for a passed check.
void locate_mismatches(const HostAttention& in, const std::vector<uint16_t>& kernel_o,
                       const std::function<double(size_t)>& expected_o, size_t o_elements, CheckReport& report);

/// Bit pattern written over outputs before a launch; a NaN in both bf16 and fp16.
inline constexpr uint16_t kPoison16 = 0x7fff;
inline constexpr uint32_t kPoison32 = 0x7fbfffffu;

/// Compares a kernel's O (16-bit, layout of Q) and optional LSE against the oracle.
CheckReport check_attention(const HostAttention& in, const std::vector<uint16_t>& kernel_o,
                            const std::vector<float>* kernel_lse, const AttentionResult& oracle,
                            const AttentionResult& lowp);

}  // namespace gqaforge::runtime
