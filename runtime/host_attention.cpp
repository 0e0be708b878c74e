// CPU oracle and the correctness check.
#include "runtime/host_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>

#include "core/half.h"
#include "core/thread_pool.h"

namespace gqaforge::runtime {

codegen::AttentionProblem gate_problem(const codegen::AttentionProblem& p) {
  codegen::AttentionProblem g = p;
  g.batch = std::min<int64_t>(p.batch, 2);
  // Head counts are launch-time values (the kernel depends on the group size alone): two KV
  // heads keep the head strides exercised at a fraction of the oracle's cost.
  g.n_kv_heads = std::min(p.n_kv_heads, 2);
  g.n_q_heads = g.n_kv_heads * p.group();
  if (p.phase == codegen::Phase::kDecode) {
    g.kv_len = std::min<int64_t>(p.kv_len, 32768);
  } else {
    g.q_len = std::min<int64_t>(p.q_len, 1023);
    g.kv_len = std::min<int64_t>(p.kv_len, 1023);
  }
  return g;
}

uint64_t gate_seed(const codegen::AttentionProblem& problem) {
  return std::hash<std::string>()(problem.name()) & 0xffffff;
}

using codegen::AttentionProblem;
using codegen::DType;

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Visible keys for query t of a sequence with q queries and n keys.
int visible_keys(bool causal, int t, int q, int n) {
  if (!causal) return n;
  return std::max(0, std::min(n, t + 1 + n - q));
}

template <bool kLowPrecision>
AttentionResult attention(const HostAttention& in) {
  const AttentionProblem& p = in.problem;
  const bool bf16 = p.dtype == DType::kBF16;
  const int d = p.head_dim, g = p.group();
  AttentionResult r;
  r.o.assign(static_cast<size_t>(in.q_rows() * p.n_q_heads * d), 0.0);
  r.lse.assign(static_cast<size_t>(in.q_rows() * p.n_q_heads), kNegInf);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // One (sequence, query head) per task: each writes its own rows of O and LSE.
  parallel_for(p.batch * p.n_q_heads, [&](int64_t unit) {
    const int b = static_cast<int>(unit / p.n_q_heads), h = static_cast<int>(unit % p.n_q_heads);
    std::vector<double> q(static_cast<size_t>(d)), s, acc(static_cast<size_t>(d));
    const int nq = in.q_lens[static_cast<size_t>(b)], nk = in.kv_lens[static_cast<size_t>(b)];
    const int hk = h / g;
    for (int t = 0; t < nq; ++t) {
      int64_t qo = in.q_offset(b, t, h);
      for (int i = 0; i < d; ++i) q[static_cast<size_t>(i)] = half_to_float(in.q[static_cast<size_t>(qo + i)], bf16);
      int vis = visible_keys(p.causal, t, nq, nk);
      if (vis == 0) continue;  // O stays 0, LSE -inf
      s.assign(static_cast<size_t>(vis), 0.0);
      double mx = kNegInf;
      for (int j = 0; j < vis; ++j) {
        int64_t ko = in.kv_offset(b, j, hk);
        double dot = 0;
        if (kLowPrecision) {
          float f = 0;
          for (int i = 0; i < d; ++i)
            f += static_cast<float>(q[static_cast<size_t>(i)]) * half_to_float(in.k[static_cast<size_t>(ko + i)], bf16);
          dot = f;
        } else {
          for (int i = 0; i < d; ++i)
            dot += q[static_cast<size_t>(i)] * half_to_float(in.k[static_cast<size_t>(ko + i)], bf16);
        }
        s[static_cast<size_t>(j)] = dot * scale;
        mx = std::max(mx, s[static_cast<size_t>(j)]);
      }
      double sum = 0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int j = 0; j < vis; ++j) {
        double e = std::exp(s[static_cast<size_t>(j)] - mx);
        sum += e;
        // The kernels round probabilities to 16 bits before the P.V product.
        double pv = kLowPrecision ? half_to_float(float_to_half(static_cast<float>(e), bf16), bf16) : e;
        int64_t vo = in.kv_offset(b, j, hk);
        for (int i = 0; i < d; ++i)
          acc[static_cast<size_t>(i)] += pv * half_to_float(in.v[static_cast<size_t>(vo + i)], bf16);
      }
      for (int i = 0; i < d; ++i) {
        double o = acc[static_cast<size_t>(i)] / sum;
        if (kLowPrecision) o = half_to_float(float_to_half(static_cast<float>(o), bf16), bf16);
        r.o[static_cast<size_t>(qo + i)] = o;
      }
      r.lse[static_cast<size_t>(in.lse_row(b, t) * p.n_q_heads + h)] = mx + std::log(sum);
    }
  });
  return r;
}

}  // namespace

