// The tuned kernel library file (a `.gqalib`): what it holds, in memory, and its SQLite form.
// docs/library.md describes the format; this header is its one definition.
//
// The file is an SQLite database (application_id 'GQFL', user_version = format version) with
// six tables: manifest (key/value), classes (one row per kernel class the library serves),
// variants (a family's config for a kernel class: one compiled kernel), cubins (per variant and
// target arch: the sha256 of its image), images (each distinct cubin once, by sha256) and entries (the dispatch table:
// per class the tuned shape buckets, each naming a variant, its measured time and the measurement row it came from).
// write_library() builds it in a temporary file next to the destination and renames it into
// place, so a reader sees the old file or the whole new one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/problem.h"
#include "core/status.h"

namespace gqaforge::library {

/// The format this build writes and the newest it reads. Raised on any incompatible change.
inline constexpr int kFormatVersion = 1;
/// PRAGMA application_id of a library file: "GQFL".
inline constexpr int32_t kApplicationId = 0x4751464C;

/// Where and from what a library was built.
struct Manifest {
  int format_version = kFormatVersion;
  std::string gqaforge_version;     // "0.1.0"
  std::string gqaforge_commit;      // git commit of the building binary
  int codegen_version = 0;          // kCodegenVersion of the templates the cubins were emitted from
  std::string codegen_fingerprint;  // codegen_fingerprint() of those templates
  std::string nvrtc_version;        // NVRTC that compiled the cubins ("13.0")
  std::vector<std::string> archs;   // targets the cubins are compiled for ("sm_90a")
  std::string gpu_name;             // the GPU the rows were measured on ("NVIDIA H200")
  int gpu_sm_count = 0;
  int gpu_cc_major = 0, gpu_cc_minor = 0;
  std::vector<int> driver_versions;            // of the measuring environments (13000)
  std::vector<std::string> env_keys;           // the measurement environments used
  std::vector<int> measured_codegen_versions;  // codegen versions those rows were timed with
  std::string source;                          // the database it was built from (as given)
  std::string created_at;                      // ISO-8601 UTC
};

/// The static dims of a problem: what selects the generated kernel, plus the head counts
/// (tuned times depend on them through the grid). Its key is AttentionProblem::static_key().
struct KernelClass {
  codegen::Phase phase = codegen::Phase::kDecode;
  int n_q_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  codegen::DType dtype = codegen::DType::kBF16;
  bool causal = true;
  int64_t q_len = 0;  // decode: query tokens per step (a static dim); prefill: 0

  static KernelClass of(const codegen::AttentionProblem& problem);
  /// A problem of this class at the given dynamic dims (decode ignores `q`).
  codegen::AttentionProblem problem(int64_t batch, int64_t q, int64_t kv) const;
  std::string key() const;   // static_key(): "phase=decode;hq=32;hkv=8;d=128;dtype=bf16;causal=1;q=1"
  std::string name() const;  // "decode 32:8 d128 bf16 causal q1"
};

/// How a class is served when no tuned bucket fits.
enum class ClassSource {
  kTuned,    // has tuned entries
  kDefault,  // asked to be covered, no tuned rows: the heuristic default, compiled at run time
};
const char* class_source_name(ClassSource source);

struct ClassRow {
  KernelClass cls;
  ClassSource source = ClassSource::kTuned;
  std::string family;          // "decode" | "prefill"
  std::string default_config;  // the heuristic default at `default_point` (canonical text)
  int64_t default_batch = 1, default_q_len = 1, default_kv_len = 4096;  // where it was evaluated
};

/// One compiled kernel: a family's config for a kernel class (AttentionProblem::kernel_class()).
struct Variant {
  int64_t id = 0;
  std::string family;
  std::string kernel_class;
  std::string config;  // canonical text
};

struct Cubin {
  int64_t variant_id = 0;
  std::string arch;    // "sm_90a"
  std::string sha256;  // of `image`, lower-case hex
  std::vector<std::string> entry_points;
  std::string compile_key;  // runtime::compile_key() of the source and options (the compile cache's key)
  std::string image;
};

/// An inclusive range of one dynamic dim.
struct Range {
  int64_t lo = 1, hi = 1;
  bool contains(int64_t v) const { return v >= lo && v <= hi; }
  std::string label() const;  // "5-16" or "1"
};

/// A tuned bucket of a class: any shape inside the three ranges runs `variant_id`.
struct Entry {
  std::string class_key;
  Range batch, q_len, kv_len;                                  // decode: q_len is the class's [q, q]
  int64_t tuned_batch = 0, tuned_q_len = 0, tuned_kv_len = 0;  // the measured point
  int64_t variant_id = 0;
  double median_us = 0;  // measured at the tuned point
  // The measurement row it came from.
  std::string env_key;
  std::string source_problem;  // ProblemRecord::canonical()
  std::string kernel_key;
  std::string measured_at;
  int measured_codegen_version = 0;
};

struct LibraryContents {
  Manifest manifest;
  std::vector<ClassRow> classes;  // sorted by key
  std::vector<Variant> variants;  // sorted by id
  std::vector<Cubin> cubins;      // sorted by (variant_id, arch)
  std::vector<Entry> entries;     // sorted by (class_key, batch.lo, q_len.lo, kv_len.lo)

  const Variant* variant(int64_t id) const;
  const Cubin* cubin(int64_t variant_id, const std::string& arch) const;
  const ClassRow* find_class(const std::string& key) const;
};

/// The bucket of the tuner's bucket scheme (autotune/buckets.h: 1, 2-4, 5-16, ... powers of 4)
/// that holds `v`.
Range bucket_of(int64_t v);

/// Writes `contents` to `path` atomically (a temporary file beside it, renamed into place);
/// on failure `path` is untouched and no temporary file stays.
Status write_library(const std::string& path, const LibraryContents& contents);

/// What reading found about the file itself, before any content check.
struct FileFacts {
  int64_t file_bytes = 0;
  int64_t header_bytes = 0;  // page size x page count from the SQLite header
  int format_version = 0;
};

/// Reads a library file: refuses (with the path and the reason) a missing file, a file that is
/// not SQLite or not a gqaforge library, a truncated file (shorter than its header says), a
/// newer format, and a file SQLite finds corrupt (integrity_check). Checks no checksum and no
/// version against this build; Library::open does that.
Result<LibraryContents> read_library(const std::string& path, FileFacts* facts = nullptr);

}  // namespace gqaforge::library
