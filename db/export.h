// The text export format of the measurement database, for review and version control.
//
//   # gqaforge-db-export v2
//   @environments<TAB>key<TAB>gpu_name<TAB>...        one section per table: '@', name, columns
//   0123abcd...<TAB>NVIDIA H200<TAB>...               one row per line, fields TAB-separated
//   @tune_runs<TAB>uid<TAB>env_key<TAB>...
//   @measurements<TAB>env_key<TAB>family<TAB>...<TAB>run_uid
//   # end environments=3 tune_runs=42 measurements=2390 sha256=9f86d081...
//
// Deterministic: sections in this order, rows sorted (environments by key, runs by
// (started_at, uid), measurements by (env_key, problem, kernel_key)). Strings escape '\' as
// "\\", TAB "\t", LF "\n", CR "\r", NUL "\0", and a leading '@' or '#' of a line as "\@", "\#".
// Doubles are written shortest-round-trip (std::to_chars; "nan", "inf"), so export -> import ->
// export is byte-identical. Runs are referenced by uid, so ids never leak between files.
//
// The end line (v2) is the last line: the rows of each section, and the SHA-256 of every line
// above it, each ending in LF. An export cut short (at any byte, a line boundary included)
// has no end line, or one that does not match, and import refuses it as incomplete; so is an
// export whose rows were edited. Version 1 exports have no end line: they are still read, but
// only when their first line says v1, and their completeness cannot be checked (the bundled
// data/h200-tuned.tsv is one).
//
// Import ignores blank lines and a trailing CR (so neither counts for the checksum), checks
// every row's values (check_entry in database.h: no NUL bytes, sane statistics on ok rows, ...)
// and refuses anything malformed with an error naming the source, the line number and the bad
// value; nothing is written then.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "db/database.h"

namespace gqaforge::db {

/// First line of every export this build writes.
inline constexpr std::string_view kExportHeader = "# gqaforge-db-export v2";
/// First line of version 1 exports (no end line), which are still read.
inline constexpr std::string_view kExportHeaderV1 = "# gqaforge-db-export v1";

/// Receives an export piece by piece (a few kilobytes at a time).
using ExportSink = std::function<Status(std::string_view)>;

/// Writes `contents` in the export format (sorting a copy first).
std::string format_export(const DbContents& contents);

/// Parses export text (v2, or v1 without an end line). `source` (a file name) prefixes error
/// messages: "source:LINE: ...". Malformed rows and values are invalid_argument; a missing or
/// mismatched end line (a cut or damaged file) is data_loss.
Result<DbContents> parse_export(std::string_view text, const std::string& source);

/// True when `text` starts with the v1 header (so it has no end line to check).
bool is_v1_export(std::string_view text);

/// Streams the export of the whole database to `sink`, from one read snapshot, holding one row
/// in memory at a time. The bytes are those of format_export(db.contents()).
Status write_export(Database& db, const ExportSink& sink);

/// Exports the whole database into a string (write_export into memory).
Result<std::string> export_database(Database& db);

/// Parses `text` completely, then merges it into `db` (Database::merge): on any error in the
/// text the database is unchanged.
Result<MergeStats> import_text(Database& db, std::string_view text, const std::string& source);

}  // namespace gqaforge::db
