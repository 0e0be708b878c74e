// A small library built once per test binary from the bundled H200 measurements (heads 8:1,
// head dim 64: five variants, a few seconds to compile cold, reused from the compile cache
// afterwards), plus file helpers for damaging copies of it (test_util.cpp; the C API tests
// link them too).
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/fs.h"
#include "library/build.h"

namespace gqaforge::library::testing {

// A frozen copy of the first H200 sweeps (what data/h200-tuned.tsv held before its rows were
// re-measured): the library tests pin counts, buckets and codegen versions of these rows, so
// they must not move when the bundled measurements are refreshed.
inline std::string bundled_export() {
  return std::string(GQAFORGE_SOURCE_DIR) + "/tests/data/h200-sample.tsv";
}
inline std::filesystem::path test_cache_dir() {
  return std::filesystem::path(GQAFORGE_BINARY_DIR) / "library-test-cache";
}

inline BuildOptions small_options() {
  BuildOptions o;
  o.heads = {{8, 1}};
  o.head_dims = {64};
  o.cover = {*parse_class_spec("decode/12:4/d128")};
  // The bundled decode rows were timed with older templates than today's.
  o.allow_older_codegen = true;
  o.cache_dir = test_cache_dir();
  o.show_progress = false;
  o.threads = 2;
  return o;
}

/// A fresh directory under the test's temporary directory.
inline std::filesystem::path scratch_dir(const std::string& name) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("gqf-library-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// A file's bytes; a file replaced by `bytes`.
std::string slurp(const std::string& path);
void spill(const std::string& path, const std::string& bytes);
/// Runs SQL on an SQLite file (expects success).
void run_sql(const std::string& path, const std::string& sql);

/// The small library's contents, built on first use.
inline const LibraryContents& small_library() {
  static const LibraryContents contents = [] {
    auto db = open_measurement_source(bundled_export());
    EXPECT_TRUE(db.ok()) << db.status().message();
    BuildReport report;
    auto c = build_library(**db, small_options(), &report);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return *c;
  }();
  return contents;
}

/// The small library written to `dir`/small.gqalib.
inline std::string write_small_library(const std::filesystem::path& dir) {
  const std::string path = (dir / "small.gqalib").string();
  Status s = write_library(path, small_library());
  EXPECT_TRUE(s.ok()) << s.message();
  return path;
}

}  // namespace gqaforge::library::testing
