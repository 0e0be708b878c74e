// The library file: building from the bundled data, the manifest, writing and reading back,
// and every refusal of a damaged or foreign file.
#include "codegen/source.h"
#include "core/sha256.h"
#include "library/diff.h"
#include "library/library.h"
#include "runtime/nvrtc_compiler.h"
#include "tests/library/test_util.h"

namespace gqaforge::library {
namespace {

using testing::run_sql;
using testing::scratch_dir;
using testing::slurp;
using testing::small_library;
using testing::spill;
using testing::write_small_library;

TEST(LibraryBuild, FromTheBundledMeasurements) {
  const LibraryContents& c = small_library();
  const Manifest& m = c.manifest;
  EXPECT_EQ(m.format_version, kFormatVersion);
  EXPECT_EQ(m.codegen_version, codegen::kCodegenVersion);
  EXPECT_EQ(m.codegen_fingerprint, codegen::codegen_fingerprint());
  EXPECT_EQ(m.nvrtc_version, runtime::nvrtc_version_string());
  EXPECT_EQ(m.archs, std::vector<std::string>{"sm_90a"});
  EXPECT_EQ(m.gpu_name, "NVIDIA H200");
  EXPECT_EQ(m.gpu_cc_major, 9);
  EXPECT_EQ(m.gpu_cc_minor, 0);
  EXPECT_EQ(m.driver_versions, std::vector<int>{13000});
  EXPECT_FALSE(m.env_keys.empty());
  EXPECT_FALSE(m.created_at.empty());
  // decode 8:1 d64 (2 batch x 3 kv buckets), prefill 8:1 d64 causal (2 buckets), and the
  // covered decode 12:4 d128 as a heuristic default.
  ASSERT_EQ(c.classes.size(), 3u);
  EXPECT_EQ(c.entries.size(), 8u);
  const ClassRow* covered = c.find_class(parse_class_spec("decode/12:4/d128")->key());
  ASSERT_NE(covered, nullptr);
  EXPECT_EQ(covered->source, ClassSource::kDefault);
  EXPECT_FALSE(covered->default_config.empty());
  for (const Entry& e : c.entries) {
    EXPECT_GT(e.median_us, 0);
    EXPECT_TRUE(e.batch.contains(e.tuned_batch) && e.kv_len.contains(e.tuned_kv_len)) << e.class_key;
    EXPECT_FALSE(e.kernel_key.empty());
  }
  for (const Cubin& b : c.cubins) {
    EXPECT_EQ(b.sha256, sha256_hex(b.image));
    EXPECT_GT(b.image.size(), 1000u);
    EXPECT_FALSE(b.entry_points.empty());
  }
  EXPECT_EQ(c.cubins.size(), c.variants.size());
}

TEST(LibraryBuild, WritesAtomicallyAndReadsBack) {
  const auto dir = scratch_dir("roundtrip");
  const std::string path = write_small_library(dir);
  auto back = read_library(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->manifest.codegen_fingerprint, small_library().manifest.codegen_fingerprint);
  EXPECT_EQ(back->manifest.created_at, small_library().manifest.created_at);
  ASSERT_EQ(back->entries.size(), small_library().entries.size());
  ASSERT_EQ(back->cubins.size(), small_library().cubins.size());
  for (size_t i = 0; i < back->cubins.size(); ++i) EXPECT_EQ(back->cubins[i].image, small_library().cubins[i].image);
  EXPECT_TRUE(diff_libraries(*back, small_library()).same_dispatch());
  // Only the library is left in the directory: no temporary file, no journal.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  // A failed write leaves nothing behind.
  EXPECT_FALSE(write_library((dir / "missing" / "x.gqalib").string(), small_library()).ok());
  EXPECT_FALSE(write_library(dir.string(), small_library()).ok());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
}

TEST(LibraryBuild, EveryCheckPasses) {
  const auto dir = scratch_dir("checks");
  const std::string path = write_small_library(dir);
  auto lib = Library::open(path, {.allow_jit = true, .device_arch = "sm_90a"});
  ASSERT_TRUE(lib.ok()) << lib.status().message();
  for (const Check& k : verify_contents(lib->contents(), path, {})) EXPECT_TRUE(k.status.ok()) << k.what;
}

TEST(LibraryBuild, NothingLeftIsAnError) {
  auto db = open_measurement_source(testing::bundled_export());
  ASSERT_TRUE(db.ok());
  BuildOptions o = testing::small_options();
  o.cover.clear();
  o.heads = {{7, 7}};
  auto c = build_library(**db, o, nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  o.env_key = "nope";
  c = build_library(**db, o, nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'nope'"), std::string::npos) << c.status().message();
  o = testing::small_options();
  o.archs = {"sm_99"};
  EXPECT_FALSE(build_library(**db, o, nullptr).ok());
}

TEST(LibraryBuild, RowsOfOlderTemplatesAreLeftOutUnlessAllowed) {
  auto db = open_measurement_source(testing::bundled_export());
  ASSERT_TRUE(db.ok()) << db.status().message();
  // The bundled 8:1 d64 decode rows are codegen v2; its prefill has v3 and v5 rows.
  BuildOptions o = testing::small_options();
  o.allow_older_codegen = false;
  BuildReport report;
  auto c = build_library(**db, o, &report);
  ASSERT_TRUE(c.ok()) << c.status().message();
  bool noted = false;
  for (const std::string& n : report.notes) noted |= n.find("--allow-older-codegen") != std::string::npos;
  EXPECT_TRUE(noted);
  ASSERT_FALSE(c->entries.empty());
  for (const Entry& e : c->entries) {
    EXPECT_EQ(e.measured_codegen_version, codegen::kCodegenVersion) << e.class_key;
    EXPECT_NE(e.class_key.find("phase=prefill"), std::string::npos) << e.class_key;
  }
  // Allowed, the decode rows come back; the prefill class, which has current rows, keeps only them.
  const LibraryContents& allowed = small_library();
  bool decode = false;
  for (const Entry& e : allowed.entries) {
    if (e.class_key.find("phase=prefill") != std::string::npos) {
      EXPECT_EQ(e.measured_codegen_version, codegen::kCodegenVersion) << e.class_key;
    } else {
      decode = true;
    }
  }
  EXPECT_TRUE(decode);
}

TEST(LibraryFile, FlippedByteInOneCubinIsDetected) {
  const auto dir = scratch_dir("flip");
  const std::string path = write_small_library(dir);
  std::string bytes = slurp(path);
  // A run of the middle of one cubin's image, found in the file and one byte of it flipped.
  const Cubin& victim = small_library().cubins.back();
  const std::string needle = victim.image.substr(victim.image.size() / 2, 48);
  const size_t at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(bytes.find(needle, at + 1), std::string::npos);
  bytes[at + 20] = static_cast<char>(bytes[at + 20] ^ 0x10);
  spill(path, bytes);
  auto lib = Library::open(path);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(lib.status().message().find(fmt::format("variant {}", victim.variant_id)), std::string::npos)
      << lib.status().message();
  EXPECT_NE(lib.status().message().find("damaged"), std::string::npos);
  auto c = read_library(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  int failed = 0;
  for (const Check& k : verify_contents(*c, path, {})) failed += k.status.ok() ? 0 : 1;
  EXPECT_EQ(failed, 1);
}

TEST(LibraryFile, NewerFormatIsRefused) {
  const auto dir = scratch_dir("newer");
  const std::string path = write_small_library(dir);
  run_sql(path, fmt::format("PRAGMA user_version = {}", kFormatVersion + 1));
  auto lib = Library::open(path);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(lib.status().message().find(fmt::format("library format {}, newer", kFormatVersion + 1)), std::string::npos)
      << lib.status().message();
}

TEST(LibraryFile, AnotherArchitectureIsRefused) {
  const auto dir = scratch_dir("arch");
  const std::string path = write_small_library(dir);
  auto lib = Library::open(path, {.device_arch = "sm_80"});
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(lib.status().message().find("built for sm_90a, not for this device's sm_80"), std::string::npos)
      << lib.status().message();
  EXPECT_FALSE(Library::open(path, {.device_arch = "sm_99z"}).ok());
}

TEST(LibraryFile, OtherKernelTemplatesAreRefused) {
  const auto dir = scratch_dir("templates");
  const std::string path = write_small_library(dir);
  run_sql(path, "UPDATE manifest SET value = '0123456789abcdef' WHERE key = 'codegen_fingerprint'");
  auto lib = Library::open(path);
  ASSERT_FALSE(lib.ok());
  EXPECT_NE(lib.status().message().find("0123456789abcdef"), std::string::npos) << lib.status().message();
  EXPECT_TRUE(Library::open(path, {.check_codegen = false}).ok());
}

TEST(LibraryFile, TruncatedCorruptAndForeignFilesAreRefused) {
  const auto dir = scratch_dir("truncated");
  const std::string path = write_small_library(dir);
  const std::string bytes = slurp(path);
  const std::string cut = (dir / "cut.gqalib").string();
  for (size_t size : {bytes.size() / 2, bytes.size() - 1, size_t{4096}, size_t{60}}) {
    spill(cut, bytes.substr(0, size));
    auto lib = Library::open(cut);
    ASSERT_FALSE(lib.ok()) << size;
    EXPECT_EQ(lib.status().code(), StatusCode::kDataLoss) << size;
    EXPECT_NE(lib.status().message().find("truncated"), std::string::npos) << lib.status().message();
  }
  const std::string text = (dir / "text.gqalib").string();
  spill(text, "not a library at all, but long enough to hold an SQLite header if it were one..............");
  auto lib = Library::open(text);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(lib.status().message().find("not a gqaforge library"), std::string::npos);
  const std::string other = (dir / "other.sqlite").string();
  run_sql(other, "CREATE TABLE t (x)");
  lib = Library::open(other);
  ASSERT_FALSE(lib.ok());
  EXPECT_NE(lib.status().message().find("not a gqaforge library"), std::string::npos) << lib.status().message();
  lib = Library::open((dir / "absent.gqalib").string());
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kNotFound);
  // A cubin row whose image went missing.
  const std::string orphan = (dir / "orphan.gqalib").string();
  spill(orphan, bytes);
  run_sql(orphan, "DELETE FROM images WHERE rowid = 1");
  lib = Library::open(orphan);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kDataLoss);
}

TEST(LibraryDiff, ClassesConfigsAndTimes) {
  LibraryContents b = small_library();
  ASSERT_GE(b.entries.size(), 2u);
  b.entries[0].median_us *= 2;
  b.entries[1].variant_id = b.entries[0].variant_id == 1 ? 2 : 1;
  b.entries.pop_back();
  b.classes.erase(b.classes.begin());  // the covered default (sorted first: "phase=decode;hq=12")
  b.manifest.nvrtc_version = "99.9";
  const LibraryDiff d = diff_libraries(small_library(), b);
  EXPECT_FALSE(d.same_dispatch());
  ASSERT_EQ(d.manifest.size(), 1u);
  EXPECT_EQ(d.manifest[0].key, "nvrtc_version");
  ASSERT_EQ(d.classes.size(), 1u);
  EXPECT_EQ(d.classes[0].b, "");
  int only_a = 0, config = 0, time = 0;
  for (const EntryChange& e : d.entries) {
    only_a += e.kind == EntryChange::kOnlyA;
    config += e.kind == EntryChange::kConfig;
    time += e.kind == EntryChange::kTime;
  }
  EXPECT_EQ(only_a, 1);
  EXPECT_EQ(time, 1);
  EXPECT_EQ(config, small_library().variant(b.entries[1].variant_id)->config ==
                            small_library().variant(small_library().entries[1].variant_id)->config
                        ? 0
                        : 1);
  EXPECT_EQ(d.same_entries, static_cast<int64_t>(small_library().entries.size()) - 3 + (config == 0 ? 1 : 0));
}

}  // namespace
}  // namespace gqaforge::library
