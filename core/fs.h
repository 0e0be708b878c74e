// File helpers: whole-file reads, atomic writes (temp file + rename), standard locations.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace gqaforge {

Result<std::string> read_file(const std::filesystem::path& path);

/// Writes `content` to `path` atomically: a unique temp file in the same directory, fsync,
/// then rename. Readers see the old file or the new one, never a partial one.
Status write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// write_file_atomic for content produced piece by piece (too large to hold in memory):
/// create() makes the temp file, write() appends, commit() fsyncs and renames it to `path`.
/// Destroyed without a successful commit(), it removes the temp file and `path` is untouched.
class AtomicFileWriter {
 public:
  static Result<AtomicFileWriter> create(const std::filesystem::path& path);
  Status write(std::string_view data);
  Status commit();

  ~AtomicFileWriter();
  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& other) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

 private:
  AtomicFileWriter(std::filesystem::path path, std::filesystem::path tmp, int fd)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}
  void abandon();

  std::filesystem::path path_;
  std::filesystem::path tmp_;
  int fd_ = -1;  // -1 once committed or abandoned
};

/// Creates `dir` and its parents; a clear error if a file is in the way or it is not writable.
Status ensure_directory(const std::filesystem::path& dir);

/// Value of an environment variable, or "" when unset.
std::string env_or_empty(const char* name);

}  // namespace gqaforge
