// The measurement database schema: checks of a file's raw header and of its size against what
// SQLite sees (WAL included), the check that a file is a gqaforge database this build
// understands, and forward migrations keyed by PRAGMA user_version. Internal to db/; users go
// through Database.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "db/sqlite.h"

namespace gqaforge::db::schema {

/// PRAGMA application_id of every gqaforge database ("GQFA").
inline constexpr int64_t kApplicationId = 0x47514641;

/// The schema version this build creates and understands. Version N is reached from N-1 by
/// migration step N (see schema.cpp); adding version N+1 is one added function.
int schema_version();

/// Looks at the first (up to) 100 bytes of an existing file of `size` bytes, read before any
/// query: refuses anything that is not an SQLite file, a file cut inside its header, and an
/// invalid page size. The page count is not checked here: while a checkpoint runs, or after
/// one failed on a full disk, a healthy file is shorter than its header says and its WAL holds
/// the rest (see check_size). An empty file passes (SQLite treats it as an empty database).
Status check_header(const std::string& path, std::string_view header, uint64_t size);

/// Page size from a header that passed check_header (0 for an empty file).
uint32_t header_page_size(std::string_view header);
/// The database size in pages that a header records, or 0 when the header does not vouch for
/// it ("version-valid-for" differs from the change counter, as with old writers).
int64_t header_page_count(std::string_view header);

/// Refuses a truncated database: `db_pages` pages of `page_size` bytes make the database as
/// SQLite sees it (PRAGMA page_count inside the read transaction that holds the snapshot), the
/// database file holds `file_size` bytes of it, and every page past the end of the file must
/// be in a valid committed frame of `wal_file` ("" = no WAL, then a size that is not a whole
/// number of pages is refused too). Messages name `path`. Never writes.
Status check_size(const std::string& path, uint64_t file_size, uint32_t page_size, int64_t db_pages,
                  const std::string& wal_file);

/// Reads the schema version of an open connection without writing; call it inside a read
/// transaction, as it reads in several statements. Refuses (naming the path)
/// an unreadable/corrupt file, another application's SQLite database, a gqaforge database
/// from a newer schema, and a gqaforge database with missing tables. 0 = empty database.
Result<int> inspect(sql::Connection& conn);

/// Brings `conn` to schema_version() in one BEGIN IMMEDIATE transaction (concurrent openers
/// serialize; the second finds the work done). Refuses what inspect() refuses.
Status migrate(sql::Connection& conn);

}  // namespace gqaforge::db::schema
