// Opening a database never changes a file it refuses or only reads: real files with pending,
// orphaned and damaged WALs, a WAL that holds pages past the end of the file (a checkpoint in
// progress, or one a full disk stopped), truncated files, and a flipped byte in a row.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstring>

#include "db/database.h"
#include "db/schema.h"
#include "db/export.h"
#include "tests/db/test_util.h"

namespace gqaforge::db {
namespace {

using testing::decode_problem;
using testing::file_bytes;
using testing::leave_pending_wal;
using testing::sample_env;
using testing::sample_measurement;
using testing::ScratchDir;
using testing::side_file_bytes;

constexpr OpenMode kAllModes[] = {OpenMode::kReadWrite, OpenMode::kExisting, OpenMode::kReadOnly};

std::string mode_name(OpenMode mode) {
  switch (mode) {
    case OpenMode::kReadWrite:
      return "read-write";
    case OpenMode::kExisting:
      return "existing";
    case OpenMode::kReadOnly:
      return "read-only";
  }
  return "?";
}

// `n` measurements k0000.. of one run, in one DbContents.
DbContents rows(int n, const std::string& prefix = "k", int first = 0) {
  DbContents c;
  const Environment env = sample_env();
  c.environments.push_back({env.key(), env});
  RunEntry run;
  run.uid = "run-" + prefix;
  run.run.env_key = env.key();
  run.run.command_line = "gqaforge tune " + prefix;
  run.run.strategy = "grid";
  run.run.started_at = "2026-01-01T00:00:00Z";
  c.runs.push_back(run);
  for (int i = first; i < first + n; ++i) {
    c.measurements.push_back(
        {run.uid, sample_measurement(env.key(), decode_problem(), fmt::format("{}{:04}", prefix, i), 10.0 + i)});
  }
  return c;
}

// A closed database file (no -wal) holding rows(n).
void make_db(const std::string& path, int n) {
  auto db = Database::open(path);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  DbContents c = rows(n);
  auto stats = (*db)->merge(std::span<const DbContents>(&c, 1));
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  db->reset();
  ASSERT_FALSE(std::filesystem::exists(path + "-wal"));
}

int64_t count_rows(const std::string& path) {
  auto db = Database::open(path, OpenMode::kReadOnly);
  EXPECT_TRUE(db.ok()) << db.status().to_string();
  if (!db.ok()) return -1;
  auto info = (*db)->info();
  EXPECT_TRUE(info.ok()) << info.status().to_string();
  return info.ok() ? info->measurements : -1;
}

// Frames of a WAL file: page number and the offset of the page data.
struct Frame {
  uint32_t page;
  size_t offset;
};
uint32_t be32(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}
std::vector<Frame> wal_frames(const std::string& wal) {
  const std::string bytes = file_bytes(wal);
  std::vector<Frame> frames;
  if (bytes.size() < 32) return frames;
  const size_t page_size = be32(bytes, 8);
  for (size_t at = 32; at + 24 + page_size <= bytes.size(); at += 24 + page_size)
    frames.push_back({be32(bytes, at), at + 24});
  return frames;
}

// The page count page 1 of `bytes` records (bytes 28..31).
uint32_t header_pages(const std::string& bytes) {
  return be32(bytes, 28);
}

// A database whose WAL holds pages past the end of its file and whose page 1 in the file
// already says so: the state a checkpoint is in after writing page 1 (it writes pages in
// ascending order), and the state a full disk leaves it in when the file cannot grow.
void make_file_shorter_than_its_header(const std::string& path) {
  make_db(path, 5);
  leave_pending_wal(path, [](Database& db) {
    DbContents more = rows(300, "w", 100);  // one commit, many new pages
    return db.merge(std::span<const DbContents>(&more, 1)).ok();
  });
  const std::vector<Frame> frames = wal_frames(path + "-wal");
  ASSERT_FALSE(frames.empty());
  const std::string wal = file_bytes(path + "-wal");
  std::string db = file_bytes(path);
  const Frame* page1 = nullptr;
  for (const Frame& f : frames) {
    if (f.page == 1) page1 = &f;
  }
  ASSERT_NE(page1, nullptr);
  db.replace(0, 4096, wal.substr(page1->offset, 4096));
  testing::write_bytes(path, db);
  // The old check compared exactly these two numbers, without the WAL.
  ASSERT_GT(header_pages(db), db.size() / 4096);
}

TEST(FileSafetyTest, AWalHoldingThePagesPastTheEndOfTheFileIsNotTruncation) {
  ScratchDir dir;
  const std::string path = dir.file("checkpointing.sqlite");
  make_file_shorter_than_its_header(path);
  const auto before = side_file_bytes(path);
  EXPECT_EQ(count_rows(path), 305);
  EXPECT_EQ(side_file_bytes(path), before);  // read-only: nothing touched
  for (OpenMode mode : {OpenMode::kExisting, OpenMode::kReadWrite}) {
    auto db = Database::open(path, mode);
    ASSERT_TRUE(db.ok()) << mode_name(mode) << ": " << db.status().to_string();
    EXPECT_EQ((*db)->info()->measurements, 305);
    EXPECT_EQ(*(*db)->integrity_check(), "ok");
  }
}

TEST(FileSafetyTest, ATruncatedFileWhoseWalLacksThePagesIsRefusedAndLeftAlone) {
  ScratchDir dir;
  // Without its WAL, the file is shorter than its header says.
  const std::string no_wal = dir.file("no_wal.sqlite");
  make_file_shorter_than_its_header(no_wal);
  std::filesystem::remove(no_wal + "-wal");
  std::filesystem::remove(no_wal + "-shm");
  // With its WAL, but cut below a page the WAL does not hold.
  const std::string cut = dir.file("cut.sqlite");
  make_file_shorter_than_its_header(cut);
  std::set<uint32_t> in_wal;
  for (const Frame& f : wal_frames(cut + "-wal")) in_wal.insert(f.page);
  uint32_t missing = 2;
  while (in_wal.count(missing) != 0) ++missing;
  ASSERT_LT(missing, file_bytes(cut).size() / 4096);
  std::filesystem::resize_file(cut, (missing - 1) * uint64_t{4096});

  struct Case {
    std::string path, reason;
  };
  for (const Case& c :
       {Case{no_wal, "but its header says"}, Case{cut, fmt::format("its WAL does not hold page {}", missing)}}) {
    const auto before = side_file_bytes(c.path);
    for (OpenMode mode : kAllModes) {
      auto db = Database::open(c.path, mode);
      ASSERT_FALSE(db.ok()) << mode_name(mode) << " " << c.path;
      EXPECT_EQ(db.status().code(), StatusCode::kDataLoss) << db.status().to_string();
      EXPECT_NE(db.status().message().find(c.path), std::string::npos) << db.status().message();
      EXPECT_NE(db.status().message().find("is truncated"), std::string::npos) << db.status().message();
      EXPECT_NE(db.status().message().find(c.reason), std::string::npos) << db.status().message();
    }
    EXPECT_EQ(side_file_bytes(c.path), before) << c.path;
  }
}

TEST(FileSafetyTest, ReadersDuringCheckpointsAreNeverRefused) {
  ScratchDir dir;
  const std::string path = dir.file("busy.sqlite");
  make_db(path, 5);
  // A writer that checkpoints every few commits (wal_autocheckpoint = 4 pages), as long as it
  // takes the parent to open the file 300 times. The parent starts reading once the writer has
  // committed (and so holds the WAL open): a writer that *starts* while a reader reads the file
  // without locks is the other, documented case ("run the command again"), not this test's.
  int stop[2], ready[2];
  ASSERT_EQ(pipe(stop), 0);
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(stop[1]);
    close(ready[0]);
    sqlite3* raw = nullptr;
    if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) _exit(10);
    sqlite3_busy_timeout(raw, 10000);
    sqlite3_exec(raw, "PRAGMA wal_autocheckpoint = 4", nullptr, nullptr, nullptr);
    fcntl(stop[0], F_SETFL, O_NONBLOCK);
    for (int i = 0;; ++i) {
      char c;
      if (read(stop[0], &c, 1) >= 0) break;
      const std::string sql = fmt::format(
          "INSERT INTO measurements (env_key, problem, family, n_q_heads, n_kv_heads, head_dim, "
          "dtype, causal, batch, q_len, kv_len, gemm_m, gemm_n, gemm_k, kernel_key, config, "
          "status, message, median_us, min_us, stddev_us, repetitions, max_error, error_bound, "
          "tflops, tbps, compile_ms, registers, shared_bytes, spill_bytes, is_best, "
          "measured_at) SELECT env_key, problem, family, n_q_heads, n_kv_heads, head_dim, dtype, "
          "causal, batch, q_len, kv_len, gemm_m, gemm_n, gemm_k, 'x{}', config || randomblob(900), "
          "status, message, median_us, min_us, stddev_us, repetitions, max_error, error_bound, "
          "tflops, tbps, compile_ms, registers, shared_bytes, spill_bytes, 0, measured_at FROM "
          "measurements LIMIT 1",
          i);
      if (sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) _exit(11);
      if (i == 0 && write(ready[1], "r", 1) != 1) _exit(12);
    }
    sqlite3_close(raw);
    _exit(0);
  }
  close(stop[0]);
  close(ready[1]);
  char started = 0;
  ASSERT_EQ(read(ready[0], &started, 1), 1) << "the writer did not start";
  close(ready[0]);
  int opened = 0;
  std::string failure;
  for (int i = 0; i < 300 && failure.empty(); ++i) {
    for (OpenMode mode : {OpenMode::kReadOnly, i % 30 == 0 ? OpenMode::kExisting : OpenMode::kReadOnly}) {
      auto db = Database::open(path, mode);
      if (!db.ok()) {
        failure = mode_name(mode) + ": " + db.status().to_string();
        break;
      }
      auto info = (*db)->info();
      if (!info.ok()) failure = info.status().to_string();
      ++opened;
    }
  }
  ASSERT_EQ(write(stop[1], "x", 1), 1);
  close(stop[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(failure, "") << "after " << opened << " opens";
  EXPECT_GT(count_rows(path), 5);
}

TEST(FileSafetyTest, RefusingANewerFileWithAPendingWalChangesNoByte) {
  ScratchDir dir;
  const std::string path = dir.file("newer.sqlite");
  make_db(path, 5);
  leave_pending_wal(path, [](Database& db) {
    (void)db;  // the raw connection below writes; db only keeps the WAL open
    sqlite3* raw = nullptr;
    if (sqlite3_open(db.path().c_str(), &raw) != SQLITE_OK) return false;
    const bool ok = sqlite3_exec(raw, fmt::format("PRAGMA user_version = {}", schema::schema_version() + 1).c_str(),
                                 nullptr, nullptr, nullptr) == SQLITE_OK;
    return ok;  // _exit() follows: neither connection checkpoints
  });
  const auto before = side_file_bytes(path);
  const auto names = testing::listing(dir.path());
  for (OpenMode mode : kAllModes) {
    auto db = Database::open(path, mode);
    ASSERT_FALSE(db.ok()) << mode_name(mode);
    EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition) << db.status().to_string();
    EXPECT_NE(db.status().message().find(fmt::format("schema version {}, newer", schema::schema_version() + 1)),
              std::string::npos)
        << db.status().message();
  }
  EXPECT_EQ(side_file_bytes(path), before);  // db, -wal and -shm
  EXPECT_EQ(testing::listing(dir.path()), names);
}

TEST(FileSafetyTest, ReadingAPendingWalLeavesItInPlace) {
  ScratchDir dir;
  const std::string path = dir.file("pending.sqlite");
  make_db(path, 5);
  leave_pending_wal(path, [](Database& db) {
    DbContents more = rows(10, "w");
    return db.merge(std::span<const DbContents>(&more, 1)).ok();
  });
  const auto before = side_file_bytes(path);
  {
    auto db = Database::open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    EXPECT_EQ((*db)->info()->measurements, 15);  // the WAL's rows are read
    EXPECT_EQ((*db)->best({})->size(), 1u);
    auto text = export_database(**db);
    ASSERT_TRUE(text.ok()) << text.status().to_string();
    EXPECT_NE(text->find("measurements=15 "), std::string::npos);
  }
  EXPECT_EQ(side_file_bytes(path), before);  // not checkpointed, not deleted
}

TEST(FileSafetyTest, ADamagedWalIsReadAsFarAsItIsValidAndNotRepaired) {
  ScratchDir dir;
  const std::string path = dir.file("damaged_wal.sqlite");
  make_db(path, 5);
  leave_pending_wal(path, [](Database& db) {
    for (int i = 0; i < 3; ++i) {  // three commits
      if (!db.add_measurement(
                 sample_measurement(sample_env().key(), decode_problem(), fmt::format("late{}", i), 1.0 + i))
               .ok()) {
        return false;
      }
    }
    return true;
  });
  // Damage the last frame: the last commit no longer checks out.
  std::string wal = file_bytes(path + "-wal");
  const std::vector<Frame> frames = wal_frames(path + "-wal");
  wal[frames.back().offset + 100] ^= 0x5a;
  testing::write_bytes(path + "-wal", wal);
  const auto before = side_file_bytes(path);
  EXPECT_EQ(count_rows(path), 7);            // 5 + the two intact commits
  EXPECT_EQ(side_file_bytes(path), before);  // the damaged WAL is still there, as it was
}

TEST(FileSafetyTest, AWalWithoutShmIsReadFromAPrivateCopy) {
  ScratchDir dir;
  const std::string path = dir.file("orphan.sqlite");
  make_db(path, 5);
  leave_pending_wal(path, [](Database& db) {
    DbContents more = rows(10, "w");
    return db.merge(std::span<const DbContents>(&more, 1)).ok();
  });
  std::filesystem::remove(path + "-shm");
  const auto before = side_file_bytes(path);
  const auto names = testing::listing(dir.path());
  auto copies = [] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
      n += e.path().filename().string().rfind("gqaforge-db-read-", 0) == 0 ? 1 : 0;
    return n;
  };
  const int copies_before = copies();
  {
    auto db = Database::open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    EXPECT_EQ((*db)->info()->measurements, 15);
    EXPECT_EQ(copies(), copies_before + 1);
  }
  EXPECT_EQ(copies(), copies_before);  // removed with the Database
  EXPECT_EQ(side_file_bytes(path), before);
  EXPECT_EQ(testing::listing(dir.path()), names);  // no -shm made next to it
  // Writers may create the -shm: SQLite recovers the WAL as usual.
  auto db = Database::open(path, OpenMode::kExisting);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  EXPECT_EQ((*db)->info()->measurements, 15);
}

