// Record helpers: status names and canonical keys.
#include "records/records.h"

#include <fmt/format.h>

#include "core/sha256.h"

namespace gqaforge {

const char* measure_status_name(MeasureStatus s) {
  switch (s) {
    case MeasureStatus::kOk:
      return "ok";
    case MeasureStatus::kRejected:
      return "rejected";
    case MeasureStatus::kCompileFailed:
      return "compile_failed";
    case MeasureStatus::kLaunchFailed:
      return "launch_failed";
    case MeasureStatus::kWrongResult:
      return "wrong_result";
    case MeasureStatus::kTimeout:
      return "timeout";
  }
  return "unknown";
}

std::optional<MeasureStatus> parse_measure_status(const std::string& name) {
  for (auto s : {MeasureStatus::kOk, MeasureStatus::kRejected, MeasureStatus::kCompileFailed,
                 MeasureStatus::kLaunchFailed, MeasureStatus::kWrongResult, MeasureStatus::kTimeout}) {
    if (name == measure_status_name(s)) return s;
  }
  return std::nullopt;
}

std::string Environment::key() const {
  std::string canonical = fmt::format("gpu={};sms={};cc={}.{};driver={};nvrtc={};codegen={}", gpu_name, sm_count,
                                      cc_major, cc_minor, driver_version, nvrtc_version, codegen_version);
  if (!codegen_hash.empty()) canonical += ";templates=" + codegen_hash;
  return sha256_hex(canonical).substr(0, 16);
}

std::string ProblemRecord::canonical() const {
  if (family == "linear") {
    return fmt::format("linear;dtype={};m={};n={};k={}", dtype, gemm_m, gemm_n, gemm_k);
  }
  return fmt::format("{};hq={};hkv={};d={};dtype={};causal={};b={};q={};kv={}", family, n_q_heads, n_kv_heads, head_dim,
                     dtype, causal ? 1 : 0, batch, q_len, kv_len);
}

}  // namespace gqaforge
