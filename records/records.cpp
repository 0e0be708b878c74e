// Record helpers: status names and canonical keys.
#include "records/records.h"

#include <fmt/format.h>

#include "core/enum_names.h"
#include "core/sha256.h"

namespace gqaforge {

namespace {

constexpr EnumName<MeasureStatus> kMeasureStatusNames[] = {
    {MeasureStatus::kOk, "ok"},
    {MeasureStatus::kRejected, "rejected"},
    {MeasureStatus::kCompileFailed, "compile_failed"},
    {MeasureStatus::kLaunchFailed, "launch_failed"},
    {MeasureStatus::kWrongResult, "wrong_result"},
    {MeasureStatus::kTimeout, "timeout"},
};

}  // namespace

const char* measure_status_name(MeasureStatus s) {
  return enum_name(kMeasureStatusNames, s);
}

std::optional<MeasureStatus> parse_measure_status(const std::string& name) {
  return enum_value(kMeasureStatusNames, name);
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