TEST(FileSafetyTest, ALockFreeReaderNoticesAWriterThatChangedTheFile) {
  ScratchDir dir;
  const std::string path = dir.file("a.sqlite");
  make_db(path, 5);
  // No -wal: read without locks, and without leaving a -wal or -shm behind.
  auto reader = Database::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  EXPECT_EQ((*reader)->info()->measurements, 5);
  {
    auto writer = Database::open(path, OpenMode::kExisting);
    ASSERT_TRUE(writer.ok()) << writer.status().to_string();
    DbContents more = rows(200, "w");
    ASSERT_TRUE((*writer)->merge(std::span<const DbContents>(&more, 1)).ok());
  }  // closing checkpoints the WAL into the file
  auto info = (*reader)->info();
  ASSERT_FALSE(info.ok()) << "read a file that changed under it";
  EXPECT_EQ(info.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(info.status().message().find("was changed by another process"), std::string::npos)
      << info.status().message();
  EXPECT_EQ(count_rows(path), 205);  // a fresh reader sees the new rows
}

// Flips one byte of the kernel key of row `key` where the measurements table stores it (the
// key followed by its config, which no index holds), so the row no longer matches its entry in
// the UNIQUE index.
void flip_byte_in_row(const std::string& path, const std::string& key) {
  std::string bytes = file_bytes(path);
  const std::string row_text = key + "block_n=64,warps=4,splits=" + key;
  const size_t at = bytes.find(row_text);
  ASSERT_NE(at, std::string::npos) << "row text not found in " << path;
  ASSERT_EQ(bytes.find(row_text, at + 1), std::string::npos);
  bytes[at + key.size() - 1] ^= 0x20;
  testing::write_bytes(path, bytes);
}

TEST(FileSafetyTest, WritersRefuseAFileWithAFlippedByteInARow) {
  ScratchDir dir;
  const std::string path = dir.file("flipped.sqlite");
  make_db(path, 40);
  flip_byte_in_row(path, "k0017");
  const auto before = side_file_bytes(path);
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kExisting}) {
    auto db = Database::open(path, mode);
    ASSERT_FALSE(db.ok()) << mode_name(mode) << " accepted a damaged file";
    EXPECT_EQ(db.status().code(), StatusCode::kDataLoss);
    const std::string m = db.status().message();
    EXPECT_NE(m.find("'" + path + "' is damaged, refusing to write to it"), std::string::npos) << m;
    EXPECT_NE(m.find("integrity check says \"row "), std::string::npos) << m;
    EXPECT_NE(m.find("missing from index"), std::string::npos) << m;
  }
  EXPECT_EQ(side_file_bytes(path), before);
  // Reading stays possible, to save what can be saved.
  EXPECT_EQ(count_rows(path), 40);
}

