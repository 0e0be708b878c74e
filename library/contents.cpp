// The library file's SQLite form: writing it atomically and reading it back with the
// file-level checks (header, size, application id, format version, SQLite's integrity check).
#include "library/contents.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>

#include <fmt/format.h>

#include "autotune/buckets.h"
#include "core/strings.h"
#include "db/sqlite.h"

namespace gqaforge::library {

using codegen::Phase;

namespace {

using db::sql::Connection;
using db::sql::Statement;

constexpr const char* kSchema = R"sql(
CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE classes (
  key TEXT PRIMARY KEY, family TEXT NOT NULL, phase TEXT NOT NULL, n_q_heads INTEGER NOT NULL,
  n_kv_heads INTEGER NOT NULL, head_dim INTEGER NOT NULL, dtype TEXT NOT NULL, causal INTEGER NOT NULL,
  q_len INTEGER NOT NULL, source TEXT NOT NULL, default_config TEXT NOT NULL,
  default_batch INTEGER NOT NULL, default_q_len INTEGER NOT NULL, default_kv_len INTEGER NOT NULL);
CREATE TABLE variants (
  id INTEGER PRIMARY KEY, family TEXT NOT NULL, kernel_class TEXT NOT NULL, config TEXT NOT NULL,
  UNIQUE (family, kernel_class, config));
CREATE TABLE images (sha256 TEXT PRIMARY KEY, bytes INTEGER NOT NULL, image BLOB NOT NULL);
CREATE TABLE cubins (
  variant_id INTEGER NOT NULL REFERENCES variants(id), arch TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES images(sha256), entry_points TEXT NOT NULL, compile_key TEXT NOT NULL,
  PRIMARY KEY (variant_id, arch));
CREATE TABLE entries (
  class_key TEXT NOT NULL REFERENCES classes(key), batch_lo INTEGER NOT NULL, batch_hi INTEGER NOT NULL,
  q_lo INTEGER NOT NULL, q_hi INTEGER NOT NULL, kv_lo INTEGER NOT NULL, kv_hi INTEGER NOT NULL,
  tuned_batch INTEGER NOT NULL, tuned_q_len INTEGER NOT NULL, tuned_kv_len INTEGER NOT NULL,
  variant_id INTEGER NOT NULL REFERENCES variants(id), median_us REAL NOT NULL, env_key TEXT NOT NULL,
  source_problem TEXT NOT NULL, kernel_key TEXT NOT NULL, measured_at TEXT NOT NULL,
  measured_codegen_version INTEGER NOT NULL, PRIMARY KEY (class_key, batch_lo, q_lo, kv_lo));
)sql";

std::string join(const std::vector<std::string>& values, const char* sep) {
  std::string out;
  for (const std::string& v : values) out += (out.empty() ? "" : sep) + v;
  return out;
}

int64_t int_or_zero(const std::string& text) {
  auto v = parse_int(text);
  return v.ok() ? *v : 0;
}

std::string join_ints(const std::vector<int>& values) {
  std::string out;
  for (int v : values) out += fmt::format("{}{}", out.empty() ? "" : ",", v);
  return out;
}

std::vector<std::pair<std::string, std::string>> manifest_rows(const Manifest& m) {
  return {
      {"format_version", std::to_string(m.format_version)},
      {"gqaforge_version", m.gqaforge_version},
      {"gqaforge_commit", m.gqaforge_commit},
      {"codegen_version", std::to_string(m.codegen_version)},
      {"codegen_fingerprint", m.codegen_fingerprint},
      {"nvrtc_version", m.nvrtc_version},
      {"archs", join(m.archs, ",")},
      {"gpu_name", m.gpu_name},
      {"gpu_sm_count", std::to_string(m.gpu_sm_count)},
      {"gpu_compute_capability", fmt::format("{}.{}", m.gpu_cc_major, m.gpu_cc_minor)},
      {"driver_versions", join_ints(m.driver_versions)},
      {"env_keys", join(m.env_keys, ",")},
      {"measured_codegen_versions", join_ints(m.measured_codegen_versions)},
      {"source", m.source},
      {"created_at", m.created_at},
  };
}

Status write_contents(Connection& conn, const LibraryContents& c) {
  GQF_RETURN_IF_ERROR(conn.exec(kSchema));
  GQF_RETURN_IF_ERROR(conn.exec(fmt::format("PRAGMA application_id = {}", kApplicationId)));
  GQF_RETURN_IF_ERROR(conn.exec(fmt::format("PRAGMA user_version = {}", c.manifest.format_version)));
  GQF_ASSIGN_OR_RETURN(Statement man, conn.prepare("INSERT INTO manifest VALUES (?, ?)"));
  for (const auto& [key, value] : manifest_rows(c.manifest)) {
    man.bind(1, key).bind(2, value);
    GQF_RETURN_IF_ERROR(man.run());
    man.reset();
  }
  GQF_ASSIGN_OR_RETURN(Statement cls, conn.prepare("INSERT INTO classes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  for (const ClassRow& r : c.classes) {
    cls.bind(1, r.cls.key())
        .bind(2, r.family)
        .bind(3, codegen::phase_name(r.cls.phase))
        .bind(4, r.cls.n_q_heads)
        .bind(5, r.cls.n_kv_heads)
        .bind(6, r.cls.head_dim)
        .bind(7, codegen::dtype_name(r.cls.dtype))
        .bind(8, r.cls.causal)
        .bind(9, r.cls.q_len)
        .bind(10, class_source_name(r.source))
        .bind(11, r.default_config)
        .bind(12, r.default_batch)
        .bind(13, r.default_q_len)
        .bind(14, r.default_kv_len);
    GQF_RETURN_IF_ERROR(cls.run());
    cls.reset();
  }
  GQF_ASSIGN_OR_RETURN(Statement var, conn.prepare("INSERT INTO variants VALUES (?, ?, ?, ?)"));
  for (const Variant& v : c.variants) {
    var.bind(1, v.id).bind(2, v.family).bind(3, v.kernel_class).bind(4, v.config);
    GQF_RETURN_IF_ERROR(var.run());
    var.reset();
  }
  // Configs that differ only in launch-time fields compile to the same bytes: each image is
  // stored once, under its sha256. It goes in as a BLOB: bound as text (the wrapper's one
  // byte-string binding) and cast, which keeps every byte.
  GQF_ASSIGN_OR_RETURN(Statement img, conn.prepare("INSERT OR IGNORE INTO images VALUES (?, ?, CAST(? AS BLOB))"));
  GQF_ASSIGN_OR_RETURN(Statement cub, conn.prepare("INSERT INTO cubins VALUES (?, ?, ?, ?, ?)"));
  for (const Cubin& b : c.cubins) {
    img.bind(1, b.sha256).bind(2, static_cast<int64_t>(b.image.size())).bind(3, b.image);
    GQF_RETURN_IF_ERROR(img.run());
    img.reset();
    cub.bind(1, b.variant_id)
        .bind(2, b.arch)
        .bind(3, b.sha256)
        .bind(4, join(b.entry_points, ","))
        .bind(5, b.compile_key);
    GQF_RETURN_IF_ERROR(cub.run());
    cub.reset();
  }
  GQF_ASSIGN_OR_RETURN(Statement ent, conn.prepare("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  for (const Entry& e : c.entries) {
    ent.bind(1, e.class_key)
        .bind(2, e.batch.lo)
        .bind(3, e.batch.hi)
        .bind(4, e.q_len.lo)
        .bind(5, e.q_len.hi)
        .bind(6, e.kv_len.lo)
        .bind(7, e.kv_len.hi)
        .bind(8, e.tuned_batch)
        .bind(9, e.tuned_q_len)
        .bind(10, e.tuned_kv_len)
        .bind(11, e.variant_id)
        .bind(12, e.median_us)
        .bind(13, e.env_key)
        .bind(14, e.source_problem)
        .bind(15, e.kernel_key)
        .bind(16, e.measured_at)
        .bind(17, e.measured_codegen_version);
    GQF_RETURN_IF_ERROR(ent.run());
    ent.reset();
  }
  return ok_status();
}

Result<int64_t> parse_int_field(const std::string& path, const std::string& key, const std::string& text) {
  auto v = parse_int(text);
  if (!v.ok()) return data_loss("'{}': manifest {} '{}' is not an integer", path, key, text);
  return *v;
}

std::vector<int> parse_int_list(const std::string& text) {
  std::vector<int> out;
  for (const std::string& part : split(text, ',')) {
    if (auto v = parse_int(part); v.ok()) out.push_back(static_cast<int>(*v));
  }
  return out;
}

std::vector<std::string> parse_list(const std::string& text) {
  return text.empty() ? std::vector<std::string>{} : split(text, ',');
}

Status read_manifest(Connection& conn, const std::string& path, Manifest& m) {
  GQF_ASSIGN_OR_RETURN(Statement st, conn.prepare("SELECT key, value FROM manifest"));
  std::map<std::string, std::string> kv;
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    kv[st.column_text(0)] = st.column_text(1);
  }
  for (const auto& [key, value] : manifest_rows(Manifest{})) {
    if (kv.count(key) == 0) return data_loss("'{}': the manifest has no '{}'", path, key);
  }
  GQF_ASSIGN_OR_RETURN(int64_t format, parse_int_field(path, "format_version", kv["format_version"]));
  GQF_ASSIGN_OR_RETURN(int64_t codegen, parse_int_field(path, "codegen_version", kv["codegen_version"]));
  GQF_ASSIGN_OR_RETURN(int64_t sms, parse_int_field(path, "gpu_sm_count", kv["gpu_sm_count"]));
  m.format_version = static_cast<int>(format);
  m.gqaforge_version = kv["gqaforge_version"];
  m.gqaforge_commit = kv["gqaforge_commit"];
  m.codegen_version = static_cast<int>(codegen);
  m.codegen_fingerprint = kv["codegen_fingerprint"];
  m.nvrtc_version = kv["nvrtc_version"];
  m.archs = parse_list(kv["archs"]);
  m.gpu_name = kv["gpu_name"];
  m.gpu_sm_count = static_cast<int>(sms);
  std::vector<std::string> cc = split(kv["gpu_compute_capability"], '.');
  if (cc.size() == 2) {
    m.gpu_cc_major = static_cast<int>(int_or_zero(cc[0]));
    m.gpu_cc_minor = static_cast<int>(int_or_zero(cc[1]));
  }
  m.driver_versions = parse_int_list(kv["driver_versions"]);
  m.env_keys = parse_list(kv["env_keys"]);
  m.measured_codegen_versions = parse_int_list(kv["measured_codegen_versions"]);
  m.source = kv["source"];
  m.created_at = kv["created_at"];
  if (m.archs.empty()) return data_loss("'{}': the manifest names no target arch", path);
  return ok_status();
}

Status read_rows(Connection& conn, const std::string& path, LibraryContents& c) {
  GQF_ASSIGN_OR_RETURN(Statement cls, conn.prepare("SELECT * FROM classes ORDER BY key"));
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, cls.step());
    if (!row) break;
    ClassRow r;
    r.family = cls.column_text(1);
    auto phase = codegen::parse_phase(cls.column_text(2));
    auto dtype = codegen::parse_dtype(cls.column_text(6));
    const std::string source = cls.column_text(9);
    if (!phase.ok() || !dtype.ok() || (source != "tuned" && source != "default")) {
      return data_loss("'{}': class '{}' has a bad phase, dtype or source", path, cls.column_text(0));
    }
    r.cls.phase = *phase;
    r.cls.n_q_heads = static_cast<int>(cls.column_int(3));
    r.cls.n_kv_heads = static_cast<int>(cls.column_int(4));
    r.cls.head_dim = static_cast<int>(cls.column_int(5));
    r.cls.dtype = *dtype;
    r.cls.causal = cls.column_int(7) != 0;
    r.cls.q_len = cls.column_int(8);
    r.source = source == "tuned" ? ClassSource::kTuned : ClassSource::kDefault;
    r.default_config = cls.column_text(10);
    r.default_batch = cls.column_int(11);
    r.default_q_len = cls.column_int(12);
    r.default_kv_len = cls.column_int(13);
    if (r.cls.key() != cls.column_text(0)) {
      return data_loss("'{}': class key '{}' does not match its columns", path, cls.column_text(0));
    }
    c.classes.push_back(std::move(r));
  }
  GQF_ASSIGN_OR_RETURN(Statement var, conn.prepare("SELECT * FROM variants ORDER BY id"));
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, var.step());
    if (!row) break;
    c.variants.push_back({var.column_int(0), var.column_text(1), var.column_text(2), var.column_text(3)});
  }
  GQF_ASSIGN_OR_RETURN(Statement cub,
                       conn.prepare("SELECT c.variant_id, c.arch, c.sha256, i.bytes, c.entry_points, "
                                    "c.compile_key, i.image FROM cubins c LEFT JOIN images i USING (sha256) "
                                    "ORDER BY c.variant_id, c.arch"));
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, cub.step());
    if (!row) break;
    Cubin b;
    b.variant_id = cub.column_int(0);
    b.arch = cub.column_text(1);
    b.sha256 = cub.column_text(2);
    b.entry_points = parse_list(cub.column_text(4));
    b.compile_key = cub.column_text(5);
    if (cub.column_is_null(6)) {
      return data_loss("'{}': the cubin of variant {} for {} has no image", path, b.variant_id, b.arch);
    }
    b.image = cub.column_text(6);
    if (static_cast<int64_t>(b.image.size()) != cub.column_int(3)) {
      return data_loss("'{}': the cubin of variant {} for {} has {} bytes, its row says {}", path, b.variant_id, b.arch,
                       b.image.size(), cub.column_int(3));
    }
    c.cubins.push_back(std::move(b));
  }
  GQF_ASSIGN_OR_RETURN(Statement ent, conn.prepare("SELECT * FROM entries ORDER BY class_key, batch_lo, q_lo, kv_lo"));
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, ent.step());
    if (!row) break;
    Entry e;
    e.class_key = ent.column_text(0);
    e.batch = {ent.column_int(1), ent.column_int(2)};
    e.q_len = {ent.column_int(3), ent.column_int(4)};
    e.kv_len = {ent.column_int(5), ent.column_int(6)};
    e.tuned_batch = ent.column_int(7);
    e.tuned_q_len = ent.column_int(8);
    e.tuned_kv_len = ent.column_int(9);
    e.variant_id = ent.column_int(10);
    e.median_us = ent.column_double(11);
    e.env_key = ent.column_text(12);
    e.source_problem = ent.column_text(13);
    e.kernel_key = ent.column_text(14);
    e.measured_at = ent.column_text(15);
    e.measured_codegen_version = static_cast<int>(ent.column_int(16));
    c.entries.push_back(std::move(e));
  }
  return ok_status();
}