// Chunks with their own generators seeded from (seed, stream, chunk): the values do not depend
// on how many threads generate them.
void fill_normal(std::vector<uint16_t>& t, size_t count, uint64_t seed, uint64_t stream, float stddev, bool bf16) {
  constexpr size_t kChunk = 1 << 16;
  t.resize(count);
  const int64_t chunks = static_cast<int64_t>((count + kChunk - 1) / kChunk);
  parallel_for(chunks, [&](int64_t c) {
    std::seed_seq seq{seed, stream, static_cast<uint64_t>(c)};
    std::mt19937_64 rng(seq);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const size_t end = std::min(count, (static_cast<size_t>(c) + 1) * kChunk);
    for (size_t i = static_cast<size_t>(c) * kChunk; i < end; ++i) t[i] = float_to_half(normal(rng) * stddev, bf16);
  });
}

int64_t HostAttention::q_rows() const {
  return varlen ? cu_q.back() : problem.batch * problem.q_len;
}
int64_t HostAttention::kv_rows() const {
  return varlen ? cu_k.back() : problem.batch * problem.kv_len;
}
int64_t HostAttention::q_offset(int b, int t, int h) const {
  int64_t row = varlen ? cu_q[static_cast<size_t>(b)] + t : int64_t{b} * problem.q_len + t;
  return (row * problem.n_q_heads + h) * problem.head_dim;
}
int64_t HostAttention::kv_offset(int b, int t, int h) const {
  int64_t row = varlen ? cu_k[static_cast<size_t>(b)] + t : int64_t{b} * problem.kv_len + t;
  return (row * problem.n_kv_heads + h) * problem.head_dim;
}
int64_t HostAttention::lse_row(int b, int t) const {
  return varlen ? cu_q[static_cast<size_t>(b)] + t : int64_t{b} * problem.q_len + t;
}

HostAttention make_host_attention(const AttentionProblem& problem, uint64_t seed, std::vector<int> kv_lens,
                                  std::vector<int> q_lens, bool varlen) {
  HostAttention in;
  in.problem = problem;
  in.seed = seed;
  in.varlen = varlen;
  size_t b = static_cast<size_t>(problem.batch);
  in.kv_lens = kv_lens.empty() ? std::vector<int>(b, static_cast<int>(problem.kv_len)) : std::move(kv_lens);
  in.q_lens = q_lens.empty() ? std::vector<int>(b, static_cast<int>(problem.q_len)) : std::move(q_lens);
  if (varlen) {
    in.cu_q.assign(1, 0);
    in.cu_k.assign(1, 0);
    for (size_t i = 0; i < b; ++i) {
      in.cu_q.push_back(in.cu_q.back() + in.q_lens[i]);
      in.cu_k.push_back(in.cu_k.back() + in.kv_lens[i]);
    }
  }
  const bool bf16 = problem.dtype == DType::kBF16;
  const auto elements = [&](int64_t rows, int heads) { return static_cast<size_t>(rows * heads * problem.head_dim); };
  // A wider spread for Q gives peaked softmax rows, which exercises the running max.
  fill_normal(in.q, elements(in.q_rows(), problem.n_q_heads), seed, 1, 1.5f, bf16);
  fill_normal(in.k, elements(in.kv_rows(), problem.n_kv_heads), seed, 2, 1.0f, bf16);
  fill_normal(in.v, elements(in.kv_rows(), problem.n_kv_heads), seed, 3, 1.0f, bf16);
  // Cache rows past a sequence's keys (fixed layout) hold NaN, as a serving cache's unused slots
  // may: a kernel that reads them must never let them reach its output.
  if (!varlen) {
    for (size_t i = 0; i < b; ++i) {
      const int n = in.kv_lens[i];
      if (n >= problem.kv_len) continue;
      const auto begin = static_cast<ptrdiff_t>(in.kv_offset(static_cast<int>(i), n, 0));
      const auto end = static_cast<ptrdiff_t>(in.kv_offset(static_cast<int>(i), static_cast<int>(problem.kv_len), 0));
      std::fill(in.k.begin() + begin, in.k.begin() + end, kPoison16);
      std::fill(in.v.begin() + begin, in.v.begin() + end, kPoison16);
    }
  }
  return in;
}

AttentionResult cpu_attention_fp64(const HostAttention& in) {
  return attention<false>(in);
}
AttentionResult cpu_attention_lowp(const HostAttention& in) {
  return attention<true>(in);
}