TEST(FileSafetyTest, CorruptionMetWhileWritingIsDataLoss) {
  ScratchDir dir;
  const std::string path = dir.file("decaying.sqlite");
  make_db(path, 200);
  auto db = Database::open(path, OpenMode::kExisting);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  // The file rots under the open connection: every page but the first becomes garbage.
  std::string bytes = file_bytes(path);
  for (size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xa5 ^ (i * 7));
  testing::write_bytes(path, bytes);
  Status s = (*db)->add_measurement(sample_measurement(sample_env().key(), decode_problem(), "new", 3.0));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.to_string();
  EXPECT_NE(s.message().find("'" + path + "' is damaged, data may be lost"), std::string::npos) << s.message();
  (*db)->record(sample_measurement(sample_env().key(), decode_problem(), "newer", 3.0));
  EXPECT_EQ((*db)->sink_status().code(), StatusCode::kDataLoss);
}

TEST(FileSafetyTest, ReadOnlyOpensLeaveNoSideFiles) {
  ScratchDir dir;
  const std::string path = dir.file("clean.sqlite");
  make_db(path, 5);
  const auto names = testing::listing(dir.path());
  const std::string bytes = file_bytes(path);
  {
    auto db = Database::open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    auto info = (*db)->info();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->journal_mode, "wal");  // the file's mode, read without locks
    EXPECT_EQ(testing::listing(dir.path()), names);
  }
  EXPECT_EQ(testing::listing(dir.path()), names);
  EXPECT_EQ(file_bytes(path), bytes);
}