// A big-endian unsigned field of the SQLite header.
uint32_t be(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// The header checks SQLite itself skips: a file cut short reads as a smaller, valid database.
Status check_header(const std::string& path, FileFacts& facts) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found("'{}': no such file", path);
  if (std::filesystem::is_directory(path, ec)) return not_found("'{}' is a directory, not a library file", path);
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return not_found("'{}': cannot read the file", path);
  unsigned char h[100] = {};
  const size_t got = std::fread(h, 1, sizeof h, f);
  std::fseek(f, 0, SEEK_END);
  facts.file_bytes = std::ftell(f);
  std::fclose(f);
  static const char kMagic[] = "SQLite format 3";
  if (facts.file_bytes == 0) return invalid_argument("'{}' is empty: not a gqaforge library", path);
  if (got < sizeof h) {
    return std::equal(h, h + std::min<size_t>(got, 15), kMagic)
               ? data_loss("'{}' is truncated: {} bytes, shorter than an SQLite header", path, got)
               : invalid_argument("'{}' is not a gqaforge library (not an SQLite file)", path);
  }
  if (!std::equal(h, h + 16, reinterpret_cast<const unsigned char*>(kMagic))) {
    return invalid_argument("'{}' is not a gqaforge library (not an SQLite file)", path);
  }
  uint32_t page_size = be(h + 16, 2);
  if (page_size == 1) page_size = 65536;
  const uint32_t pages = be(h + 28, 4);
  const bool count_valid = be(h + 24, 4) == be(h + 92, 4);  // the header's page count is current
  if (page_size < 512 || (page_size & (page_size - 1)) != 0) {
    return data_loss("'{}' is corrupt: page size {} in its header", path, page_size);
  }
  facts.header_bytes = count_valid ? static_cast<int64_t>(page_size) * pages : 0;
  if (facts.header_bytes > facts.file_bytes) {
    return data_loss("'{}' is truncated: {} bytes, its header says {}", path, facts.file_bytes, facts.header_bytes);
  }
  return ok_status();
}

}  // namespace