CheckReport check_attention(const HostAttention& in, const std::vector<uint16_t>& kernel_o,
                            const std::vector<float>* kernel_lse, const AttentionResult& oracle,
                            const AttentionResult& lowp) {
  CheckReport r;
  const bool bf16 = in.problem.dtype == DType::kBF16;
  double max_ref = 0;
  for (size_t i = 0; i < oracle.o.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(oracle.o[i]));
    r.lowp_error = std::max(r.lowp_error, std::fabs(lowp.o[i] - oracle.o[i]));
    if (i >= kernel_o.size()) {
      ++r.unwritten;
      continue;
    }
    if (kernel_o[i] == kPoison16) {
      ++r.unwritten;
      continue;
    }
    double k = half_to_float(kernel_o[i], bf16);
    if (!std::isfinite(k)) {
      ++r.non_finite;
      continue;
    }
    r.max_error = std::max(r.max_error, std::fabs(k - oracle.o[i]));
  }
  // Absolute allowance: 1/16 of a 16-bit ulp at the largest output magnitude, the rounding
  // noise of the oracle's own inputs.
  double ulp = bf16 ? std::ldexp(1.0, -7) : std::ldexp(1.0, -10);
  r.bound = 2.0 * r.lowp_error + ulp / 16.0 * std::max(max_ref, 1e-3);
  if (kernel_lse != nullptr) compare_lse(*kernel_lse, oracle.lse, r);
  r.decide();
  locate_mismatches(
      in, kernel_o, [&](size_t i) { return oracle.o[i]; }, oracle.o.size(), r);
  return r;
}

void compare_lse(const std::vector<float>& kernel_lse, const std::vector<double>& ref_lse, CheckReport& r) {
  // The first failing element, for the report (its position is decoded by locate_mismatches).
  auto note = [&](size_t i, double ref, float k, uint32_t bits, double err, double tol, const char* reason) {
    if (r.first_lse.valid) return;
    ElementReport& e = r.first_lse;
    e.valid = true;
    e.lse = true;
    e.index = static_cast<int64_t>(i);
    e.expected = ref;
    e.actual = k;
    e.actual_bits = bits;
    e.error = err;
    e.bound = tol;
    e.reason = reason;
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < ref_lse.size(); ++i) {
    float k = i < kernel_lse.size() ? kernel_lse[i] : std::numeric_limits<float>::quiet_NaN();
    uint32_t bits;
    std::memcpy(&bits, &k, 4);
    double ref = ref_lse[i];
    if (bits == kPoison32) {
      ++r.unwritten;
      note(i, ref, k, bits, inf, 0.0, i < kernel_lse.size() ? "unwritten (poison)" : "missing");
      continue;
    }
    if (std::isinf(ref) || std::isinf(k) || std::isnan(k)) {
      if (!(std::isinf(ref) && std::isinf(k) && k < 0)) {
        ++r.lse_mismatch;
        note(i, ref, k, bits, inf, 0.0, std::isnan(k) ? "non-finite" : "-inf mismatch");
      }
      continue;
    }
    double tol = 1e-3 * std::max(1.0, std::fabs(ref));
    r.lse_bound = std::max(r.lse_bound, tol);
    double err = std::fabs(k - ref);
    r.lse_max_error = std::max(r.lse_max_error, err);
    if (err > tol) {
      ++r.lse_mismatch;
      note(i, ref, k, bits, err, tol, "above bound");
    }
  }
}

namespace {

// Sequence and token of a Q/O/LSE row (fixed: b * q_len + t; varlen: packed token index).
void decode_row(const HostAttention& in, int64_t row, ElementReport& e) {
  if (in.varlen) {
    // Sequence b holds rows [cu_q[b], cu_q[b+1]); zero-length sequences share a bound, and
    // upper_bound picks the last sequence that starts at or before the row.
    auto it = std::upper_bound(in.cu_q.begin(), in.cu_q.end(), row);
    e.batch = static_cast<int>(it - in.cu_q.begin()) - 1;
    e.row = static_cast<int>(row - in.cu_q[static_cast<size_t>(e.batch)]);
  } else {
    const int64_t q = std::max<int64_t>(in.problem.q_len, 1);
    e.batch = static_cast<int>(row / q);
    e.row = static_cast<int>(row % q);
  }
}

void copy_position(const ElementReport& from, ElementReport& to) {
  to.batch = from.batch;
  to.row = from.row;
  to.head = from.head;
  to.kv_head = from.kv_head;
  to.dim = from.dim;
}

}  // namespace

ElementReport locate_o(const HostAttention& in, int64_t index) {
  const AttentionProblem& p = in.problem;
  ElementReport e;
  e.index = index;
  e.dim = static_cast<int>(index % p.head_dim);
  e.head = static_cast<int>((index / p.head_dim) % p.n_q_heads);
  e.kv_head = e.head / std::max(p.group(), 1);
  decode_row(in, index / (int64_t{p.head_dim} * p.n_q_heads), e);
  return e;
}

