// The measurement database schema: file checks before SQLite touches a file, the check that a
// file is a gqaforge database this build understands, and forward migrations keyed by
// PRAGMA user_version. Internal to db/; users go through Database.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "db/sqlite.h"

namespace gqaforge::schema {

/// PRAGMA application_id of every gqaforge database ("GQFA").
inline constexpr int64_t kApplicationId = 0x47514641;

/// The schema version this build creates and understands. Version N is reached from N-1 by
/// migration step N (see schema.cpp); adding version N+1 is one added function.
int schema_version();

/// Looks at the raw bytes of an existing file before SQLite opens it: refuses anything that
/// is not an SQLite file, or whose size shows it was truncated. Never writes. An empty file
/// passes (SQLite treats it as an empty database).
Status check_file(const std::string& path);

/// Reads the schema version of an open connection without writing. Refuses (naming the path)
/// an unreadable/corrupt file, another application's SQLite database, a gqaforge database
/// from a newer schema, and a gqaforge database with missing tables. 0 = empty database.
Result<int> inspect(sql::Connection& conn);

/// Brings `conn` to schema_version() in one BEGIN IMMEDIATE transaction (concurrent openers
/// serialize; the second finds the work done). Refuses what inspect() refuses.
Status migrate(sql::Connection& conn);

}  // namespace gqaforge::schema