const char* class_source_name(ClassSource source) {
  return source == ClassSource::kTuned ? "tuned" : "default";
}

KernelClass KernelClass::of(const codegen::AttentionProblem& p) {
  return {p.phase, p.n_q_heads, p.n_kv_heads, p.head_dim, p.dtype, p.causal, p.phase == Phase::kDecode ? p.q_len : 0};
}

codegen::AttentionProblem KernelClass::problem(int64_t batch, int64_t q, int64_t kv) const {
  return codegen::make_problem(phase, n_q_heads, n_kv_heads, head_dim, dtype, causal, batch,
                               phase == Phase::kDecode ? q_len : q, kv);
}

std::string KernelClass::key() const {
  return problem(1, 1, 1).static_key();
}

std::string KernelClass::name() const {
  std::string out = fmt::format("{} {}:{} d{} {}{}", codegen::phase_name(phase), n_q_heads, n_kv_heads, head_dim,
                                codegen::dtype_name(dtype), causal ? " causal" : "");
  if (phase == Phase::kDecode) out += fmt::format(" q{}", q_len);
  return out;
}

std::string Range::label() const {
  return lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi);
}

Range bucket_of(int64_t v) {
  const autotune::Bucket b = autotune::length_buckets(1, std::max<int64_t>(v, 1), 4).back();
  return {b.lo, b.hi};
}