ElementReport locate_lse(const HostAttention& in, int64_t index) {
  const AttentionProblem& p = in.problem;
  ElementReport e;
  e.lse = true;
  e.index = index;
  e.head = static_cast<int>(index % p.n_q_heads);
  e.kv_head = e.head / std::max(p.group(), 1);
  decode_row(in, index / p.n_q_heads, e);
  return e;
}

void locate_mismatches(const HostAttention& in, const std::vector<uint16_t>& kernel_o,
                       const std::function<double(size_t)>& expected_o, size_t o_elements, CheckReport& r) {
  if (r.passed) return;
  const bool bf16 = in.problem.dtype == DType::kBF16;
  const double inf = std::numeric_limits<double>::infinity();
  const size_t row_len = static_cast<size_t>(in.problem.head_dim);
  size_t last_row = SIZE_MAX, worst_i = SIZE_MAX;
  double worst = -1.0;
  for (size_t i = 0; i < o_elements; ++i) {
    const double ref = expected_o(i);
    const char* reason = nullptr;
    double k = std::numeric_limits<double>::quiet_NaN(), err = inf;
    uint32_t bits = 0;
    if (i >= kernel_o.size()) {
      reason = "missing";
    } else if ((bits = kernel_o[i]) == kPoison16) {
      reason = "unwritten (poison)";
    } else {
      k = half_to_float(kernel_o[i], bf16);
      if (!std::isfinite(k)) {
        reason = "non-finite";
      } else {
        err = std::fabs(k - ref);
        if (err > worst) {
          worst = err;
          worst_i = i;
        }
        if (err > r.bound) reason = "above bound";
      }
    }
    if (reason == nullptr) continue;
    ++r.o_mismatch;
    if (i / row_len != last_row) {
      last_row = i / row_len;
      ++r.o_mismatch_rows;
    }
    if (!r.first_o.valid) {
      r.first_o = locate_o(in, static_cast<int64_t>(i));
      r.first_o.valid = true;
      r.first_o.expected = ref;
      r.first_o.actual = k;
      r.first_o.actual_bits = bits;
      r.first_o.error = err;
      r.first_o.bound = r.bound;
      r.first_o.reason = reason;
    }
  }
  if (worst_i != SIZE_MAX) {
    r.worst_o = locate_o(in, static_cast<int64_t>(worst_i));
    r.worst_o.valid = true;
    r.worst_o.expected = expected_o(worst_i);
    r.worst_o.actual_bits = kernel_o[worst_i];
    r.worst_o.actual = half_to_float(kernel_o[worst_i], bf16);
    r.worst_o.error = worst;
    r.worst_o.bound = r.bound;
    r.worst_o.reason = worst > r.bound ? "above bound" : "within bound";
  }
  if (r.first_lse.valid) copy_position(locate_lse(in, r.first_lse.index), r.first_lse);
}

std::string ElementReport::describe() const {
  if (!valid) return "none";
  std::string pos = fmt::format("b={} t={} h={} kvh={}", batch, row, head, kv_head);
  if (!lse) pos += fmt::format(" d={}", dim);
  std::string s = fmt::format("{} [{} index {}]: expected {:.6g}, got {:.6g} (bits 0x{:0{}x})", pos, lse ? "LSE" : "O",
                              index, expected, actual, actual_bits, lse ? 8 : 4);
  if (std::isfinite(error)) {
    s += fmt::format(", |err| {:.3g} {} bound {:.3g}", error, error > bound ? ">" : "<=", bound);
  }
  return s + " (" + reason + ")";
}

void CheckReport::decide() {
  passed = non_finite == 0 && unwritten == 0 && lse_mismatch == 0 && max_error <= bound;
}

std::string CheckReport::summary() const {
  std::string s = fmt::format("{} max_err={:.3g} bound={:.3g} (lowp_err={:.3g})", passed ? "PASS" : "FAIL", max_error,
                              bound, lowp_error);
  if (lse_bound > 0 || lse_mismatch > 0) s += fmt::format(" lse_err={:.3g}", lse_max_error);
  if (non_finite > 0) s += fmt::format(" non_finite={}", non_finite);
  if (unwritten > 0) s += fmt::format(" unwritten={}", unwritten);
  if (lse_mismatch > 0) s += fmt::format(" lse_mismatch={}", lse_mismatch);
  if (passed) return s;
  if (o_mismatch > 0) s += fmt::format("; {} O elements in {} rows fail", o_mismatch, o_mismatch_rows);
  if (first_o.valid) s += "; first O mismatch: " + first_o.describe();
  if (worst_o.valid && (!first_o.valid || worst_o.index != first_o.index)) s += "; worst O: " + worst_o.describe();
  if (first_lse.valid) s += "; first LSE mismatch: " + first_lse.describe();
  if (first_o.valid || worst_o.valid || first_lse.valid) s += "; expected = " + reference;
  return s;
}

}  // namespace gqaforge::runtime
