// Plain record types that the tune loop produces and the database stores. They depend on
// nothing but the standard library and core/status.h, so `db/` can store them without knowing
// about kernels, and the tune loop can emit them through a sink without knowing about SQLite.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace gqaforge {

/// Where a measurement was taken. Rows measured in another environment are flagged, never
/// silently mixed with this one's (see `Environment::key`).
struct Environment {
  std::string gpu_name;         // "NVIDIA H200"
  std::string gpu_uuid;         // "GPU-8c1e..." (empty for synthetic/CPU backends)
  int sm_count = 0;             // streaming multiprocessors
  int cc_major = 0;             // compute capability major
  int cc_minor = 0;             // compute capability minor
  int sm_clock_mhz = 0;         // max SM clock reported by the driver
  int mem_clock_mhz = 0;        // max memory clock reported by the driver
  int64_t memory_bytes = 0;     // total device memory
  int driver_version = 0;       // cuDriverGetVersion, e.g. 13000
  std::string nvrtc_version;    // "13.0"
  int codegen_version = 0;      // gqaforge codegen version that emitted the kernels
  std::string codegen_hash;     // codegen_fingerprint(): the kernel templates (empty in rows
                                // recorded before it existed)
  std::string gqaforge_commit;  // git commit of the build
  std::string build_type;       // "Release", "Debug"
  std::string host;             // host name

  /// Identity used for resuming and for flagging foreign rows: GPU model, SM count,
  /// compute capability, driver, NVRTC and codegen versions and the templates' fingerprint
  /// (not the host, not the clocks). An environment without a fingerprint keeps the key it
  /// had before fingerprints existed, so older rows stay findable, and apart from new ones.
  std::string key() const;
};

/// Final status of one tried variant. Every try ends in exactly one of these.
enum class MeasureStatus {
  kOk,             // passed the correctness gate and was timed
  kRejected,       // invalid for the device before compiling (shared memory, threads, ...)
  kCompileFailed,  // NVRTC or resource check failed
  kLaunchFailed,   // launch or runtime fault
  kWrongResult,    // failed the correctness gate; never timed
  kTimeout,        // compile or run exceeded its time limit
};

const char* measure_status_name(MeasureStatus s);
std::optional<MeasureStatus> parse_measure_status(const std::string& name);

/// The problem a measurement belongs to: the static dims that select the kernel plus the
/// dynamic dims it was measured at. For `family == "linear"` only the gemm_* fields matter.
struct ProblemRecord {
  std::string family;  // "decode" | "prefill" | "reference" | "linear"
  int n_q_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  std::string dtype;  // "bf16" | "fp16"
  bool causal = false;
  int64_t batch = 0;
  int64_t q_len = 0;   // query tokens per sequence
  int64_t kv_len = 0;  // keys per sequence
  int64_t gemm_m = 0;  // linear layers: rows (tokens)
  int64_t gemm_n = 0;  // linear layers: output features
  int64_t gemm_k = 0;  // linear layers: input features

  /// Canonical text, fixed field order, used as a uniqueness key.
  std::string canonical() const;
};

/// One tried variant of one problem.
struct MeasurementRecord {
  int64_t run_id = 0;   // tuning run this row belongs to (0 = none)
  std::string env_key;  // Environment::key() of where it ran
  ProblemRecord problem;
  std::string kernel_key;  // sha256 of the canonical KernelKey
  std::string config;      // canonical "key=value,..." of the kernel config
  MeasureStatus status = MeasureStatus::kOk;
  std::string message;   // why it is not ok, or notes
  double median_us = 0;  // median time per call, microseconds
  double min_us = 0;
  double stddev_us = 0;
  int repetitions = 0;     // timed repetitions behind the statistics
  double max_error = 0;    // max abs error against the reference
  double error_bound = 0;  // bound the gate applied
  double tflops = 0;       // derived, 0 when not meaningful
  double tbps = 0;         // derived bytes/s / 1e12, 0 when not meaningful
  double compile_ms = 0;
  int registers = 0;        // per thread
  int shared_bytes = 0;     // static + dynamic per CTA
  int spill_bytes = 0;      // local-memory spill stores+loads
  bool is_best = false;     // re-measured winner for its problem in this environment
  std::string measured_at;  // ISO-8601 UTC
};

/// One invocation of `gqaforge tune`.
struct TuneRunRecord {
  int64_t id = 0;
  std::string env_key;
  std::string command_line;
  std::string strategy;
  std::string started_at;   // ISO-8601 UTC
  std::string finished_at;  // empty while running or if interrupted
};

/// What a claim on a variant found (MeasurementSink::claim).
enum class Claim {
  kGranted,  // this tuner measures it
  kTaken,    // another live tuner is measuring it now
  kDone,     // a row for it was stored meanwhile
};

/// Where the tune loop sends its rows; the SQLite database implements it.
class MeasurementSink {
 public:
  virtual ~MeasurementSink() = default;
  virtual int64_t begin_run(const Environment& env, const TuneRunRecord& run) = 0;
  virtual void record(const MeasurementRecord& m) = 0;
  virtual void end_run(int64_t run_id) = 0;
  /// Every row stored for `problem` in environment `env_key`, any status, sorted by kernel
  /// key: what earlier (or concurrent) runs measured. Resuming reuses them instead of measuring
  /// again, and the winner of a problem is chosen among all of them.
  virtual std::vector<MeasurementRecord> stored_rows(const std::string& env_key, const ProblemRecord& problem) = 0;
  /// Ok, or the first error a sink method hit. The tune loop stops at the first error: a
  /// measurement that cannot be stored is GPU time thrown away.
  virtual Status sink_status() const { return ok_status(); }
  /// Claims a variant before measuring it, so that tuners sharing one sink share the work
  /// instead of repeating it. A claim ends when the variant's row is recorded, when
  /// release_claims() is called, or when its holder dies. kDone puts the stored row in `row`
  /// (when given). A sink used by one tuner grants all.
  virtual Claim claim(const std::string& env_key, const ProblemRecord& problem, const std::string& kernel_key,
                      MeasurementRecord* row) {
    (void)env_key, (void)problem, (void)kernel_key, (void)row;
    return Claim::kGranted;
  }
  /// Ends every claim this sink holds (a try abandoned, a problem finished).
  virtual void release_claims() {}
};

}  // namespace gqaforge