TEST(FileSafetyTest, PathsThatNeedEscapingInAUriWork) {
  ScratchDir dir;
  const std::filesystem::path odd = dir.path() / "we?ird #dir %41 & é";
  std::filesystem::create_directories(odd);
  const std::string path = (odd / "a b?.sqlite").string();
  make_db(path, 5);
  EXPECT_EQ(count_rows(path), 5);  // no -wal: an immutable=1 URI
  leave_pending_wal(path, [](Database& db) {
    DbContents more = rows(3, "w");
    return db.merge(std::span<const DbContents>(&more, 1)).ok();
  });
  EXPECT_EQ(count_rows(path), 8);  // a readonly_shm=1 URI
  std::filesystem::remove(path + "-shm");
  EXPECT_EQ(count_rows(path), 8);  // a private copy
  // Relative paths too, and writers: a name that looks like a URI is still a file name.
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(odd);
  EXPECT_EQ(count_rows("a b?.sqlite"), 8);
  for (int i = 0; i < 2; ++i) {  // creating it, then opening it again
    auto db = Database::open("file:c.sqlite?mode=memory", OpenMode::kReadWrite);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    ASSERT_TRUE((*db)->add_measurement(sample_measurement("e", decode_problem(), fmt::format("k{}", i), 1.0)).ok());
  }
  EXPECT_TRUE(std::filesystem::exists(odd / "file:c.sqlite?mode=memory"));
  EXPECT_EQ(count_rows("file:c.sqlite?mode=memory"), 2);
  auto db = Database::open("a b?.sqlite", OpenMode::kExisting);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  EXPECT_EQ((*db)->info()->measurements, 8);
  db->reset();
  std::filesystem::current_path(cwd);
}

TEST(FileSafetyTest, AReaderThroughASymlinkSeesTheWalNextToTheDatabase) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.path() / "real");
  const std::string path = dir.file("real/a.sqlite"), link = dir.file("link.sqlite");
  make_db(path, 5);
  std::filesystem::create_symlink(path, link);
  // A writer holds the file open with rows only in its WAL (next to the real file).
  auto writer = Database::open(path);
  ASSERT_TRUE(writer.ok());
  DbContents more = rows(7, "w");
  ASSERT_TRUE((*writer)->merge(std::span<const DbContents>(&more, 1)).ok());
  EXPECT_EQ(count_rows(link), 12);
}

}  // namespace
}  // namespace gqaforge::db
