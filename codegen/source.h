// KernelSource: generated CUDA C++ text plus the names of its entry points, and the kernel
// template headers that are embedded into the binary at build time and handed to NVRTC.
#pragma once

#include <string>
#include <vector>

namespace gqaforge::codegen {

/// Bumped whenever emitted code changes (golden tests enforce it).
inline constexpr int kCodegenVersion = 5;

struct KernelSource {
  std::string family;                     // "reference" | "decode" | "prefill"
  std::string name;                       // readable, for logs: "decode 32:8 d128 bf16 ..."
  std::string code;                       // the generated translation unit (prelude)
  std::vector<std::string> entry_points;  // extern "C" kernel names defined by `code`
};

/// A kernel template header, embedded at build time from codegen/kernels/.
struct EmbeddedHeader {
  const char* name;  // include name, e.g. "common.cuh"
  const char* text;
};

/// All embedded headers, sorted by name.
const std::vector<EmbeddedHeader>& embedded_headers();

/// What the emitted kernels are made of: 16 hex digits of a sha256 over kCodegenVersion (the
/// emitter's own changes, enforced by the golden tests) and every embedded template's name and
/// text. Recorded in each measurement's environment and part of its key, so rows timed with an
/// older template are never mixed with the current ones.
const std::string& codegen_fingerprint();

/// Collects the compile-time parameters of one kernel as `static constexpr` members of a
/// traits struct; each line carries its meaning as a trailing comment.
class TraitsBuilder {
 public:
  void add_type(const std::string& name, const std::string& type, const std::string& comment);
  void add_int(const std::string& name, long long value, const std::string& comment);
  void add_bool(const std::string& name, bool value, const std::string& comment);
  void add_float(const std::string& name, double value, const std::string& comment);
  /// `struct <name> { ... };` with aligned members.
  std::string render(const std::string& struct_name) const;

 private:
  struct Line {
    std::string decl, comment;
  };
  std::vector<Line> lines_;
};

}  // namespace gqaforge::codegen
