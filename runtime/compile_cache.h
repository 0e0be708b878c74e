// Persistent compile cache: one file per compile key under the cache directory
// ($GQAFORGE_CACHE_DIR, else $XDG_CACHE_HOME/gqaforge, else ~/.cache/gqaforge). Entries are
// written atomically (temp file + rename), carry a checksum, and a corrupt or truncated entry
// is detected, removed and rebuilt. Safe for several processes filling one directory at once.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/nvrtc_compiler.h"

namespace gqaforge {
class Progress;
}

namespace gqaforge::runtime {

/// The cache directory from the environment (not created).
std::filesystem::path default_cache_dir();

class CompileCache {
 public:
  /// `dir` empty = default_cache_dir(). The directory is created on first write.
  explicit CompileCache(std::filesystem::path dir = {});

  const std::filesystem::path& dir() const { return dir_; }

  /// Returns the cached entry for (source, options) or compiles and stores it.
  Result<CompiledKernel> get_or_compile(const codegen::KernelSource& source, const CompileOptions& options);

  /// Compiles many sources on a thread pool (`threads` 0 = all cores), showing progress.
  /// The i-th result belongs to the i-th source; one failure does not stop the others.
  std::vector<Result<CompiledKernel>> compile_all(const std::vector<codegen::KernelSource>& sources,
                                                  const CompileOptions& options, unsigned threads = 0,
                                                  bool show_progress = true);

  struct Stats {
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t corrupt = 0;  // entries found damaged and rebuilt
  };
  Stats stats() const { return {hits_.load(), misses_.load(), corrupt_.load()}; }

  struct DirInfo {
    int64_t entries = 0;
    int64_t bytes = 0;
  };
  Result<DirInfo> info() const;
  /// Removes every cache entry (and stray temp files); returns how many files were removed.
  Result<int64_t> clear() const;

  /// Path of the entry file for a key.
  std::filesystem::path entry_path(const std::string& key) const;
  /// Reads and verifies an entry; not_found if absent, data_loss if damaged.
  Result<CompiledKernel> load_entry(const std::string& key) const;
  Status store_entry(const CompiledKernel& kernel) const;

 private:
  std::filesystem::path dir_;
  std::atomic<int64_t> hits_{0}, misses_{0}, corrupt_{0};
};

}  // namespace gqaforge::runtime
