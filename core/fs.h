// File helpers: whole-file reads, atomic writes (temp file + rename), standard locations.
#pragma once

#include <filesystem>
#include <string>

#include "core/status.h"

namespace gqaforge {

Result<std::string> read_file(const std::filesystem::path& path);

/// Writes `content` to `path` atomically: a unique temp file in the same directory, fsync,
/// then rename. Readers see the old file or the new one, never a partial one.
Status write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// Creates `dir` and its parents; a clear error if a file is in the way or it is not writable.
Status ensure_directory(const std::filesystem::path& dir);

/// Value of an environment variable, or "" when unset.
std::string env_or_empty(const char* name);

}  // namespace gqaforge
