// A tuned kernel library opened for dispatch: the C++ side that the C API wraps. open() checks
// the whole file (the file itself, its format, its kernel templates against this build, the
// target arch against the device, every cubin's sha256) and refuses it, naming what and why,
// rather than ever handing out a wrong kernel; select() picks the kernel for a problem.
//
// Dispatch, within the problem's class (phase, heads, head dim, dtype, mask, decode q_len):
//   1. exact: the tuned bucket whose batch, q_len (prefill) and kv_len ranges hold the shape;
//   2. nearest: else the tuned bucket of the class at the smallest log-distance from the shape
//      (see bucket_distance), ties broken by the distance to the bucket's measured point;
//   3. default: else the family's heuristic default for the shape, compiled through NVRTC at
//      run time, unless the library was opened with JIT forbidden: then an error.
// A decode problem of one query token is served by its causal class (the mask changes nothing
// there, and the tuner times decode as causal).
// A bucket whose config is illegal for the shape (e.g. more KV splits than the keys allow) is
// passed over for the next nearest; the selection says so.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codegen/device_limits.h"
#include "codegen/family.h"
#include "core/status.h"
#include "library/contents.h"

namespace gqaforge::library {

struct OpenOptions {
  bool allow_jit = true;      // shapes no tuned bucket serves get the heuristic default through NVRTC
  std::string device_arch;    // the device's target ("sm_90a"); must be one of the library's. ""
                              // = the library's first target (inspection, no device)
  bool check_codegen = true;  // refuse cubins emitted from other kernel templates than this
                              // build's: they may read another parameter layout. Off only to
                              // inspect a library (info, diff)
  bool verify_cubins = true;  // check every cubin's sha256 at open; off: the caller checks each
                              // cubin before it uses it (check_cubin), as the C API does, so
                              // that opening does not hash every image
};

/// One check of a library file and its result (verify lists them all; open stops at the first
/// that fails).
struct Check {
  std::string what;  // "cubin 3 sm_90a sha256", "format version", ...
  Status status;
  std::string detail;  // what was found, for a passing check too
};

/// Every check of `contents` (read from `path`) under `options`, in order.
std::vector<Check> verify_contents(const LibraryContents& contents, const std::string& path,
                                   const OpenOptions& options);

/// The sha256 check of one cubin of `contents` (read from `path`): data_loss naming the variant,
/// its config and arch when the image does not match.
Status check_cubin(const LibraryContents& contents, const Cubin& cubin, const std::string& path);

enum class Decision { kExact, kNearest, kDefault };
const char* decision_name(Decision d);  // "exact", "nearest", "default"

/// The log-distance from `problem` to a bucket: the sum over batch, kv_len and (prefill) q_len
/// of |log2(v) - log2(v clamped into the bucket's range)|; 0 inside the bucket. One step of the
/// tuner's buckets (a factor of 4) away on one dim is 2.
double bucket_distance(const codegen::AttentionProblem& problem, const Entry& entry);

struct Selection {
  Decision decision = Decision::kDefault;
  std::string class_key;
  std::string class_name;  // "decode 32:8 d128 bf16 causal q1"
  const codegen::KernelFamily* family = nullptr;
  codegen::KernelConfig config;
  std::string config_text;       // canonical
  const Entry* entry = nullptr;  // the tuned bucket (exact, nearest); nullptr for the default
  double distance = 0;           // bucket_distance to it
  double measured_us = 0;        // its measured time (at entry->tuned_*); 0 for the default
  const Cubin* cubin = nullptr;  // for the device's arch; nullptr: compile through NVRTC
  std::string reason;            // one line: why this kernel
};

class Library {
 public:
  /// Reads and checks `path` (verify_contents); the first failed check is the error.
  static Result<Library> open(const std::string& path, const OpenOptions& options = {});

  /// The kernel for `problem` (see the header comment). Errors: an invalid problem
  /// (invalid_argument); no tuned bucket and JIT forbidden (failed_precondition, naming the
  /// problem and why no bucket served it).
  Result<Selection> select(const codegen::AttentionProblem& problem) const;

  const LibraryContents& contents() const { return *contents_; }
  const std::string& path() const { return path_; }
  const std::string& arch() const { return arch_; }
  const OpenOptions& options() const { return options_; }

 private:
  Library() = default;

  std::string path_;
  OpenOptions options_;
  std::string arch_;
  codegen::DeviceLimits limits_;
  std::unique_ptr<const LibraryContents> contents_;            // entries and cubins stay put
  std::map<std::string, std::vector<const Entry*>> by_class_;  // in contents() order
  std::map<int64_t, codegen::KernelConfig> configs_;           // variant id -> typed config
};

}  // namespace gqaforge::library
