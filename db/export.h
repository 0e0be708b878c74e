// The text export format of the measurement database, for review and version control.
//
//   # gqaforge-db-export v1
//   @environments<TAB>key<TAB>gpu_name<TAB>...        one section per table: '@', name, columns
//   0123abcd...<TAB>NVIDIA H200<TAB>...               one row per line, fields TAB-separated
//   @tune_runs<TAB>uid<TAB>env_key<TAB>...
//   @measurements<TAB>env_key<TAB>family<TAB>...<TAB>run_uid
//
// Deterministic: sections in this order, rows sorted (environments by key, runs by
// (started_at, uid), measurements by (env_key, problem, kernel_key)). Strings escape '\' as
// "\\", TAB "\t", LF "\n", CR "\r", NUL "\0", and a leading '@' or '#' of a line as "\@", "\#".
// Doubles are written shortest-round-trip (std::to_chars; "nan", "inf"), so export -> import ->
// export is byte-identical. Runs are referenced by uid, so ids never leak between files.
// Import ignores blank lines and a trailing CR; anything else malformed is an error naming the
// source, the line number and the bad value.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "db/database.h"

namespace gqaforge {

/// First line of every export.
inline constexpr std::string_view kExportHeader = "# gqaforge-db-export v1";

/// Writes `contents` in the export format (sorting a copy first).
std::string format_export(const DbContents& contents);

/// Parses export text. `source` (a file name) prefixes error messages: "source:LINE: ...".
Result<DbContents> parse_export(std::string_view text, const std::string& source);

/// Exports the whole database.
Result<std::string> export_database(Database& db);

/// Parses `text` completely, then merges it into `db` in one transaction: on any error the
/// database is unchanged.
Result<MergeStats> import_text(Database& db, std::string_view text, const std::string& source);

}  // namespace gqaforge
