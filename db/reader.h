// Opening an existing database file for reading without changing it. Nothing next to the file
// is created, written or removed; it works in a read-only directory and on another user's
// file; and a pending WAL (even a damaged one) is read where SQLite can and left in place.
// Database::open inspects every existing file through such a reader before anything else.
// Internal to db/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "db/sqlite.h"

namespace gqaforge::db::detail {

/// How a Reader reads the file; chosen from the side files present when it is opened.
enum class ReadKind {
  // No -wal, so no process has the file open: read without locks (immutable=1), because a
  // read-only connection would leave a -wal and -shm behind. The connection fails any query
  // that finishes after another process changed the file (Connection::guard_unchanged).
  kImmutable,
  // A -wal and a -shm that a process holds: an ordinary read-only connection. It takes its
  // read mark in the -shm like every reader (that memory belongs to the live processes).
  kShared,
  // A -wal and a -shm nobody holds (left by a crash): SQLite reads the WAL into private memory
  // (readonly_shm=1), so neither side file is touched.
  kPrivateWal,
  // A -wal without -shm: SQLite cannot read that WAL without creating a -shm next to it, so a
  // private copy of the file and its WAL in a temporary directory is read instead.
  kCopy,
};

/// A temporary directory holding a copy of a database and its WAL; removed when destroyed.
class PrivateCopy;

struct Reader {
  std::shared_ptr<PrivateCopy> copy;  // first, so that it outlives `conn`
  sql::Connection conn;               // read-only; its path() is the user's path
  ReadKind kind = ReadKind::kImmutable;
  std::string header;    // the first (up to) 100 bytes, read through SQLite's own file handle
  uint64_t size = 0;     // the file's size then
  std::string db_file;   // the file SQLite reads (the copy for kCopy)
  std::string wal_file;  // its WAL; "" for kImmutable
};

/// Opens the existing file `path` read-only (see ReadKind) and checks its raw header
/// (schema::check_header). The header is read through SQLite's file handle rather than a
/// separate descriptor: closing another descriptor of a file drops every POSIX lock this
/// process holds on it, including those of other connections.
/// `force_copy` reads a private copy of the file and its WAL even when a -shm is present: for a
/// -shm that a process killed mid-write left stale, where SQLite's read-only wal-index
/// (readonly_shm) answers "locking protocol" and only a connection allowed to rebuild the
/// index can read the WAL.
Result<Reader> open_reader(const std::string& path, bool force_copy = false);

/// Which side files of `path` exist (and their inodes): when they differ before and after an
/// open that failed, a process opened or closed the database meanwhile (a WAL connection
/// closing removes its -shm, then its -wal) and the open is worth trying again.
struct SideFiles {
  bool wal = false, shm = false;
  uint64_t wal_inode = 0, shm_inode = 0;
  bool operator==(const SideFiles&) const = default;
};
SideFiles side_files(const std::string& path);

/// Inside a read transaction on reader.conn: refuses a truncated file (schema::check_size
/// with SQLite's page count for that snapshot and the WAL that backs it).
Status check_reader_size(Reader& reader);

/// "file:" URI for `path` (percent-encoded) with the query `query` ("mode=ro&immutable=1").
std::string file_uri(const std::string& path, const std::string& query);

/// True when some process (this one included) holds the "a connection is open" lock of the
/// -shm file `shm_file`, read from /proc/locks so that no descriptor of it is opened and
/// closed here; true as well when that cannot be told.
bool shm_in_use(const std::string& shm_file);

}  // namespace gqaforge::db::detail