const Variant* LibraryContents::variant(int64_t id) const {
  for (const Variant& v : variants) {
    if (v.id == id) return &v;
  }
  return nullptr;
}

const Cubin* LibraryContents::cubin(int64_t variant_id, const std::string& arch) const {
  for (const Cubin& b : cubins) {
    if (b.variant_id == variant_id && b.arch == arch) return &b;
  }
  return nullptr;
}

const ClassRow* LibraryContents::find_class(const std::string& key) const {
  for (const ClassRow& r : classes) {
    if (r.cls.key() == key) return &r;
  }
  return nullptr;
}

Status write_library(const std::string& path, const LibraryContents& contents) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return invalid_argument("'{}' is a directory: give a library file name", path);
  const fs::path target(path);
  std::random_device rd;
  const fs::path tmp =
      target.parent_path() / fmt::format(".{}.tmp-{}-{:08x}", target.filename().string(), getpid(), rd());
  auto remove_tmp = [&] {
    fs::remove(tmp, ec);
    fs::remove(tmp.string() + "-journal", ec);
  };
  Status s = [&]() -> Status {
    GQF_ASSIGN_OR_RETURN(Connection conn,
                         Connection::open(tmp.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, path));
    // A private file until the rename: no journal to keep, one transaction for every row.
    GQF_RETURN_IF_ERROR(conn.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF"));
    GQF_RETURN_IF_ERROR(conn.exec("BEGIN"));
    GQF_RETURN_IF_ERROR(write_contents(conn, contents));
    GQF_RETURN_IF_ERROR(conn.exec("COMMIT"));
    return ok_status();
  }();
  if (s.ok()) {
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) s = unavailable("cannot write '{}': fsync failed", path);
    if (fd >= 0) ::close(fd);
  }
  if (s.ok()) {
    fs::rename(tmp, target, ec);
    if (ec) s = unavailable("cannot write '{}': {}", path, ec.message());
  }
  if (!s.ok()) remove_tmp();
  return s;
}

