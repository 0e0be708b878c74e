// Read-only opening of existing database files; see reader.h.
#include "db/reader.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "db/schema.h"

namespace gqaforge::db::detail {

class PrivateCopy {
 public:
  explicit PrivateCopy(std::filesystem::path dir) : dir_(std::move(dir)) {}
  ~PrivateCopy() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PrivateCopy(const PrivateCopy&) = delete;
  PrivateCopy& operator=(const PrivateCopy&) = delete;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

namespace {

// How many times opening starts over when the side files change while it looks at them.
constexpr int kOpenAttempts = 5;

// The path SQLite names the side files after: it resolves symbolic links, so the -wal of a
// link to a database lies next to the database, not next to the link.
std::string resolved(const std::string& path) {
  std::error_code ec;
  std::filesystem::path real = std::filesystem::canonical(path, ec);
  return ec ? path : real.string();
}

bool exists(const std::string& file) {
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0;
}

// Size and modification time, to tell whether a file changed while it was copied.
struct Stamp {
  bool present = false;
  off_t size = 0;
  timespec mtime{};
  bool operator==(const Stamp& o) const {
    return present == o.present && size == o.size && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

Stamp stamp(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return {};
  return {true, st.st_size, st.st_mtim};
}

// Copies `path` and `wal` into a fresh temporary directory. nullptr (and no error) when either
// changed meanwhile or a -shm appeared, i.e. a process opened the database: the caller starts
// over and finds it shared.
Result<std::shared_ptr<PrivateCopy>> copy_with_wal(const std::string& path, const std::string& wal,
                                                   std::string& copied_db, bool shm_present = false) {
  const Stamp db_before = stamp(path), wal_before = stamp(wal), shm_before = stamp(path + "-shm");
  std::string pattern = (std::filesystem::temp_directory_path() / "gqaforge-db-read-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return unavailable(
        "cannot read '{}': its WAL '{}' has to be read from a private copy, and creating a "
        "temporary directory failed: {}",
        path, wal, std::strerror(errno));
  }
  auto copy = std::make_shared<PrivateCopy>(pattern);
  const std::filesystem::path target = copy->dir() / std::filesystem::path(path).filename().string();
  std::error_code ec;
  std::filesystem::copy_file(path, target, ec);
  if (!ec) std::filesystem::copy_file(wal, target.string() + "-wal", ec);
  if (ec) {
    return unavailable(
        "cannot read '{}': its WAL '{}' has to be read from a private copy in {}, and copying "
        "failed: {}",
        path, wal, copy->dir().string(), ec.message());
  }
  const bool shm_changed = shm_present ? !(stamp(path + "-shm") == shm_before) : exists(path + "-shm");
  if (!(stamp(path) == db_before) || !(stamp(wal) == wal_before) || shm_changed) return std::shared_ptr<PrivateCopy>();
  copied_db = target.string();
  return copy;
}

// The first 100 bytes and the size of the main database file of `conn`, through SQLite's own
// file handle.
Status read_header(sql::Connection& conn, std::string& header, uint64_t& size) {
  sqlite3_file* file = nullptr;
  int rc = sqlite3_file_control(conn.handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file);
  if (rc != SQLITE_OK || file == nullptr || file->pMethods == nullptr)
    return unavailable("cannot read database '{}': SQLite did not open the file", conn.path());
  sqlite3_int64 file_size = 0;
  rc = file->pMethods->xFileSize(file, &file_size);
  if (rc != SQLITE_OK) {
    return unavailable("cannot read the size of database '{}': {}", conn.path(), sqlite3_errstr(rc));
  }
  size = static_cast<uint64_t>(file_size);
  header.assign(static_cast<size_t>(std::min<sqlite3_int64>(file_size, 100)), '\0');
  if (header.empty()) return ok_status();
  rc = file->pMethods->xRead(file, header.data(), static_cast<int>(header.size()), 0);
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
    return unavailable("cannot read database '{}': {}", conn.path(), sqlite3_errstr(rc));
  return ok_status();
}

}  // namespace

std::string file_uri(const std::string& path, const std::string& query) {
  std::string out = path.empty() || path[0] != '/' ? "file:" : "file://";
  for (char ch : path) {
    const auto c = static_cast<unsigned char>(ch);  // the byte, so %XX never sees a negative char
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '_' || c == '.' || c == '~' || c == '/';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out + "?" + query;
}

bool shm_in_use(const std::string& shm_file) {
  struct stat st {};
  if (::stat(shm_file.c_str(), &st) != 0) return true;
  std::ifstream locks("/proc/locks");
  if (!locks) return true;
  // SQLite's unix VFS holds a shared lock on byte 128 of the -shm (its "DMS" slot) for as long
  // as a connection has the WAL open; the first connection to find it unlocked rebuilds the
  // -shm, which is exactly what a reader that changes nothing must not do.
  constexpr unsigned long long kDmsByte = 128;
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    for (size_t i = 0; i + 2 < f.size(); ++i) {
      if (f[i] == "->") break;  // a process waiting for a lock does not hold it
      unsigned int major_id = 0, minor_id = 0;
      unsigned long long inode = 0;
      char tail = 0;
      if (std::sscanf(f[i].c_str(), "%x:%x:%llu%c", &major_id, &minor_id, &inode, &tail) != 3) continue;
      if (major_id != major(st.st_dev) || minor_id != minor(st.st_dev) || inode != st.st_ino) break;
      const unsigned long long start = std::strtoull(f[i + 1].c_str(), nullptr, 10);
      const bool to_end = f[i + 2] == "EOF";
      const unsigned long long end = to_end ? ~0ull : std::strtoull(f[i + 2].c_str(), nullptr, 10);
      if (start <= kDmsByte && kDmsByte <= end) return true;
      break;
    }
  }
  return false;
}

SideFiles side_files(const std::string& path) {
  SideFiles f;
  const std::string real = resolved(path);
  struct stat st {};
  if (::stat((real + "-wal").c_str(), &st) == 0) {
    f.wal = true;
    f.wal_inode = st.st_ino;
  }
  if (::stat((real + "-shm").c_str(), &st) == 0) {
    f.shm = true;
    f.shm_inode = st.st_ino;
  }
  return f;
}

Result<Reader> open_reader(const std::string& path, bool force_copy) {
  const std::string real = resolved(path);
  const std::string wal = real + "-wal", shm = real + "-shm";
  for (int attempt = 0; attempt < kOpenAttempts; ++attempt) {
    Reader r;
    r.db_file = real;
    std::string uri;
    if (!exists(wal)) {
      r.kind = ReadKind::kImmutable;
      uri = file_uri(real, "mode=ro&immutable=1");
    } else if (exists(shm) && !force_copy) {
      r.kind = shm_in_use(shm) ? ReadKind::kShared : ReadKind::kPrivateWal;
      r.wal_file = wal;
      uri = file_uri(real, r.kind == ReadKind::kShared ? "mode=ro" : "mode=ro&readonly_shm=1");
    } else {
      r.kind = ReadKind::kCopy;
      GQF_ASSIGN_OR_RETURN(r.copy, copy_with_wal(real, wal, r.db_file, exists(shm)));
      if (r.copy == nullptr) continue;  // someone opened it meanwhile: look again
      r.wal_file = r.db_file + "-wal";
      uri = file_uri(r.db_file, "mode=ro");
    }
    GQF_ASSIGN_OR_RETURN(r.conn, sql::Connection::open(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, path));
    if (r.kind == ReadKind::kImmutable) {
      r.conn.guard_unchanged(real);
      // A process that opened it between the look above and the guard has made a -wal by now;
      // it is read the shared way instead.
      if (exists(wal)) continue;
    }
    GQF_RETURN_IF_ERROR(read_header(r.conn, r.header, r.size));
    GQF_RETURN_IF_ERROR(schema::check_header(path, r.header, r.size));
    return r;
  }
  return unavailable("cannot open '{}': other processes kept opening and closing it; try again", path);
}

Status check_reader_size(Reader& reader) {
  if (reader.size == 0) return ok_status();  // an empty database
  if (reader.wal_file.empty()) {
    // No WAL, so no process writes the file (the guard tells if one starts): its header, read
    // at open, describes it. SQLite would only call a short file "malformed".
    GQF_RETURN_IF_ERROR(schema::check_size(reader.conn.path(), reader.size, schema::header_page_size(reader.header),
                                           schema::header_page_count(reader.header), ""));
  }
  GQF_ASSIGN_OR_RETURN(int64_t pages, reader.conn.query_int("PRAGMA page_count"));
  GQF_ASSIGN_OR_RETURN(int64_t page_size, reader.conn.query_int("PRAGMA page_size"));
  struct stat st {};
  if (::stat(reader.db_file.c_str(), &st) != 0) {
    return unavailable("cannot read the size of database '{}': {}", reader.conn.path(), std::strerror(errno));
  }
  return schema::check_size(reader.conn.path(), static_cast<uint64_t>(st.st_size), static_cast<uint32_t>(page_size),
                            pages, reader.wal_file);
}

}  // namespace gqaforge::db::detail
