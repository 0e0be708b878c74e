// Building a tuned kernel library from a measurement database: which rows become the dispatch
// table, which classes get a heuristic default, and the NVRTC compile of every selected variant
// for the named targets (no GPU, no CUDA driver call).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "db/database.h"
#include "library/contents.h"

namespace gqaforge::library {

/// The measurements a library is built from: a gqaforge database (opened read-only) or its text
/// export (`gqaforge db export`, e.g. the bundled data/h200-tuned.tsv), read into memory.
Result<std::unique_ptr<db::Database>> open_measurement_source(const std::string& path);
/// Export text read into an in-memory database; `source` names it in messages.
Result<std::unique_ptr<db::Database>> measurements_from_export(std::string_view text, const std::string& source);

/// A kernel class named on the command line: "PHASE/Q:KV/dD[/bf16|fp16][/causal|noncausal][/qN]",
/// e.g. "decode/32:8/d128" or "prefill/8:1/d64/noncausal". Defaults: bf16, causal, q1 (decode;
/// a q token is an error for prefill). Errors name the spec and the bad part.
Result<KernelClass> parse_class_spec(const std::string& text);

struct BuildOptions {
  std::vector<std::string> archs;      // targets; empty = the measured GPU's (sm_90a for cc 9.0)
  std::string env_key;                 // "" = every environment of the GPU model with the most rows
  std::vector<codegen::Phase> phases;  // filters on the rows; empty = all
  std::vector<std::pair<int, int>> heads;
  std::vector<int> head_dims;
  std::vector<KernelClass> cover;  // classes that get the heuristic default when untuned
  // Keep rows timed with older kernel templates for classes that have no row of the current
  // ones (off: such classes are left out, or served by their default when covered): their
  // times belong to other kernels, e.g. a prefill tuned before wgmma ran 1.6x slower than
  // today's default on the H200.
  bool allow_older_codegen = false;
  std::string source;               // the database as the user named it (manifest.source)
  std::filesystem::path cache_dir;  // compile cache; empty = the default
  unsigned threads = 0;             // compile threads; 0 = all cores
  bool show_progress = true;
};

/// What the build did with the rows, for the command's summary.
struct BuildReport {
  int64_t best_rows = 0;           // best ok row per (environment, problem) in the database
  int64_t used_rows = 0;           // rows that became entries
  int64_t compiled = 0;            // cubins compiled now
  int64_t cache_hits = 0;          // cubins taken from the compile cache
  std::vector<std::string> notes;  // rows left out and why, one line per reason
};

/// Selects the rows, compiles the variants and returns the contents (nothing is written).
/// Rows: the best ok row of every decode and prefill problem of the chosen environments timed
/// on the current templates (with allow_older_codegen, also the older rows of classes that have
/// none of the current ones); within one bucket the row timed with the current templates wins,
/// then the one tuned at the larger shape (the bucket's upper edge is the tuner's
/// representative), then the faster. A row whose config no longer parses or is illegal for a
/// target is left out (noted). A failed compile fails the build, naming the variant and target.
Result<LibraryContents> build_library(db::Database& db, const BuildOptions& options, BuildReport* report);

}  // namespace gqaforge::library