Result<LibraryContents> read_library(const std::string& path, FileFacts* facts_out) {
  FileFacts facts;
  GQF_RETURN_IF_ERROR(check_header(path, facts));
  // immutable=1: reads without locks and creates no journal or side file next to it.
  const std::string uri = fmt::format("file:{}?immutable=1", path);
  GQF_ASSIGN_OR_RETURN(Connection conn, Connection::open(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, path));
  GQF_ASSIGN_OR_RETURN(int64_t app_id, conn.query_int("PRAGMA application_id"));
  if (app_id != kApplicationId) {
    return invalid_argument("'{}' is not a gqaforge library (an SQLite file with application_id {:#x})", path, app_id);
  }
  GQF_ASSIGN_OR_RETURN(int64_t version, conn.query_int("PRAGMA user_version"));
  facts.format_version = static_cast<int>(version);
  if (facts_out != nullptr) *facts_out = facts;
  if (version > kFormatVersion) {
    return failed_precondition(
        "'{}' has library format {}, newer than the format {} this gqaforge reads; use a "
        "newer gqaforge",
        path, version, kFormatVersion);
  }
  if (version < 1) return data_loss("'{}' is corrupt: library format {}", path, version);
  GQF_ASSIGN_OR_RETURN(std::string check, conn.query_text("PRAGMA integrity_check(1)"));
  if (check != "ok") return data_loss("'{}' is corrupt: SQLite reports '{}'", path, check);
  LibraryContents c;
  GQF_RETURN_IF_ERROR(read_manifest(conn, path, c.manifest));
  if (c.manifest.format_version != version) {
    return data_loss("'{}' is corrupt: manifest format {} but the file says {}", path, c.manifest.format_version,
                     version);
  }
  GQF_RETURN_IF_ERROR(read_rows(conn, path, c));
  return c;
}

}  // namespace gqaforge::library
